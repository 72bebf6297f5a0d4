// Legacy formats, NEON kernels (armv8.2-a + dotprod). Each block's codes are widened to signed
// int8 with the offset removed (4-bit: code - 8, 5-bit: code - 16; Q4_1/Q5_1 keep the unsigned
// code, which fits int8) and dotted with the activation codes by sdot (vdotq_s32): two per
// block, an int32x4 per block, then cvt + fma with d_w*d_x. Q4_1/Q5_1 add m_w*s_x per block.
// Tiles of up to 4 rows x 4 columns; activation scales converted once per call.
#include "legacy_neon.h"
#include "compiled_isa.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Neon, FormatId::Q8_0, "gemm_q4_0_q8_0_4x4_neondot", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_neon<kQ4_0, false>},
    {FormatId::Q4_1, BackendId::Neon, FormatId::Q8_1, "gemm_q4_1_q8_1_4x4_neondot", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_neon<kQ4_1, true>},
    {FormatId::Q5_0, BackendId::Neon, FormatId::Q8_0, "gemm_q5_0_q8_0_4x4_neondot", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_neon<kQ5_0, false>},
    {FormatId::Q5_1, BackendId::Neon, FormatId::Q8_1, "gemm_q5_1_q8_1_4x4_neondot", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_neon<kQ5_1, true>},
    {FormatId::Q8_0, BackendId::Neon, FormatId::Q8_0, "gemm_q8_0_q8_0_4x4_neondot", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_neon<kQ8_0, false>},
    {FormatId::Q8_1, BackendId::Neon, FormatId::Q8_1, "gemm_q8_1_q8_1_4x4_neondot", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_neon<kQ8_1, true>},
};

}  // namespace

std::span<const MatmulKernel> legacy_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_neon)

}  // namespace qb::kern
