// K-quant formats x Q8_K, AVX2 (+FMA, F16C) kernels: per-format super-block decoders for the
// engine in kquant_common.h (vpmaddubsw + vpmaddwd with group scales; offsets and mins through
// the Q8_K bsums).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "kquant_common.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline float half_at(const uint8_t* p) { return _cvtsh_ss(load_as<uint16_t>(p)); }
inline __m256i ld32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// 16 group scales (int16 lanes of a ymm) -> the 8 per-chunk scale vectors: chunk c needs
// group 2c in words 0..7 and 2c+1 in words 8..15, i.e. dword c, split by 128-bit lane.
inline void scales16(__m256i sc, DSb& o) {
  const __m256i pick =
      _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
  for (int c = 0; c < 8; ++c) o.s[c] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc, _mm256_set1_epi32(c)), pick);
}

// Element 128h + 32j + l = bits 2j of qs[32h + l] (Q2_K, Q3_K, TQ2_0): chunk c = (h, j).
inline __m256i codes2(const uint8_t* qs, int c) {
  const __m256i v = ld32(qs + 32 * (c / 4));
  return _mm256_and_si256(_mm256_srli_epi16(v, 2 * (c % 4)), _mm256_set1_epi8(3));
}

struct Q2K {
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q2_K);
  static void decode(const uint8_t* b, DSb& o) {
    const __m256i s16 =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q2_K, scales))));
    scales16(_mm256_and_si256(s16, _mm256_set1_epi16(0xF)), o);
    o.mn = _mm256_srli_epi16(s16, 4);
    for (int c = 0; c < 8; ++c) o.u[c] = codes2(b + offsetof(block_q2_K, qs), c);
    o.d = half_at(b + offsetof(block_q2_K, d));
    o.dm = half_at(b + offsetof(block_q2_K, dmin));
  }
};

struct Q3K {
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q3_K);
  static void decode(const uint8_t* b, DSb& o) {
    // 16 six-bit scales (bit layout: kquant_common.h unpack_scales_q3_K) in one xmm; the load
    // ends at the block's last byte (scales 96..107, d 108..109).
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q3_K, scales) - 2));
    const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9));
    const __m128i lo = _mm_and_si128(_mm_blend_epi16(a, _mm_srli_epi16(a, 4), 0xF0), _mm_set1_epi8(0xF));
    const __m128i h =
        _mm_shuffle_epi8(v, _mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13));
    // bits 2(j/4) of s[8 + j%4]: shift words 0,1 by 0; 2,3 by 2; 4,5 by 4; 6,7 by 6
    const __m128i h2 = _mm_blend_epi16(h, _mm_srli_epi16(h, 2), 0x0C);
    const __m128i h4 = _mm_blend_epi16(h2, _mm_srli_epi16(h, 4), 0x30);
    const __m128i h6 = _mm_blend_epi16(h4, _mm_srli_epi16(h, 6), 0xC0);
    const __m128i hi = _mm_and_si128(h6, _mm_set1_epi8(3));
    const __m256i sc =
        _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(lo, _mm_slli_epi16(hi, 4))), _mm256_set1_epi16(32));
    scales16(sc, o);
    o.mn = _mm256_slli_epi16(sc, 2);  // codes stored +4
    const __m256i hm = ld32(b + offsetof(block_q3_K, hmask));
    for (int c = 0; c < 8; ++c) {
      const __m256i bit = _mm256_set1_epi8(char(1 << (4 * (c / 4) + c % 4)));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
      o.u[c] = _mm256_or_si256(codes2(b + offsetof(block_q3_K, qs), c), _mm256_and_si256(set, _mm256_set1_epi8(4)));
    }
    o.d = o.dm = half_at(b + offsetof(block_q3_K, d));
  }
};

