// Q4_K and Q5_K x Q8_K on weights repacked at load time: 8 rows' super-blocks interleaved
// (ggml's block_q4_Kx8 idea, written from its description), AVX2 + FMA + F16C.
//
// Layout (pack_sb_x8 in packed_layout.h): rows [8g, 8g+8) become one group of 8 * row_bytes
// bytes; super-block s of the group holds the 8 rows' super-block s (bb = 144 or 176 bytes each)
// in 8 * bb bytes at s * 8 * bb:
//   [0, 16)         d of rows 0..7 (fp16; one vcvtph2ps loads all eight)
//   [16, 32)        dmin of rows 0..7
//   [32 + 32t, ..)  bytes 4 + 4t .. 7 + 4t of rows 0..7 (row r at + 4r): stripes 0..2 the 12
//                   scale bytes, then (Q5_K) 8 stripes of qh, then 32 stripes of qs
// Bytes move whole: each row keeps its bb bytes per super-block. A 32-byte qs stripe t puts 4 qs
// bytes of row r in 32-bit lane r: their low nibbles are 4 weights of sub-block 2(t/8), the high
// nibbles 4 weights of sub-block 2(t/8) + 1 (Q5_K: bit J of qh stripe t % 8 is their fifth bit in
// sub-block J). Against the 4 matching activation codes broadcast to every lane, vpmaddubsw
// leaves each row's products in its own lane; they sum in int16 (F::kRun at a time), then one
// vpmaddwd by the row scales (one vpshufb of the decoded scale bytes per sub-block) gives int32
// per row. Per super-block and column: one FMA for the 8 rows' d * dx and one for the mins (sum
// of min * bsum per 32, int16 pairs through vpmaddwd). No horizontal sums. Tiles are 8 rows x up
// to 4 columns; each decoded code vector serves them all.
// Instructions per weight (callgrind, gemv_loop 256x8192), n=1 / n=4 per column: Q4_K 0.215 /
// 0.157, Q5_K 0.323 / 0.205, against 0.376 / 0.201 and 0.470 / 0.227 for the row kernel.
// The 12 scale bytes decode for 8 rows at once with unpack_scale_min_k4's formulas on 32 bytes.
// Rows past m are zero (d = dmin = 0), so a tile may read its whole group.
#include "qb/x86_intrin.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"
#include "packed_x8_driver_avx2-inl.h"

namespace qb::kern {
namespace {

constexpr int kRows = kPackRows;              // rows per group (pack_rows)
constexpr int64_t kXSb = sizeof(block_q8_K);  // activation super-block
constexpr int64_t kGemmKb = 16;               // super-blocks per k-block (GEMM): <= 22 KB of weights in L1
constexpr size_t kDOff = 0, kDminOff = 16, kScOff = 32, kStripesOff = 32;

static_assert(offsetof(block_q4_K, dmin) == 2 && offsetof(block_q5_K, dmin) == 2);
static_assert(offsetof(block_q4_K, scales) == 4 && offsetof(block_q5_K, scales) == 4);

// The 8 rows' scales and mins of one super-block: byte 4r + j of sc[h] / mn[h] is row r's
// scale / min of sub-block 4h + j (unpack_scale_min_k4 on all rows at once).
struct Heads {
  __m256i sc[2], mn[2];
};
inline void decode_heads(const uint8_t* wb, Heads& h) {
  const __m256i a = ld32(wb + kScOff), b = ld32(wb + kScOff + 32), c = ld32(wb + kScOff + 64);
  const __m256i m6 = _mm256_set1_epi8(63), m4 = _mm256_set1_epi8(0xF), top = _mm256_set1_epi8(0x30);
  h.sc[0] = _mm256_and_si256(a, m6);
  h.mn[0] = _mm256_and_si256(b, m6);
  // bits 6..7 of a byte to bits 4..5: a 16-bit shift by 2 keeps them inside the byte
  h.sc[1] = _mm256_or_si256(_mm256_and_si256(c, m4), _mm256_and_si256(_mm256_srli_epi16(a, 2), top));
  h.mn[1] =
      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), m4), _mm256_and_si256(_mm256_srli_epi16(b, 2), top));
}

// The packed formats: codes<J>(wb, i) = the 8 rows' codes of sub-block J, elements 4i..4i+3;
// kRun = how many vpmaddubsw results sum in int16 before vpmaddwd (|pair| <= 2 * 15 * 127 for
// 4-bit codes, 8 of them 30480; 2 * 31 * 127 for 5-bit codes, 4 of them 31496 < 32767).
struct Q4Kx8 {
  using Block = block_q4_K;
  static constexpr int kRun = 8;
  static constexpr size_t kQsOff = kStripesOff + 32 * 3;  // after the 3 scale stripes
  template <int J>
  static __m256i codes(const uint8_t* wb, int i) {  // low (J even) or high nibbles of stripe 8(J/2) + i
    __m256i v = ld32(wb + kQsOff + 32 * (8 * (J / 2) + i));
    if constexpr (J % 2) v = _mm256_srli_epi16(v, 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0xF));
  }
};
struct Q5Kx8 {
  using Block = block_q5_K;
  static constexpr int kRun = 4;
  static constexpr size_t kQhOff = kStripesOff + 32 * 3, kQsOff = kQhOff + 32 * 8;
  template <int J>
  static __m256i codes(const uint8_t* wb, int i) {  // Q4Kx8's nibble + bit J of qh stripe i as bit 4
    __m256i h = ld32(wb + kQhOff + 32 * i);
    if constexpr (J < 4) h = _mm256_slli_epi16(h, 4 - J);
    if constexpr (J > 4) h = _mm256_srli_epi16(h, J - 4);
    __m256i v = ld32(wb + kQsOff + 32 * (8 * (J / 2) + i));
    if constexpr (J % 2) v = _mm256_srli_epi16(v, 4);
    return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi8(0xF)), _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
  }
};

