// Float formats F32 and F16 on AVX-512 (F/BW/VL/DQ; no AVX512_BF16): see float_avx512_impl.h.
#include "compiled_isa.h"
#include "float_avx512_impl.h"

namespace qb::kern {
std::span<const MatmulKernel> float_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_avx512)
}  // namespace qb::kern
