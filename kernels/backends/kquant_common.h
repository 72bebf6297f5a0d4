// Shared helpers for the super-block kernels (K-quants, IQ4_XS, ternary: 256 weights per block,
// Q8_K activations) and the 32-weight codebook formats (IQ4_NL, MXFP4: Q8_0 activations).
//
// The scalar decoders below are the oracle's view of each layout: one super-block becomes
//   q[256]   the signed integer each weight stands for before its sub-block scale,
//   sc[16]   the integer scale of each 16-weight group,
//   mn[16]   the integer min of each group (K-quants with mins; 0 otherwise),
//   d, dmin  the float super-block scales,
// so that  w[e] = d * sc[e/16] * q[e] - dmin * mn[e/16]  and the dot with a Q8_K block is
//   dx * (d * Σ_g sc[g] Σ q·x  -  dmin * Σ_g mn[g] * bsum[g])          (bsums: Σ x per 16)
// exactly as ggml's scalar vec_dot computes it (integers per block, then two float products).
//
// Blocks are read through byte pointers + memcpy: weights and activations may sit at any byte
// address (the matmul interface takes byte arrays), so no struct member is accessed misaligned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../formats/codecs.h"
#include "qb/blocks.h"
#include "qb/matmul.h"

// Every definition below lives in an ISA-specific inline namespace: this header is included by
// files compiled with different -m flags, and an inline function compiled with AVX-512 must
// never be the copy the linker keeps for the scalar backend (one-definition rule).
#if defined(__AVX512F__)
#define QB_KQ_ISA isa_avx512
#elif defined(__AVX2__)
#define QB_KQ_ISA isa_avx2
#elif defined(__ARM_FEATURE_DOTPROD)
#define QB_KQ_ISA isa_neon_dot
#else
#define QB_KQ_ISA isa_base
#endif

