// Q6_K and Q3_K x Q8_K on weights repacked at load time: 8 rows' super-blocks interleaved, as
// kquant_packed_avx2.cpp does for Q4_K/Q5_K (the same loop: sb_tile_loop, gemm_packed_x8), for
// formats whose fp16 d ends the block and whose 16 signed scales come one per 16 weights.
// AVX2 + FMA + F16C.
//
// Layout (pack_sb_x8<bb, bb - 2, 1> in packed_layout.h: one field, d, at the back): rows
// [8g, 8g+8) become one group of 8 * row_bytes bytes; super-block s of the group holds the 8
// rows' super-block s (bb bytes each) in 8 * bb bytes at s * 8 * bb:
//   [0, 16)         d of rows 0..7 (fp16; one vcvtph2ps loads all eight)
//   [16 + 32t, ..)  bytes 4t .. 4t + 3 of rows 0..7 (row r at + 4r), t < (bb - 2) / 4: every
//                   byte before d. Q6_K (bb = 210): stripes 0..31 ql, 32..47 qh, 48..51 scales;
//                   Q3_K (bb = 110): 0..7 hmask, 8..23 qs, 24..26 scales.
// Bytes move whole. A 32-byte code stripe puts 4 consecutive weights of row r in 32-bit lane r;
// against the 4 matching activation codes broadcast to every lane, vpmaddubsw leaves each row's
// products in its own lane, so no horizontal sums; each decoded code vector serves up to 4
// columns (tiles of 8 rows x 4 columns, run_packed_x8).
// Signed codes go through vpmaddubsw as unsigned ones, stored + offset (Q6_K: q + 32 in 0..63,
// Q3_K: q + 4 in 0..7);
// the offset comes back per 16-weight scale group through the Q8_K bsums:
//   sum_g sc_g * sum (u - off) x = sum_g sc_g * dot(u, x)_g - off * sum_g sc_g * bsum_g.
// int16 bounds (|x| <= 128): a vpmaddubsw word is at most 2 * 63 * 128 = 16128 for Q6_K, so
// kRun = 2 of them sum in int16 (32256 <= 32767) before vpmaddwd by the row scale (sign-extended
// int8 in both words of lane r) makes int32. Q3_K: a word is at most 2 * 7 * 128 = 1792, its
// kRun = 4 (a whole 16-weight group) sum to 7168.
// Instructions per weight (callgrind, gemv_loop 256x8192), n=1 / n=4 / n=16 per column: Q6_K
// 0.335 / 0.194 / 0.196, against 0.394 / 0.200 / 0.203 for the row kernel; Q3_K 0.348 / 0.193 /
// 0.193 against 0.446 / 0.213 / 0.216.
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
constexpr size_t kDOff = 0, kStripesOff = 16;  // pack_sb_x8 with one field (d)

inline __m256i stripe(const uint8_t* wb, int t) { return ld32(wb + kStripesOff + 32 * t); }

// Word pair of 32-bit lane r = (signed byte 4r + a, signed byte 4r + b) of v: the byte goes to
// the high half of its word, an arithmetic shift brings it down sign-extended.
template <int a, int b>
inline __m256i lane_words_signed(__m256i v) {
  return _mm256_srai_epi16(
      _mm256_shuffle_epi8(
          v, _mm256_setr_epi8(-1, a, -1, b, -1, 4 + a, -1, 4 + b, -1, 8 + a, -1, 8 + b, -1, 12 + a, -1, 12 + b, -1, a,
                              -1, b, -1, 4 + a, -1, 4 + b, -1, 8 + a, -1, 8 + b, -1, 12 + a, -1, 12 + b)),
      8);
}

