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
#include "kernel_tables.h"
#include "legacy_avx512.h"

namespace qb::kern {
namespace {

// ---- INT8_PC / INT8_PT ----
template <bool PT, int R, int C>
void int8_tile(const uint8_t* const* w, const int32_t* zp, const ActView* x, int64_t nbk, float* out) {
  const __m512i lane_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  __m512i zpv[R];
  for (int r = 0; r < R; ++r) zpv[r] = _mm512_set1_epi8(char(PT ? zp[r] : 0x80));
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t p = 0; p < nbk; p += 2) {
    const __mmask64 m = p + 1 < nbk ? ~__mmask64(0) : __mmask64(0xFFFFFFFFu);
    __m512i wv[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = _mm512_maskz_loadu_epi8(m, w[r] + p * 32);
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

using Int8Fn = void (*)(const uint8_t* const*, const int32_t*, const ActView*, int64_t, float*);

template <bool PT, int R>
Int8Fn int8_pick_c(int c) {
  return c == 1 ? &int8_tile<PT, R, 1> : c == 2 ? &int8_tile<PT, R, 2> : &int8_tile<PT, R, 3>;
}
template <bool PT>
Int8Fn int8_pick(int r, int c) {
  return r == 1   ? int8_pick_c<PT, 1>(c)
         : r == 2 ? int8_pick_c<PT, 2>(c)
         : r == 3 ? int8_pick_c<PT, 3>(c)
                  : int8_pick_c<PT, 4>(c);
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
    halfs_to_floats(P.dh.data(), P.d.data(), P.nhalfs());
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
        for (int64_t ct = 0; ct < nc; ct += kMaxC) {
          const int C = int(std::min<int64_t>(kMaxC, nc - ct));
          ActView xv[kMaxC];
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

// ---- NF4 x F32 ----
template <int R, int C>
void nf4_tile(const uint8_t* const* w, const uint8_t* const* x, int64_t ngroups, float* out) {
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
        for (int r = 0; r < R; ++r) acc[r][c] = _mm512_fmadd_ps(wo[r][h], xo, _mm512_fmadd_ps(we[r][h], xe, acc[r][c]));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
}

using Nf4Fn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, float*);

template <int R>
Nf4Fn nf4_pick_c(int c) {
  return c == 1 ? &nf4_tile<R, 1> : c == 2 ? &nf4_tile<R, 2> : &nf4_tile<R, 3>;
}
Nf4Fn nf4_pick(int r, int c) {
  return r == 1 ? nf4_pick_c<1>(c) : r == 2 ? nf4_pick_c<2>(c) : r == 3 ? nf4_pick_c<3>(c) : nf4_pick_c<4>(c);
}

void nf4_compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t ng = k / 64;
  const int64_t kg = n == 1 ? ng : 32;  // GEMM: 2048 weights per k-block (8 KiB of activations)
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  float out[16];
  const uint8_t *rows[4], *cols[kMaxC];
  for (int64_t g0 = 0; g0 < ng; g0 += kg) {
    const int64_t len = std::min(kg, ng - g0);
    for (int64_t rt = r0; rt < r1; rt += 4) {
      const int R = int(std::min<int64_t>(4, r1 - rt));
      for (int r = 0; r < R; ++r) rows[r] = w + (rt + r) * w_stride + g0 * 36;
      for (int64_t ct = 0; ct < n; ct += kMaxC) {
        const int C = int(std::min<int64_t>(kMaxC, n - ct));
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
    {FormatId::INT8_PC, BackendId::Avx512, FormatId::Q8_0, "gemm_int8pc_q8_0_4x3_avx512vnni", q8_0_row_bytes,
     quantize_act<false>, int8_compute<false>},
    {FormatId::INT8_PT, BackendId::Avx512, FormatId::Q8_0, "gemm_int8pt_q8_0_4x3_avx512vnni", q8_0_row_bytes,
     quantize_act<false>, int8_compute<true>},
    {FormatId::INT4_G32, BackendId::Avx512, FormatId::Q8_1, "gemm_int4g32_q8_1_3x3_avx512vnni", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G32, true>},
    {FormatId::INT4_G64, BackendId::Avx512, FormatId::Q8_1, "gemm_int4g64_q8_1_3x3_avx512vnni", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G64, true>},
    {FormatId::INT4_G128, BackendId::Avx512, FormatId::Q8_1, "gemm_int4g128_q8_1_3x3_avx512vnni", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G128, true>},
    {FormatId::NF4, BackendId::Avx512, FormatId::F32, "gemm_nf4_f32_4x3_avx512", f32_row_bytes, copy_f32, nf4_compute},
};

}  // namespace

std::span<const MatmulKernel> int_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_avx512)

}  // namespace qb::kern
