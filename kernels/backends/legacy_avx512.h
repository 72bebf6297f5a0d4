// Legacy-family AVX-512 tile templates, shared by legacy_avx512.cpp and int_avx512.cpp (the
// int family's INT4_Gxx layouts are legacy-like). Internal linkage: include only from
// translation units compiled with the AVX-512 flags.
#pragma once
#include "qb/x86_intrin.h"

#include <algorithm>
#include <type_traits>

#include "legacy_common.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

constexpr int kGemmR = 3;  // GEMM tile: 3 rows x 3 columns (fits the 32 zmm registers)

// Horizontal sums/max (GCC 12's _mm512_reduce_* trip -Wmaybe-uninitialized in its own header).
inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}
inline float hmax(__m512 v) {
  const __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_max_ss(b, _mm_movehdup_ps(b)));
}
inline int hsum_i32(__m512i v) {
  const __m256i a = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i b = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  b = _mm_add_epi32(b, _mm_shuffle_epi32(b, 0x4E));
  b = _mm_add_epi32(b, _mm_shuffle_epi32(b, 0xB1));
  return _mm_cvtsi128_si32(b);
}

inline __mmask64 byte_mask(int64_t nbytes) {
  return nbytes >= 64 ? ~__mmask64(0) : nbytes <= 0 ? __mmask64(0) : (__mmask64(1) << nbytes) - 1;
}

// Word-permute index: word i of the result takes word f(i) of (A = bytes 0..63, B = 64..127).
template <typename F>
inline __m512i word_index(F f) {
  alignas(64) int16_t v[32];
  for (int i = 0; i < 32; ++i) v[i] = int16_t(f(i));
  return _mm512_load_si512(v);
}

inline void halfs_to_floats(const uint16_t* h, float* f, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(f + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  for (; i < n; ++i) f[i] = _cvtsh_ss(h[i]);
}

// 4/5-bit formats (and INT4_Gxx): one step = a quad of blocks. Two zmm loads cover the quad's bytes; one word
// permute gathers the 64 code bytes, another the scales: [d_b x4 .. d_b+3 x4 | m_b 0 0 0 ..].
// Codes expand to lo (codes 0..15 of each block) and hi (16..31); both dot products land in
// the same lanes (lane i <-> block i/4), so one cvt + fma per quad.
template <const LegacyGeom& G>
struct NibTile {
  static constexpr int kBB = G.block_bytes;
  static constexpr bool kMin = G.m_off >= 0;

  template <int R, int C>
  static void run(const uint8_t* const* w, const ActView* x, int64_t nbk, float* out) {
    // Block j of the quad: group j / bpg, codes 16 bytes per block inside the group.
    const __m512i code_idx = word_index([](int i) {
      const int j = i / 8;
      return ((j / G.bpg) * G.group_bytes() + G.qs_off + 16 * (j % G.bpg)) / 2 + i % 8;
    });
    const __m512i scale_idx = word_index([](int i) {
      const int j = (i % 16) / 4;
      const int g = (j / G.bpg) * G.group_bytes() / 2;
      return i < 16 ? g : kMin ? g + G.m_off / 2 : 0;
    });
    // The minimum goes to the first lane of its block only.
    const __mmask32 scale_keep = kMin ? 0x1111FFFFu : 0x0000FFFFu;
    const __m512i qh_idx =
        word_index([](int i) { return i < 8 ? ((i % 4) * kBB + (G.qh_off > 0 ? G.qh_off : 0)) / 2 + i / 4 : 0; });
    const __m512i lane_idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i nib = _mm512_set1_epi8(0x0F), off = _mm512_set1_epi8(char(G.off));
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < nbk; p += 4) {
      const int64_t nbytes = std::min<int64_t>(4, nbk - p) * kBB;
      const __mmask64 ma = byte_mask(nbytes), mb = byte_mask(nbytes - 64);
      __m512i lo[R], hi[R];
      __m512 ws[R], wm[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = w[r] + p * kBB;
        const __m512i A = _mm512_maskz_loadu_epi8(ma, wb), B = _mm512_maskz_loadu_epi8(mb, wb + 64);
        const __m512i codes = _mm512_permutex2var_epi16(A, code_idx, B);
        lo[r] = _mm512_and_si512(codes, nib);
        hi[r] = _mm512_and_si512(_mm512_srli_epi16(codes, 4), nib);
        if constexpr (G.bits == 5) {
          const __m128i h = _mm512_castsi512_si128(_mm512_permutex2var_epi16(A, qh_idx, B));
          const __m512i sixteen = _mm512_set1_epi8(16);
          lo[r] = _mm512_mask_add_epi8(lo[r], __mmask64(_mm_cvtsi128_si64(h)), lo[r], sixteen);
          hi[r] = _mm512_mask_add_epi8(hi[r], __mmask64(_mm_extract_epi64(h, 1)), hi[r], sixteen);
        }
        const __m512i sc = _mm512_maskz_permutex2var_epi16(scale_keep, A, scale_idx, B);
        ws[r] = _mm512_cvtph_ps(_mm512_castsi512_si256(sc));
        if constexpr (kMin) wm[r] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(sc, 1));
      }
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = x[c].qs + p * 32;
        const __m512i xlo = _mm512_loadu_si512(xq), xhi = _mm512_loadu_si512(xq + 64);
        const __m512 xs = _mm512_permutexvar_ps(lane_idx, _mm512_castps128_ps512(_mm_loadu_ps(x[c].d + p)));
        __m512i base = _mm512_setzero_si512();
        if constexpr (G.off != 0)
          base = _mm512_sub_epi32(base, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(base, off, xlo), off, xhi));
        __m512 sx;
        if constexpr (kMin) sx = _mm512_permutexvar_ps(lane_idx, _mm512_castps128_ps512(_mm_loadu_ps(x[c].s + p)));
        for (int r = 0; r < R; ++r) {
          const __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(base, lo[r], xlo), hi[r], xhi);
          acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[r], xs), acc[r][c]);
          if constexpr (kMin) acc[r][c] = _mm512_fmadd_ps(wm[r], sx, acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
  }
};

