// Int formats, AVX2 kernels (AVX2 + FMA + F16C).
//  INT4_Gxx x Q8_1: the legacy block tile (legacy_avx2.h) with the group geometry; the panel
//    holds each block's even codes then its odd codes, the order the nibbles expand to.
//  INT8_PC x Q8_0: sign trick (|w| x sign(x, w) into vpmaddubsw, <= 2*128*127 per i16 pair).
//  INT8_PT x Q8_0: codes - 128 by the same trick, plus (128 - zp) * sum(x) per lane, exact.
//  NF4 x F32: codes looked up in the 16-entry codebook (two 8-entry vpermps + blend on bit 3),
//    scaled by absmax, then FMA with the activations in natural order.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_tables.h"
#include "legacy_avx2.h"

namespace qb::kern {
namespace {

template <bool PT, int R, int C>
void int8_tile(const uint8_t* const* w, const int32_t* zp, const ActView* x, int64_t nbk, float* out) {
  const __m256i ones16 = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1), flip = _mm256_set1_epi8(char(0x80));
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nbk; ++b) {
    __m256i wv[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + b * 32));
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
        if constexpr (PT) dot = _mm256_add_epi32(dot, _mm256_madd_epi16(sx16, _mm256_set1_epi16(int16_t(128 - zp[r]))));
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), dx, acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(acc[r][c]);
}

using Int8Fn = void (*)(const uint8_t* const*, const int32_t*, const ActView*, int64_t, float*);

template <bool PT>
Int8Fn int8_pick(int r, int c) {
  static constexpr Int8Fn table[4][2] = {{&int8_tile<PT, 1, 1>, &int8_tile<PT, 1, 2>},
                                         {&int8_tile<PT, 2, 1>, &int8_tile<PT, 2, 2>},
                                         {&int8_tile<PT, 3, 1>, &int8_tile<PT, 3, 2>},
                                         {&int8_tile<PT, 4, 1>, &int8_tile<PT, 4, 2>}};
  return table[r - 1][c - 1];
}

template <bool PT>
void int8_compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                  int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32, hdr = PT ? 8 : 4;
  const auto* w = static_cast<const uint8_t*>(W);
  const int64_t kb_blocks = n == 1 ? nb : kKB;
  ActPanel& P = tls_panel;
  float out[16];
  const uint8_t* rows[4];
  int32_t zp[4] = {};
  float scale[4];
  for (int64_t cb = 0; cb < n; cb += kNC) {
    const int64_t nc = std::min(kNC, n - cb);
    P.load(static_cast<const uint8_t*>(Xq), xq_stride, cb, nc, k, false, kNatural);
    for (size_t i = 0; i < P.nhalfs(); ++i) P.d[i] = _cvtsh_ss(P.dh[i]);
    for (int64_t kb = 0; kb < nb; kb += kb_blocks) {
      const int64_t nbk = std::min(kb_blocks, nb - kb);
      for (int64_t rt = r0; rt < r1; rt += 4) {
        const int R = int(std::min<int64_t>(4, r1 - rt));
        for (int r = 0; r < R; ++r) {
          const uint8_t* row = w + (rt + r) * w_stride;
          scale[r] = load_f32(row);
          if (PT) zp[r] = load_i32(row + 4);
          rows[r] = row + hdr + kb * 32;
        }
        for (int64_t ct = 0; ct < nc; ct += 2) {
          const int C = int(std::min<int64_t>(2, nc - ct));
          ActView xv[2];
          for (int c = 0; c < C; ++c) xv[c] = {P.col_qs(ct + c) + kb * 32, P.col_d(ct + c) + kb, nullptr};
          int8_pick<PT>(R, C)(rows, zp, xv, nbk, out);
          for (int c = 0; c < C; ++c) {
            float* y = Y + (cb + ct + c) * ldy + rt;
            for (int r = 0; r < R; ++r) {
              const float v = scale[r] * out[r * 4 + c];
              y[r] = kb == 0 ? v : y[r] + v;
            }
          }
        }
      }
    }
  }
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

template <int R, int C>
void nf4_tile(const uint8_t* const* w, const uint8_t* const* x, int64_t ngroups, float* out) {
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

using Nf4Fn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, float*);

Nf4Fn nf4_pick(int r, int c) {
  static constexpr Nf4Fn table[4][2] = {{&nf4_tile<1, 1>, &nf4_tile<1, 2>},
                                        {&nf4_tile<2, 1>, &nf4_tile<2, 2>},
                                        {&nf4_tile<3, 1>, &nf4_tile<3, 2>},
                                        {&nf4_tile<4, 1>, &nf4_tile<4, 2>}};
  return table[r - 1][c - 1];
}

void nf4_compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t ng = k / 64;
  const int64_t kg = n == 1 ? ng : 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  float out[16];
  const uint8_t *rows[4], *cols[2];
  for (int64_t g0 = 0; g0 < ng; g0 += kg) {
    const int64_t len = std::min(kg, ng - g0);
    for (int64_t rt = r0; rt < r1; rt += 4) {
      const int R = int(std::min<int64_t>(4, r1 - rt));
      for (int r = 0; r < R; ++r) rows[r] = w + (rt + r) * w_stride + g0 * 36;
      for (int64_t ct = 0; ct < n; ct += 2) {
        const int C = int(std::min<int64_t>(2, n - ct));
        for (int c = 0; c < C; ++c) cols[c] = xq + (ct + c) * xq_stride + g0 * 64 * 4;
        nf4_pick(R, C)(rows, cols, len, out);
        for (int c = 0; c < C; ++c) {
          float* y = Y + (ct + c) * ldy + rt;
          for (int r = 0; r < R; ++r) y[r] = g0 == 0 ? out[r * 4 + c] : y[r] + out[r * 4 + c];
        }
      }
    }
  }
}

constexpr MatmulKernel kKernels[] = {
    {FormatId::INT8_PC, BackendId::Avx2, FormatId::Q8_0, "gemm_int8pc_q8_0_4x2_avx2", q8_0_row_bytes,
     quantize_act<false>, int8_compute<false>},
    {FormatId::INT8_PT, BackendId::Avx2, FormatId::Q8_0, "gemm_int8pt_q8_0_4x2_avx2", q8_0_row_bytes,
     quantize_act<false>, int8_compute<true>},
    {FormatId::INT4_G32, BackendId::Avx2, FormatId::Q8_1, "gemm_int4g32_q8_1_4x2_avx2", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G32, true>},
    {FormatId::INT4_G64, BackendId::Avx2, FormatId::Q8_1, "gemm_int4g64_q8_1_4x2_avx2", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G64, true>},
    {FormatId::INT4_G128, BackendId::Avx2, FormatId::Q8_1, "gemm_int4g128_q8_1_4x2_avx2", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G128, true>},
    {FormatId::NF4, BackendId::Avx2, FormatId::F32, "gemm_nf4_f32_4x2_avx2", f32_row_bytes, copy_f32, nf4_compute},
};

}  // namespace

std::span<const MatmulKernel> int_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_avx2)

}  // namespace qb::kern
