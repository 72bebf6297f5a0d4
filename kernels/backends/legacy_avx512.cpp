// legacy formats, avx512 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> legacy_avx512() { return {}; }

}  // namespace qb::kern
