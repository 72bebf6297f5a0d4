// Q4_0 and Q8_0 x Q8_0 on weights repacked at load time (packed_layout.h: 8 rows interleaved),
// AVX2 + FMA + F16C. A 32-byte load holds 4 code bytes of each of the 8 rows, one row per 32-bit
// lane; the matching 4 activation codes are broadcast to all lanes, so vpmaddubsw + vpmaddwd leave
// each row's partial dot in its own lane: no horizontal sum, and per block one vcvtph2ps (the 8
// row scales) and one FMA update 8 rows. Tiles are 8 rows x up to 4 columns; each decoded weight
// vector serves all of the tile's columns.
//  * Q4_0: unsigned nibbles u (0..15) against signed activations; the -8 offset is one integer
//    -8 * sum(x codes) per block and column, computed once for all rows. The 8 vpmaddubsw results
//    of a block are summed in int16 before one vpmaddwd: |pair| <= 2*15*127 = 3810, 8 of them
//    30480 < 32767 (activation codes are -127..127: quantize_act's amax/127 scale).
//  * Q8_0: the sign trick, |w| x sign(x, w) as in legacy_avx2.h. An offset trick (w + 128 as
//    unsigned) would overflow vpmaddubsw's int16 pairs (2*255*127 > 32767); |w| <= 128 keeps a
//    pair <= 32512, so each product vector goes through vpmaddwd on its own.
// GEMM runs k in blocks of kKB (a tile's weights, 8 rows x kKB blocks, stay in L1 across the
// column tiles; the task's <= 64 activation columns of kKB blocks stay in L2) and adds each
// k-block's partial sums into Y.
#include "qb/x86_intrin.h"

#include <algorithm>
#include <vector>

#include "compiled_isa.h"
#include "kernel_tables.h"
#include "legacy_avx2.h"  // quantize_act
#include "packed_layout.h"
#include "packed_x8_driver_avx2-inl.h"

namespace qb::kern {
namespace {

constexpr int64_t kKB = 64;    // blocks of 32 per k-block (GEMM)
constexpr int kActBlock = 34;  // sizeof(block_q8_0): fp16 d, 32 codes

// Per column and block: the activation scale d_x as float and the integer offset correction.
struct ActScales {
  std::vector<float> d;
  std::vector<int32_t> corr;
};
thread_local ActScales tls_act;

template <int Q>
void prepare_act(const uint8_t* xq, size_t xq_stride, int64_t n, int64_t nb, ActScales& a) {
  a.d.resize(size_t(n * nb));
  a.corr.resize(size_t(n * nb));
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* xb = xq + c * xq_stride + b * kActBlock;
      a.d[size_t(c * nb + b)] = _cvtsh_ss(load_u16(xb));
      int32_t corr = 0;
      if constexpr (Q == 16) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
        const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, x), ones16);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
        corr = -8 * _mm_cvtsi128_si32(t);
      }
      a.corr[size_t(c * nb + b)] = corr;
    }
}

inline __m256i bcast4(const uint8_t* p) { return _mm256_set1_epi32(int32_t(load_u32(p))); }

// Partial sums of 8 rows (group bytes wg, from block kb0) x C columns over nbk blocks.
template <int Q, int C>
void tile(const uint8_t* wg, const uint8_t* const* x, const float* const* dx, const int32_t* const* corr, int64_t nbk,
          __m256* out) {
  constexpr int bb = kPackRows * (2 + Q);
  const __m256i ones = _mm256_set1_epi16(1), low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nbk; ++b) {
    const uint8_t* wb = wg + b * bb;
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb)));
    __m256i isum[C];
    for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
    for (int t = 0; t < Q / 4; ++t) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 16 + 32 * t));
      if constexpr (Q == 16) {
        // Low nibbles: codes 4t..4t+3 of each row; high nibbles: codes 16+4t..16+4t+3.
        const __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
        for (int c = 0; c < C; ++c) {
          const uint8_t* xb = x[c] + b * kActBlock + 2;
          isum[c] = _mm256_add_epi16(isum[c], _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(xb + 4 * t)),
                                                               _mm256_maddubs_epi16(hi, bcast4(xb + 16 + 4 * t))));
        }
      } else {
        const __m256i aw = _mm256_abs_epi8(raw);
        for (int c = 0; c < C; ++c) {
          const __m256i xs = _mm256_sign_epi8(bcast4(x[c] + b * kActBlock + 2 + 4 * t), raw);
          isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, xs), ones));
        }
      }
    }
    for (int c = 0; c < C; ++c) {
      __m256i dot = isum[c];
      if constexpr (Q == 16) dot = _mm256_add_epi32(_mm256_madd_epi16(dot, ones), _mm256_set1_epi32(corr[c][b]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(dx[c][b])), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = acc[c];
}

template <int Q>
void gemm_packed(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32;
  const auto* xq = static_cast<const uint8_t*>(Xq);
  ActScales& a = tls_act;
  prepare_act<Q>(xq, xq_stride, n, nb, a);
  run_packed_x8(W, w_stride, r0, r1, n, Y, ldy, nb, kPackRows * (2 + Q), kKB,
                [&](auto C, const uint8_t* wg, int64_t c0, int64_t b0, int64_t nbk, __m256* out) {
                  const uint8_t* x[C];
                  const float* dx[C];
                  const int32_t* corr[C];
                  for (int c = 0; c < C; ++c) {
                    x[c] = xq + (c0 + c) * xq_stride + b0 * kActBlock;
                    dx[c] = a.d.data() + (c0 + c) * nb + b0;
                    corr[c] = a.corr.data() + (c0 + c) * nb + b0;
                  }
                  tile<Q, C>(wg, x, dx, corr, nbk, out);
                });
}

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q4_0x8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<16>, kPackRows, pack_legacy_x8<16>},
    {FormatId::Q8_0, BackendId::Avx2, FormatId::Q8_0, "gemm_q8_0x8_q8_0_8x4_avx2", q8_0_row_bytes, quantize_act<false>,
     gemm_packed<32>, kPackRows, pack_legacy_x8<32>},
};

}  // namespace

std::span<const MatmulKernel> legacy_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_packed_avx2)

}  // namespace qb::kern
