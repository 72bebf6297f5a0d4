// K-quants: super-blocks of 256 weights split into sub-blocks of 16 or 32, whose scales (and
// mins) are themselves quantized to 4, 6 or 8 bits against one or two fp16 super-block scales.
// Q8_K (fp32 scale, int8, 16 partial sums) is the activation format of the K-quant kernels.
//
// These follow ggml's quantize_row_q*_K_ref (the no-imatrix path of llama-quantize) operation by
// operation: sub-block scale search (least squares over a few trial scales), scale quantization,
// then requantization of the weights with the *stored* scales. Any change in the order of float
// operations changes bytes, so the expression shapes below are deliberate.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/blocks.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // below this a sub-block counts as all zero

// Symmetric levels in [-nmax, nmax-1] (stored + nmax) for a sub-block, trying 19 scales around
// -nmax/max and keeping the one with the best weighted least-squares fit (weights x^2).
// Returns the fitted scale. (ggml make_qx_quants with rmse_type 1, no importance weights.)
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t(0));
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    // Better fit <=> larger sumlx^2 / suml2 (the error is sum w x^2 - that).
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K's sub-block fit: start from -nmax/max, then up to 5 rounds of coordinate descent that move
// one level at a time while the weighted fit improves. L holds level + nmax on return.
// (ggml make_q3_quants with do_rmse.)
float fit_q3(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t(0));
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = int8_t(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int nl = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (nl != L[i]) {
          slx += w * x[i] * nl;
          sl2 += w * nl * nl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = int8_t(nl);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = int8_t(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric levels [0, nmax] with x ~ scale * l - min: weighted least squares for (scale, min)
// over nstep+1 trial inverse scales; min is kept <= 0 in x-space (the_min >= 0 is returned).
// (ggml make_qkx2_quants.)
float fit_affine(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                 float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t(0));
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = uint8_t(std::clamp(l, 0, nmax));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = uint8_t(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {  // a positive offset cannot be stored: refit the scale alone
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        std::memcpy(L, Laux, size_t(n));
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Q4_K / Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes: bytes 0-3 scales 0-3,
// bytes 4-7 mins 0-3 (low 6 bits each); bytes 8-11 hold the low nibbles of scale/min 4-7, whose
// top two bits sit in the top bits of bytes 0-7.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = uint8_t((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
    m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

inline void pack_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* q) {
  if (j < 4) {
    q[j] = ls;
    q[j + 4] = lm;
  } else {
    q[j + 4] = uint8_t((ls & 0xf) | ((lm & 0xf) << 4));
    q[j - 4] |= uint8_t((ls >> 4) << 6);
    q[j] |= uint8_t((lm >> 4) << 6);
  }
}

// 2-bit levels of four 32-element quarters share bytes: element (base + l + 32 s) at bits 2s.
inline void pack_2bit_128(const uint8_t* L, uint8_t* qs) {
  for (int l = 0; l < 32; ++l) qs[l] = uint8_t(L[l] | (L[l + 32] << 2) | (L[l + 64] << 4) | (L[l + 96] << 6));
}

void q2_K_block(const float* x, block_q2_K& y) {
  uint8_t L[QK_K], Laux[16];
  float weights[16], mins[QK_K / 16], scales[QK_K / 16];
  const float q4scale = 15.f;
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = fit_affine(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < QK_K / 16; ++j) y.scales[j] = uint8_t(nearest_int(iscale * scales[j]));
    y.d = fp32_to_fp16(max_scale / q4scale);
  } else {
    std::fill(y.scales, y.scales + QK_K / 16, uint8_t(0));
    y.d = fp32_to_fp16(0.f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < QK_K / 16; ++j) y.scales[j] |= uint8_t(nearest_int(iscale * mins[j]) << 4);
    y.dmin = fp32_to_fp16(max_min / q4scale);
  } else {
    y.dmin = fp32_to_fp16(0.f);
  }
  // Requantize against the stored (4-bit, fp16) scales and mins.
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = fp16_to_fp32(y.d) * (y.scales[j] & 0xf);
    if (!d) continue;
    const float dm = fp16_to_fp32(y.dmin) * (y.scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = uint8_t(std::clamp(nearest_int((x[16 * j + ii] + dm) / d), 0, 3));
  }
  for (int j = 0; j < QK_K; j += 128) pack_2bit_128(L + j, y.qs + j / 4);
}

void q3_K_block(const float* x, block_q3_K& y) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < QK_K / 16; ++j) {
    scales[j] = fit_q3(16, 4, x + 16 * j, L + 16 * j);
    const float a = std::fabs(scales[j]);
    if (a > amax) {
      amax = a;
      max_scale = scales[j];
    }
  }
  // 16 signed 6-bit scales (+32): low nibbles in bytes 0-7 (j and j+8 share a byte), the two high
  // bits of scale j in byte 8 + j%4 at bit 2*(j/4).
  std::memset(y.scales, 0, 12);
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < QK_K / 16; ++j) {
      int8_t l = int8_t(nearest_int(iscale * scales[j]));
      l = int8_t(std::clamp<int>(l, -32, 31) + 32);
      if (j < 8)
        y.scales[j] = uint8_t(l & 0xf);
      else
        y.scales[j - 8] |= uint8_t((l & 0xf) << 4);
      l = int8_t(l >> 4);
      y.scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
    }
    y.d = fp32_to_fp16(1 / iscale);
  } else {
    y.d = fp32_to_fp16(0.f);
  }
  for (int j = 0; j < QK_K / 16; ++j) {
    int8_t sc = int8_t(j < 8 ? y.scales[j] & 0xf : y.scales[j - 8] >> 4);
    sc = int8_t((sc | (((y.scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
    const float d = fp16_to_fp32(y.d) * sc;
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
  }
  // High bit of element j goes to hmask[j % 32] bit j / 32; the low two bits pack like Q2_K.
  std::memset(y.hmask, 0, QK_K / 8);
  for (int j = 0; j < QK_K; ++j) {
    if (L[j] > 3) {
      y.hmask[j % 32] |= uint8_t(1u << (j / 32));
      L[j] = int8_t(L[j] - 4);
    }
  }
  for (int j = 0; j < QK_K; j += 128) pack_2bit_128(reinterpret_cast<const uint8_t*>(L) + j, y.qs + j / 4);
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32 with weights rms + |x|.
template <int NMAX>
void fit_k4_scales(const float* x, uint8_t* L, uint8_t* scales12, half_t& dh, half_t& dminh, float rmin, int nstep) {
  uint8_t Laux[32];
  float weights[32], mins[QK_K / 32], scales[QK_K / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = fit_affine(32, NMAX, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < QK_K / 32; ++j) {
    // nearest_int result truncated to 8 bits before the clamp, as ggml does.
    const uint8_t ls = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * mins[j])));
    pack_scale_min_k4(j, ls, lm, scales12);
  }
  dh = fp32_to_fp16(max_scale / 63.f);
  dminh = fp32_to_fp16(max_min / 63.f);
  for (int j = 0; j < QK_K / 32; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, scales12, sc, m);
    const float d = fp16_to_fp32(dh) * sc;
    if (!d) continue;
    const float dm = fp16_to_fp32(dminh) * m;
    for (int ii = 0; ii < 32; ++ii)
      L[32 * j + ii] = uint8_t(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, NMAX));
  }
}

void q4_K_block(const float* x, block_q4_K& y) {
  uint8_t L[QK_K];
  fit_k4_scales<15>(x, L, y.scales, y.d, y.dmin, -1.f, 20);
  // Each 64-element chunk: elements 0-31 in low nibbles, 32-63 in high nibbles of 32 bytes.
  for (int j = 0; j < QK_K; j += 64)
    for (int l = 0; l < 32; ++l) y.qs[j / 2 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
}

void q5_K_block(const float* x, block_q5_K& y) {
  uint8_t L[QK_K];
  fit_k4_scales<31>(x, L, y.scales, y.d, y.dmin, -0.5f, 15);
  // Low nibbles as Q4_K; fifth bit of element (64c + l) in qh[l] bit 2c, of (64c + 32 + l) bit 2c+1.
  std::memset(y.qh, 0, QK_K / 8);
  for (int c = 0; c < QK_K / 64; ++c) {
    for (int l = 0; l < 32; ++l) {
      int l1 = L[64 * c + l], l2 = L[64 * c + l + 32];
      if (l1 > 15) {
        l1 -= 16;
        y.qh[l] |= uint8_t(1u << (2 * c));
      }
      if (l2 > 15) {
        l2 -= 16;
        y.qh[l] |= uint8_t(2u << (2 * c));
      }
      y.qs[32 * c + l] = uint8_t(l1 | (l2 << 4));
    }
  }
}

void q6_K_block(const float* x, block_q6_K& y) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    scales[ib] = fit_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
    const float a = std::fabs(scales[ib]);
    if (a > max_abs_scale) {
      max_abs_scale = a;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&y, 0, sizeof y);
    return;
  }
  const float iscale = -128.f / max_scale;
  y.d = fp32_to_fp16(1 / iscale);
  for (int ib = 0; ib < QK_K / 16; ++ib) y.scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = fp16_to_fp32(y.d) * y.scales[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
  }
  // Per 128 elements: ql[0..31] = e[l] | e[l+64] << 4, ql[32..63] = e[l+32] | e[l+96] << 4,
  // qh[l] = the high two bits of e[l], e[l+32], e[l+64], e[l+96] at bits 0, 2, 4, 6.
  for (int c = 0; c < QK_K / 128; ++c) {
    const int8_t* Lc = L + 128 * c;
    uint8_t* ql = y.ql + 64 * c;
    uint8_t* qh = y.qh + 32 * c;
    for (int l = 0; l < 32; ++l) {
      ql[l] = uint8_t((Lc[l] & 0xf) | ((Lc[l + 64] & 0xf) << 4));
      ql[l + 32] = uint8_t((Lc[l + 32] & 0xf) | ((Lc[l + 96] & 0xf) << 4));
      qh[l] = uint8_t((Lc[l] >> 4) | ((Lc[l + 32] >> 4) << 2) | ((Lc[l + 64] >> 4) << 4) | ((Lc[l + 96] >> 4) << 6));
    }
  }
}

