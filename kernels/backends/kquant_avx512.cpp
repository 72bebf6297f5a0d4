// K-quant formats × Q8_K activations, AVX-512 + VNNI kernels. Each format only says how to
// decode one super-block into codes + scales (see the engine in kquant_common.h); GEMV and GEMM
// tiling, the integer dots (vpmaddubsw + vpdpwssd / vpdpbusd) and the float epilogue are shared.
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"

namespace qb::kern {

namespace {
using namespace avx512;

inline float half_at(const uint8_t* p) { return _cvtsh_ss(load_as<uint16_t>(p)); }

// Adjacent fp16 d, dmin converted together.
inline void halves_at(const uint8_t* p, float& d, float& dm) {
  const __m128 v = _mm_cvtph_ps(_mm_cvtsi32_si128(int(load_as<uint32_t>(p))));
  d = _mm_cvtss_f32(v);
  dm = _mm_cvtss_f32(_mm_movehdup_ps(v));
}

// Broadcast 32 bytes to both 256-bit halves.
inline __m512i bcast32(const uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// 16 int16 scales (one per 16-group) -> the two Pack scale vectors.
inline void pack_scales_16(__m256i sc16, DSb& o) {
  const __m512i s = _mm512_castsi256_si512(sc16);
  o.s[0] = pack_scales(s, 0);
  o.s[1] = pack_scales(s, 1);
}

// Q2_K / Q3_K / TQ2_0 share the 2-bit layout: element 128h + 32j + l = bits 2j of qs[32h + l].
// Chunk c (h = c/2, j = 2(c%2) and 2(c%2)+1) is a variable shift per 256-bit half.
inline __m512i codes2(const uint8_t* qs, int c) {
  const __m512i v = bcast32(qs + 32 * (c / 2));
  const int j = 2 * (c % 2);
  const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16(short(2 * j)), _mm256_set1_epi16(short(2 * j + 2)), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(v, cnt), _mm512_set1_epi8(3));
}

struct Q2K {
  static constexpr DotKind kKind = DotKind::Pack;
  static constexpr bool kSameScale = false, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_q2_K);
  static void decode(const uint8_t* b, DSb& o) {
    const __m128i sb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q2_K, scales)));
    const __m256i s16 = _mm256_cvtepu8_epi16(sb);
    pack_scales_16(_mm256_and_si256(s16, _mm256_set1_epi16(0xF)), o);
    o.mn = _mm256_srli_epi16(s16, 4);
    for (int c = 0; c < 4; ++c) o.u[c] = codes2(b + offsetof(block_q2_K, qs), c);
    static_assert(offsetof(block_q2_K, dmin) == offsetof(block_q2_K, d) + 2);
    halves_at(b + offsetof(block_q2_K, d), o.d, o.dm);
  }
};

struct Q3K {
  static constexpr DotKind kKind = DotKind::Pack;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_q3_K);
  static void decode(const uint8_t* b, DSb& o) {
    // 16 six-bit scales (bit layout: kquant_common.h unpack_scales_q3_K), in one xmm. The
    // 16-byte load ends at the block's last byte (scales are bytes 96..107, d 108..109).
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q3_K, scales) - 2));
    // lo: j < 8 low nibble of s[j], else high nibble of s[j-8]; hi: bits 2(j/4) of s[8 + j%4].
    const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9));
    const __m128i lo = _mm_and_si128(_mm_srlv_epi16(a, _mm_setr_epi16(0, 0, 0, 0, 4, 4, 4, 4)), _mm_set1_epi8(0xF));
    const __m128i h =
        _mm_shuffle_epi8(v, _mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13));
    const __m128i hi = _mm_and_si128(_mm_srlv_epi16(h, _mm_setr_epi16(0, 0, 2, 2, 4, 4, 6, 6)), _mm_set1_epi8(3));
    const __m256i sc =
        _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(lo, _mm_slli_epi16(hi, 4))), _mm256_set1_epi16(32));
    pack_scales_16(sc, o);
    o.mn = _mm256_slli_epi16(sc, 2);  // codes are stored +4
    const __m512i hm = bcast32(b + offsetof(block_q3_K, hmask));
    for (int c = 0; c < 4; ++c) {
      // hmask bit 4h + j: set means +4 on the 0..3 code (w = u - 4).
      const int bit = 4 * (c / 2) + 2 * (c % 2);
      const __m512i sel =
          _mm512_inserti64x4(_mm512_set1_epi8(char(1 << bit)), _mm256_set1_epi8(char(1 << (bit + 1))), 1);
      const __mmask64 k = _mm512_test_epi8_mask(hm, sel);
      const __m512i lo = codes2(b + offsetof(block_q3_K, qs), c);
      o.u[c] = _mm512_mask_add_epi8(lo, k, lo, _mm512_set1_epi8(4));
    }
    o.d = o.dm = half_at(b + offsetof(block_q3_K, d));
  }
};