namespace qb::kern {
inline namespace QB_KQ_ISA {

template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// IEEE half -> float, exact (every half is a float); no ISA dependence so the scalar backend
// and the tests agree with the SIMD conversions bit for bit.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal half: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | (uint32_t(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float load_half(const void* p) {
#if defined(__aarch64__)
  // The FPU's conversion (fcvt), exact as half_to_float (NEON IQ4_NL GEMV 1.39 -> 0.64 instr/weight).
  __fp16 h;
  std::memcpy(&h, p, sizeof h);
  return float(h);
#else
  return half_to_float(load_as<uint16_t>(p));
#endif
}

// Byte offsets of the fields the kernels read (blocks.h layouts, GGUF contract).
namespace off {
constexpr size_t q8K_d = offsetof(block_q8_K, d), q8K_qs = offsetof(block_q8_K, qs),
                 q8K_bsums = offsetof(block_q8_K, bsums);
constexpr size_t q8_0_d = offsetof(block_q8_0, d), q8_0_qs = offsetof(block_q8_0, qs);
}  // namespace off

// Q4_K / Q5_K: 8 six-bit scales and mins packed into 12 bytes (ggml's get_scale_min_k4).
inline void unpack_scale_min_k4(const uint8_t* q, uint8_t sc[8], uint8_t mn[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 63;
    mn[j] = q[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    mn[j] = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q3_K: 16 six-bit scales (stored +32) packed into 12 bytes: low 4 bits in bytes 0..7, high 2
// bits in bytes 8..11.
inline void unpack_scales_q3_K(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    const int hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
    out[j] = int8_t((lo | (hi << 4)) - 32);
  }
}

// One decoded super-block (scalar oracle view, see top of file).
struct SuperBlock {
  int8_t q[QK_K];
  int16_t sc[16];
  int16_t mn[16];
  float d, dmin;
};

using DecodeSbFn = void (*)(const uint8_t* blk, SuperBlock& sb);

// Scalar dot of one weight row (nb super-blocks) with one Q8_K activation row.
inline float dot_sb_q8_K(DecodeSbFn decode, size_t wbytes, const uint8_t* w, const uint8_t* x, int64_t nb) {
  float sumf = 0.0f;
  SuperBlock sb;
  for (int64_t i = 0; i < nb; ++i, w += wbytes, x += sizeof(block_q8_K)) {
    decode(w, sb);
    const int8_t* xq = reinterpret_cast<const int8_t*>(x + off::q8K_qs);
    const float dx = load_as<float>(x + off::q8K_d);
    int32_t sumi = 0, summ = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += int32_t(sb.q[16 * g + l]) * xq[16 * g + l];
      sumi += sb.sc[g] * s;
      summ += sb.mn[g] * int32_t(load_as<int16_t>(x + off::q8K_bsums + 2 * g));
    }
    sumf += sb.d * dx * float(sumi) - sb.dmin * dx * float(summ);
  }
  return sumf;
}

// Scalar compute() for any super-block format: every (row, column) pair is one dot.
template <DecodeSbFn Decode, size_t WBytes>
void compute_sb_scalar(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                       size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / QK_K;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = r0; r < r1; ++r)
      Y[j * ldy + r] = dot_sb_q8_K(Decode, WBytes, w + r * w_stride, x + j * xq_stride, nb);
}

// What gemm_strided (tile_driver-inl.h) needs of a microkernel over rows of weight blocks:
// Step weights per block of WBytes bytes, activation blocks of XBytes bytes; GEMMs block k to 4096
// weights (a row's block stays in L1 while the column tiles pass).
template <int64_t Step, size_t WBytes, size_t XBytes>
struct BlockGeometry {
  static constexpr bool kRowScale = false;
  static constexpr int64_t kKStep = Step, kWStep = int64_t(WBytes), kXStep = int64_t(XBytes);
  static constexpr int64_t kGemmKc = 4096 / Step;
  using Row = const uint8_t*;
  using Col = const uint8_t*;
};

inline size_t q8_K_row_bytes(int64_t k) { return size_t(k / QK_K) * sizeof(block_q8_K); }
inline size_t q8_0_row_bytes(int64_t k) { return size_t(k / QK8_0) * sizeof(block_q8_0); }
// The reference codecs are the scalar activation quantizers (bit-exact with ggml by contract).
// They write through block pointers, so a destination that is not aligned for the block type
// goes through an aligned stack block, one block at a time (activation buffers are byte arrays).
template <class Block, int QK, void (*Quantize)(const float*, void*, int64_t, int64_t)>
inline void quantize_act_ref(const float* x, void* xq, int64_t k) {
  if (reinterpret_cast<uintptr_t>(xq) % alignof(Block) == 0) {
    Quantize(x, xq, 1, k);
    return;
  }
  auto* out = static_cast<uint8_t*>(xq);
  for (int64_t i = 0; i < k / QK; ++i) {
    Block blk;
    Quantize(x + i * QK, &blk, 1, QK);
    std::memcpy(out + i * sizeof(Block), &blk, sizeof(Block));
  }
}
inline void quantize_act_q8_K_ref(const float* x, void* xq, int64_t k) {
  quantize_act_ref<block_q8_K, QK_K, codec::quantize_q8_K>(x, xq, k);
}
inline void quantize_act_q8_0_ref(const float* x, void* xq, int64_t k) {
  quantize_act_ref<block_q8_0, QK8_0, codec::quantize_q8_0_act>(x, xq, k);
}

// Codebooks (ggml's kvalues_iq4nl and kvalues_mxfp4, the latter doubled to integers).
inline constexpr int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
inline constexpr int8_t kMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// E8M0 byte -> 2^(e-128) (half the MX scale: the codebook is doubled); e < 2 are subnormals.
inline float e8m0_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (uint32_t(0x00200000) << e) : (uint32_t(e - 1) << 23);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// --- K-quant scalar decoders --------------------------------------------------------------

inline void decode_q2_K(const uint8_t* b, SuperBlock& sb) {
  const uint8_t* scales = b + offsetof(block_q2_K, scales);
  const uint8_t* qs = b + offsetof(block_q2_K, qs);
  sb.d = load_half(b + offsetof(block_q2_K, d));
  sb.dmin = load_half(b + offsetof(block_q2_K, dmin));
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = scales[g] & 0xF;
    sb.mn[g] = scales[g] >> 4;
  }
  // Element 128*h + 32*j + l takes bits 2j..2j+1 of qs[32*h + l].
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) sb.q[128 * h + 32 * j + l] = int8_t((qs[32 * h + l] >> (2 * j)) & 3);
}

inline void decode_q3_K(const uint8_t* b, SuperBlock& sb) {
  const uint8_t* hm = b + offsetof(block_q3_K, hmask);
  const uint8_t* qs = b + offsetof(block_q3_K, qs);
  int8_t s[16];
  unpack_scales_q3_K(b + offsetof(block_q3_K, scales), s);
  sb.d = load_half(b + offsetof(block_q3_K, d));
  sb.dmin = 0.0f;
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = s[g];
    sb.mn[g] = 0;
  }
  // Low 2 bits as in Q2_K; a clear hmask bit (4h + j) subtracts 4.
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) {
        const int lo = (qs[32 * h + l] >> (2 * j)) & 3;
        const int hb = (hm[l] >> (4 * h + j)) & 1;
        sb.q[128 * h + 32 * j + l] = int8_t(lo - (hb ? 0 : 4));
      }
}

inline void decode_q4_K(const uint8_t* b, SuperBlock& sb) {
  uint8_t sc[8], mn[8];
  unpack_scale_min_k4(b + offsetof(block_q4_K, scales), sc, mn);
  const uint8_t* qs = b + offsetof(block_q4_K, qs);
  sb.d = load_half(b + offsetof(block_q4_K, d));
  sb.dmin = load_half(b + offsetof(block_q4_K, dmin));
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = sc[g / 2];
    sb.mn[g] = mn[g / 2];
  }
  // Element 64j + l: low nibble of qs[32j + l]; element 64j + 32 + l: its high nibble.
  for (int j = 0; j < 4; ++j)
    for (int l = 0; l < 32; ++l) {
      sb.q[64 * j + l] = int8_t(qs[32 * j + l] & 0xF);
      sb.q[64 * j + 32 + l] = int8_t(qs[32 * j + l] >> 4);
    }
}

