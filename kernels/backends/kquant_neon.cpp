// kquant formats, neon kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> kquant_neon() { return {}; }

}  // namespace qb::kern
