// ternary formats, scalar kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> ternary_scalar() { return {}; }

}  // namespace qb::kern
