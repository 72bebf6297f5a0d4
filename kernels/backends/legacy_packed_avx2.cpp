// The 32-weight-block formats x Q8_0 / Q8_1 on weights repacked at load time (packed_layout.h: 8
// rows interleaved), AVX2 + FMA + F16C: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL. A 32-byte load
// holds 4 code bytes of each of the 8 rows, one row per 32-bit lane; the matching 4 activation
// codes are broadcast to all lanes, so vpmaddubsw + vpmaddwd leave each row's partial dot in its
// own lane: no horizontal sum, and per block one vcvtph2ps (the 8 row scales) and one FMA update
// 8 rows. Tiles are 8 rows x up to 4 columns; each decoded weight vector serves all of the
// tile's columns, and what depends on the activations only (sum(x), s_x) is computed once per
// block and column for all rows.
//  * 4-bit (Q4_0, Q4_1): unsigned nibbles u (0..15) against signed activations; Q4_0's -8 offset
//    is one integer -8 * sum(x codes) per block and column. The 8 vpmaddubsw results of a block
//    are summed in int16 before one vpmaddwd: |pair| <= 2*15*127 = 3810, 8 of them 30480 < 32767
//    (activation codes are -127..127: quantize_act's amax/127 scale).
//  * 5-bit (Q5_0, Q5_1): the nibble ORed with the 5th bit, which pack() reorders (qh_by_stripe) so
//    that one shift and one AND per nibble vector bring it to bit 4; Q5_0's -16 offset as Q4_0's.
//    Pairs reach 2*31*127 = 7874, so int16 sums stop after 4 of them (two stripes).
//  * Q4_1 / Q5_1 minimums: m_w * s_x (Q8_1's s = d_x * sum(x)): the 8 rows' m in one vcvtph2ps,
//    one FMA per block and column.
//  * Q8_0: the sign trick, |w| x sign(x, w) as in legacy_avx2.h. An offset trick (w + 128 as
//    unsigned) would overflow vpmaddubsw's int16 pairs (2*255*127 > 32767); |w| <= 128 keeps a
//    pair <= 32512, so each product vector goes through vpmaddwd on its own.
//  * IQ4_NL: the nibbles through the codebook (vpshufb), then Q8_0's sign trick (values -127..113;
//    an offset to unsigned would overflow the pairs as for Q8_0).
// GEMM runs k in blocks of kKB (a tile's weights, 8 rows x kKB blocks, stay in L1 across the
// column tiles; the task's <= 64 activation columns of kKB blocks stay in L2) and adds each
// k-block's partial sums into Y.
// Instructions per weight and column (callgrind, gemv_loop F avx2packed 256 8192 R N, n = 1 / 4 /
// 16; the row kernel, backend avx2, in brackets): Q4_0 0.257 / 0.199 / 0.201 (0.607 / 0.462 /
// 0.461), Q4_1 0.250 / 0.196 / 0.199 (0.737 / 0.553 / 0.552), Q5_0 0.355 / 0.211 / 0.214 (0.857 /
// 0.564 / 0.563), Q5_1 0.348 / 0.209 / 0.211 (0.932 / 0.666 / 0.665), Q8_0 0.255 / 0.241 / 0.243
// (0.489 / 0.403 / 0.402), IQ4_NL 0.349 / 0.266 / 0.268 (0.669 / 0.370 / 0.375). At 256 x 8192
// the n = 1 count includes ~20% of per-call activation preparation.
#include "qb/x86_intrin.h"

#include <algorithm>
#include <vector>

#include "../formats/codecs.h"  // kIq4nlValues
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "legacy_avx2.h"  // quantize_act
#include "packed_layout.h"
#include "packed_x8_driver_avx2-inl.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

constexpr int64_t kKB = 64;  // blocks of 32 per k-block (GEMM)

enum class Codes { kNib4, kNib5, kByte, kTable };  // 4-bit, 5-bit (qh), int8, IQ4_NL codebook