// The packed formats: scales(wb, sc): byte 4r + j of sc[p] = row r's signed scale 4p + j (of 16,
// one per 16 weights); codes<J>(wb, i) = the 8 rows' unsigned codes (q + kOffset) of weights
// 32J + 4i .. 32J + 4i + 3; kRun = vpmaddubsw results summed in int16 (bounds: top of file).
struct Q6Kx8 {
  using Block = block_q6_K;
  static constexpr int64_t kGemmKb = 8;             // super-blocks per k-block (GEMM): 8 x 1680 B in L1
  static constexpr int kRun = 2, kOffsetShift = 5;  // offset 32
  static constexpr int kQl = offsetof(block_q6_K, ql) / 4, kQh = offsetof(block_q6_K, qh) / 4,
                       kSc = offsetof(block_q6_K, scales) / 4;
  static void scales(const uint8_t* wb, __m256i (&sc)[4]) {
    for (int p = 0; p < 4; ++p) sc[p] = stripe(wb, kSc + p);
  }
  // Weight 128h + 32q + l (J = 4h + q): nibble q/2 of ql[64h + 32(q%2) + l], bits 2q..2q+1 of
  // qh[32h + l] as bits 4..5. Mask before shifting (bits stay inside their byte under a 16-bit
  // shift), so the stripe load folds into vpand.
  template <int J>
  static __m256i codes(const uint8_t* wb, int i) {
    constexpr int h = J / 4, q = J % 4;
    __m256i lo =
        _mm256_and_si256(stripe(wb, kQl + 16 * h + 8 * (q % 2) + i), _mm256_set1_epi8(char(0xF << 4 * (q / 2))));
    if constexpr (q >= 2) lo = _mm256_srli_epi16(lo, 4);
    __m256i hi = _mm256_and_si256(stripe(wb, kQh + 8 * h + i), _mm256_set1_epi8(char(3 << 2 * q)));
    if constexpr (q < 2) hi = _mm256_slli_epi16(hi, 4 - 2 * q);
    if constexpr (q > 2) hi = _mm256_srli_epi16(hi, 2 * q - 4);
    return _mm256_or_si256(lo, hi);
  }
};
// Weight 128h + 32j + l (J = 4h + j): bits 2j..2j+1 of qs[32h + l], + 4 where bit 4h + j of
// hmask[l] is set (the stored q + 4). Scales: 12 bytes, unpack_scales_q3_K's bit layout on 8 rows.
struct Q3Kx8 {
  using Block = block_q3_K;
  static constexpr int64_t kGemmKb = 16;            // super-blocks per k-block (GEMM): 16 x 880 B in L1
  static constexpr int kRun = 4, kOffsetShift = 2;  // offset 4
  static constexpr int kHm = offsetof(block_q3_K, hmask) / 4, kQs = offsetof(block_q3_K, qs) / 4,
                       kSc = offsetof(block_q3_K, scales) / 4;
  static void scales(const uint8_t* wb, __m256i (&sc)[4]) {
    // scale 4p + j: low nibble of byte j (p = 0), 4 + j (p = 1), high nibble of byte j (p = 2),
    // 4 + j (p = 3); bits 2p..2p+1 of byte 8 + j as bits 4..5; minus 32
    const __m256i a = stripe(wb, kSc), b = stripe(wb, kSc + 1), c = stripe(wb, kSc + 2);
    const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    sc[0] = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_and_si256(_mm256_slli_epi16(c, 4), m30));
    sc[1] = _mm256_or_si256(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_slli_epi16(c, 2), m30));
    sc[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4), _mm256_and_si256(c, m30));
    sc[3] =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4), _mm256_and_si256(_mm256_srli_epi16(c, 2), m30));
    for (int p = 0; p < 4; ++p) sc[p] = _mm256_sub_epi8(sc[p], k32);
  }
  template <int J>
  static __m256i codes(const uint8_t* wb, int i) {
    constexpr int h = J / 4, j = J % 4, hbit = 4 * h + j;
    __m256i lo = _mm256_and_si256(stripe(wb, kQs + 8 * h + i), _mm256_set1_epi8(char(3 << 2 * j)));
    if constexpr (j > 0) lo = _mm256_srli_epi16(lo, 2 * j);
    __m256i hi = _mm256_and_si256(stripe(wb, kHm + i), _mm256_set1_epi8(char(1 << hbit)));
    if constexpr (hbit > 2) hi = _mm256_srli_epi16(hi, hbit - 2);
    if constexpr (hbit < 2) hi = _mm256_slli_epi16(hi, 2 - hbit);
    return _mm256_or_si256(lo, hi);
  }
};

