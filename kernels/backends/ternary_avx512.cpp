// ternary formats, avx512 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> ternary_avx512() { return {}; }

}  // namespace qb::kern
