// legacy formats, neon kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> legacy_neon() { return {}; }

}  // namespace qb::kern