inline void decode_q5_K(const uint8_t* b, SuperBlock& sb) {
  uint8_t sc[8], mn[8];
  unpack_scale_min_k4(b + offsetof(block_q5_K, scales), sc, mn);
  const uint8_t* qh = b + offsetof(block_q5_K, qh);
  const uint8_t* qs = b + offsetof(block_q5_K, qs);
  sb.d = load_half(b + offsetof(block_q5_K, d));
  sb.dmin = load_half(b + offsetof(block_q5_K, dmin));
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = sc[g / 2];
    sb.mn[g] = mn[g / 2];
  }
  // As Q4_K, plus bit 2j (low half) / 2j+1 (high half) of qh[l] as bit 4.
  for (int j = 0; j < 4; ++j)
    for (int l = 0; l < 32; ++l) {
      sb.q[64 * j + l] = int8_t((qs[32 * j + l] & 0xF) | (((qh[l] >> (2 * j)) & 1) << 4));
      sb.q[64 * j + 32 + l] = int8_t((qs[32 * j + l] >> 4) | (((qh[l] >> (2 * j + 1)) & 1) << 4));
    }
}

inline void decode_q6_K(const uint8_t* b, SuperBlock& sb) {
  const uint8_t* ql = b + offsetof(block_q6_K, ql);
  const uint8_t* qh = b + offsetof(block_q6_K, qh);
  const auto* sc = reinterpret_cast<const int8_t*>(b + offsetof(block_q6_K, scales));
  sb.d = load_half(b + offsetof(block_q6_K, d));
  sb.dmin = 0.0f;
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = sc[g];
    sb.mn[g] = 0;
  }
  // Half h, quarter t: low 4 bits from ql[64h + 32(t&1) + l] (nibble t>>1), high 2 bits from
  // bits 2t..2t+1 of qh[32h + l]; stored +32.
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < 4; ++t)
      for (int l = 0; l < 32; ++l) {
        const int lo = (ql[64 * h + 32 * (t & 1) + l] >> (4 * (t >> 1))) & 0xF;
        const int hi = (qh[32 * h + l] >> (2 * t)) & 3;
        sb.q[128 * h + 32 * t + l] = int8_t((lo | (hi << 4)) - 32);
      }
}

inline void decode_q8_K(const uint8_t* b, SuperBlock& sb) {
  sb.d = load_as<float>(b + off::q8K_d);
  sb.dmin = 0.0f;
  std::memcpy(sb.q, b + off::q8K_qs, QK_K);
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = 1;
    sb.mn[g] = 0;
  }
}

