// Q2_K x Q8_K on weights repacked at load time: 8 rows' super-blocks interleaved, AVX2 + FMA +
// F16C (the layout and loop of kquant_packed_avx2, with Q2_K's 2-bit codes and 16 sub-blocks).
//
// Layout (pack_sb_x8 in packed_layout.h, d and dmin at the back of the block): super-block s of a
// group of 8 rows, 8 * 84 bytes:
//   [0, 16)          d of rows 0..7 (fp16)
//   [16, 32)         dmin of rows 0..7
//   [32 + 32q, ..)   scales bytes 4q .. 4q + 3 of rows 0..7 (row r at + 4r), q < 4
//   [160 + 32t, ..)  qs bytes 4t .. 4t + 3 of rows 0..7, t < 16
// Weight 128h + 32j + l of a row is bits 2j..2j+1 of qs[32h + l], so sub-block S = 8h + 2j + f
// (16 weights, l = 16f .. 16f + 15) reads qs stripes 8h + 4f .. 8h + 4f + 3 shifted by 2j: four
// code vectors, 4 codes of row r in 32-bit lane r (odd j: 4q, masked in place; even j: q, with
// the scale times 4; so isum is 4x the dot, and d / 4 scales it). Against the 4 matching
// activation bytes broadcast to every lane, vpmaddubsw keeps each row's products in its own
// lane; the four sum in int16 (|sum| <= 4 * 2 * 12 * 127 = 12192), then one vpmaddwd by the
// row scales (low nibble of scales[S], both words of lane r) gives int32 per row: no horizontal
// sums.
// Mins: lane r = sum over S of min[r][S] * bsum[S] (Q8_K's bsums are per 16 weights, one per
// sub-block), 8 vpmaddwd on (min, min) pairs against broadcast (bsum, bsum) pairs.
// Per super-block and column: one FMA for the 8 rows' d * dx and one for dmin * dx * mins.
// Instructions per weight (callgrind, gemv_loop 256x8192), n = 1 / 4 / 16 per column: 0.218 /
// 0.160 / 0.160, against 0.328 / 0.191 / 0.194 for the row kernel (n = 512 at 32x8192, with the
// activation quantization: 0.238 against 0.271).
// Rows past m are zero (d = dmin = 0), so a tile may read its whole group.
#include "qb/x86_intrin.h"

#include <utility>

#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"
#include "packed_x8_driver_avx2-inl.h"

namespace qb::kern {
namespace {

constexpr int kRows = kPackRows;
constexpr int64_t kXSb = sizeof(block_q8_K);
constexpr int64_t kGroupSb = kRows * int64_t(sizeof(block_q2_K));
constexpr int64_t kKb = 24;  // super-blocks per k-block (GEMM): 16 KB of weights in L1
constexpr size_t kDminOff = 16, kScOff = 32, kQsOff = 32 + 32 * 4;

static_assert(offsetof(block_q2_K, qs) == 16 && offsetof(block_q2_K, d) == 80 && offsetof(block_q2_K, dmin) == 82);

// Step N (0..15) of C columns: isum[c] += the 8 rows' integer dots times their scales for
// sub-block S = 8h + 2j + f, the steps ordered (h, f, j) so that four in a row read the same
// four qs stripes.
template <int N, int C>
inline void sub_block(const uint8_t* wb, const uint8_t* const* xs, __m256i (&isum)[C]) {
  constexpr int h = N / 8, f = N / 4 % 2, j = N % 4, S = 8 * h + 2 * j + f;
  // Odd j keeps its codes at bits 2..3 (4q, one mask, no shift); even j's scales take the 4.
  const __m256i m4 = _mm256_set1_epi8(0xF), mq = _mm256_set1_epi8(j % 2 ? 12 : 3);
  __m256i sc = lane_words<S % 4, S % 4>(_mm256_and_si256(ld32(wb + kScOff + 32 * (S / 4)), m4));
  if constexpr (j % 2 == 0) sc = _mm256_slli_epi16(sc, 2);
  __m256i v[4];
  for (int i = 0; i < 4; ++i) {
    const __m256i q = ld32(wb + kQsOff + 32 * (8 * h + 4 * f + i));
    v[i] = _mm256_and_si256(j >= 2 ? _mm256_srli_epi16(q, 4) : q, mq);
  }
  for (int c = 0; c < C; ++c) {
    const uint8_t* x = xs[c] + off::q8K_qs + 128 * h + 32 * j + 16 * f;
    __m256i sum16 = _mm256_maddubs_epi16(v[0], bcast4(x));
    for (int i = 1; i < 4; ++i) sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(v[i], bcast4(x + 4 * i)));
    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(sum16, sc));
    asm("" : "+x"(isum[c]));  // a running sum: unbarred, GCC keeps every product on the stack
  }
}

// Mins of pair p (sub-blocks 2p, 2p + 1) of C columns: mins[c] += the rows' (min, min) word pair
// times the column's (bsum[2p], bsum[2p + 1]) (|bsum| <= 16 * 127, min <= 15).
template <int P, int C>
inline void min_pair(const uint8_t* wb, const uint8_t* const* xs, __m256i (&mins)[C]) {
  const __m256i mn = _mm256_and_si256(_mm256_srli_epi16(ld32(wb + kScOff + 32 * (P / 2)), 4), _mm256_set1_epi8(0xF));
  const __m256i mp = lane_words<2 * (P % 2), 2 * (P % 2) + 1>(mn);
  for (int c = 0; c < C; ++c) {
    mins[c] = _mm256_add_epi32(mins[c], _mm256_madd_epi16(mp, _mm256_permutevar8x32_epi32(ld32(xs[c] + off::q8K_bsums),
                                                                                          _mm256_set1_epi32(P))));
    asm("" : "+x"(mins[c]));  // as isum in sub_block
  }
}

// gemm_packed_x8's view of the format. noinline for the reason kquant_packed_avx2's tile is.
struct Q2Kx8 {
  static constexpr int64_t kUnitWeights = QK_K, kXUnit = kXSb, kUnitGroupBytes = kGroupSb, kGemmKb = kKb;
  template <int C>
  [[gnu::noinline]] static void tile(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out) {
    sb_tile_loop<C, kGroupSb, kXSb>(wg, x, nsb, out, [](const uint8_t* wb, const uint8_t* const* xs, __m256* acc) {
      __m256i isum[C], mins[C];
      for (int c = 0; c < C; ++c) isum[c] = mins[c] = _mm256_setzero_si256();
      [&]<int... N>(std::integer_sequence<int, N...>) { (sub_block<N, C>(wb, xs, isum), ...); }
      (std::make_integer_sequence<int, 16>{});
      [&]<int... P>(std::integer_sequence<int, P...>) { (min_pair<P, C>(wb, xs, mins), ...); }
      (std::make_integer_sequence<int, 8>{});
      const __m256 d4 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb))),
                                      _mm256_set1_ps(0.25f));  // isum counts 4x (sub_block)
      const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + kDminOff)));
      for (int c = 0; c < C; ++c) {
        const __m256 dx = _mm256_set1_ps(load_as<float>(xs[c] + off::q8K_d));
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d4, dx), acc[c]);
        acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins[c]), _mm256_mul_ps(dm, dx), acc[c]);
      }
    });
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q2_K, BackendId::Avx2, FormatId::Q8_K, "gemm_q2_Kx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<Q2Kx8>, kRows, pack_sb_x8<sizeof(block_q2_K), sizeof(block_q2_K) - 4>},
};

}  // namespace

std::span<const MatmulKernel> kquant_packed_q2_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_packed_q2_avx2)

}  // namespace qb::kern
