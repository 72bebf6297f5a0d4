// Ternary formats (BitNet b1.58 style weights in {-1, 0, 1} times one fp16 scale per 256):
// TQ1_0 packs 5 trits per byte as a base-3 fraction (1.6875 bpw), TQ2_0 packs 2 bits per weight.
// Byte-exact with ggml's quantize_row_tq*_ref: scale = absmax, trit = lroundf(x / absmax).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/blocks.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

inline float block_absmax(const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < QK_K; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

// n trits (each 0..2, most significant first) as a byte: ceil(value * 256 / 243), so that the
// decoder can pull trit i out with one multiply by 3^i (mod 256) and ((q * 3) >> 8).
inline uint8_t pack_trits(const float* x, int stride, int n, float id) {
  int q = 0;
  for (int t = 0; t < n; ++t) q = q * 3 + int(std::lround(x[t * stride] * id)) + 1;
  return uint8_t((q * 256 + 242) / 243);
}

void tq1_0_block(const float* x, block_tq1_0& y) {
  const float d = block_absmax(x);
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  // qs[0..31]: elements m + 32 t (t = 0..4) of the first 160; qs[32..47]: elements 160 + m + 16 t
  // of the next 80; qh[0..3]: elements 240 + m + 4 t (t = 0..3, padded with a zero trit).
  for (int m = 0; m < 32; ++m) y.qs[m] = pack_trits(x + m, 32, 5, id);
  for (int m = 0; m < 16; ++m) y.qs[32 + m] = pack_trits(x + 160 + m, 16, 5, id);
  for (int m = 0; m < 4; ++m) {
    int q = 0;
    for (int t = 0; t < 4; ++t) q = q * 3 + int(std::lround(x[240 + m + 4 * t] * id)) + 1;
    q *= 3;  // fifth (lowest) trit is 0, so the four used ones are the most significant
    y.qh[m] = uint8_t((q * 256 + 242) / 243);
  }
}

void tq2_0_block(const float* x, block_tq2_0& y) {
  const float d = block_absmax(x);
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  // Per 128 elements, byte m holds elements m + 32 n at bits 2n (value + 1).
  for (int c = 0; c < QK_K / 128; ++c) {
    for (int m = 0; m < 32; ++m) {
      uint8_t q = 0;
      for (int n = 0; n < 4; ++n) q |= uint8_t(((std::lround(x[128 * c + m + 32 * n] * id) + 1) & 3) << (2 * n));
      y.qs[32 * c + m] = q;
    }
  }
}

inline float trit_value(uint8_t byte, int i, float d) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = uint8_t(byte * kPow3[i]);  // mod 256 drops the higher trits
  return float(((q * 3) >> 8) - 1) * d;
}

}  // namespace

void quantize_tq1_0(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<block_tq1_0*>(dst);
  for (int64_t i = 0; i < nrows * (k / QK_K); ++i) tq1_0_block(src + i * QK_K, y[i]);
}

void quantize_tq2_0(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<block_tq2_0*>(dst);
  for (int64_t i = 0; i < nrows * (k / QK_K); ++i) tq2_0_block(src + i * QK_K, y[i]);
}

void dequantize_row_tq1_0(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_tq1_0*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 32; ++m) *y++ = trit_value(x[i].qs[m], t, d);
    for (int t = 0; t < 5; ++t)
      for (int m = 0; m < 16; ++m) *y++ = trit_value(x[i].qs[32 + m], t, d);
    for (int t = 0; t < 4; ++t)
      for (int m = 0; m < 4; ++m) *y++ = trit_value(x[i].qh[m], t, d);
  }
}

void dequantize_row_tq2_0(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_tq2_0*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int c = 0; c < QK_K / 128; ++c)
      for (int n = 0; n < 4; ++n)
        for (int m = 0; m < 32; ++m) *y++ = float(((x[i].qs[32 * c + m] >> (2 * n)) & 3) - 1) * d;
  }
}

}  // namespace qb::codec
