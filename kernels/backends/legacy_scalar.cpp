// legacy formats, scalar kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> legacy_scalar() { return {}; }

}  // namespace qb::kern
