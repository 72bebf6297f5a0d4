// TQ1_0 x Q8_K on weights repacked at load time: 8 rows' super-blocks interleaved, AVX2 + FMA +
// F16C (the layout idea of packed_layout.h and kquant_packed_avx2.cpp).
//
// Layout (pack_tq1_0_x8): rows [8g, 8g+8) become one group of 8 * row_bytes bytes; super-block s
// of the group holds the 8 rows' super-block s (54 bytes each) in 432 bytes at s * 432:
//   [0, 16)         d of rows 0..7 (fp16; one vcvtph2ps loads all eight)
//   [16 + 32t, ..)  bytes 4t .. 4t+3 of qs || qh of rows 0..7 (row r at + 4r), t = 0..12
// Bytes move whole. A stripe puts 4 bytes of row r in 32-bit lane r; each byte is 5 base-3 digits
// (qh bytes: 4), digit j = floor(3 * (byte * 3^j mod 256) / 256), the weight's trit + 1. They come
// out one after the other from the byte itself: with q the byte times 3^j mod 256, 3q = 2q + q, and
// digit j is the two byte-wise carries of that sum (2q overflows where q >= 128: a signed compare;
// 2q + q overflows where the wrapped sum is below q: max + compare), the wrapped sum being the
// next q. 7 instructions per 32 digits, no multiplies (the row kernel: 2 vpmullw, a blend and 7
// more). Against the 4 matching activation codes broadcast to every lane, vpmaddubsw leaves each
// row's products in its own lane; a super-block's 64 of them sum in int16 (|pair| <= 2*2*127, 64
// pairs 32512 < 32767), then one vpmaddwd; the -1 of every trit is one -sum(x) per super-block and
// column from Q8_K's bsums, for all rows. One FMA per super-block and column updates 8 rows; no
// horizontal sums. Tiles are 8 rows x up to 4 columns; each decoded digit vector serves them all.
// Instructions per weight and column (callgrind, gemv_loop TQ1_0 avx2[packed] 256 8192 R N),
// n = 1 / 4 / 16: packed 0.379 / 0.196 / 0.196, row kernel (gemm_tq1_0_q8_K_1x4_avx2) 0.544 /
// 0.238 / 0.242; n = 512 (32 x 8192): 0.278 against 0.319.
// Rows past m are zero (d = 0), so a tile may read its whole group.
#include "qb/x86_intrin.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "compiled_isa.h"
#include "kernel_tables.h"
#include "packed_x8_driver_avx2-inl.h"
#include "sb_tile_avx2-inl.h"  // avx2::quantize_q8_K
#include "ternary_common.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

constexpr int kBB = int(sizeof(block_tq1_0));  // 54
constexpr int kGroupSb = kPackRows * kBB;      // 432
constexpr int kStripes = 13;                   // (48 qs + 4 qh) / 4
constexpr int64_t kXSb = sizeof(block_q8_K);
constexpr int64_t kGemmKb = 16;  // super-blocks per k-block (GEMM): 6.9 KB of weights per group

static_assert(offsetof(block_tq1_0, qh) == 48 && offsetof(block_tq1_0, d) == 52);

void pack_tq1_0_x8(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) {
  const int64_t nsb = k / QK_K;
  const auto* w = static_cast<const uint8_t*>(W);
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t g0 = 0; g0 < m; g0 += kPackRows) {
    const int rows = int(std::min<int64_t>(kPackRows, m - g0));
    for (int64_t s = 0; s < nsb; ++s, dst += kGroupSb) {
      if (rows < kPackRows) std::memset(dst, 0, kGroupSb);  // rows past m
      for (int lane = 0; lane < rows; ++lane) {
        const uint8_t* src = w + (g0 + lane) * int64_t(w_stride) + s * kBB;
        std::memcpy(dst + 2 * lane, src + offsetof(block_tq1_0, d), 2);
        for (int t = 0; t < kStripes; ++t) std::memcpy(dst + 16 + 32 * t + 4 * lane, src + 4 * t, 4);
      }
    }
  }
}

// Per column and super-block: d_x and -sum(x codes) (the trits' -1).
struct ActScales {
  TuVector<float> d;
  TuVector<int32_t> corr;
};
thread_local ActScales tls_act;

void prepare_act(const uint8_t* xq, size_t xq_stride, int64_t n, int64_t nsb, ActScales& a) {
  a.d.resize(size_t(n * nsb));
  a.corr.resize(size_t(n * nsb));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t s = 0; s < nsb; ++s) {
      const uint8_t* xb = xq + c * int64_t(xq_stride) + s * kXSb;
      int32_t sum = 0;
      for (int g = 0; g < QK_K / 16; ++g) sum += load_as<int16_t>(xb + offsetof(block_q8_K, bsums) + 2 * g);
      a.d[size_t(c * nsb + s)] = load_as<float>(xb + offsetof(block_q8_K, d));
      a.corr[size_t(c * nsb + s)] = -sum;
    }
}

