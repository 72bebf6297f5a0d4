// Shared pieces of the float-family kernels (F32, F16, BF16): activation conversion (the same
// bits as the reference codecs qb::quantize(F16/BF16)) and the scalar oracle dot.
// Internal linkage only: included by translation units built with different ISA flags.
#pragma once
#include <cstdint>
#include <cstring>

#include "qb/formats.h"
#include "qb/matmul.h"

namespace qb::kern {
namespace {

template <FormatId F>
constexpr size_t float_elem_bytes() {
  return F == FormatId::F32 ? 4 : 2;
}

// Float rows and activations as the tile driver's strided k-steps of one element (gemm_strided);
// GEMM blocks k to 4 KiB of weights per row. Shared by the float microkernels of every ISA.
template <FormatId F>
struct FloatGeometry {
  static constexpr bool kRowScale = false;
  static constexpr int64_t kKStep = 1, kWStep = int64_t(float_elem_bytes<F>()), kXStep = kWStep;
  static constexpr int64_t kGemmKc = 4096 / kWStep;
  using Row = const uint8_t*;
  using Col = const uint8_t*;
};

template <FormatId F>
size_t float_act_row_bytes(int64_t k) {
  return size_t(k) * float_elem_bytes<F>();
}

template <FormatId F>
inline float float_at(const uint8_t* p, int64_t i) {
  if constexpr (F == FormatId::F32) {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return F == FormatId::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
  }
}

template <FormatId F>
void float_quantize_scalar(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  if constexpr (F == FormatId::F32) {
    std::memcpy(y, x, size_t(k) * 4);
  } else {
    for (int64_t i = 0; i < k; ++i) {
      const uint16_t h = F == FormatId::F16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]);
      std::memcpy(y + 2 * i, &h, 2);
    }
  }
}

// ggml's generic vec_dot for F32/F16/BF16: float products accumulated in double.
template <FormatId F>
inline float float_dot_scalar(int64_t k, const uint8_t* w, const uint8_t* x) {
  double sum = 0.0;
  for (int64_t i = 0; i < k; ++i) sum += double(float_at<F>(w, i) * float_at<F>(x, i));
  return float(sum);
}

}  // namespace
}  // namespace qb::kern
