// K-quant formats x Q8_K, AVX2 (+FMA, F16C) kernels: per-format super-block decoders (head:
// scales, mins, d; codes<P>: two 32-weight chunks) for the 1 x 4 microkernel in
// sb_tile_avx2-inl.h (vpmaddubsw + vpmaddwd with group scales; offsets and mins through the
// Q8_K bsums).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"
#include "sb_tile_avx2-inl.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline float half_at(const uint8_t* p) { return _cvtsh_ss(load_as<uint16_t>(p)); }
inline __m256i ld32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i ld16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Bit `from` of every byte moved to bit `to` (all other bits cleared). A 16-bit shift keeps the
// bit inside its byte for both bytes of a word since both positions are in 0..7.
template <int from, int to>
inline __m256i bit_to(__m256i v) {
  if constexpr (from < to) v = _mm256_slli_epi16(v, to - from);
  if constexpr (from > to) v = _mm256_srli_epi16(v, from - to);
  return _mm256_and_si256(v, _mm256_set1_epi8(char(1 << to)));
}

// Element 128h + 32j + l = bits 2j of qs[32h + l] (Q2_K, Q3_K): chunk c = (h, j).
template <int c>
inline __m256i codes2(const uint8_t* qs) {
  return _mm256_and_si256(_mm256_srli_epi16(ld32(qs + 32 * (c / 4)), 2 * (c % 4)), _mm256_set1_epi8(3));
}

// Bytes 0,2,..,14 then 1,3,..,15: widened to int16, the SbHead::sc layout of 16 group scales.
inline __m128i evens_odds(__m128i v) {
  return _mm_shuffle_epi8(v, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
}

struct Q2K {
  static constexpr bool kSigned = false, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::Own;
  static constexpr size_t kBytes = sizeof(block_q2_K);
  static void head(const uint8_t* b, SbHead& h) {
    const __m128i v = ld16(b + offsetof(block_q2_K, scales));  // scale: low nibble, min: high
    h.sc = _mm256_cvtepu8_epi16(_mm_and_si128(evens_odds(v), _mm_set1_epi8(0xF)));
    h.mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0xF)));
    h.d = half_at(b + offsetof(block_q2_K, d));
    h.dm = half_at(b + offsetof(block_q2_K, dmin));
  }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    u[0] = codes2<2 * P>(b + offsetof(block_q2_K, qs));
    u[1] = codes2<2 * P + 1>(b + offsetof(block_q2_K, qs));
  }
};

struct Q3K {
  static constexpr bool kSigned = false, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::Same;  // codes stored +4: 4 * sc * bsum per group
  static constexpr size_t kBytes = sizeof(block_q3_K);
  static void head(const uint8_t* b, SbHead& h) {
    // 16 six-bit scales (bit layout: kquant_common.h unpack_scales_q3_K) in one xmm; the load
    // ends at the block's last byte (scales 96..107, d 108..109).
    const __m128i v = ld16(b + offsetof(block_q3_K, scales) - 2);
    const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9));
    const __m128i lo = _mm_and_si128(_mm_blend_epi16(a, _mm_srli_epi16(a, 4), 0xF0), _mm_set1_epi8(0xF));
    const __m128i hq =
        _mm_shuffle_epi8(v, _mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13));
    // bits 2(j/4) of s[8 + j%4]: shift words 0,1 by 0; 2,3 by 2; 4,5 by 4; 6,7 by 6
    const __m128i h2 = _mm_blend_epi16(hq, _mm_srli_epi16(hq, 2), 0x0C);
    const __m128i h4 = _mm_blend_epi16(h2, _mm_srli_epi16(hq, 4), 0x30);
    const __m128i h6 = _mm_blend_epi16(h4, _mm_srli_epi16(hq, 6), 0xC0);
    const __m128i s8 =
        _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(_mm_and_si128(h6, _mm_set1_epi8(3)), 4)), _mm_set1_epi8(32));
    h.sc = _mm256_cvtepi8_epi16(evens_odds(s8));
    h.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s8), 2);
    h.d = h.dm = half_at(b + offsetof(block_q3_K, d));
  }
  template <int c>
  static __m256i code(const uint8_t* b) {  // low 2 bits, + 4 where hmask bit 4(c/4) + c%4 is set
    const __m256i hb = bit_to<4 * (c / 4) + c % 4, 2>(ld32(b + offsetof(block_q3_K, hmask)));
    return _mm256_or_si256(codes2<c>(b + offsetof(block_q3_K, qs)), hb);
  }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    u[0] = code<2 * P>(b);
    u[1] = code<2 * P + 1>(b);
  }
};

// Q4_K / Q5_K: 8 scales and mins from the 12 bytes after d, dmin (bit layout: kquant_common.h
// unpack_scale_min_k4) in one xmm; one scale per 32 = one per chunk, the same in both lanes.
inline void k4_head(const uint8_t* blk, SbHead& h) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));  // q[j] = v[4 + j]
  const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
  const __m128i six = _mm_and_si128(a, _mm_set1_epi8(63));
  const __m128i lo4 = _mm_and_si128(a, _mm_set1_epi8(0xF));
  const __m128i hi4 = _mm_and_si128(_mm_srli_epi16(a, 4), _mm_set1_epi8(0xF));
  // bytes 0..3, 8..11: six bits; 4..7: low nibble; 12..15: high nibble
  const __m128i sel6 = _mm_setr_epi8(-1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0);
  const __m128i selh = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1);
  const __m128i nib = _mm_blendv_epi8(lo4, hi4, selh);
  const __m128i top = _mm_srli_epi16(_mm_and_si128(b, _mm_set1_epi8(char(0xC0))), 2);
  const __m128i sm = _mm_or_si128(_mm_blendv_epi8(nib, six, sel6), top);  // sc0..7, mn0..7
  // scales in both lanes; mins per 16-group: group g takes min g/2
  h.sc = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(sm, sm));
  h.mn = _mm256_cvtepu8_epi16(
      _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
  h.d = half_at(blk + offsetof(block_q4_K, d));
  h.dm = half_at(blk + offsetof(block_q4_K, dmin));
}

