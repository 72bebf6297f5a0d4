// Ternary formats (TQ1_0, TQ2_0) x Q8_K, AVX-512 + VNNI kernels on the super-block engine
// (kquant_common.h): codes are trit + 1 in 0..2, one vpdpbusd per 64 weights, and the -1 comes
// back through the bsums (mn = 1 per group).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "ternary_common.h"

namespace qb::kern {

namespace {
using namespace avx512;

struct TQ2 {
  static constexpr DotKind kKind = DotKind::Plain;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_tq2_0);
  static void decode(const uint8_t* b, DSb& o) {
    // Element 128h + 32j + l = bits 2j of qs[32h + l] (the Q2_K layout).
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32 * (c / 2))));
      const int j = 2 * (c % 2);
      const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16(short(2 * j)), _mm256_set1_epi16(short(2 * j + 2)), 1);
      o.u[c] = _mm512_and_si512(_mm512_srlv_epi16(v, cnt), _mm512_set1_epi8(3));
    }
    o.mn = _mm256_set1_epi16(1);
    o.d = o.dm = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_tq2_0, d)));
  }
};

// Multipliers 3^t per byte for each chunk (see decode).
inline __m512i mult_bytes(int c) {
  alignas(64) static constexpr uint8_t kMul[4][64] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
       3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
      {9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,
       9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
       27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27},
      {81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81,
       81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
       1,  1,  1,  1,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3},
      {9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  27, 27, 27, 27, 27, 27,
       27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81,
       81, 81, 81, 81, 1,  1,  1,  1,  3,  3,  3,  3,  9,  9,  9,  9,  27, 27, 27, 27},
  };
  return _mm512_load_si512(kMul[c]);
}

struct TQ1 {
  static constexpr DotKind kKind = DotKind::Plain;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_tq1_0);
  static void decode(const uint8_t* b, DSb& o) {
    const uint8_t* qs = b + offsetof(block_tq1_0, qs);
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));    // qs[0..31]
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 32));  // qs[32..47]
    const int qh = int(load_as<uint32_t>(b + offsetof(block_tq1_0, qh)));
    // Source bytes per chunk (elements 64c..64c+63):
    //  c0, c1: qs[0..31] twice (trits 0,1 / 2,3);  c2: qs[0..31] (trit 4), qs[32..47] twice
    //  (trits 0, 1);  c3: qs[32..47] three times (trits 2, 3, 4), qh[0..3] four times (trits 0..3).
    __m512i src[4];
    src[0] = src[1] = _mm512_broadcast_i64x4(q0);
    src[2] = _mm512_inserti64x4(_mm512_castsi256_si512(q0), _mm256_broadcastsi128_si256(q1), 1);
    src[3] = _mm512_mask_set1_epi32(_mm512_broadcast_i32x4(q1), 0xF000, qh);
    const __m512i hi_bytes = _mm512_set1_epi16(short(0xFF00));
    for (int c = 0; c < 4; ++c) {
      // q = byte * 3^t mod 256 (16-bit multiplies, even and odd bytes apart: no carries leak).
      const __m512i m = mult_bytes(c);  // equal for both bytes of a word
      const __m512i mw = _mm512_and_si512(m, _mm512_set1_epi16(0xFF));
      const __m512i lo = _mm512_mullo_epi16(src[c], mw);
      const __m512i hi = _mm512_mullo_epi16(_mm512_and_si512(src[c], hi_bytes), mw);
      const __m512i q = _mm512_mask_blend_epi8(0xAAAAAAAAAAAAAAAAull, lo, hi);
      // trit = (3q) >> 8 = [q >= 86] + [q >= 171]
      const __mmask64 k1 = _mm512_cmpge_epu8_mask(q, _mm512_set1_epi8(86));
      const __mmask64 k2 = _mm512_cmpge_epu8_mask(q, _mm512_set1_epi8(char(171)));
      const __m512i one = _mm512_set1_epi8(1);
      o.u[c] = _mm512_mask_add_epi8(_mm512_maskz_mov_epi8(k1, one), k2, _mm512_maskz_mov_epi8(k1, one), one);
    }
    o.mn = _mm256_set1_epi16(1);
    o.d = o.dm = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_tq1_0, d)));
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx512::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::TQ1_0, BackendId::Avx512, FormatId::Q8_K, "gemm_tq1_0_q8_K_avx512vnni", q8_K_row_bytes, quantize_act,
     compute_sb<TQ1>},
    {FormatId::TQ2_0, BackendId::Avx512, FormatId::Q8_K, "gemm_tq2_0_q8_K_avx512vnni", q8_K_row_bytes, quantize_act,
     compute_sb<TQ2>},
};
}  // namespace

std::span<const MatmulKernel> ternary_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(ternary_avx512)

}  // namespace qb::kern
