// kquant formats, scalar kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> kquant_scalar() { return {}; }

}  // namespace qb::kern