// Sub-block J of C columns: isum[c] += the 8 rows' integer dots times their scales. One
// sub-block at a time keeps 2C accumulators live (C int16 sums, C int32), so a 4-column tile
// stays in registers.
template <class F, int J, int C>
inline void sub_block(const uint8_t* wb, const Heads& h, const uint8_t* const* xs, __m256i (&isum)[C]) {
  const __m256i sc = lane_words<J % 4, J % 4>(h.sc[J / 4]);  // row scale in both words of lane r
  for (int i0 = 0; i0 < 8; i0 += F::kRun) {
    __m256i sum16[C];
    for (int c = 0; c < C; ++c) sum16[c] = _mm256_setzero_si256();
    for (int i = i0; i < i0 + F::kRun; ++i) {
      const __m256i v = F::template codes<J>(wb, i);
      for (int c = 0; c < C; ++c) {
        sum16[c] = _mm256_add_epi16(sum16[c], _mm256_maddubs_epi16(v, bcast4(xs[c] + off::q8K_qs + 32 * J + 4 * i)));
        asm("" : "+x"(sum16[c]));  // a running sum: unbarred, GCC builds a spilled tree (as in sb_tile_avx2)
      }
    }
    for (int c = 0; c < C; ++c) isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(sum16[c], sc));
  }
}

// Partial sums of 8 rows (group bytes wg from super-block s0) x C columns over nsb super-blocks.
// noinline: inlined into run_packed_x8's switch, GCC spills the 4-column tile (callgrind, Q4_K n=4:
// 0.180 instructions per weight against 0.157 as its own function).
template <class F, int C>
[[gnu::noinline]] void tile(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out) {
  constexpr int64_t kGroupSb = kRows * int64_t(sizeof(typename F::Block));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* wb = wg + s * kGroupSb;
    // Every line of the group's super-block two ahead (2.3 KB for Q4_K, as sb_tile_avx2's 16 x 144).
#pragma GCC unroll 22
    for (int l = 0; l < kGroupSb / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(wb + 2 * kGroupSb + 64 * l), _MM_HINT_T0);
    Heads h;
    decode_heads(wb, h);
    const uint8_t* xs[C];
    __m256i isum[C];
    for (int c = 0; c < C; ++c) {
      xs[c] = x[c] + s * kXSb;
      isum[c] = _mm256_setzero_si256();
    }
    [&]<int... J>(std::integer_sequence<int, J...>) { (sub_block<F, J, C>(wb, h, xs, isum), ...); }
    (std::make_integer_sequence<int, 8>{});
    // Mins: lane r = sum over sub-blocks j of mn[r][j] * (bsum[2j] + bsum[2j + 1]).
    const __m256i mp[4] = {lane_words<0, 1>(h.mn[0]), lane_words<2, 3>(h.mn[0]), lane_words<0, 1>(h.mn[1]),
                           lane_words<2, 3>(h.mn[1])};
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + kDOff)));
    const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + kDminOff)));
    for (int c = 0; c < C; ++c) {
      // bsums per 32 as int16 (|sum| <= 32 * 127): 128-bit half 0 holds sums 0..3 twice, half 1
      // sums 4..7, so dword 0, 1, 4, 5 is the pair of sub-blocks (0, 1), (2, 3), (4, 5), (6, 7)
      const __m256i b32 = _mm256_madd_epi16(ld32(xs[c] + off::q8K_bsums), ones);
      const __m256i bp = _mm256_packs_epi32(b32, b32);
      __m256i mins = _mm256_madd_epi16(mp[0], _mm256_permutevar8x32_epi32(bp, _mm256_setzero_si256()));
      mins = _mm256_add_epi32(mins, _mm256_madd_epi16(mp[1], _mm256_permutevar8x32_epi32(bp, _mm256_set1_epi32(1))));
      mins = _mm256_add_epi32(mins, _mm256_madd_epi16(mp[2], _mm256_permutevar8x32_epi32(bp, _mm256_set1_epi32(4))));
      mins = _mm256_add_epi32(mins, _mm256_madd_epi16(mp[3], _mm256_permutevar8x32_epi32(bp, _mm256_set1_epi32(5))));
      const __m256 dx = _mm256_set1_ps(load_as<float>(xs[c] + off::q8K_d));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, dx), acc[c]);
      acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(dm, dx), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = acc[c];
}

// gemm_packed_x8's view of format F.
template <class F>
struct Packed {
  static constexpr int64_t kUnitWeights = QK_K, kXUnit = kXSb, kGemmKb = ::qb::kern::kGemmKb,
                           kUnitGroupBytes = kRows * int64_t(sizeof(typename F::Block));
  template <int C>
  static void tile(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out) {
    ::qb::kern::tile<F, C>(wg, x, nsb, out);
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q4_K, BackendId::Avx2, FormatId::Q8_K, "gemm_q4_Kx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<Packed<Q4Kx8>>, kRows, pack_sb_x8<sizeof(block_q4_K), 0>},
    {FormatId::Q5_K, BackendId::Avx2, FormatId::Q8_K, "gemm_q5_Kx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<Packed<Q5Kx8>>, kRows, pack_sb_x8<sizeof(block_q5_K), 0>},
};

}  // namespace

std::span<const MatmulKernel> kquant_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_packed_avx2)

}  // namespace qb::kern