void q8_K_block(const float* x, block_q8_K& y) {
  float max = 0, amax = 0;
  for (int j = 0; j < QK_K; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (!amax) {
    // ggml leaves bsums unwritten here; zero is what they would sum to.
    std::memset(&y, 0, sizeof y);
    return;
  }
  // -127/max (not -128): the signed extreme maps to -127, so |q| <= 127 and kernels may negate.
  const float iscale = -127.f / max;
  for (int j = 0; j < QK_K; ++j) y.qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
  for (int j = 0; j < QK_K / 16; ++j) {
    int sum = 0;
    for (int ii = 0; ii < 16; ++ii) sum += y.qs[16 * j + ii];
    y.bsums[j] = int16_t(sum);
  }
  y.d = 1 / iscale;
}

template <typename Block, void (*Fn)(const float*, Block&)>
void quantize_superblocks(const float* src, void* dst, int64_t nrows, int64_t k) {
  const int64_t nb = nrows * (k / QK_K);
  auto* y = static_cast<Block*>(dst);
  for (int64_t i = 0; i < nb; ++i) Fn(src + i * QK_K, y[i]);
}

}  // namespace

void quantize_q2_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q2_K, q2_K_block>(s, d, n, k);
}
void quantize_q3_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q3_K, q3_K_block>(s, d, n, k);
}
void quantize_q4_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q4_K, q4_K_block>(s, d, n, k);
}
void quantize_q5_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q5_K, q5_K_block>(s, d, n, k);
}
void quantize_q6_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q6_K, q6_K_block>(s, d, n, k);
}
void quantize_q8_K(const float* s, void* d, int64_t n, int64_t k) {
  quantize_superblocks<block_q8_K, q8_K_block>(s, d, n, k);
}