// =============================================================================================
// AVX-512 (F/BW/VL/DQ + VNNI) engine, shared by kquant/iquant/ternary_avx512.cpp.
//
// A weight super-block is decoded into unsigned 8-bit codes u (4 chunks of 64) plus integer
// scales, such that w = d * sc * (u - off): the integer dot Σ sc·u·x comes from vpdpbusd per
// chunk with the group scales applied by vpdpwssd (see DotKind), and the offset/min part
// Σ_g mn[g] * bsum[g] from the Q8_K bsums with one vpmaddwd. GEMV streams 4 rows at a time,
// decoding in registers; GEMM decodes a panel of 4 rows x 8 super-blocks once into an
// L1-resident buffer and runs a 4x2 register tile over a block of 64 columns.
// =============================================================================================
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
}  // namespace QB_KQ_ISA
}  // namespace qb::kern
#include "qb/x86_intrin.h"
namespace qb::kern {
inline namespace QB_KQ_ISA {
namespace avx512 {

// Super-blocks ahead that GEMV prefetches on each row stream.
#ifndef QB_GEMV_PREFETCH
#define QB_GEMV_PREFETCH 8
#endif
// Rows per GEMV pass (they share the activation loads).
#ifndef QB_GEMV_SB_ROWS
#define QB_GEMV_SB_ROWS 4
#endif

// Madd: vpmaddubsw + vpdpwssd per chunk (codes <= 63). Pack: vpdpbusd per chunk, two chunks'
// int32 sums (|sum| <= 4*63*127 < 2^15) packed to int16 and scaled by one vpdpwssd: fewer
// port-0 uops than Madd. Plain: vpdpbusd only (one scale). Mul: vpdpbusd + vpmulld (any code).
enum class DotKind { Madd, Pack, Plain, Mul };

// One decoded super-block of one row.
struct alignas(64) DSb {
  __m512i u[4];  // codes, chunk c = elements 64c .. 64c+63
  __m512i s[4];  // Madd: int16 scale per 16-group, repeated per 128-bit lane; Mul: int32 per
                 // lane; Pack: s[0], s[1] for chunk pairs (0,1), (2,3) (see pack_scales)
  __m256i mn;    // int16 per 16-group: subtracted as mn * bsum (scaled by dm, or by d if same)
  float d, dm;
  float pad[14];
};

// One Q8_K activation super-block.
struct XSb {
  __m512i x[4];
  __m256i bs;   // bsums per 16
  __m256i bsp;  // words 8..15: bsums per 32 (pairs summed; |sum| <= 32*127 fits int16), 0..7: 0
  float d;
};

inline void load_x(const uint8_t* xb, XSb& o) {
  for (int c = 0; c < 4; ++c) o.x[c] = _mm512_loadu_si512(xb + off::q8K_qs + 64 * c);
  o.bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + off::q8K_bsums));
  const __m128i pairs = _mm256_cvtepi32_epi16(_mm256_madd_epi16(o.bs, _mm256_set1_epi16(1)));
  o.bsp = _mm256_inserti128_si256(_mm256_setzero_si256(), pairs, 1);
  o.d = load_as<float>(xb + off::q8K_d);
}

// The min/offset integer term Σ mn·bsum: per 16-group (mn), or per 32 when the format keeps
// its mins per 32 in words 8..15 of mn (kMinPer32; words 0..7 are ignored: bsp is 0 there).
template <class F>
inline __m256i min_term(const DSb& w, const XSb& x) {
  if constexpr (F::kMinPer32)
    return _mm256_madd_epi16(w.mn, x.bsp);
  else
    return _mm256_madd_epi16(w.mn, x.bs);
}

inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

// Scale vector for chunk c (Madd): 128-bit lane g of chunk c covers 16-group 4c+g; sc16 holds
// the 16 group scales as int16 in lanes 0..15.
inline __m512i madd_scales(__m512i sc16, int c) {
  const __m512i idx = _mm512_set_epi32(
      0x00010001 * (4 * c + 3), 0x00010001 * (4 * c + 3), 0x00010001 * (4 * c + 3), 0x00010001 * (4 * c + 3),
      0x00010001 * (4 * c + 2), 0x00010001 * (4 * c + 2), 0x00010001 * (4 * c + 2), 0x00010001 * (4 * c + 2),
      0x00010001 * (4 * c + 1), 0x00010001 * (4 * c + 1), 0x00010001 * (4 * c + 1), 0x00010001 * (4 * c + 1),
      0x00010001 * (4 * c + 0), 0x00010001 * (4 * c + 0), 0x00010001 * (4 * c + 0), 0x00010001 * (4 * c + 0));
  return _mm512_permutexvar_epi16(idx, sc16);
}

// Pack scale vector for chunks (2p, 2p+1): vpackssdw puts, per 128-bit lane L, chunk 2p's
// int32 lanes 4L..4L+3 in words 0..3 and chunk 2p+1's in words 4..7; lane L of chunk c covers
// 16-group 4c + L. Word pairs share a group, so each int32 lane of the index holds it twice.
inline __m512i pack_scales(__m512i sc16, int p) {
  const int a = 8 * p, b = 8 * p + 4;
  const __m512i idx =
      _mm512_setr_epi32(0x00010001 * (a + 0), 0x00010001 * (a + 0), 0x00010001 * (b + 0), 0x00010001 * (b + 0),
                        0x00010001 * (a + 1), 0x00010001 * (a + 1), 0x00010001 * (b + 1), 0x00010001 * (b + 1),
                        0x00010001 * (a + 2), 0x00010001 * (a + 2), 0x00010001 * (b + 2), 0x00010001 * (b + 2),
                        0x00010001 * (a + 3), 0x00010001 * (a + 3), 0x00010001 * (b + 3), 0x00010001 * (b + 3));
  return _mm512_permutexvar_epi16(idx, sc16);
}

// Integer part of one (row, column) super-block product: Σ sc (u·x) [- Σ mn·bsum if same scale].
template <class F>
inline __m512i dot_sb(const DSb& w, const XSb& x) {
  __m512i acc = _mm512_setzero_si512();
  if constexpr (F::kKind == DotKind::Pack) {
    for (int p = 0; p < 2; ++p) {
      const __m512i t0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.u[2 * p], x.x[2 * p]);
      const __m512i t1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.u[2 * p + 1], x.x[2 * p + 1]);
      acc = _mm512_dpwssd_epi32(acc, _mm512_packs_epi32(t0, t1), w.s[p]);
    }
  }
  for (int c = 0; c < 4 && F::kKind != DotKind::Pack; ++c) {
    if constexpr (F::kKind == DotKind::Madd) {
      acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(w.u[c], x.x[c]), w.s[c]);
    } else if constexpr (F::kKind == DotKind::Plain) {
      acc = _mm512_dpbusd_epi32(acc, w.u[c], x.x[c]);
    } else {
      acc = _mm512_add_epi32(acc,
                             _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w.u[c], x.x[c]), w.s[c]));
    }
  }
  if constexpr (F::kSameScale) {
    const __m256i m = min_term<F>(w, x);
    acc = _mm512_mask_sub_epi32(acc, 0x00FF, acc, _mm512_castsi256_si512(m));
  }
  return acc;
}

