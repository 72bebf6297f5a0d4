// int formats, neon kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> int_neon() { return {}; }

}  // namespace qb::kern