void dequantize_row_q2_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q2_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int c = 0; c < QK_K / 128; ++c, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = x[i].scales[is++];
          const float dl = d * (sc & 0xf), ml = dmin * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void dequantize_row_q3_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q3_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d_all = fp16_to_fp32(x[i].d);
    int8_t sc[16];
    for (int j = 0; j < 16; ++j) {
      const int lo = j < 8 ? x[i].scales[j] & 0xf : x[i].scales[j - 8] >> 4;
      const int hi = (x[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3;
      sc[j] = int8_t((lo | (hi << 4)) - 32);
    }
    const uint8_t* q = x[i].qs;
    int is = 0;
    uint8_t m = 1;
    for (int c = 0; c < QK_K / 128; ++c, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m = uint8_t(m << 1)) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * sc[is++];
          for (int l = 0; l < 16; ++l) {
            const int idx = l + 16 * half;
            *y++ = dl * (((q[idx] >> shift) & 3) - ((x[i].hmask[idx] & m) ? 0 : 4));
          }
        }
      }
    }
  }
}

void dequantize_row_q4_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q4_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int c = 0; c < QK_K / 64; ++c, q += 32) {
      uint8_t sc, m;
      unpack_scale_min_k4(2 * c, x[i].scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(2 * c + 1, x[i].scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xf) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q5_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    for (int c = 0; c < QK_K / 64; ++c, ql += 32) {
      uint8_t sc, m;
      unpack_scale_min_k4(2 * c, x[i].scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(2 * c + 1, x[i].scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      const uint8_t u1 = uint8_t(1u << (2 * c)), u2 = uint8_t(2u << (2 * c));
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_row_q6_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q6_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int c = 0; c < QK_K / 128; ++c, y += 128) {
      const uint8_t* ql = x[i].ql + 64 * c;
      const uint8_t* qh = x[i].qh + 32 * c;
      const int8_t* sc = x[i].scales + 8 * c;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // (d * scale) * q, in that order, as ggml.
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void dequantize_row_q8_K(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q8_K*>(src);
  for (int64_t i = 0; i < k / QK_K; ++i)
    for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

}  // namespace qb::codec
