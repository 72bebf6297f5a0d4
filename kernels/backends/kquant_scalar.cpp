// K-quant formats (Q2_K..Q6_K, Q8_K as a weight) × Q8_K activations, scalar kernels: the
// oracle every SIMD backend is tested against (decoders in kquant_common.h).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"

namespace qb::kern {

namespace {
#define QB_SB_SCALAR(FMT, fmt)                                                                     \
  MatmulKernel {                                                                                   \
    FormatId::FMT, BackendId::Scalar, FormatId::Q8_K, "gemm_" #fmt "_q8_K_scalar", q8_K_row_bytes, \
        quantize_act_q8_K_ref, compute_sb_scalar<decode_##fmt, sizeof(block_##fmt)>                \
  }
const MatmulKernel kKernels[] = {
    QB_SB_SCALAR(Q2_K, q2_K), QB_SB_SCALAR(Q3_K, q3_K), QB_SB_SCALAR(Q4_K, q4_K),
    QB_SB_SCALAR(Q5_K, q5_K), QB_SB_SCALAR(Q6_K, q6_K), QB_SB_SCALAR(Q8_K, q8_K),
};
#undef QB_SB_SCALAR
}  // namespace

std::span<const MatmulKernel> kquant_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_scalar)

}  // namespace qb::kern
