// kquant formats, avx512 kernels.
#include "kernel_tables.h"

namespace qb::kern {

std::span<const MatmulKernel> kquant_avx512() { return {}; }

}  // namespace qb::kern