// Q4_K / Q5_K: 8 scales and mins from the 12 bytes after d, dmin (bit layout: kquant_common.h
// unpack_scale_min_k4) in one xmm; one scale per 32 = one per chunk, broadcast by vpshufb.
inline void k4_scales(const uint8_t* blk, DSb& o) {
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
  const __m256i sm16 = _mm256_cvtepu8_epi16(sm);
  const __m256i both = _mm256_permute2x128_si256(sm16, sm16, 0x00);  // scales in both lanes
  for (int c = 0; c < 8; ++c) o.s[c] = _mm256_shuffle_epi8(both, _mm256_set1_epi16(short(0x0100 + 0x0202 * c)));
  // mins per 16-group: group g takes min g/2 (words 8..15 of sm16)
  const __m256i mins = _mm256_permute2x128_si256(sm16, sm16, 0x11);
  o.mn = _mm256_shuffle_epi8(mins, _mm256_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11,
                                                    10, 11, 12, 13, 12, 13, 14, 15, 14, 15));
}

// Element 64j + l: low nibble of qs[32j + l]; 64j + 32 + l: high nibble. Chunk c = (j, nibble).
inline __m256i codes4(const uint8_t* qs, int c) {
  const __m256i v = ld32(qs + 32 * (c / 2));
  return _mm256_and_si256(c % 2 ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0xF));
}

struct Q4K {
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q4_K);
  static void decode(const uint8_t* b, DSb& o) {
    k4_scales(b, o);
    for (int c = 0; c < 8; ++c) o.u[c] = codes4(b + offsetof(block_q4_K, qs), c);
    o.d = half_at(b + offsetof(block_q4_K, d));
    o.dm = half_at(b + offsetof(block_q4_K, dmin));
  }
};

struct Q5K {
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q5_K);
  static void decode(const uint8_t* b, DSb& o) {
    k4_scales(b, o);
    const __m256i qh = ld32(b + offsetof(block_q5_K, qh));
    for (int c = 0; c < 8; ++c) {  // fifth bit: bit c of qh[l]
      const __m256i bit = _mm256_set1_epi8(char(1 << c));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
      o.u[c] = _mm256_or_si256(codes4(b + offsetof(block_q5_K, qs), c), _mm256_and_si256(set, _mm256_set1_epi8(16)));
    }
    o.d = half_at(b + offsetof(block_q5_K, d));
    o.dm = half_at(b + offsetof(block_q5_K, dmin));
  }
};

struct Q6K {
  static constexpr bool kSigned = false, kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q6_K);
  static void decode(const uint8_t* b, DSb& o) {
    const __m256i sc =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + offsetof(block_q6_K, scales))));
    scales16(sc, o);
    o.mn = _mm256_slli_epi16(sc, 5);  // codes stored +32
    const uint8_t* ql = b + offsetof(block_q6_K, ql);
    const uint8_t* qh = b + offsetof(block_q6_K, qh);
    for (int c = 0; c < 8; ++c) {
      const int h = c / 4, t = c % 4;
      __m256i lo = ld32(ql + 64 * h + 32 * (t & 1));
      if (t >> 1) lo = _mm256_srli_epi16(lo, 4);
      lo = _mm256_and_si256(lo, _mm256_set1_epi8(0xF));
      __m256i hi = ld32(qh + 32 * h);
      // bits 2t..2t+1 -> bits 4..5
      hi = 2 * t <= 4 ? _mm256_slli_epi16(hi, 4 - 2 * t) : _mm256_srli_epi16(hi, 2 * t - 4);
      o.u[c] = _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
    }
    o.d = o.dm = half_at(b + offsetof(block_q6_K, d));
  }
};

struct Q8KW {
  static constexpr bool kSigned = true, kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_q8_K);
  static void decode(const uint8_t* b, DSb& o) {
    for (int c = 0; c < 8; ++c) {
      o.u[c] = ld32(b + off::q8K_qs + 32 * c);
      o.s[c] = _mm256_set1_epi16(1);
    }
    o.d = load_as<float>(b + off::q8K_d);
    o.dm = 0.0f;
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

#define QB_SB_AVX2(FMT, fmt, S)                                                                              \
  MatmulKernel {                                                                                             \
    FormatId::FMT, BackendId::Avx2, FormatId::Q8_K, "gemm_" #fmt "_q8_K_avx2", q8_K_row_bytes, quantize_act, \
        compute_sb<S>                                                                                        \
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
