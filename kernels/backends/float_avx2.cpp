// float formats, avx2 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> float_avx2() { return {}; }

}  // namespace qb::kern
