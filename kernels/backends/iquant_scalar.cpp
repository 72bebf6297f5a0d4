// I-quant / codebook formats, scalar kernels (the oracle): IQ4_XS × Q8_K, IQ4_NL × Q8_0,
// MXFP4 × Q8_0 (decoders in iquant_common.h).
#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"

namespace qb::kern {

namespace {
const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Scalar, FormatId::Q8_0, "gemm_iq4_nl_q8_0_scalar", q8_0_row_bytes,
     quantize_act_q8_0_ref, compute_b32_scalar<decode_iq4_nl, sizeof(block_iq4_nl)>},
    {FormatId::IQ4_XS, BackendId::Scalar, FormatId::Q8_K, "gemm_iq4_xs_q8_K_scalar", q8_K_row_bytes,
     quantize_act_q8_K_ref, compute_sb_scalar<decode_iq4_xs, sizeof(block_iq4_xs)>},
    {FormatId::MXFP4, BackendId::Scalar, FormatId::Q8_0, "gemm_mxfp4_q8_0_scalar", q8_0_row_bytes,
     quantize_act_q8_0_ref, compute_b32_scalar<decode_mxfp4, sizeof(block_mxfp4)>},
};
}  // namespace

std::span<const MatmulKernel> iquant_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_scalar)

}  // namespace qb::kern
