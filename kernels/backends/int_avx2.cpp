// Int formats, AVX2 kernels (AVX2 + FMA + F16C).
//  INT4_Gxx x Q8_1: the legacy block tile (legacy_avx2.h) with the group geometry; the panel
//    holds each block's even codes then its odd codes, the order the nibbles expand to.
//  INT8_PC x Q8_0: sign trick (|w| x sign(x, w) into vpmaddubsw, <= 2*128*127 per i16 pair).
//  INT8_PT x Q8_0: codes - 128 by the same trick, plus (128 - zp) * sum(x) per lane, exact.
//  NF4 x F32: codes looked up as the four byte planes of the codebook floats (vpshufb) and
//    interleaved into exact floats; activations permuted once per call to the lookup's order.
#include <bit>

#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_rows.h"
#include "kernel_tables.h"
#include "legacy_avx2.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

// gemm_int8p{c,t}_q8_0_4x2_avx2: a tile of up to 4 rows x 2 columns over nbk blocks.
template <bool PT>
struct Int8TileAvx2 {
  static constexpr int kMR = 4, kNR = 2;
  static constexpr bool kRowScale = true, kQ81 = false;
  static constexpr int kLayout = kNatural;
  using Row = Int8Row;
  using Col = ActView;
  static void convert(ActPanel& P) {
    for (size_t i = 0; i < P.nhalfs(); ++i) P.d[i] = _cvtsh_ss(P.dh[i]);
  }

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    const __m256i ones16 = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1), flip = _mm256_set1_epi8(char(0x80));
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nbk; ++b) {
      __m256i wv[R];
      for (int r = 0; r < R; ++r) {
        wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r].q + b * 32));
        if constexpr (PT) wv[r] = _mm256_xor_si256(wv[r], flip);
      }
      for (int c = 0; c < C; ++c) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[c].qs + b * 32));
        const __m256 dx = _mm256_set1_ps(x[c].d[b]);
        __m256i sx16 = _mm256_setzero_si256();
        if constexpr (PT) sx16 = _mm256_maddubs_epi16(ones8, xv);
        for (int r = 0; r < R; ++r) {
          __m256i dot = _mm256_madd_epi16(
              _mm256_maddubs_epi16(_mm256_sign_epi8(wv[r], wv[r]), _mm256_sign_epi8(xv, wv[r])), ones16);
          if constexpr (PT)
            dot = _mm256_add_epi32(dot, _mm256_madd_epi16(sx16, _mm256_set1_epi16(int16_t(128 - w[r].zp))));
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), dx, acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(acc[r][c]);
  }
};

template <bool PT>
void gemm_int8_avx2(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  panel_gemm<Int8TileAvx2<PT>>(tls_panel, k, r0, r1, Xq, xq_stride, n, Y, ldy, 4,
                               [&](int64_t r, int64_t kb) { return int8_row<PT>(w + r * int64_t(w_stride), kb); });
}

// ---- NF4 x F32 ----
// A group's 32 code bytes become two index vectors (high nibbles: even elements, low nibbles:
// odd ones). Each index vector is looked up in four 16-entry byte tables, byte j of every
// codebook float (vpshufb), and the four byte planes are interleaved into 4 x 8 exact floats:
// 12 shuffles per 32 weights, where vpermps + blend on the code's bit 3 cost 7 uops per 8.
// The interleave leaves the floats in lane order, so the activations are permuted to match once
// per call (nf4_permute_x) instead of permuting every row's weights.

// The 32 floats of one index vector: dword s of 128-bit lane L of result j comes from byte
// 16L + 4j + s of idx.
inline void nf4_lookup32(__m256i idx, const __m256i (&t)[4], __m256 (&f)[4]) {
  const __m256i p0 = _mm256_shuffle_epi8(t[0], idx), p1 = _mm256_shuffle_epi8(t[1], idx);
  const __m256i p2 = _mm256_shuffle_epi8(t[2], idx), p3 = _mm256_shuffle_epi8(t[3], idx);
  const __m256i a = _mm256_unpacklo_epi8(p0, p1), b = _mm256_unpackhi_epi8(p0, p1);
  const __m256i c = _mm256_unpacklo_epi8(p2, p3), d = _mm256_unpackhi_epi8(p2, p3);
  f[0] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(a, c));
  f[1] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(a, c));
  f[2] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(b, d));
  f[3] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(b, d));
}

