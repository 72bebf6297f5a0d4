// MXFP4 (OCP Microscaling): blocks of 32 E2M1 values sharing one E8M0 power-of-two scale.
// Byte-exact with ggml's quantize_row_mxfp4_ref: e = floor(log2(absmax)) - 2 + 127 (so the largest
// value lands near the top E2M1 magnitude 6), then each weight takes the nearest of the 16 E2M1
// codes (first one on ties). Element j and j + 16 share a byte, j in the low nibble.
#include <cmath>

#include "codecs.h"
#include "qb/blocks.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

inline int nearest_e2m1(float x, float d) {
  int best = 0;
  float best_err = std::fabs(kMxfp4Values[0] * d - x);
  for (int i = 1; i < 16; ++i) {
    const float err = std::fabs(kMxfp4Values[i] * d - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

void mxfp4_block(const float* x, block_mxfp4& y) {
  float amax = 0.0f;
  for (int j = 0; j < QK_MXFP4; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  // For absmax < 2^-125 the exponent is negative; like ggml (and gguf-py) on x86 it wraps modulo
  // 256 (a huge scale), so such a block decodes to zeros. Its values are below 2^-125 anyway.
  const uint8_t e = amax > 0.0f ? uint8_t(int(std::floor(std::log2(amax)) - 2 + 127)) : 0;
  const float d = e8m0_to_fp32_half(e);
  y.e = e;
  for (int j = 0; j < QK_MXFP4 / 2; ++j)
    y.qs[j] = uint8_t(nearest_e2m1(x[j], d) | (nearest_e2m1(x[j + QK_MXFP4 / 2], d) << 4));
}

}  // namespace

void quantize_mxfp4(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<block_mxfp4*>(dst);
  for (int64_t i = 0; i < nrows * (k / QK_MXFP4); ++i) mxfp4_block(src + i * QK_MXFP4, y[i]);
}

void dequantize_row_mxfp4(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_mxfp4*>(src);
  for (int64_t i = 0; i < k / QK_MXFP4; ++i, y += QK_MXFP4) {
    const float d = e8m0_to_fp32_half(x[i].e);
    for (int j = 0; j < QK_MXFP4 / 2; ++j) {
      y[j] = kMxfp4Values[x[i].qs[j] & 0x0f] * d;
      y[j + QK_MXFP4 / 2] = kMxfp4Values[x[i].qs[j] >> 4] * d;
    }
  }
}

}  // namespace qb::codec
