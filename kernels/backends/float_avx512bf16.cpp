// BF16 on AVX-512 with AVX512_BF16 (vdpbf16ps, optional AMX-BF16 GEMM): see float_avx512_impl.h.
// Its own file so that only this kernel is gated on AVX512_BF16 (Cascade/Ice Lake lack it).
#include "compiled_isa.h"
#include "float_avx512_impl.h"

namespace qb::kern {
std::span<const MatmulKernel> float_avx512bf16() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_avx512bf16)
}  // namespace qb::kern
