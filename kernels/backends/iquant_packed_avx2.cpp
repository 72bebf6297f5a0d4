// IQ4_XS x Q8_K on weights repacked at load time: 8 rows' super-blocks interleaved, AVX2 + FMA +
// F16C (the layout and loop of kquant_packed_avx2, with IQ4_XS's codebook and scales).
//
// Layout (pack_sb_x8 in packed_layout.h): super-block s of a group of 8 rows, 8 * 136 bytes:
//   [0, 16)         d of rows 0..7 (fp16)
//   [16, 32)        scales_h of rows 0..7
//   [32, 64)        scales_l: 4 bytes per row, row r at 32 + 4r
//   [64 + 32t, ..)  qs bytes 4t .. 4t + 3 of rows 0..7 (row r at + 4r), t < 32
// qs stripe t = 4J + i puts 4 qs bytes of row r in 32-bit lane r: their low nibbles are weights
// 4i .. 4i + 3 of sub-block J, their high nibbles weights 16 + 4i .. 16 + 4i + 3. One vpshufb
// turns 32 codes into codebook values (signed, -127..113); vpmaddubsw takes |w| and the broadcast
// activation with w's sign (vpsignb), so each row's products stay in its own lane, and one
// vpmaddwd by the row scales (both words of lane r) gives int32 per row: no horizontal sums.
// Q8_K codes are -127..127 (quantize_q8_K: the largest magnitude maps to -127, the rest clamp
// at 127), so vpsignb never meets -128, and the pair sums reach 2 * 127 * 127 = 32258 (code 0
// against |x| = 127): the low- and high-nibble products may not add in int16, each goes through
// its own vpmaddwd. Per super-block |int32 sum| <= 256 * 127 * 127 * 32 < 2^31.
// Per super-block and column: one FMA for the 8 rows' d * dx. Tiles are 8 rows x up to 4
// columns; each decoded code vector serves them all.
// Instructions per weight (callgrind, gemv_loop 256x8192), n = 1 / 4 / 16 per column: 0.340 /
// 0.216 / 0.216, against 0.486 / 0.263 / 0.266 for the row kernel (n = 512 at 32x8192, with the
// activation quantization: 0.294 against 0.344).
// Rows past m are zero (d = 0), so a tile may read its whole group.
#include "qb/x86_intrin.h"

#include <utility>

#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"
#include "packed_x8_driver_avx2-inl.h"

namespace qb::kern {
namespace {

constexpr int kRows = kPackRows;
constexpr int64_t kXSb = sizeof(block_q8_K);
constexpr int64_t kGroupSb = kRows * int64_t(sizeof(block_iq4_xs));
constexpr int64_t kKb = 16;  // super-blocks per k-block (GEMM): 17 KB of weights in L1
constexpr size_t kShOff = 16, kSlOff = 32, kQsOff = 64;

static_assert(offsetof(block_iq4_xs, scales_h) == 2 && offsetof(block_iq4_xs, scales_l) == 4 &&
              offsetof(block_iq4_xs, qs) == 8);

// Row r's scale of sub-block J (scales_l nibble J, scales_h bits 2J..2J+1 above it, minus 32) in
// both int16 words of lane r. sl: lane r = the row's 4 scales_l bytes; sh: lane r = its scales_h.
template <int J>
inline __m256i sub_scale(__m256i sl, __m256i sh) {
  const __m256i lo = _mm256_and_si256(_mm256_srli_epi32(sl, 4 * J), _mm256_set1_epi32(0xF));
  const __m256i hi = J >= 2 ? _mm256_srli_epi32(sh, 2 * J - 4) : _mm256_slli_epi32(sh, 4 - 2 * J);
  const __m256i u = _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi32(0x30)));  // 0..63
  return _mm256_sub_epi16(_mm256_or_si256(u, _mm256_slli_epi32(u, 16)), _mm256_set1_epi16(32));
}

// Sub-block J of C columns: isum[c] += the 8 rows' integer dots times their scales.
template <int J, int C>
inline void sub_block(const uint8_t* wb, __m256i sc, const uint8_t* const* xs, __m256i (&isum)[C]) {
  const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nl)));
  const __m256i m4 = _mm256_set1_epi8(0xF);
  for (int i = 0; i < 4; ++i) {
    const __m256i q = ld32(wb + kQsOff + 32 * (4 * J + i));
    const __m256i wl = _mm256_shuffle_epi8(tbl, _mm256_and_si256(q, m4));
    const __m256i wh = _mm256_shuffle_epi8(tbl, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
    const __m256i al = _mm256_sign_epi8(wl, wl), ah = _mm256_sign_epi8(wh, wh);
    for (int c = 0; c < C; ++c) {
      const uint8_t* x = xs[c] + off::q8K_qs + 32 * J + 4 * i;
      const __m256i pl = _mm256_maddubs_epi16(al, _mm256_sign_epi8(bcast4(x), wl));
      const __m256i ph = _mm256_maddubs_epi16(ah, _mm256_sign_epi8(bcast4(x + 16), wh));
      isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(pl, sc), _mm256_madd_epi16(ph, sc)));
      asm("" : "+x"(isum[c]));  // a running sum: unbarred, GCC keeps every product on the stack
    }
  }
}

// gemm_packed_x8's view of the format. noinline for the reason kquant_packed_avx2's tile is.
struct IQ4XSx8 {
  static constexpr int64_t kUnitWeights = QK_K, kXUnit = kXSb, kUnitGroupBytes = kGroupSb, kGemmKb = kKb;
  template <int C>
  [[gnu::noinline]] static void tile(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out) {
    sb_tile_loop<C, kGroupSb, kXSb>(wg, x, nsb, out, [](const uint8_t* wb, const uint8_t* const* xs, __m256* acc) {
      const __m256i sl = ld32(wb + kSlOff);
      const __m256i sh = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + kShOff)));
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      [&]<int... J>(std::integer_sequence<int, J...>) { (sub_block<J, C>(wb, sub_scale<J>(sl, sh), xs, isum), ...); }
      (std::make_integer_sequence<int, 8>{});
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb)));
      for (int c = 0; c < C; ++c)
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]),
                                 _mm256_mul_ps(d, _mm256_set1_ps(load_as<float>(xs[c] + off::q8K_d))), acc[c]);
    });
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

constexpr MatmulKernel kKernels[] = {
    {FormatId::IQ4_XS, BackendId::Avx2, FormatId::Q8_K, "gemm_iq4_xsx8_q8_K_8x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_packed_x8<IQ4XSx8>, kRows, pack_sb_x8<sizeof(block_iq4_xs), 0>},
};

}  // namespace

std::span<const MatmulKernel> iquant_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_packed_avx2)

}  // namespace qb::kern