// Element 64j + l: low nibble of qs[32j + l]; 64j + 32 + l: high nibble. Pair P = (j, both nibbles).
template <int P>
inline void codes4(const uint8_t* qs, __m256i (&u)[2]) {
  const __m256i v = ld32(qs + 32 * P);
  u[0] = _mm256_and_si256(v, _mm256_set1_epi8(0xF));
  u[1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0xF));
}

struct Q4K {
  static constexpr bool kSigned = false, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::Own;
  static constexpr size_t kBytes = sizeof(block_q4_K);
  static void head(const uint8_t* b, SbHead& h) { k4_head(b, h); }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    codes4<P>(b + offsetof(block_q4_K, qs), u);
  }
};

struct Q5K {
  static constexpr bool kSigned = false, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::Own;
  static constexpr size_t kBytes = sizeof(block_q5_K);
  static_assert(offsetof(block_q5_K, d) == offsetof(block_q4_K, d) &&
                offsetof(block_q5_K, dmin) == offsetof(block_q4_K, dmin) &&
                offsetof(block_q5_K, scales) == offsetof(block_q4_K, scales));
  static void head(const uint8_t* b, SbHead& h) { k4_head(b, h); }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {  // fifth bit of chunk c: bit c of qh[l]
    codes4<P>(b + offsetof(block_q5_K, qs), u);
    const __m256i qh = ld32(b + offsetof(block_q5_K, qh));
    u[0] = _mm256_or_si256(u[0], bit_to<2 * P, 4>(qh));
    u[1] = _mm256_or_si256(u[1], bit_to<2 * P + 1, 4>(qh));
  }
};

struct Q6K {
  static constexpr bool kSigned = false, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::Same;  // codes stored +32: 32 * sc * bsum per group
  static constexpr size_t kBytes = sizeof(block_q6_K);
  static void head(const uint8_t* b, SbHead& h) {
    const __m128i v = ld16(b + offsetof(block_q6_K, scales));
    h.sc = _mm256_cvtepi8_epi16(evens_odds(v));
    h.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(v), 5);
    h.d = h.dm = half_at(b + offsetof(block_q6_K, d));
  }
  // Half h, quarter t: low 4 bits from ql[64h + 32(t&1) + l] (nibble t>>1), bits 2t..2t+1 of
  // qh[32h + l] as bits 4..5. Pair P = (h, t = 2(P%2) + 0/1).
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    constexpr int h = P / 2, t = 2 * (P % 2);
    const uint8_t* ql = b + offsetof(block_q6_K, ql) + 64 * h;
    const __m256i qh = ld32(b + offsetof(block_q6_K, qh) + 32 * h);
    const __m256i m4 = _mm256_set1_epi8(0xF), m45 = _mm256_set1_epi8(0x30);
    for (int j = 0; j < 2; ++j) {
      __m256i lo = ld32(ql + 32 * j);
      if constexpr (t == 2) lo = _mm256_srli_epi16(lo, 4);
      __m256i hi = qh;
      if (2 * (t + j) < 4) hi = _mm256_slli_epi16(qh, 4 - 2 * (t + j));
      if (2 * (t + j) > 4) hi = _mm256_srli_epi16(qh, 2 * (t + j) - 4);
      u[j] = _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_and_si256(hi, m45));
    }
  }
};

struct Q8KW {
  static constexpr bool kSigned = true, kUnitScale = true;
  static constexpr SbMin kMin = SbMin::None;
  static constexpr size_t kBytes = sizeof(block_q8_K);
  static void head(const uint8_t* b, SbHead& h) {
    h.sc = h.mn = _mm256_setzero_si256();
    h.d = load_as<float>(b + off::q8K_d);
    h.dm = 0.0f;
  }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    u[0] = ld32(b + off::q8K_qs + 64 * P);
    u[1] = ld32(b + off::q8K_qs + 64 * P + 32);
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

#define QB_SB_AVX2(FMT, fmt, S)                                                                                  \
  MatmulKernel {                                                                                                 \
    FormatId::FMT, BackendId::Avx2, FormatId::Q8_K, "gemm_" #fmt "_q8_K_1x4_avx2", q8_K_row_bytes, quantize_act, \
        gemm_sb_tiles<S>                                                                                         \
  }
const MatmulKernel kKernels[] = {
    QB_SB_AVX2(Q2_K, q2_K, Q2K), QB_SB_AVX2(Q3_K, q3_K, Q3K), QB_SB_AVX2(Q4_K, q4_K, Q4K),
    QB_SB_AVX2(Q5_K, q5_K, Q5K), QB_SB_AVX2(Q6_K, q6_K, Q6K), QB_SB_AVX2(Q8_K, q8_K, Q8KW),
};
#undef QB_SB_AVX2
}  // namespace

std::span<const MatmulKernel> kquant_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_avx2)

}  // namespace qb::kern