// Accumulates one super-block product into the float accumulators.
template <class F>
inline void accumulate(const DSb& w, const XSb& x, __m512& facc, __m256& fmin) {
  const __m512i acc = dot_sb<F>(w, x);
  facc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(w.d * x.d), facc);
  if constexpr (!F::kSameScale)
    fmin = _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_term<F>(w, x)), _mm256_set1_ps(w.dm * x.d), fmin);
}

inline float finish(__m512 facc, __m256 fmin) {
  const __m256 lo = _mm512_castps512_ps256(facc);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(facc), 1));
  __m256 s = _mm256_sub_ps(_mm256_add_ps(lo, hi), fmin);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// GEMV: each row streamed once, decoded in registers; R rows per pass share the x loads.
template <class F, int R>
inline void gemv_sb_rows(int64_t nb, const uint8_t* w0, size_t w_stride, const uint8_t* x, float* y) {
  __m512 f[R];
  __m256 m[R];
  for (int i = 0; i < R; ++i) {
    f[i] = _mm512_setzero_ps();
    m[i] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    XSb xs;
    load_x(x + b * sizeof(block_q8_K), xs);
    if constexpr (R == 4 && requires { F::kScales4; }) {
      // The format decodes the four rows' scales in one vector pass, the rest per row.
      const uint8_t* bl[4];
      for (int i = 0; i < 4; ++i) bl[i] = w0 + i * w_stride + b * F::kBytes;
      __m512i sp[2];
      F::scales4(bl, sp);
      for (int i = 0; i < 4; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(bl[i] + QB_GEMV_PREFETCH * F::kBytes), _MM_HINT_T0);
        DSb d;
        F::decode_rest(bl[i], sp[i / 2], i % 2, d);
        accumulate<F>(d, xs, f[i], m[i]);
      }
    } else {
      for (int i = 0; i < R; ++i) {
        const uint8_t* wr = w0 + i * w_stride + b * F::kBytes;
        _mm_prefetch(reinterpret_cast<const char*>(wr + QB_GEMV_PREFETCH * F::kBytes), _MM_HINT_T0);
        DSb d;
        F::decode(wr, d);
        accumulate<F>(d, xs, f[i], m[i]);
      }
    }
  }
  for (int i = 0; i < R; ++i) y[i] = finish(f[i], m[i]);
}

template <class F>
void gemv_sb(int64_t nb, const uint8_t* W, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* x, float* y) {
  int64_t r = r0;
  for (; r + QB_GEMV_SB_ROWS <= r1; r += QB_GEMV_SB_ROWS)
    gemv_sb_rows<F, QB_GEMV_SB_ROWS>(nb, W + r * w_stride, w_stride, x, y + r);
  for (; r < r1; ++r) gemv_sb_rows<F, 1>(nb, W + r * w_stride, w_stride, x, y + r);
}

