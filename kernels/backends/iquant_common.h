// Scalar oracle decoders for the codebook formats: IQ4_XS (super-block, Q8_K activations),
// IQ4_NL and MXFP4 (32-weight blocks, Q8_0 activations). See kquant_common.h for the model.
#pragma once
#include "kquant_common.h"

namespace qb::kern {
inline namespace QB_KQ_ISA {

// IQ4_XS: 8 sub-blocks of 32; scale = 6 bits (4 in scales_l, 2 in scales_h) - 32; each nibble
// indexes the IQ4_NL codebook; sub-block ib: low nibbles of qs[16ib..] are its first 16 weights.
inline void decode_iq4_xs(const uint8_t* b, SuperBlock& sb) {
  const uint16_t sh = load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h));
  const uint8_t* sl = b + offsetof(block_iq4_xs, scales_l);
  const uint8_t* qs = b + offsetof(block_iq4_xs, qs);
  sb.d = load_half(b + offsetof(block_iq4_xs, d));
  sb.dmin = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const int ls = (((sl[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4)) - 32;
    sb.sc[2 * ib] = sb.sc[2 * ib + 1] = int16_t(ls);
    sb.mn[2 * ib] = sb.mn[2 * ib + 1] = 0;
    for (int l = 0; l < 16; ++l) {
      sb.q[32 * ib + l] = kIq4nl[qs[16 * ib + l] & 0xF];
      sb.q[32 * ib + 16 + l] = kIq4nl[qs[16 * ib + l] >> 4];
    }
  }
}

// 32-weight codebook block (IQ4_NL, MXFP4): 16 bytes of nibbles, low nibbles first.
// Returns the block's float scale and fills q[32] with codebook values.
using Decode32Fn = float (*)(const uint8_t* blk, int8_t q[32]);

inline float decode_iq4_nl(const uint8_t* b, int8_t q[32]) {
  const uint8_t* qs = b + offsetof(block_iq4_nl, qs);
  for (int l = 0; l < 16; ++l) {
    q[l] = kIq4nl[qs[l] & 0xF];
    q[16 + l] = kIq4nl[qs[l] >> 4];
  }
  return load_half(b + offsetof(block_iq4_nl, d));
}

// MXFP4: E2M1 codebook doubled to integers; the E8M0 exponent gives 2^(e-128) (the half).
inline float decode_mxfp4(const uint8_t* b, int8_t q[32]) {
  const uint8_t* qs = b + offsetof(block_mxfp4, qs);
  for (int l = 0; l < 16; ++l) {
    q[l] = kMxfp4[qs[l] & 0xF];
    q[16 + l] = kMxfp4[qs[l] >> 4];
  }
  return e8m0_half(b[offsetof(block_mxfp4, e)]);
}

// ggml's scalar vec_dot for these: per block, sumf += (dx * dw) * Σ q·x (integer).
template <Decode32Fn Decode, size_t WBytes>
float dot_b32_q8_0(const uint8_t* w, const uint8_t* x, int64_t nb) {
  float sumf = 0.0f;
  int8_t q[32];
  for (int64_t i = 0; i < nb; ++i, w += WBytes, x += sizeof(block_q8_0)) {
    const float dw = Decode(w, q);
    const auto* xq = reinterpret_cast<const int8_t*>(x + off::q8_0_qs);
    int32_t s = 0;
    for (int l = 0; l < 32; ++l) s += int32_t(q[l]) * xq[l];
    sumf += load_half(x + off::q8_0_d) * dw * float(s);
  }
  return sumf;
}

template <Decode32Fn Decode, size_t WBytes>
void compute_b32_scalar(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                        size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = r0; r < r1; ++r)
      Y[j * ldy + r] = dot_b32_q8_0<Decode, WBytes>(w + r * w_stride, x + j * xq_stride, nb);
}

}  // namespace QB_KQ_ISA
}  // namespace qb::kern
