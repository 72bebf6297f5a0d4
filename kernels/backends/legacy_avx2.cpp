// Legacy formats, AVX2 kernels (AVX2 + FMA + F16C, no VNNI).
// One block (32 codes) per ymm in natural order (4-bit codes expand as [q & 15 | q >> 4]).
// Codes are unsigned so vpmaddubsw (u8 x s8 -> i16 pairs, then vpmaddwd -> i32) applies;
// 4/5-bit codes are <= 31, so the i16 pairs cannot saturate. Q8 codes use the sign trick
// (|w| x sign(x, w), <= 2*128*127 < 32767). The code offset (8 or 16) is removed exactly by
// adding -off * (sum of 4 activation codes) per lane. Each block's scale d_w*d_x is broadcast
// (cvt + fma per block); Q4_1/Q5_1 minimums m_w*s_x are summed in a separate float.
// Tiles of up to 4 rows x 2 columns over an activation panel unpacked once per call; GEMM
// blocks k by 128 blocks so a tile's weights and activations stay in L1.
#include "legacy_avx2.h"
#include "compiled_isa.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q4_0_q8_0_4x2_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_avx2<kQ4_0, false>},
    {FormatId::Q4_1, BackendId::Avx2, FormatId::Q8_1, "gemm_q4_1_q8_1_4x2_avx2", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_avx2<kQ4_1, true>},
    {FormatId::Q5_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q5_0_q8_0_4x2_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_avx2<kQ5_0, false>},
    {FormatId::Q5_1, BackendId::Avx2, FormatId::Q8_1, "gemm_q5_1_q8_1_4x2_avx2", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_avx2<kQ5_1, true>},
    {FormatId::Q8_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q8_0_q8_0_4x2_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_avx2<kQ8_0, false>},
    {FormatId::Q8_1, BackendId::Avx2, FormatId::Q8_1, "gemm_q8_1_q8_1_4x2_avx2", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_avx2<kQ8_1, true>},
};

}  // namespace

std::span<const MatmulKernel> legacy_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_avx2)

}  // namespace qb::kern