// Sub-block J (32 weights, scale groups 2J and 2J + 1) of C columns: isum[c] += the 8 rows'
// integer dots times their scales.
template <class F, int J, int C>
inline void sub_block(const uint8_t* wb, const __m256i (&sc)[4], const uint8_t* const* xs, __m256i (&isum)[C]) {
  static_assert(4 % F::kRun == 0);  // a run stays inside one scale group
#pragma GCC unroll 2                // fully: the stripe offsets become constants
  for (int g = 0; g < 2; ++g) {
    const __m256i scw = g ? lane_words_signed<(2 * J + 1) % 4, (2 * J + 1) % 4>(sc[(2 * J + 1) / 4])
                          : lane_words_signed<(2 * J) % 4, (2 * J) % 4>(sc[(2 * J) / 4]);
#pragma GCC unroll 4
    for (int i0 = 4 * g; i0 < 4 * g + 4; i0 += F::kRun) {
      __m256i sum16[C];
#pragma GCC unroll 4
      for (int i = i0; i < i0 + F::kRun; ++i) {
        const __m256i v = F::template codes<J>(wb, i);
        for (int c = 0; c < C; ++c) {
          const __m256i p = _mm256_maddubs_epi16(v, bcast4(xs[c] + off::q8K_qs + 32 * J + 4 * i));
          sum16[c] = i == i0 ? p : _mm256_add_epi16(sum16[c], p);
          asm("" : "+x"(sum16[c]));  // a running sum: unbarred, GCC builds a spilled tree (as in sb_tile_avx2)
        }
      }
      for (int c = 0; c < C; ++c) {
        isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(sum16[c], scw));
        asm("" : "+x"(isum[c]));  // the same for the int32 sums
      }
    }
  }
}

// gemm_packed_x8's view of format F. noinline for the reason kquant_packed_avx2's tile is.
template <class F>
struct Packed {
  static constexpr int64_t kUnitWeights = QK_K, kXUnit = kXSb, kGemmKb = F::kGemmKb,
                           kUnitGroupBytes = kRows * int64_t(sizeof(typename F::Block));
  template <int C>
  [[gnu::noinline]] static void tile(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out) {
    sb_tile_loop<C, kUnitGroupBytes, kXSb>(
        wg, x, nsb, out, [](const uint8_t* wb, const uint8_t* const* xs, __m256* acc) {
          __m256i sc[4], isum[C];
          F::scales(wb, sc);
          for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
          [&]<int... J>(std::integer_sequence<int, J...>) { (sub_block<F, J, C>(wb, sc, xs, isum), ...); }
          (std::make_integer_sequence<int, 8>{});
          // Offsets: lane r = sum over groups g of sc[r][g] * bsum[g] (|.| <= 16 * 128 * 2048), int16
          // pairs (g, g + 1) through vpmaddwd against the broadcast bsum pair.
          __m256i sp[8];
          for (int p = 0; p < 4; ++p) {
            sp[2 * p] = lane_words_signed<0, 1>(sc[p]);
            sp[2 * p + 1] = lane_words_signed<2, 3>(sc[p]);
          }
          const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + kDOff)));
          for (int c = 0; c < C; ++c) {
            __m256i o = _mm256_madd_epi16(sp[0], bcast4(xs[c] + off::q8K_bsums));
            for (int q = 1; q < 8; ++q)
              o = _mm256_add_epi32(o, _mm256_madd_epi16(sp[q], bcast4(xs[c] + off::q8K_bsums + 4 * q)));
            // |isum| <= 256 * 63 * 128 * 128, the offset term <= 32 * 16 * 128 * 2048: int32
            const __m256i t = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(o, F::kOffsetShift));
            const __m256 dx = _mm256_set1_ps(load_as<float>(xs[c] + off::q8K_d));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(d, dx), acc[c]);
          }
        });
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::Q6_K, BackendId::Avx2, FormatId::Q8_K, "gemm_q6_Kx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<Packed<Q6Kx8>>, kRows, pack_sb_x8<sizeof(block_q6_K), offsetof(block_q6_K, d), 1>},
    {FormatId::Q3_K, BackendId::Avx2, FormatId::Q8_K, "gemm_q3_Kx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<Packed<Q3Kx8>>, kRows, pack_sb_x8<sizeof(block_q3_K), offsetof(block_q3_K, d), 1>},
};

}  // namespace

std::span<const MatmulKernel> kquant_packed_q6q3_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_packed_q6q3_avx2)

}  // namespace qb::kern