// GEMM register tile: R rows (decoded panel, kb super-blocks each) x C columns.
template <class F, int R, int C>
inline void tile_sb(const DSb* panel, int64_t kb, int64_t pstride, const uint8_t* const* xc, float* const* yc,
                    int64_t r, bool first) {
  __m512 facc[R][C];
  __m256 fmin[R][C];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      facc[i][j] = _mm512_setzero_ps();
      fmin[i][j] = _mm256_setzero_ps();
    }
  for (int64_t s = 0; s < kb; ++s) {
    XSb xs[C];
    for (int j = 0; j < C; ++j) load_x(xc[j] + s * sizeof(block_q8_K), xs[j]);
    for (int i = 0; i < R; ++i) {
      const DSb& w = panel[i * pstride + s];
      for (int j = 0; j < C; ++j) accumulate<F>(w, xs[j], facc[i][j], fmin[i][j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      const float v = finish(facc[i][j], fmin[i][j]);
      yc[j][r + i] = first ? v : yc[j][r + i] + v;
    }
}

// GEMM driver: panels of kPanelRows rows x kKb super-blocks decoded once, then all columns.
template <class F>
void gemm_sb(int64_t nb, const uint8_t* W, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* X, size_t xq_stride,
             int64_t n, float* Y, int64_t ldy) {
#ifndef QB_GEMM_SB_TILE
#define QB_GEMM_SB_TILE 4, 2
#endif
  constexpr int kTile[2] = {QB_GEMM_SB_TILE};
  constexpr int kR = kTile[0], kC = kTile[1];
  constexpr int64_t kKb = 8;
  // Column blocks keep the k-block's activations (kNb x kKb super-blocks, ~150 KB) in L2 while
  // every row tile sweeps them; the panel decode repeats per column block (n/kNb times).
  constexpr int64_t kNb = 64;
  DSb panel[kR * kKb];
  for (int64_t j0 = 0; j0 < n; j0 += kNb) {
    const int64_t j1 = n - j0 < kNb ? n : j0 + kNb;
    for (int64_t s0 = 0; s0 < nb; s0 += kKb) {
      const int64_t kb = nb - s0 < kKb ? nb - s0 : kKb;
      for (int64_t r = r0; r < r1; r += kR) {
        const int rows = int(r1 - r < kR ? r1 - r : kR);
        for (int i = 0; i < rows; ++i)
          for (int64_t s = 0; s < kb; ++s) F::decode(W + (r + i) * w_stride + (s0 + s) * F::kBytes, panel[i * kKb + s]);
        for (int64_t j = j0; j < j1; j += kC) {
          const int cols = int(j1 - j < kC ? j1 - j : kC);
          const uint8_t* xc[kC];
          float* yc[kC];
          for (int c = 0; c < kC; ++c) {
            const int64_t jj = j + (c < cols ? c : 0);
            xc[c] = X + jj * xq_stride + s0 * sizeof(block_q8_K);
            yc[c] = Y + jj * ldy;
          }
          const bool first = s0 == 0;
          if (rows == kR && cols == kC) {
            tile_sb<F, kR, kC>(panel, kb, kKb, xc, yc, r, first);
          } else {
            // Edge tiles: one row x one column at a time (same arithmetic, so same results).
            for (int i = 0; i < rows; ++i)
              for (int c = 0; c < cols; ++c) {
                const uint8_t* x1[1] = {xc[c]};
                float* y1[1] = {yc[c]};
                tile_sb<F, 1, 1>(panel + i * kKb, kb, kKb, x1, y1, r + i, first);
              }
          }
        }
      }
    }
  }
}

template <class F>
void compute_sb(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / QK_K;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  if (n < 2) {
    for (int64_t j = 0; j < n; ++j) gemv_sb<F>(nb, w, w_stride, r0, r1, x + j * xq_stride, Y + j * ldy);
  } else {
    gemm_sb<F>(nb, w, w_stride, r0, r1, x, xq_stride, n, Y, ldy);
  }
}

// Q8_K activations, byte-exact with the reference: absmax (first max wins), iscale = -127/max,
// round-to-nearest-even (cvtps2dq under the default MXCSR), min(127), bsums per 16.
inline void quantize_q8_K(const float* x, void* vy, int64_t k) {
  auto* y = static_cast<uint8_t*>(vy);
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K, y += sizeof(block_q8_K)) {
    __m512 v[16];
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < 16; ++j) {
      v[j] = _mm512_loadu_ps(x + 16 * j);
      amax = _mm512_max_ps(amax, _mm512_and_ps(v[j], absmask));
    }
    const float am = _mm512_reduce_max_ps(amax);
    if (am == 0.0f) {
      std::memset(y, 0, sizeof(block_q8_K));
      continue;
    }
    float mx = 0.0f;
    const __m512 amv = _mm512_set1_ps(am);
    for (int j = 0; j < 16; ++j) {
      const __mmask16 m = _mm512_cmp_ps_mask(_mm512_and_ps(v[j], absmask), amv, _CMP_EQ_OQ);
      if (m) {
        mx = x[16 * j + __builtin_ctz(m)];
        break;
      }
    }
    const float iscale = -127.f / mx;
    const __m512 is = _mm512_set1_ps(iscale);
    int16_t bsums[16];
    for (int j = 0; j < 16; ++j) {
      __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v[j], is));
      q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
      bsums[j] = int16_t(_mm512_reduce_add_epi32(q));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + off::q8K_qs + 16 * j), _mm512_cvtsepi32_epi8(q));
    }
    std::memcpy(y + off::q8K_bsums, bsums, sizeof bsums);
    const float d = 1 / iscale;
    std::memcpy(y + off::q8K_d, &d, sizeof d);
  }
}

// ---- 32-weight codebook blocks (IQ4_NL, MXFP4) x Q8_0: two blocks per zmm ----------------
// Codes are stored +128 (unsigned for vpdpbusd); the activation side carries -128 * Σx per
// 4-lane group as the dpbusd accumulator start, so one vpdpbusd gives Σ (u - 128) x exactly.
struct alignas(64) DB2 {
  __m512i u;  // codes + 128, block a in bytes 0..31, block b in 32..63
  __m512 d;   // weight scale: lanes 0..7 block a, 8..15 block b
};
struct XB2 {
  __m512i x, neg;
  __m512 d;
};

// Blocks j and j+1 of a Q8_0 row (only j when single: the b half is zero).
inline void load_x2(const uint8_t* xb, bool single, XB2& o) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + off::q8_0_qs));
  const __m256i b = single
                        ? _mm256_setzero_si256()
                        : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + sizeof(block_q8_0) + off::q8_0_qs));
  o.x = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  o.neg = _mm512_sub_epi32(_mm512_setzero_si512(),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(0x80)), o.x));
  const float da = _cvtsh_ss(load_as<uint16_t>(xb + off::q8_0_d));
  const float db = single ? 0.0f : _cvtsh_ss(load_as<uint16_t>(xb + sizeof(block_q8_0) + off::q8_0_d));
  o.d = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(da), _mm512_set1_ps(db));
}

