// Legacy formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1), scalar kernels: the oracle every SIMD
// kernel is tested against. Straight per-block integer dots, as ggml's generic vec_dot.
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "legacy_common.h"

namespace qb::kern {
namespace {

template <const LegacyGeom& G, bool Q81>
void compute_scalar(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = r0; r < r1; ++r)
      Y[j * ldy + r] = legacy_dot_scalar(G, k / 32, w + r * w_stride, x + j * xq_stride, Q81 ? 36 : 34, Q81 ? 4 : 2);
}

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Scalar, FormatId::Q8_0, "gemm_q4_0_q8_0_scalar", q8_0_row_bytes, quantize_q8_0_scalar,
     compute_scalar<kQ4_0, false>},
    {FormatId::Q4_1, BackendId::Scalar, FormatId::Q8_1, "gemm_q4_1_q8_1_scalar", q8_1_row_bytes, quantize_q8_1_scalar,
     compute_scalar<kQ4_1, true>},
    {FormatId::Q5_0, BackendId::Scalar, FormatId::Q8_0, "gemm_q5_0_q8_0_scalar", q8_0_row_bytes, quantize_q8_0_scalar,
     compute_scalar<kQ5_0, false>},
    {FormatId::Q5_1, BackendId::Scalar, FormatId::Q8_1, "gemm_q5_1_q8_1_scalar", q8_1_row_bytes, quantize_q8_1_scalar,
     compute_scalar<kQ5_1, true>},
    {FormatId::Q8_0, BackendId::Scalar, FormatId::Q8_0, "gemm_q8_0_q8_0_scalar", q8_0_row_bytes, quantize_q8_0_scalar,
     compute_scalar<kQ8_0, false>},
    {FormatId::Q8_1, BackendId::Scalar, FormatId::Q8_1, "gemm_q8_1_q8_1_scalar", q8_1_row_bytes, quantize_q8_1_scalar,
     compute_scalar<kQ8_1, true>},
};

}  // namespace

std::span<const MatmulKernel> legacy_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_scalar)

}  // namespace qb::kern
