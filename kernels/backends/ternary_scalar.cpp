// Ternary formats (TQ1_0, TQ2_0) × Q8_K activations, scalar kernels (the oracle).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "ternary_common.h"

namespace qb::kern {

namespace {
const MatmulKernel kKernels[] = {
    {FormatId::TQ1_0, BackendId::Scalar, FormatId::Q8_K, "gemm_tq1_0_q8_K_scalar", q8_K_row_bytes,
     quantize_act_q8_K_ref, compute_sb_scalar<decode_tq1_0, sizeof(block_tq1_0)>},
    {FormatId::TQ2_0, BackendId::Scalar, FormatId::Q8_K, "gemm_tq2_0_q8_K_scalar", q8_K_row_bytes,
     quantize_act_q8_K_ref, compute_sb_scalar<decode_tq2_0, sizeof(block_tq2_0)>},
};
}  // namespace

std::span<const MatmulKernel> ternary_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(ternary_scalar)

}  // namespace qb::kern