// 8-bit formats: one step = a pair of blocks (64 codes, xor 0x80 to make them unsigned; the
// 128 offset is removed by starting from -128 * sum(x) per lane). Lanes 0-7 <-> block b.
template <const LegacyGeom& G>
struct Q8Tile {
  static constexpr int kBB = G.block_bytes;

  template <int R, int C>
  static void run(const uint8_t* const* w, const ActView* x, int64_t nbk, float* out) {
    const __m512i scale_idx = word_index([](int i) { return i < 8 ? 0 : i < 16 ? kBB / 2 : 0; });
    const __m512i lane_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < nbk; p += 2) {
      const bool two = p + 1 < nbk;
      __m512i wv[R];
      __m512 ws[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = w[r] + p * kBB;
        const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + G.qs_off));
        const __m256i q1 =
            two ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + kBB + G.qs_off)) : _mm256_setzero_si256();
        wv[r] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), flip);
        const __m512i A = _mm512_maskz_loadu_epi8(byte_mask(two ? 64 : kBB), wb);
        ws[r] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_idx, A)));
      }
      for (int c = 0; c < C; ++c) {
        const __m512i xv = _mm512_loadu_si512(x[c].qs + p * 32);
        const __m512 xs = _mm512_permutexvar_ps(
            lane_idx, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x[c].d + p)))));
        const __m512i base =
            _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, xv));
        for (int r = 0; r < R; ++r)
          acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(base, wv[r], xv)),
                                      _mm512_mul_ps(ws[r], xs), acc[r][c]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
  }
};

template <const LegacyGeom& G>
using TileOf = std::conditional_t<G.bits == 8, Q8Tile<G>, NibTile<G>>;

// gemm_<w>_<a>_3x3_avx512vnni (4x3 for GEMV): the tile driver's view of NibTile / Q8Tile.
template <const LegacyGeom& G, bool Q81>
struct LegacyTileAvx512 {
  static constexpr int kMR = 4, kNR = 3;
  static constexpr bool kRowScale = false, kQ81 = Q81;
  static constexpr int kLayout = G.bits == 8 ? kNatural : G.evenodd ? kQuadEvenOdd : kQuad;
  using Row = const uint8_t*;
  using Col = ActView;
  static void convert(ActPanel& P) {
    halfs_to_floats(P.dh.data(), P.d.data(), P.nhalfs());
    if (Q81) halfs_to_floats(P.sh.data(), P.s.data(), P.nhalfs());
  }
  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    TileOf<G>::template run<R, C>(w, x, nbk, out);
  }
};

thread_local ActPanel tls_panel;

template <const LegacyGeom& G, bool Q81>
void gemm_legacy_vnni(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                      size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  panel_gemm<LegacyTileAvx512<G, Q81>>(
      tls_panel, k, r0, r1, Xq, xq_stride, n, Y, ldy, n == 1 ? 4 : kGemmR,
      [&](int64_t r, int64_t kb) { return w + r * int64_t(w_stride) + kb * G.block_bytes; });
}