// Codebook lookup of two 16-byte nibble arrays (low nibbles = first 16 weights of a block).
inline __m512i codes_b2(const uint8_t* qa, const uint8_t* qb, __m512i table128) {
  const __m512i v =
      _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qa))), 0xFF00,
                                  _mm_loadu_si128(reinterpret_cast<const __m128i*>(qb)));
  const __m512i nib = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4), _mm512_set1_epi8(0xF));
  return _mm512_shuffle_epi8(table128, nib);
}

template <class F>
inline void accumulate_b2(const DB2& w, const XB2& x, __m512& facc) {
  const __m512i t = _mm512_dpbusd_epi32(x.neg, w.u, x.x);
  facc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_mul_ps(w.d, x.d), facc);
}

// GEMV: R rows per pass share each activation pair (its loads, sums and scales).
template <class F, int R>
inline void gemv_b2_rows(int64_t nb, const uint8_t* w0, size_t w_stride, const uint8_t* x, float* y, __m512i tbl) {
  __m512 f[R];
  for (int i = 0; i < R; ++i) f[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool single = b + 1 == nb;
    XB2 xs;
    load_x2(x + b * sizeof(block_q8_0), single, xs);
    for (int i = 0; i < R; ++i) {
      const uint8_t* wr = w0 + i * w_stride + b * F::kBytes;
      _mm_prefetch(reinterpret_cast<const char*>(wr + 32 * F::kBytes), _MM_HINT_T0);
      DB2 d;
      F::decode2(wr, single, tbl, d);
      accumulate_b2<F>(d, xs, f[i]);
    }
  }
  for (int i = 0; i < R; ++i) y[i] = _mm512_reduce_add_ps(f[i]);
}

template <class F>
void gemv_b2(int64_t nb, const uint8_t* W, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* x, float* y) {
  const __m512i tbl = F::table();
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) gemv_b2_rows<F, 4>(nb, W + r * w_stride, w_stride, x, y + r, tbl);
  for (; r < r1; ++r) gemv_b2_rows<F, 1>(nb, W + r * w_stride, w_stride, x, y + r, tbl);
}

template <class F, int R, int C>
inline void tile_b2(const DB2* panel, int64_t np, int64_t pstride, int64_t nb_left, const uint8_t* const* xc,
                    float* const* yc, int64_t r, bool first) {
  __m512 facc[R][C];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) facc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < np; ++p) {
    const bool single = 2 * p + 1 == nb_left;
    XB2 xs[C];
    for (int j = 0; j < C; ++j) load_x2(xc[j] + 2 * p * sizeof(block_q8_0), single, xs[j]);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) accumulate_b2<F>(panel[i * pstride + p], xs[j], facc[i][j]);
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      const float v = _mm512_reduce_add_ps(facc[i][j]);
      yc[j][r + i] = first ? v : yc[j][r + i] + v;
    }
}

template <class F>
void gemm_b2(int64_t nb, const uint8_t* W, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* X, size_t xq_stride,
             int64_t n, float* Y, int64_t ldy) {
  constexpr int kR = 4, kC = 3;
  constexpr int64_t kKp = 32;  // block pairs per k-block (2048 weights)
  const __m512i tbl = F::table();
  constexpr int64_t kNb = 64;  // column block: see gemm_sb
  DB2 panel[kR * kKp];
  for (int64_t j0 = 0; j0 < n; j0 += kNb) {
    const int64_t j1 = n - j0 < kNb ? n : j0 + kNb;
    for (int64_t b0 = 0; b0 < nb; b0 += 2 * kKp) {
      const int64_t nbk = nb - b0 < 2 * kKp ? nb - b0 : 2 * kKp;  // blocks in this k-block
      const int64_t np = (nbk + 1) / 2;
      for (int64_t r = r0; r < r1; r += kR) {
        const int rows = int(r1 - r < kR ? r1 - r : kR);
        for (int i = 0; i < rows; ++i)
          for (int64_t p = 0; p < np; ++p)
            F::decode2(W + (r + i) * w_stride + (b0 + 2 * p) * F::kBytes, 2 * p + 1 == nbk, tbl, panel[i * kKp + p]);
        for (int64_t j = j0; j < j1; j += kC) {
          const int cols = int(j1 - j < kC ? j1 - j : kC);
          const uint8_t* xc[kC];
          float* yc[kC];
          for (int c = 0; c < kC; ++c) {
            const int64_t jj = j + (c < cols ? c : 0);
            xc[c] = X + jj * xq_stride + b0 * sizeof(block_q8_0);
            yc[c] = Y + jj * ldy;
          }
          const bool first = b0 == 0;
          if (rows == kR && cols == kC) {
            tile_b2<F, kR, kC>(panel, np, kKp, nbk, xc, yc, r, first);
          } else {
            for (int i = 0; i < rows; ++i)
              for (int c = 0; c < cols; ++c) {
                const uint8_t* x1[1] = {xc[c]};
                float* y1[1] = {yc[c]};
                tile_b2<F, 1, 1>(panel + i * kKp, np, kKp, nbk, x1, y1, r + i, first);
              }
          }
        }
      }
    }
  }
}