// Digit (0..2) of every byte of q, then q <- 3q mod 256 (the next digit's q).
inline __m256i next_digit(__m256i& q) {
  const __m256i c1 = _mm256_cmpgt_epi8(_mm256_setzero_si256(), q);  // -1 where 2q >= 256
  const __m256i q3 = _mm256_add_epi8(_mm256_add_epi8(q, q), q);
  const __m256i no_c2 = _mm256_cmpeq_epi8(_mm256_max_epu8(q3, q), q3);  // -1 where 2q mod 256 + q < 256
  q = q3;
  return _mm256_sub_epi8(_mm256_andnot_si256(no_c2, _mm256_set1_epi8(1)), c1);
}

template <int C>
struct TileCols {       // the tile's columns from its first super-block
  const uint8_t* x[C];  // codes
  const float* dx[C];
  const int32_t* corr[C];
};

// Stripes [T0, T1) of a super-block (wb) into the int16 sums; the stripe loop stays rolled
// (unrolled, the interleaved digit chains spilled the sums), the digits unroll.
template <int C, int T0, int T1, int E0, int Step, int Digits>
[[gnu::always_inline]] inline void stripes(const uint8_t* wb, const TileCols<C>& tc, int64_t xs, __m256i* p16) {
#pragma GCC unroll 1
  for (int t = T0; t < T1; ++t) {
    __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 16 + 32 * t));
    const int64_t xo = xs + E0 + 4 * (t - T0);
#pragma GCC unroll 5
    for (int j = 0; j < Digits; ++j) {
      const __m256i dg = next_digit(q);
      for (int c = 0; c < C; ++c)
        p16[c] = _mm256_add_epi16(p16[c], _mm256_maddubs_epi16(dg, bcast4(tc.x[c] + xo + Step * j)));
    }
  }
}

// Partial sums of 8 rows x C columns over nsbk super-blocks. Not inlined into the driver's lambda
// (inlined, the 4-column tile of the legacy kernels spilled).
template <int C>
[[gnu::noinline]] void tile(const uint8_t* wg, const TileCols<C>& tc, int64_t nsbk, __m256* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsbk; ++s) {
    const uint8_t* wb = wg + s * kGroupSb;
    __m256i p16[C];
    for (int c = 0; c < C; ++c) p16[c] = _mm256_setzero_si256();
    // Stripe t, digit j is element e + step * j + i of lane byte i: qs[0..31] e = 4t, step 32;
    // qs[32..47] e = 160 + 4(t - 8), step 16; qh e = 240, step 4 (4 digits).
    stripes<C, 0, 8, 0, 32, 5>(wb, tc, s * kXSb, p16);
    stripes<C, 8, 12, 160, 16, 5>(wb, tc, s * kXSb, p16);
    stripes<C, 12, 13, 240, 4, 4>(wb, tc, s * kXSb, p16);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb)));
    for (int c = 0; c < C; ++c) {
      const __m256i dot = _mm256_add_epi32(_mm256_madd_epi16(p16[c], ones), _mm256_set1_epi32(tc.corr[c][s]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(tc.dx[c][s])), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = acc[c];
}

void gemm_packed(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t nsb = k / QK_K;
  const auto* xq = static_cast<const uint8_t*>(Xq);
  ActScales& a = tls_act;
  prepare_act(xq, xq_stride, n, nsb, a);
  run_packed_x8(W, w_stride, r0, r1, n, Y, ldy, nsb, kGroupSb, kGemmKb,
                [&](auto C, const uint8_t* wg, int64_t c0, int64_t s0, int64_t nsbk, __m256* out) {
                  TileCols<C> tc;
                  for (int c = 0; c < C; ++c) {
                    const int64_t i = (c0 + c) * nsb + s0;
                    tc.x[c] = xq + (c0 + c) * int64_t(xq_stride) + s0 * kXSb + offsetof(block_q8_K, qs);
                    tc.dx[c] = a.d.data() + i;
                    tc.corr[c] = a.corr.data() + i;
                  }
                  tile<C>(wg, tc, nsbk, out);
                });
}

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::TQ1_0, BackendId::Avx2, FormatId::Q8_K, "gemm_tq1_0x8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed, kPackRows, pack_tq1_0_x8},
};

}  // namespace

std::span<const MatmulKernel> ternary_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(ternary_packed_avx2)

}  // namespace qb::kern
