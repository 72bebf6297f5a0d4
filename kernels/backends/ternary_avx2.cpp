// ternary formats, avx2 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> ternary_avx2() { return {}; }

}  // namespace qb::kern
