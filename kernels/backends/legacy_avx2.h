// Legacy-family AVX2 tile templates, shared by legacy_avx2.cpp and int_avx2.cpp (INT4_Gxx
// is legacy-like). Internal linkage: include only from translation units built for AVX2.
#pragma once
#include "qb/x86_intrin.h"

#include <algorithm>
#include <vector>

#include "legacy_common.h"

namespace qb::kern {
namespace {

inline float hsum8(__m256 v) {
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

inline float half_f16c(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

// Unsigned codes (or for Q8, the signed codes) of one block in natural order.
// wb: the block's group; sub: the block's index inside the group (codes 16 bytes per block).
template <const LegacyGeom& G>
inline __m256i decode(const uint8_t* wb, int sub) {
  if constexpr (G.bits == 8) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + G.qs_off));
  } else {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + G.qs_off + 16 * sub));
    __m256i z = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1),
                                 _mm256_set1_epi8(0x0F));
    if constexpr (G.bits == 5) {
      // Spread the 32 high bits to bytes: byte j gets bit j of qh.
      const __m256i h = _mm256_set1_epi32(int(load_u32(wb + G.qh_off)));
      const __m256i bytes = _mm256_shuffle_epi8(
          h, _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL));
      const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ULL));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
      z = _mm256_or_si256(z, _mm256_and_si256(set, _mm256_set1_epi8(16)));
    }
    return z;
  }
}

// gemm_<w>_<a>_4x2_avx2: a tile of up to 4 rows x 2 columns over nbk blocks of 32 codes.
template <const LegacyGeom& G, bool Q81>
struct LegacyTileAvx2 {
  static constexpr int kMR = 4, kNR = 2;
  static constexpr bool kRowScale = false, kQ81 = Q81;
  static constexpr int kLayout = G.evenodd ? kNaturalEvenOdd : kNatural;
  using Row = const uint8_t*;
  using Col = ActView;
  static void convert(ActPanel& P) {
    for (size_t i = 0; i < P.nhalfs(); ++i) P.d[i] = _cvtsh_ss(P.dh[i]), P.s[i] = _cvtsh_ss(P.sh[i]);
  }

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    __m256 acc[R][C];
    float macc[R][C] = {};
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i negoff = _mm256_set1_epi16(int16_t(-G.off));
    for (int64_t b = 0; b < nbk; ++b) {
      __m256i wv[R];
      float dw[R], mw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = w[r] + (b / G.bpg) * G.group_bytes();
        wv[r] = decode<G>(wb, int(b % G.bpg));
        dw[r] = half_f16c(wb);
        if constexpr (G.m_off >= 0) mw[r] = half_f16c(wb + G.m_off);
      }
      for (int c = 0; c < C; ++c) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[c].qs + b * 32));
        const float dx = x[c].d[b];
        __m256i base = _mm256_setzero_si256();
        if constexpr (G.off != 0 && G.bits != 8)
          base = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), xv), negoff);
        for (int r = 0; r < R; ++r) {
          __m256i p16;
          if constexpr (G.bits == 8)
            p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(wv[r], wv[r]), _mm256_sign_epi8(xv, wv[r]));
          else
            p16 = _mm256_maddubs_epi16(wv[r], xv);
          const __m256i dot = _mm256_add_epi32(_mm256_madd_epi16(p16, ones), base);
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw[r] * dx), acc[r][c]);
          if constexpr (G.m_off >= 0) macc[r][c] += mw[r] * x[c].s[b];
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(acc[r][c]) + macc[r][c];
  }
};

thread_local ActPanel tls_panel;

template <const LegacyGeom& G, bool Q81>
void gemm_legacy_avx2(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                      size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  panel_gemm<LegacyTileAvx2<G, Q81>>(tls_panel, k, r0, r1, Xq, xq_stride, n, Y, ldy, 4, [&](int64_t r, int64_t kb) {
    return w + r * int64_t(w_stride) + kb * G.block_bytes;
  });
}

// Activation quantizers, bit-exact with qb::quantize_activations: nearest, ties to even (the
// explicit rounding immediate, so MXCSR cannot change it).
inline __m256i round_even(__m256 v) {
  return _mm256_cvttps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

template <bool Q81>
void quantize_act(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  const int bb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), qo = Q81 ? 4 : 2;
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < k / 32; ++i) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(x + i * 32 + j * 8);
      mx = _mm256_max_ps(mx, _mm256_and_ps(v[j], absmask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint8_t* yb = y + i * bb;
    const uint16_t dh = fp32_to_fp16(d);
    std::memcpy(yb, &dh, 2);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = round_even(_mm256_mul_ps(v[j], _mm256_set1_ps(id)));
    // Pack 32 int32 -> 32 int8; packs work per 128-bit lane, a dword permute restores order.
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 =
        _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(yb + qo), p8);
    if constexpr (Q81) {
      const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), p8);
      const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
      __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
      const uint16_t sh = fp32_to_fp16(float(_mm_cvtsi128_si32(t)) * d);
      std::memcpy(yb + 2, &sh, 2);
    }
  }
}

}  // namespace
}  // namespace qb::kern
