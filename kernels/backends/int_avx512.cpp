// Int formats, AVX-512 kernels (F/BW/VL/DQ + VNNI).
//  INT4_Gxx x Q8_1: the legacy quad tile (legacy_avx512.h) with the group geometry; the
//    activation panel stores even codes then odd codes, the order the nibbles expand to.
//  INT8_PC / INT8_PT x Q8_0: codes are contiguous per row, so a zmm is two blocks straight from
//    memory. PC: codes xor 0x80 (unsigned) and -128*sum(x) per lane; PT: unsigned codes and
//    -zp*sum(x) per lane, both exact integers per block; lane-wise d_x, row scale at the end.
//  NF4 x F32: the 16-entry codebook times absmax lives in one zmm; vpermps looks codes up,
//    activations are split into even/odd elements (the nibble order) by two-source permutes.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_rows.h"
#include "kernel_tables.h"
#include "legacy_avx512.h"

namespace qb::kern {
namespace {

// ---- INT8_PC / INT8_PT ----
// gemm_int8p{c,t}_q8_0_4x3_avx512: a tile of up to 4 rows x 3 columns over nbk blocks.
template <bool PT>
struct Int8TileAvx512 {
  static constexpr int kMR = 4, kNR = 3;
  static constexpr bool kRowScale = true, kQ81 = false;
  static constexpr int kLayout = kNatural;
  using Row = Int8Row;
  using Col = ActView;
  static void convert(ActPanel& P) { halfs_to_floats(P.dh.data(), P.d.data(), P.nhalfs()); }

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    const __m512i lane_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    __m512i zpv[R];
    for (int r = 0; r < R; ++r) zpv[r] = _mm512_set1_epi8(char(PT ? w[r].zp : 0x80));
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < nbk; p += 2) {
      const __mmask64 m = p + 1 < nbk ? ~__mmask64(0) : __mmask64(0xFFFFFFFFu);
      __m512i wv[R];
      for (int r = 0; r < R; ++r) {
        wv[r] = _mm512_maskz_loadu_epi8(m, w[r].q + p * 32);
        if constexpr (!PT) wv[r] = _mm512_xor_si512(wv[r], flip);
      }
      for (int c = 0; c < C; ++c) {
        const __m512i xv = _mm512_loadu_si512(x[c].qs + p * 32);
        const __m512 xs = _mm512_permutexvar_ps(
            lane_idx, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x[c].d + p)))));
        for (int r = 0; r < R; ++r) {
          const __m512i base =
              _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), zpv[r], xv));
          acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(base, wv[r], xv)), xs, acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
  }
};

template <bool PT>
void gemm_int8_avx512(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                      size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(W);
  panel_gemm<Int8TileAvx512<PT>>(tls_panel, k, r0, r1, Xq, xq_stride, n, Y, ldy, 4,
                                 [&](int64_t r, int64_t kb) { return int8_row<PT>(w + r * int64_t(w_stride), kb); });
}

// ---- NF4 x F32 ----
// gemm_nf4_f32_4x3_avx512: a tile of up to 4 rows x 3 columns over ngroups groups of 64.
struct Nf4TileAvx512 : Nf4Geometry {
  static constexpr int kMR = 4, kNR = 3;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t ngroups, float* out) {
    const __m512 table = _mm512_loadu_ps(codec::kNf4Values);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i nib = _mm512_set1_epi32(0x0F);
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t g = 0; g < ngroups; ++g) {
      // we[r][h]: weights 32h + 2i (i = 0..15), wo[r][h]: weights 32h + 2i + 1.
      __m512 we[R][2], wo[R][2];
      for (int r = 0; r < R; ++r) {
        const uint8_t* grp = w[r] + g * 36;
        const __m512 t = _mm512_mul_ps(table, _mm512_set1_ps(load_f32(grp)));
        for (int h = 0; h < 2; ++h) {
          const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(grp + 4 + 16 * h)));
          we[r][h] = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), t);
          wo[r][h] = _mm512_permutexvar_ps(_mm512_and_si512(q, nib), t);
        }
      }
      for (int c = 0; c < C; ++c) {
        const float* xf = reinterpret_cast<const float*>(x[c]) + g * 64;
        for (int h = 0; h < 2; ++h) {
          const __m512 a = _mm512_loadu_ps(xf + 32 * h), b = _mm512_loadu_ps(xf + 32 * h + 16);
          const __m512 xe = _mm512_permutex2var_ps(a, even, b), xo = _mm512_permutex2var_ps(a, odd, b);
          for (int r = 0; r < R; ++r)
            acc[r][c] = _mm512_fmadd_ps(wo[r][h], xo, _mm512_fmadd_ps(we[r][h], xe, acc[r][c]));
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
  }
};

constexpr MatmulKernel kKernels[] = {QB_INT_ROWS(Avx512, "4x3_avx512vnni", "3x3_avx512vnni", "4x3_avx512",
                                                 gemm_int8_avx512, gemm_legacy_vnni, gemm_strided<Nf4TileAvx512>,
                                                 quantize_act)};

}  // namespace

std::span<const MatmulKernel> int_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_avx512)

}  // namespace qb::kern