struct PackedFmt {
  Codes codes;
  int n2;    // 2-byte fields: 1 (d) or 2 (d, m: the minimum term)
  int q;     // code bytes per block
  int off;   // unsigned code offset (Q4_0 8, Q5_0 16), removed as -off * sum(x)
  bool q81;  // Q8_1 activations (d, s, codes) rather than Q8_0 (d, codes)
  constexpr bool qh() const { return codes == Codes::kNib5; }
  constexpr int hdr() const { return 2 * n2 + (qh() ? 4 : 0); }  // bytes before the codes
  constexpr int group_block() const { return kPackRows * (hdr() + q); }
  constexpr int act_block() const { return q81 ? 36 : 34; }  // sizeof(block_q8_1 / block_q8_0)
  constexpr int act_qs() const { return q81 ? 4 : 2; }
  // 4/5-bit codes: stripes whose vpmaddubsw results are summed in int16 before one vpmaddwd.
  constexpr int stripes_i16() const { return codes == Codes::kNib5 ? 2 : 4; }
};

constexpr PackedFmt kP4_0{Codes::kNib4, 1, 16, 8, false}, kP4_1{Codes::kNib4, 2, 16, 0, true},
    kP5_0{Codes::kNib5, 1, 16, 16, false}, kP5_1{Codes::kNib5, 2, 16, 0, true}, kP8_0{Codes::kByte, 1, 32, 0, false},
    kPIq4nl{Codes::kTable, 1, 16, 0, false};

// Per column and block: the activation scale d_x, s_x (Q8_1) and the integer offset correction.
struct ActScales {
  TuVector<float> d, s;
  TuVector<int32_t> corr;
};
thread_local ActScales tls_act;

template <const PackedFmt& F>
void prepare_act(const uint8_t* xq, size_t xq_stride, int64_t n, int64_t nb, ActScales& a) {
  a.d.resize(size_t(n * nb));
  a.s.resize(F.q81 ? size_t(n * nb) : 0);
  a.corr.resize(size_t(n * nb));
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* xb = xq + c * xq_stride + b * F.act_block();
      const size_t i = size_t(c * nb + b);
      a.d[i] = _cvtsh_ss(load_u16(xb));
      if constexpr (F.q81) a.s[i] = _cvtsh_ss(load_u16(xb + 2));
      int32_t corr = 0;
      if constexpr (F.off != 0) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + F.act_qs()));
        const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, x), ones16);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
        corr = -F.off * _mm_cvtsi128_si32(t);
      }
      a.corr[i] = corr;
    }
}

template <int C>
struct TileCols {  // the tile's columns from its first block
  const uint8_t* x[C];
  const float* dx[C];
  const float* sx[C];
  const int32_t* corr[C];
};