// Q4_K / Q5_K scales and mins: 12 bytes -> 8 scales (bytes 0..7) and 8 mins (bytes 8..15), in
// one xmm (bit layout: kquant_common.h unpack_scale_min_k4). blk points at the block start
// (d, dmin, then the 12 bytes), so the 16-byte load stays inside the block.
inline __m256i scale_min_k4(const uint8_t* blk) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));  // q[j] = v[4 + j]
  // a: q0..3 (sc 0..3), q8..11 (low nibbles: sc 4..7), q4..7 (mn 0..3), q8..11 (high: mn 4..7)
  const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  // b: the top two bits of q0..3 (for sc 4..7) and q4..7 (for mn 4..7)
  const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
  const __m128i six = _mm_and_si128(a, _mm_set1_epi8(63));
  const __m128i nib = _mm_and_si128(_mm_srlv_epi16(a, _mm_setr_epi16(0, 0, 0, 0, 0, 0, 4, 4)), _mm_set1_epi8(0xF));
  const __m128i top = _mm_srli_epi16(_mm_and_si128(b, _mm_set1_epi8(char(0xC0))), 2);
  return _mm256_cvtepu8_epi16(_mm_or_si128(_mm_mask_blend_epi8(0xF0F0, six, nib), top));
}

// Scales per 32 (lanes 0..7 of sm) straight into the Pack vectors: group g uses lane g/2, so
// chunk pair p, 128-bit lane L needs lanes (8p+L)/2 (words 0..3) and (8p+4+L)/2 (words 4..7).
// Mins: group g takes lane 8 + g/2.
// h selects the block within a pair vector from scale_min_k4_x4 (words 16h .. 16h+15).
inline void k4_scales_pair(__m512i sm, int h, DSb& o) {
  for (int p = 0; p < 2; ++p) {
    const int a = 4 * p + 16 * h, b = a + 2;  // (8p + L)/2 for L = 0, 1 -> a; L = 2, 3 -> a + 1
    const __m512i idx = _mm512_setr_epi32(
        0x00010001 * a, 0x00010001 * a, 0x00010001 * b, 0x00010001 * b, 0x00010001 * a, 0x00010001 * a, 0x00010001 * b,
        0x00010001 * b, 0x00010001 * (a + 1), 0x00010001 * (a + 1), 0x00010001 * (b + 1), 0x00010001 * (b + 1),
        0x00010001 * (a + 1), 0x00010001 * (a + 1), 0x00010001 * (b + 1), 0x00010001 * (b + 1));
    o.s[p] = _mm512_permutexvar_epi16(idx, sm);
  }
  // mins per 32 in words 8..15 (kMinPer32)
  o.mn = h ? _mm512_extracti64x4_epi64(sm, 1) : _mm512_castsi512_si256(sm);
}

// scale_min_k4 for four blocks at once (GEMV decodes 4 rows per pass): out[h] holds blocks 2h
// (words 0..15) and 2h+1 (words 16..31).
inline void scale_min_k4_x4(const uint8_t* const blk[4], __m512i out[2]) {
  auto ld = [](const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); };
  __m512i v = _mm512_castsi128_si512(ld(blk[0]));
  v = _mm512_inserti32x4(v, ld(blk[1]), 1);
  v = _mm512_inserti32x4(v, ld(blk[2]), 2);
  v = _mm512_inserti32x4(v, ld(blk[3]), 3);
  const __m512i a = _mm512_shuffle_epi8(
      v, _mm512_broadcast_i32x4(_mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15)));
  const __m512i b = _mm512_shuffle_epi8(
      v, _mm512_broadcast_i32x4(_mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11)));
  const __m512i six = _mm512_and_si512(a, _mm512_set1_epi8(63));
  const __m512i nib = _mm512_and_si512(
      _mm512_srlv_epi16(a, _mm512_broadcast_i32x4(_mm_setr_epi16(0, 0, 0, 0, 0, 0, 4, 4))), _mm512_set1_epi8(0xF));
  const __m512i top = _mm512_srli_epi16(_mm512_and_si512(b, _mm512_set1_epi8(char(0xC0))), 2);
  const __m512i r = _mm512_or_si512(_mm512_mask_blend_epi8(0xF0F0F0F0F0F0F0F0ull, six, nib), top);
  out[0] = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(r));
  out[1] = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(r, 1));
}

// Element 64c + l: low nibble of qs[32c + l]; 64c + 32 + l: its high nibble.
inline __m512i codes4(const uint8_t* qs, int c) {
  const __m512i v = bcast32(qs + 32 * c);
  return _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFFFF0000u, v, 4), _mm512_set1_epi8(0xF));
}

struct Q4K {
  static constexpr DotKind kKind = DotKind::Pack;
  static constexpr bool kSameScale = false, kMinPer32 = true;
  static constexpr size_t kBytes = sizeof(block_q4_K);
  static constexpr bool kScales4 = true;  // GEMV: scales of 4 rows decoded together
  static void scales4(const uint8_t* const b[4], __m512i out[2]) { scale_min_k4_x4(b, out); }
  static void decode(const uint8_t* b, DSb& o) { decode_rest(b, _mm512_castsi256_si512(scale_min_k4(b)), 0, o); }
  static void decode_rest(const uint8_t* b, __m512i sm_pair, int h, DSb& o) {
    k4_scales_pair(sm_pair, h, o);
    for (int c = 0; c < 4; ++c) o.u[c] = codes4(b + offsetof(block_q4_K, qs), c);
    static_assert(offsetof(block_q4_K, dmin) == offsetof(block_q4_K, d) + 2);
    halves_at(b + offsetof(block_q4_K, d), o.d, o.dm);
  }
};