#if defined(QB_AMX_INT8)
// ---- Optional AMX-INT8 GEMM path (Q4_0, Q5_0, Q8_0, Q8_1 weights: no minimum term) ----
// Per block of 32: tdpbssd gives the exact int32 dot of 16 weight rows (codes - offset, s8) by
// 16 activation columns (s8); it is stored and scaled lane-wise into fp32 accumulators
// (d_w * d_x per row x column), 16 zmm per 16x16 output tile. Weights are unpacked to s8 once
// per 16-row block, activations packed to the tile layout (dwords of 4 codes) once per call.
// Compiled only into legacy_amxint8.cpp (-mamx-tile -mamx-int8): dispatch loads its rows
// (gemm_*_16x16_amx) where the CPU has AMX-INT8 and Linux granted the tile state (asked once,
// in cpu_features()), unless QB_NO_AMX=1. Rows and columns outside whole 16x16 tiles, and GEMV,
// go through the VNNI tiles above.

template <const LegacyGeom& G>
constexpr bool kAmxFormat = G.m_off < 0 && G.bpg == 1 && !G.evenodd;

struct AmxI8Scratch {
  TuVector<int8_t> a, b;   // a: [block][16 rows][32]; b: [col group][block][8][64]
  TuVector<float> dw, dx;  // dw: [block][16]; dx: [col group][block][16]
};
thread_local AmxI8Scratch tls_amx_i8;

__attribute__((target("amx-tile,amx-int8"))) inline void amx_i8_config() {
  alignas(64) uint8_t cfg[64] = {};
  cfg[0] = 1;
  cfg[16 + 0] = 64, cfg[48 + 0] = 16;  // tile 0: C, 16 x 16 int32
  cfg[16 + 2] = 32, cfg[48 + 1] = 16;  // tile 1: A, 16 rows x 32 codes
  cfg[16 + 4] = 64, cfg[48 + 2] = 8;   // tile 2: B, 8 rows (dwords of 4 k) x 16 columns
  asm volatile("" ::: "memory");
  _tile_loadconfig(cfg);
}
// TILERELEASE, then VZEROUPPER: measured on this Sapphire Rapids VM, legacy-SSE code that runs
// after a bare TILERELEASE (the model's softmax around libm's expf, its attention loops) ran ~25x
// slower, stalling after every call into VEX code, until the next VZEROUPPER; the compiler emits
// none here because this function touches no vector register. (gemma3 270M perplexity, ctx 512,
// 2 threads: 11 tokens/s with AMX vs 36 with QB_NO_AMX=1 before, 65 with AMX after.)
__attribute__((target("amx-tile,avx"))) inline void amx_i8_release() {
  _tile_release();
  _mm256_zeroupper();
}

// acc[r] (16 columns) += sum over blocks of dot(r, c) * dw[b][r] * dx[b][c].
__attribute__((target("amx-tile,amx-int8"))) inline void amx_i8_tile(const int8_t* a, const int8_t* b, const float* dw,
                                                                     const float* dx, int64_t nb, float* out) {
  __m512 acc[16];
  for (auto& v : acc) v = _mm512_setzero_ps();
  alignas(64) int32_t c[256];
  for (int64_t blk = 0; blk < nb; ++blk) {
    _tile_zero(0);
    _tile_loadd(1, a + blk * 512, 32);
    _tile_loadd(2, b + blk * 512, 64);
    _tile_dpbssd(0, 1, 2);
    _tile_stored(0, c, 64);
    const __m512 xs = _mm512_loadu_ps(dx + blk * 16);
    for (int r = 0; r < 16; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + r * 16)),
                               _mm512_mul_ps(xs, _mm512_set1_ps(dw[blk * 16 + r])), acc[r]);
  }
  for (int r = 0; r < 16; ++r) _mm512_storeu_ps(out + r * 16, acc[r]);
}

