// int formats, scalar kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> int_scalar() { return {}; }

}  // namespace qb::kern
