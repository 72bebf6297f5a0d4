// BF16 GEMM on AMX-BF16 (tdpbf16ps), rows of their own so that reports tell AMX from vdpbf16ps:
// see float_avx512_impl.h (compute_bf16). Built with -mamx-tile -mamx-bf16 on top of the
// AVX512_BF16 flags; dispatch prefers it over gemm_bf16_bf16_4x4_avx512bf16 where AMX is granted.
#include "compiled_isa.h"
#include "float_avx512_impl.h"

namespace qb::kern {
std::span<const MatmulKernel> float_amxbf16() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_amxbf16)
}  // namespace qb::kern
