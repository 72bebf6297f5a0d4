// Int formats, AVX2 kernels (AVX2 + FMA + F16C).
//  INT4_Gxx x Q8_1: the legacy block tile (legacy_avx2.h) with the group geometry; the panel
//    holds each block's even codes then its odd codes, the order the nibbles expand to.
//  INT8_PC x Q8_0: sign trick (|w| x sign(x, w) into vpmaddubsw, <= 2*128*127 per i16 pair).
//  INT8_PT x Q8_0: codes - 128 by the same trick, plus (128 - zp) * sum(x) per lane, exact.
//  NF4 x F32: codes looked up in the 16-entry codebook (two 8-entry vpermps + blend on bit 3),
//    scaled by absmax, then FMA with the activations in natural order.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_rows.h"
#include "kernel_tables.h"
#include "legacy_avx2.h"

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

// NF4: 8 consecutive weights (from 4 code bytes) as floats times absmax.
inline __m256 nf4_decode8(const uint8_t* q4, __m256 tlo, __m256 thi) {
  const __m128i b = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(load_u32(q4))),
                                     _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i idx = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_cvtepu8_epi32(b), _mm256_setr_epi32(4, 0, 4, 0, 4, 0, 4, 0)), _mm256_set1_epi32(15));
  const __m256 lo = _mm256_permutevar8x32_ps(tlo, idx), hi = _mm256_permutevar8x32_ps(thi, idx);
  return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

// gemm_nf4_f32_4x2_avx2: a tile of up to 4 rows x 2 columns over ngroups groups of 64.
struct Nf4TileAvx2 : Nf4Geometry {
  static constexpr int kMR = 4, kNR = 2;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t ngroups, float* out) {
    const __m256 clo = _mm256_loadu_ps(codec::kNf4Values), chi = _mm256_loadu_ps(codec::kNf4Values + 8);
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t g = 0; g < ngroups; ++g) {
      __m256 tlo[R], thi[R];
      for (int r = 0; r < R; ++r) {
        const __m256 a = _mm256_set1_ps(load_f32(w[r] + g * 36));
        tlo[r] = _mm256_mul_ps(clo, a), thi[r] = _mm256_mul_ps(chi, a);
      }
      for (int h = 0; h < 8; ++h) {
        __m256 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = nf4_decode8(w[r] + g * 36 + 4 + 4 * h, tlo[r], thi[r]);
        for (int c = 0; c < C; ++c) {
          const __m256 xv = _mm256_loadu_ps(reinterpret_cast<const float*>(x[c]) + g * 64 + 8 * h);
          for (int r = 0; r < R; ++r) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(acc[r][c]);
  }
};

constexpr MatmulKernel kKernels[] = {QB_INT_ROWS(Avx2, "4x2_avx2", "4x2_avx2", "4x2_avx2", gemm_int8_avx2,
                                                 gemm_legacy_avx2, gemm_strided<Nf4TileAvx2>, quantize_act)};

}  // namespace

std::span<const MatmulKernel> int_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_avx2)

}  // namespace qb::kern
