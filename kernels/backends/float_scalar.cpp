// Float formats (F32, F16, BF16), scalar kernels: the oracle. The activation is converted to
// the weight's type (as ggml does) and each product is accumulated in double.
#include "compiled_isa.h"
#include "float_common.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

template <FormatId F>
void compute_scalar(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = r0; r < r1; ++r) Y[j * ldy + r] = float_dot_scalar<F>(k, w + r * w_stride, x + j * xq_stride);
}

template <FormatId F>
constexpr MatmulKernel make(const char* name) {
  return {F, BackendId::Scalar, F, name, float_act_row_bytes<F>, float_quantize_scalar<F>, compute_scalar<F>};
}

constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_scalar"),
    make<FormatId::F16>("gemm_f16_f16_scalar"),
    make<FormatId::BF16>("gemm_bf16_bf16_scalar"),
};

}  // namespace

std::span<const MatmulKernel> float_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_scalar)

}  // namespace qb::kern
