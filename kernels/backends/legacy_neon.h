// Legacy-family NEON tile templates, shared by legacy_neon.cpp and int_neon.cpp (INT4_Gxx
// is legacy-like). Internal linkage: include only from translation units built for NEON.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include "tu_vector.h"

#include "legacy_common.h"

namespace qb::kern {
namespace {

constexpr int64_t kKB = 128;

inline float half_neon(const uint8_t* p) {
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(load_u16(p)))), 0);
}

// wb: the block's group; sub: the block's index inside the group (codes 16 bytes per block).
template <const LegacyGeom& G>
inline void decode(const uint8_t* wb, int sub, int8x16_t& lo, int8x16_t& hi) {
  if constexpr (G.bits == 8) {
    lo = vld1q_s8(reinterpret_cast<const int8_t*>(wb + G.qs_off));
    hi = vld1q_s8(reinterpret_cast<const int8_t*>(wb + G.qs_off + 16));
  } else {
    const uint8x16_t q = vld1q_u8(wb + G.qs_off + 16 * sub);
    uint8x16_t l = vandq_u8(q, vdupq_n_u8(0x0F)), h = vshrq_n_u8(q, 4);
    if constexpr (G.bits == 5) {
      // Byte j of the result = bit j of qh: spread qh bytes, test one bit per byte.
      const uint8x16_t qh = vreinterpretq_u8_u32(vdupq_n_u32(load_u32(wb + G.qh_off)));
      static const uint8_t kIdxLo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
      static const uint8_t kIdxHi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
      static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
      const uint8x16_t bits = vld1q_u8(kBits), sixteen = vdupq_n_u8(16);
      l = vorrq_u8(l, vandq_u8(vtstq_u8(vqtbl1q_u8(qh, vld1q_u8(kIdxLo)), bits), sixteen));
      h = vorrq_u8(h, vandq_u8(vtstq_u8(vqtbl1q_u8(qh, vld1q_u8(kIdxHi)), bits), sixteen));
    }
    lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(int8_t(G.off)));
    hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(int8_t(G.off)));
  }
}

struct BlockView {
  const uint8_t* blocks;  // quantized activation row (Q8_0/Q8_1 blocks) from the tile's first block
  const float* d;
  const float* s;
};

// Block b of an activation column as the codes that meet decode<G>'s lo and hi.
template <const LegacyGeom& G, bool Q81>
inline void load_x(const BlockView& x, int64_t b, int8x16_t& xl, int8x16_t& xh) {
  constexpr int abb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), aqo = Q81 ? 4 : 2;
  const int8_t* xq = reinterpret_cast<const int8_t*>(x.blocks + b * abb + aqo);
  if constexpr (G.evenodd) {
    const int8x16x2_t eo = vld2q_s8(xq);  // de-interleaves: even codes, odd codes
    xl = eo.val[0], xh = eo.val[1];
  } else {
    xl = vld1q_s8(xq), xh = vld1q_s8(xq + 16);
  }
}

// What a legacy NEON tile reads: up to 4 weight rows x 4 activation columns (BlockView).
struct LegacyTileShapeNeon {
  static constexpr int kMR = 4, kNR = 4;
  static constexpr bool kRowScale = false;
  using Row = const uint8_t*;
  using Col = BlockView;
};

// gemm_<w>_<a>_4x4_neondot: a tile of up to 4 rows x 4 columns over nbk blocks of 32 codes.
template <const LegacyGeom& G, bool Q81>
struct LegacyTileNeon : LegacyTileShapeNeon {
  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    float32x4_t acc[R][C];
    float macc[R][C] = {};
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nbk; ++b) {
      int8x16_t lo[R], hi[R];
      float dw[R], mw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = w[r] + (b / G.bpg) * G.group_bytes();
        decode<G>(wb, int(b % G.bpg), lo[r], hi[r]);
        dw[r] = half_neon(wb);
        if constexpr (G.m_off >= 0) mw[r] = half_neon(wb + G.m_off);
      }
      for (int c = 0; c < C; ++c) {
        int8x16_t xl, xh;
        load_x<G, Q81>(x[c], b, xl, xh);
        const float dx = x[c].d[b];
        for (int r = 0; r < R; ++r) {
          const int32x4_t dot = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo[r], xl), hi[r], xh);
          acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(dot), dw[r] * dx);
          if constexpr (G.m_off >= 0) macc[r][c] += mw[r] * x[c].s[b];
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = vaddvq_f32(acc[r][c]) + macc[r][c];
  }
};

thread_local TuVector<float> tls_scales;

// Tile: a microkernel template over (geometry, activation is Q8_1) reading BlockView columns.
template <const LegacyGeom& G, bool Q81, template <const LegacyGeom&, bool> class Tile = LegacyTileNeon>
void gemm_legacy_neon(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                      size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  constexpr int abb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0));
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  // d_x and s_x of every column, converted once.
  auto& sc = tls_scales;
  if (sc.size() < size_t(2 * n * nb)) sc.resize(size_t(2 * n * nb));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* xb = xq + j * xq_stride + b * abb;
      sc[size_t(2 * (j * nb) + b)] = half_neon(xb);
      sc[size_t(2 * (j * nb) + nb + b)] = Q81 ? half_neon(xb + 2) : 0.0f;
    }
  TileDriver<Tile<G, Q81>>::run(
      r0, r1, n, nb, n == 1 ? nb : kKB, 4,
      [&](int64_t r, int64_t kb) { return w + r * int64_t(w_stride) + kb * G.block_bytes; },
      [&](int64_t c, int64_t kb) {
        const float* s = sc.data() + 2 * c * nb;
        return BlockView{xq + c * int64_t(xq_stride) + kb * abb, s + kb, s + nb + kb};
      },
      Y, ldy);
}

// Activation quantizers: bit-exact with qb::quantize_activations (vrndnq_f32: nearest, ties to
// even; id = 127/amax).
template <bool Q81>
void quantize_act(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  const int bb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), qo = Q81 ? 4 : 2;
  for (int64_t i = 0; i < k / 32; ++i) {
    float32x4_t v[8];
    float32x4_t mx = vdupq_n_f32(0.0f);
    for (int j = 0; j < 8; ++j) {
      v[j] = vld1q_f32(x + i * 32 + j * 4);
      mx = vmaxq_f32(mx, vabsq_f32(v[j]));
    }
    const float amax = vmaxvq_f32(mx);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint8_t* yb = y + i * bb;
    const uint16_t dh = fp32_to_fp16(d);
    std::memcpy(yb, &dh, 2);
    int sum = 0;
    for (int j = 0; j < 8; j += 2) {
      const int32x4_t a = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(v[j], id)));
      const int32x4_t b = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(v[j + 1], id)));
      const int16x8_t p = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
      vst1_s8(reinterpret_cast<int8_t*>(yb + qo + j * 4), vmovn_s16(p));
      sum += vaddvq_s32(vaddq_s32(a, b));
    }
    if constexpr (Q81) {
      const uint16_t sh = fp32_to_fp16(float(sum) * d);
      std::memcpy(yb + 2, &sh, 2);
    }
  }
}

}  // namespace
}  // namespace qb::kern