struct Q5K {
  static constexpr DotKind kKind = DotKind::Pack;
  static constexpr bool kSameScale = false, kMinPer32 = true;
  static constexpr size_t kBytes = sizeof(block_q5_K);
  static constexpr bool kScales4 = true;  // GEMV: scales of 4 rows decoded together
  static void scales4(const uint8_t* const b[4], __m512i out[2]) { scale_min_k4_x4(b, out); }
  static void decode(const uint8_t* b, DSb& o) { decode_rest(b, _mm512_castsi256_si512(scale_min_k4(b)), 0, o); }
  static void decode_rest(const uint8_t* b, __m512i sm_pair, int h, DSb& o) {
    k4_scales_pair(sm_pair, h, o);
    const __m512i qh = bcast32(b + offsetof(block_q5_K, qh));
    for (int c = 0; c < 4; ++c) {
      // Fifth bit: qh[l] bit 2c (low half) / 2c+1 (high half).
      const __m512i sel =
          _mm512_inserti64x4(_mm512_set1_epi8(char(1 << (2 * c))), _mm256_set1_epi8(char(1 << (2 * c + 1))), 1);
      const __m512i lo = codes4(b + offsetof(block_q5_K, qs), c);
      o.u[c] = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, sel), lo, _mm512_set1_epi8(16));
    }
    static_assert(offsetof(block_q5_K, dmin) == offsetof(block_q5_K, d) + 2);
    halves_at(b + offsetof(block_q5_K, d), o.d, o.dm);
  }
};

struct Q6K {
  static constexpr DotKind kKind = DotKind::Pack;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_q6_K);
  static void decode(const uint8_t* b, DSb& o) {
    const __m256i sc =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q6_K, scales))));
    pack_scales_16(sc, o);
    o.mn = _mm256_slli_epi16(sc, 5);  // codes are stored +32
    const uint8_t* ql = b + offsetof(block_q6_K, ql);
    const uint8_t* qh = b + offsetof(block_q6_K, qh);
    for (int c = 0; c < 4; ++c) {
      const int h = c / 2, p = c % 2;
      // Low nibbles: ql[64h + l] (low half), ql[64h + 32 + l] (high half), nibble p.
      __m512i lo = _mm512_loadu_si512(ql + 64 * h);
      if (p) lo = _mm512_srli_epi16(lo, 4);
      lo = _mm512_and_si512(lo, _mm512_set1_epi8(0xF));
      // High 2 bits: qh[32h + l] bits 4p (low half) / 4p+2 (high half), moved to bits 4..5.
      const __m512i hb = bcast32(qh + 32 * h);
      __m512i hi;
      if (p == 0)
        hi = _mm512_sllv_epi16(hb, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1));
      else
        hi = _mm512_srlv_epi16(hb, _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1));
      o.u[c] = _mm512_or_si512(lo, _mm512_and_si512(hi, _mm512_set1_epi8(0x30)));
    }
    o.d = o.dm = half_at(b + offsetof(block_q6_K, d));
  }
};

struct Q8KW {
  static constexpr DotKind kKind = DotKind::Plain;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_q8_K);
  static void decode(const uint8_t* b, DSb& o) {
    for (int c = 0; c < 4; ++c)  // int8 -> unsigned code + 128
      o.u[c] = _mm512_xor_si512(_mm512_loadu_si512(b + off::q8K_qs + 64 * c), _mm512_set1_epi8(char(0x80)));
    o.mn = _mm256_set1_epi16(128);
    o.d = o.dm = load_as<float>(b + off::q8K_d);
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx512::quantize_q8_K(x, xq, k); }

#define QB_SB_AVX512(FMT, fmt, S)                                                                                    \
  MatmulKernel {                                                                                                     \
    FormatId::FMT, BackendId::Avx512, FormatId::Q8_K, "gemm_" #fmt "_q8_K_avx512vnni", q8_K_row_bytes, quantize_act, \
        compute_sb<S>                                                                                                \
  }
const MatmulKernel kKernels[] = {
    QB_SB_AVX512(Q2_K, q2_K, Q2K), QB_SB_AVX512(Q3_K, q3_K, Q3K), QB_SB_AVX512(Q4_K, q4_K, Q4K),
    QB_SB_AVX512(Q5_K, q5_K, Q5K), QB_SB_AVX512(Q6_K, q6_K, Q6K), QB_SB_AVX512(Q8_K, q8_K, Q8KW),
};
#undef QB_SB_AVX512
}  // namespace

std::span<const MatmulKernel> kquant_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_avx512)

}  // namespace qb::kern
