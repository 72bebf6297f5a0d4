// Legacy formats without a minimum (Q4_0, Q5_0, Q8_0, Q8_1), GEMM on AMX-INT8: tdpbssd per block
// of 32 gives exact int32 dots of 16 weight rows by 16 activation columns, then lane-wise scales
// (legacy_avx512.h, gemm_legacy_amx). Rows of their own, so reports tell AMX from VNNI; dispatch
// prefers them over the VNNI rows where the CPU grants AMX (QB_NO_AMX=1 keeps the VNNI rows).
// Built with -mamx-tile -mamx-int8 on top of the AVX-512 flags (cmake/Isa.cmake).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "legacy_avx512.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Avx512, FormatId::Q8_0, "gemm_q4_0_q8_0_16x16_amx", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_amx<kQ4_0, false>},
    {FormatId::Q5_0, BackendId::Avx512, FormatId::Q8_0, "gemm_q5_0_q8_0_16x16_amx", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_amx<kQ5_0, false>},
    {FormatId::Q8_0, BackendId::Avx512, FormatId::Q8_0, "gemm_q8_0_q8_0_16x16_amx", q8_0_row_bytes, quantize_act<false>,
     gemm_legacy_amx<kQ8_0, false>},
    {FormatId::Q8_1, BackendId::Avx512, FormatId::Q8_1, "gemm_q8_1_q8_1_16x16_amx", q8_1_row_bytes, quantize_act<true>,
     gemm_legacy_amx<kQ8_1, true>},
};

}  // namespace

std::span<const MatmulKernel> legacy_amxint8() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_amxint8)

}  // namespace qb::kern
