// Int formats (INT8_PC, INT8_PT, INT4_G32/G64/G128, NF4), scalar kernels: the oracle.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

template <float (*Dot)(int64_t, const uint8_t*, const uint8_t*)>
void compute_q8(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = r0; r < r1; ++r) Y[j * ldy + r] = Dot(k, w + r * w_stride, x + j * xq_stride);
}

template <const LegacyGeom& G>
float int4_dot(int64_t k, const uint8_t* w, const uint8_t* x) {
  return int4_dot_scalar(G, k, w, x);
}

float nf4_dot(int64_t k, const uint8_t* w, const uint8_t* x) { return nf4_dot_scalar(k, w, x); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::INT8_PC, BackendId::Scalar, FormatId::Q8_0, "gemm_int8pc_q8_0_scalar", q8_0_row_bytes,
     quantize_q8_0_scalar, compute_q8<int8_pc_dot_scalar>},
    {FormatId::INT8_PT, BackendId::Scalar, FormatId::Q8_0, "gemm_int8pt_q8_0_scalar", q8_0_row_bytes,
     quantize_q8_0_scalar, compute_q8<int8_pt_dot_scalar>},
    {FormatId::INT4_G32, BackendId::Scalar, FormatId::Q8_1, "gemm_int4g32_q8_1_scalar", q8_1_row_bytes,
     quantize_q8_1_scalar, compute_q8<int4_dot<kInt4G32>>},
    {FormatId::INT4_G64, BackendId::Scalar, FormatId::Q8_1, "gemm_int4g64_q8_1_scalar", q8_1_row_bytes,
     quantize_q8_1_scalar, compute_q8<int4_dot<kInt4G64>>},
    {FormatId::INT4_G128, BackendId::Scalar, FormatId::Q8_1, "gemm_int4g128_q8_1_scalar", q8_1_row_bytes,
     quantize_q8_1_scalar, compute_q8<int4_dot<kInt4G128>>},
    {FormatId::NF4, BackendId::Scalar, FormatId::F32, "gemm_nf4_f32_scalar", f32_row_bytes, copy_f32,
     compute_q8<nf4_dot>},
};

}  // namespace

std::span<const MatmulKernel> int_scalar() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_scalar)

}  // namespace qb::kern