template <class F>
void compute_b2(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* x = static_cast<const uint8_t*>(Xq);
  if (n < 2) {
    for (int64_t j = 0; j < n; ++j) gemv_b2<F>(nb, w, w_stride, r0, r1, x + j * xq_stride, Y + j * ldy);
  } else {
    gemm_b2<F>(nb, w, w_stride, r0, r1, x, xq_stride, n, Y, ldy);
  }
}

// Q8_0 activations, byte-exact with qb::quantize_activations: d = absmax/127 rounded to fp16,
// id = 127/absmax, q = nearest with ties to even (as ggml's SIMD quantizers).
inline void quantize_q8_0(const float* x, void* vy, int64_t k) {
  auto* y = static_cast<uint8_t*>(vy);
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += sizeof(block_q8_0)) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float am = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, absmask), _mm512_and_ps(v1, absmask)));
    const float id = am != 0.0f ? 127.0f / am : 0.0f;
    const uint16_t dh = _cvtss_sh(am / 127, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(y + off::q8_0_d, &dh, 2);
    const __m512 idv = _mm512_set1_ps(id);
    for (int h = 0; h < 2; ++h) {
      const __m512 t =
          _mm512_roundscale_ps(_mm512_mul_ps(h ? v1 : v0, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + off::q8_0_qs + 16 * h),
                       _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(t)));
    }
  }
}

}  // namespace avx512
#endif  // AVX-512

// =============================================================================================
// AVX2 (+FMA, F16C) pieces shared by kquant/iquant/ternary_avx2.cpp: the activation quantizers.
// The microkernels: super-block formats in sb_tile_avx2-inl.h, IQ4_NL/MXFP4 in iquant_avx2.cpp.
// =============================================================================================
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && !defined(__AVX512F__)
}  // namespace QB_KQ_ISA
}  // namespace qb::kern
#include "qb/x86_intrin.h"
namespace qb::kern {
inline namespace QB_KQ_ISA {
namespace avx2 {

inline float hsum8(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// Q8_K activations (byte-exact with the reference; see the AVX-512 version).
inline void quantize_q8_K(const float* x, void* vy, int64_t k) {
  auto* y = static_cast<uint8_t*>(vy);
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K, y += sizeof(block_q8_K)) {
    __m256 amax = _mm256_setzero_ps();
    for (int j = 0; j < 32; ++j) amax = _mm256_max_ps(amax, _mm256_and_ps(_mm256_loadu_ps(x + 8 * j), absmask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float am = _mm_cvtss_f32(m4);
    if (am == 0.0f) {
      std::memset(y, 0, sizeof(block_q8_K));
      continue;
    }
    float mx = 0.0f;
    const __m256 amv = _mm256_set1_ps(am);
    for (int j = 0; j < 32; ++j) {
      const int m =
          _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * j), absmask), amv, _CMP_EQ_OQ));
      if (m) {
        mx = x[8 * j + __builtin_ctz(unsigned(m))];
        break;
      }
    }
    const float iscale = -127.f / mx;
    const __m256 is = _mm256_set1_ps(iscale);
    int16_t bsums[16];
    for (int j = 0; j < 16; ++j) {
      __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16 * j), is));
      __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16 * j + 8), is));
      a = _mm256_min_epi32(a, _mm256_set1_epi32(127));
      b = _mm256_min_epi32(b, _mm256_set1_epi32(127));
      const __m256i s = _mm256_add_epi32(a, b);
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
      bsums[j] = int16_t(_mm_cvtsi128_si32(s4));
      // int32 -> int8 (values are in -127..127): packs keep lane order within 128-bit halves.
      const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
      const __m128i b8 = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + off::q8K_qs + 16 * j), b8);
    }
    std::memcpy(y + off::q8K_bsums, bsums, sizeof bsums);
    const float d = 1 / iscale;
    std::memcpy(y + off::q8K_d, &d, sizeof d);
  }
}

// Q8_0 activations (byte-exact with qb::quantize_activations; see the AVX-512 version).
inline void quantize_q8_0(const float* x, void* vy, int64_t k) {
  auto* y = static_cast<uint8_t*>(vy);
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += sizeof(block_q8_0)) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(x + 8 * j);
      amax = _mm256_max_ps(amax, _mm256_and_ps(v[j], absmask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float am = _mm_cvtss_f32(m4);
    const float id = am != 0.0f ? 127.0f / am : 0.0f;
    const uint16_t dh = _cvtss_sh(am / 127, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(y + off::q8_0_d, &dh, 2);
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int j = 0; j < 4; ++j)
      q[j] =
          _mm256_cvttps_epi32(_mm256_round_ps(_mm256_mul_ps(v[j], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i w01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
    const __m256i w23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8);
    const __m256i b = _mm256_permute4x64_epi64(_mm256_packs_epi16(w01, w23), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + off::q8_0_qs), b);
  }
}

}  // namespace avx2
#endif  // AVX2

}  // namespace QB_KQ_ISA
}  // namespace qb::kern
