// Non-linear 4-bit formats: IQ4_NL (blocks of 32, one fp16 scale) and IQ4_XS (super-blocks of
// 256: fp16 scale + eight 6-bit sub-block scales). Levels come from the kIq4nlValues codebook.
//
// The quantizer is the one llama-quantize runs without an importance matrix (ggml's
// quantize_iq4_nl / quantize_iq4_xs, which search 15 trial scales per sub-block: ntry = 7). Note
// that ggml's quantize_row_iq4_nl_ref (its from_float_ref) searches no trial scales (ntry = -1)
// and so gives different, slightly worse bytes; we match the model-file path.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/blocks.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

constexpr float kGroupMaxEps = 1e-15f;
constexpr int kTrials = 7;

// Index of the codebook value nearest to v (ties go to the upper value, as ggml).
inline int nearest_level(float v) {
  const int8_t* val = kIq4nlValues;
  if (v <= val[0]) return 0;
  if (v >= val[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < val[mid])
      hi = mid;
    else
      lo = mid;
  }
  return v - val[hi - 1] < val[hi] - v ? hi - 1 : hi;
}

// Best scale for one sub-block of 32: start from max/-127, then try (t - 127)/max for
// t in [-7, 7] and keep the weighted (x^2) least-squares optimum. Fills L with the levels of the
// starting scale (the caller requantizes). Returns 0 for an all-zero sub-block.
float fit_iq4_subblock(const float* xb, uint8_t* Lb) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) return 0;
  float d = -max / kIq4nlValues[0];
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < 32; ++j) {
    const int l = nearest_level(id * xb[j]);
    Lb[j] = uint8_t(l);
    const float q = kIq4nlValues[l];
    const float w = xb[j] * xb[j];
    sumqx += w * q * xb[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -kTrials; itry <= kTrials; ++itry) {
    id = (itry + kIq4nlValues[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = kIq4nlValues[nearest_level(id * xb[j])];
      const float w = xb[j] * xb[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Element j and j + 16 of each 32 share a byte, j in the low nibble.
inline void pack_nibbles_32(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
}

void iq4_nl_block(const float* x, block_iq4_nl& y) {
  uint8_t L[QK4_NL];
  const float d = fit_iq4_subblock(x, L);
  y.d = fp32_to_fp16(d);
  // Requantize with the chosen (fp32) scale; an all-zero block maps every 0 to level 8 (value 1).
  const float id = d ? 1 / d : 0;
  for (int j = 0; j < QK4_NL; ++j) L[j] = uint8_t(nearest_level(id * x[j]));
  pack_nibbles_32(L, y.qs);
}

void iq4_xs_block(const float* x, block_iq4_xs& y) {
  uint8_t L[QK_K];
  float scales[QK_K / 32];
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    scales[ib] = fit_iq4_subblock(x + 32 * ib, L + 32 * ib);
    const float a = std::fabs(scales[ib]);
    if (a > amax_scale) {
      amax_scale = a;
      max_scale = scales[ib];
    }
  }
  // Sub-block scales as 6-bit signed multiples of d = -max_scale/32 (stored +32): low nibbles in
  // scales_l (sub-block 2i low, 2i+1 high), high two bits in scales_h at bit 2*ib.
  std::memset(y.scales_l, 0, sizeof y.scales_l);
  y.scales_h = 0;
  const float d = -max_scale / 32;
  y.d = fp32_to_fp16(d);
  const float id = d ? 1 / d : 0.f;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    int l = std::clamp(nearest_int(id * scales[ib]), -32, 31);
    const float dl = d * l;
    const float idl = dl ? 1 / dl : 0.f;
    for (int j = 0; j < 32; ++j) L[32 * ib + j] = uint8_t(nearest_level(idl * x[32 * ib + j]));
    l += 32;
    y.scales_l[ib / 2] |= uint8_t((l & 0xf) << (4 * (ib % 2)));
    y.scales_h |= uint16_t((l >> 4) << (2 * ib));
  }
  for (int ib = 0; ib < QK_K / 32; ++ib) pack_nibbles_32(L + 32 * ib, y.qs + 16 * ib);
}

}  // namespace

void quantize_iq4_nl(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<block_iq4_nl*>(dst);
  for (int64_t i = 0; i < nrows * (k / QK4_NL); ++i) iq4_nl_block(src + i * QK4_NL, y[i]);
}

void quantize_iq4_xs(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<block_iq4_xs*>(dst);
  for (int64_t i = 0; i < nrows * (k / QK_K); ++i) iq4_xs_block(src + i * QK_K, y[i]);
}

void dequantize_row_iq4_nl(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_iq4_nl*>(src);
  for (int64_t i = 0; i < k / QK4_NL; ++i, y += QK4_NL) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK4_NL / 2; ++j) {
      y[j] = d * kIq4nlValues[x[i].qs[j] & 0xf];
      y[j + QK4_NL / 2] = d * kIq4nlValues[x[i].qs[j] >> 4];
    }
  }
}

void dequantize_row_iq4_xs(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_iq4_xs*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int ib = 0; ib < QK_K / 32; ++ib, y += 32) {
      const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * (ls - 32);
      const uint8_t* qs = x[i].qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIq4nlValues[qs[j] & 0xf];
        y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
      }
    }
  }
}

}  // namespace qb::codec