// Partial sums of 8 rows (group bytes wg, from the k-block's first block) x C columns over nbk
// blocks. Not inlined into the driver's lambda: inlined, the 4-column tile spilled.
template <const PackedFmt& F, int C>
[[gnu::noinline]] void tile(const uint8_t* wg, const TileCols<C>& tc, int64_t nbk, __m256* out) {
  constexpr int si16 = F.stripes_i16();
  const __m256i ones = _mm256_set1_epi16(1), low4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  const __m256i tab =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codec::kIq4nlValues)));
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nbk; ++b) {
    const uint8_t* wb = wg + b * F.group_block();
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb)));
    __m256i qh = _mm256_setzero_si256();
    if constexpr (F.qh()) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 16 * F.n2));
    __m256i isum[C], p16[C];
    for (int c = 0; c < C; ++c) isum[c] = p16[c] = _mm256_setzero_si256();
    for (int t = 0; t < F.q / 4; ++t) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 8 * F.hdr() + 32 * t));
      if constexpr (F.codes == Codes::kByte) {
        const __m256i aw = _mm256_abs_epi8(raw);
        for (int c = 0; c < C; ++c) {
          const __m256i xs = _mm256_sign_epi8(bcast4(tc.x[c] + b * F.act_block() + 4 * t), raw);
          isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, xs), ones));
        }
      } else {
        // Low nibbles: codes 4t..4t+3 of each row; high nibbles: codes 16+4t..16+4t+3.
        __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
        if constexpr (F.qh()) {
          lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi32(qh, 4 - t), bit4));
          hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_srli_epi32(qh, t), bit4));
        }
        if constexpr (F.codes == Codes::kTable) {
          lo = _mm256_shuffle_epi8(tab, lo), hi = _mm256_shuffle_epi8(tab, hi);
          const __m256i alo = _mm256_abs_epi8(lo), ahi = _mm256_abs_epi8(hi);
          for (int c = 0; c < C; ++c) {
            const uint8_t* xb = tc.x[c] + b * F.act_block();
            const __m256i plo = _mm256_maddubs_epi16(alo, _mm256_sign_epi8(bcast4(xb + 4 * t), lo));
            const __m256i phi = _mm256_maddubs_epi16(ahi, _mm256_sign_epi8(bcast4(xb + 16 + 4 * t), hi));
            isum[c] =
                _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(plo, ones), _mm256_madd_epi16(phi, ones)));
          }
        } else {
          for (int c = 0; c < C; ++c) {
            const uint8_t* xb = tc.x[c] + b * F.act_block();
            p16[c] = _mm256_add_epi16(p16[c], _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(xb + 4 * t)),
                                                               _mm256_maddubs_epi16(hi, bcast4(xb + 16 + 4 * t))));
            if ((t + 1) % si16 == 0) {
              isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p16[c], ones));
              p16[c] = _mm256_setzero_si256();
            }
          }
        }
      }
    }
    __m256 mw = _mm256_setzero_ps();
    if constexpr (F.n2 == 2) mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + 16)));
    for (int c = 0; c < C; ++c) {
      __m256i dot = isum[c];
      if constexpr (F.off != 0) dot = _mm256_add_epi32(dot, _mm256_set1_epi32(tc.corr[c][b]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(tc.dx[c][b])), acc[c]);
      if constexpr (F.n2 == 2) acc[c] = _mm256_fmadd_ps(mw, _mm256_set1_ps(tc.sx[c][b]), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = acc[c];
}

template <const PackedFmt& F>
void gemm_packed(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32;
  const auto* xq = static_cast<const uint8_t*>(Xq);
  ActScales& a = tls_act;
  prepare_act<F>(xq, xq_stride, n, nb, a);
  run_packed_x8(W, w_stride, r0, r1, n, Y, ldy, nb, F.group_block(), kKB,
                [&](auto C, const uint8_t* wg, int64_t c0, int64_t b0, int64_t nbk, __m256* out) {
                  TileCols<C> tc;
                  for (int c = 0; c < C; ++c) {
                    const int64_t i = (c0 + c) * nb + b0;
                    tc.x[c] = xq + (c0 + c) * xq_stride + b0 * F.act_block() + F.act_qs();
                    tc.dx[c] = a.d.data() + i;
                    tc.sx[c] = F.q81 ? a.s.data() + i : nullptr;
                    tc.corr[c] = a.corr.data() + i;
                  }
                  tile<F, C>(wg, tc, nbk, out);
                });
}

// clang-format off
constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q4_0x8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<kP4_0>, kPackRows, pack_legacy_x8<1, false, 16>},
    {FormatId::Q4_1, BackendId::Avx2, FormatId::Q8_1, "gemm_q4_1x8_q8_1_8x4_avx2", q8_1_row_bytes, quantize_act<true>,
     gemm_packed<kP4_1>, kPackRows, pack_legacy_x8<2, false, 16>},
    {FormatId::Q5_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q5_0x8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<kP5_0>, kPackRows, pack_legacy_x8<1, true, 16>},
    {FormatId::Q5_1, BackendId::Avx2, FormatId::Q8_1, "gemm_q5_1x8_q8_1_8x4_avx2", q8_1_row_bytes, quantize_act<true>,
     gemm_packed<kP5_1>, kPackRows, pack_legacy_x8<2, true, 16>},
    {FormatId::Q8_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q8_0x8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<kP8_0>, kPackRows, pack_legacy_x8<1, false, 32>},
    {FormatId::IQ4_NL, BackendId::Avx2, FormatId::Q8_0, "gemm_iq4_nlx8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<kPIq4nl>, kPackRows, pack_legacy_x8<1, false, 16>},
};
// clang-format on

}  // namespace

std::span<const MatmulKernel> legacy_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_packed_avx2)

}  // namespace qb::kern