// One group of 64 activations in the order nf4_lookup32 yields weights: half h (0: even
// elements 2b, 1: odd 2b+1), vector j, lane L, dword s <- code byte b = 16L + 4j + s.
inline void nf4_permute_group(const float* x, float* p) {
  const __m256i evens_first = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  __m256 a[8];  // a[t]: [evens | odds] of x[8t .. 8t+7] (code bytes 4t .. 4t+3)
  for (int t = 0; t < 8; ++t) a[t] = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + 8 * t), evens_first);
  for (int j = 0; j < 4; ++j) {
    _mm256_storeu_ps(p + 8 * j, _mm256_permute2f128_ps(a[j], a[j + 4], 0x20));
    _mm256_storeu_ps(p + 32 + 8 * j, _mm256_permute2f128_ps(a[j], a[j + 4], 0x31));
  }
}

// gemm_nf4_f32_4x2_avx2: a tile of up to 4 rows x 2 columns over ngroups groups of 64, the
// activations permuted by nf4_permute_group. Per group, sum(code * x) then times absmax.
struct Nf4TileAvx2 : Nf4Geometry {
  static constexpr int kMR = 4, kNR = 2;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t ngroups, float* out) {
    __m256i t[4];
    for (int j = 0; j < 4; ++j) {
      alignas(16) uint8_t plane[16];
      for (int i = 0; i < 16; ++i) plane[i] = uint8_t(std::bit_cast<uint32_t>(codec::kNf4Values[i]) >> (8 * j));
      t[j] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(plane)));
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t g = 0; g < ngroups; ++g) {
      for (int r = 0; r < R; ++r) {
        const uint8_t* grp = w[r] + g * 36;
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(grp + 4));
        const __m256i idx[2] = {_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), _mm256_and_si256(q, low4)};
        __m256 s[C][2];
        for (int h = 0; h < 2; ++h) {
          __m256 f[4];
          nf4_lookup32(idx[h], t, f);
          for (int c = 0; c < C; ++c) {
            const float* xg = reinterpret_cast<const float*>(x[c]) + g * 64 + 32 * h;
            __m256 v = _mm256_mul_ps(f[0], _mm256_loadu_ps(xg));
            v = _mm256_fmadd_ps(f[1], _mm256_loadu_ps(xg + 8), v);
            __m256 u = _mm256_mul_ps(f[2], _mm256_loadu_ps(xg + 16));
            s[c][h] = _mm256_fmadd_ps(f[3], _mm256_loadu_ps(xg + 24), u);
            s[c][h] = _mm256_add_ps(s[c][h], v);
          }
        }
        const __m256 amax = _mm256_set1_ps(load_f32(grp));
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(_mm256_add_ps(s[c][0], s[c][1]), amax, acc[r][c]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(acc[r][c]);
  }
};

thread_local TuVector<float> tls_nf4_x;

void gemm_nf4_avx2(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                   int64_t n, float* Y, int64_t ldy) {
  if (tls_nf4_x.size() < size_t(n * k)) tls_nf4_x.resize(size_t(n * k));
  const auto* xs = static_cast<const uint8_t*>(Xq);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t g = 0; g < k / 64; ++g)
      nf4_permute_group(reinterpret_cast<const float*>(xs + c * int64_t(xq_stride)) + g * 64,
                        tls_nf4_x.data() + c * k + g * 64);
  gemm_strided<Nf4TileAvx2>(k, W, w_stride, r0, r1, tls_nf4_x.data(), size_t(k) * 4, n, Y, ldy);
}

constexpr MatmulKernel kKernels[] = {QB_INT_ROWS(Avx2, "4x2_avx2", "4x2_avx2", "4x2_avx2", gemm_int8_avx2,
                                                 gemm_legacy_avx2, gemm_nf4_avx2, quantize_act)};

}  // namespace

std::span<const MatmulKernel> int_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_avx2)

}  // namespace qb::kern
