// kquant formats, avx2 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> kquant_avx2() { return {}; }

}  // namespace qb::kern