// Rows [r0, r0 + 16 * nrb) x columns [0, 16 * ncg) through AMX; returns false if not used.
template <const LegacyGeom& G, bool Q81>
bool amx_whole_tiles(int64_t k, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* xq,
                     size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  if constexpr (!kAmxFormat<G>) {
    return false;
  } else {
    const int64_t nrb = (r1 - r0) / 16, ncg = n / 16, nb = k / 32;
    if (nrb == 0 || ncg == 0) return false;
    constexpr int abb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), aqo = Q81 ? 4 : 2;
    AmxI8Scratch& s = tls_amx_i8;
    if (s.b.size() < size_t(ncg * nb * 512)) s.b.resize(size_t(ncg * nb * 512)), s.dx.resize(size_t(ncg * nb * 16));
    if (s.a.size() < size_t(nb * 512)) s.a.resize(size_t(nb * 512)), s.dw.resize(size_t(nb * 16));
    // B: tile row i of block b holds codes 4i..4i+3 of each of the 16 columns.
    for (int64_t g = 0; g < ncg; ++g)
      for (int64_t j = 0; j < 16; ++j) {
        const uint8_t* col = xq + (g * 16 + j) * xq_stride;
        int8_t* dst = s.b.data() + g * nb * 512 + j * 4;
        float* dxs = s.dx.data() + g * nb * 16 + j;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* xb = col + b * abb;
          for (int i = 0; i < 8; ++i) std::memcpy(dst + b * 512 + i * 64, xb + aqo + 4 * i, 4);
          dxs[b * 16] = _cvtsh_ss(load_u16(xb));
        }
      }
    float out[256];
    amx_i8_config();
    for (int64_t rb = 0; rb < nrb; ++rb) {
      // A: weights of 16 rows as s8 (code - offset), block-major; their scales.
      for (int r = 0; r < 16; ++r) {
        const uint8_t* row = w + (r0 + rb * 16 + r) * int64_t(w_stride);
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* wb = row + b * G.block_bytes;
          int8_t* dst = s.a.data() + b * 512 + r * 32;
          if constexpr (G.bits == 8) {
            std::memcpy(dst, wb + G.qs_off, 32);
          } else {
            const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + G.qs_off));
            __m256i z = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1),
                                         _mm256_set1_epi8(0x0F));
            if constexpr (G.bits == 5)
              z = _mm256_mask_add_epi8(z, __mmask32(load_u32(wb + G.qh_off)), z, _mm256_set1_epi8(16));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_sub_epi8(z, _mm256_set1_epi8(char(G.off))));
          }
          s.dw[size_t(b * 16 + r)] = _cvtsh_ss(load_u16(wb));
        }
      }
      for (int64_t g = 0; g < ncg; ++g) {
        amx_i8_tile(s.a.data(), s.b.data() + g * nb * 512, s.dw.data(), s.dx.data() + g * nb * 16, nb, out);
        for (int c = 0; c < 16; ++c)
          for (int r = 0; r < 16; ++r) Y[(g * 16 + c) * ldy + r0 + rb * 16 + r] = out[r * 16 + c];
      }
    }
    amx_i8_release();
    return true;
  }
}

// The gemm_*_16x16_amx rows: whole 16x16 tiles by AMX, the rest (and GEMV) by the VNNI tiles.
template <const LegacyGeom& G, bool Q81>
void gemm_legacy_amx(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                     size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  if (n > 1 && amx_whole_tiles<G, Q81>(k, w, w_stride, r0, r1, xq, xq_stride, n, Y, ldy)) {
    const int64_t R16 = (r1 - r0) / 16 * 16, N16 = n / 16 * 16;
    if (R16 < r1 - r0) gemm_legacy_vnni<G, Q81>(k, W, w_stride, r0 + R16, r1, Xq, xq_stride, n, Y, ldy);
    if (N16 < n)
      gemm_legacy_vnni<G, Q81>(k, W, w_stride, r0, r0 + R16, xq + N16 * xq_stride, xq_stride, n - N16, Y + N16 * ldy,
                               ldy);
    return;
  }
  gemm_legacy_vnni<G, Q81>(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
}
#endif  // QB_AMX_INT8

// ---- activation quantizers, bit-exact with qb::quantize_activations (ties to even) ----
inline __m512i round_even(__m512 v) {
  return _mm512_cvttps_epi32(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

template <bool Q81>
void quantize_act(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  const int bb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), qo = Q81 ? 4 : 2;
  for (int64_t i = 0; i < k / 32; ++i) {
    const __m512 a = _mm512_loadu_ps(x + i * 32), b = _mm512_loadu_ps(x + i * 32 + 16);
    const float amax = hmax(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint8_t* yb = y + i * bb;
    const uint16_t dh = fp32_to_fp16(d);
    std::memcpy(yb, &dh, 2);
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i qa = round_even(_mm512_mul_ps(a, vid)), qb = round_even(_mm512_mul_ps(b, vid));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(yb + qo), _mm512_cvtepi32_epi8(qa));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(yb + qo + 16), _mm512_cvtepi32_epi8(qb));
    if constexpr (Q81) {
      const int sum = hsum_i32(_mm512_add_epi32(qa, qb));
      const uint16_t sh = fp32_to_fp16(float(sum) * d);
      std::memcpy(yb + 2, &sh, 2);
    }
  }
}

}  // namespace
}  // namespace qb::kern
