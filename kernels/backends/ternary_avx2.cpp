// Ternary formats (TQ1_0, TQ2_0) x Q8_K, AVX2 (+FMA, F16C) kernels on the super-block
// microkernel (sb_tile_avx2-inl.h): codes trit + 1 in 0..2, the -1 comes back through the bsums.
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "sb_tile_avx2-inl.h"
#include "ternary_common.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline __m256i ld32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

struct TQ2 {
  static constexpr bool kSigned = false, kUnitScale = true;
  static constexpr SbMin kMin = SbMin::Same;  // codes trit + 1: bsum per group comes off
  static constexpr size_t kBytes = sizeof(block_tq2_0);
  static void head(const uint8_t* b, SbHead& h) {
    h.sc = h.mn = _mm256_set1_epi16(1);
    h.d = h.dm = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_tq2_0, d)));
  }
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {  // element 128h + 32j + l = bits 2j of qs[32h + l]
    for (int j = 0; j < 2; ++j) {
      const int c = 2 * P + j;
      u[j] = _mm256_and_si256(_mm256_srli_epi16(ld32(b + 32 * (c / 4)), 2 * (c % 4)), _mm256_set1_epi8(3));
    }
  }
};

// Trits of bytes v, each multiplied by 3^t (per byte, equal within 16-bit words): trit + 1.
inline __m256i trits(__m256i v, __m256i mul16) {
  const __m256i lo = _mm256_mullo_epi16(v, mul16);
  const __m256i hi = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi16(short(0xFF00))), mul16);
  const __m256i q = _mm256_blendv_epi8(lo, hi, _mm256_set1_epi16(short(0xFF00)));
  // (3q) >> 8 = [q >= 86] + [q >= 171]; unsigned >= via max.
  const __m256i a = _mm256_cmpeq_epi8(_mm256_max_epu8(q, _mm256_set1_epi8(86)), q);
  const __m256i b = _mm256_cmpeq_epi8(_mm256_max_epu8(q, _mm256_set1_epi8(char(171))), q);
  return _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_add_epi8(a, b));
}

struct TQ1 {
  static constexpr bool kSigned = false, kUnitScale = true;
  static constexpr SbMin kMin = SbMin::Same;
  static constexpr size_t kBytes = sizeof(block_tq1_0);
  static void head(const uint8_t* b, SbHead& h) {
    h.sc = h.mn = _mm256_set1_epi16(1);
    h.d = h.dm = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_tq1_0, d)));
  }
  // qs[0..31]: elements 32t + l, t = 0..4; qs[32..47]: elements 160 + 16t + l; qh[0..3]:
  // elements 240 + 4t + l.
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    const uint8_t* qs = b + offsetof(block_tq1_0, qs);
    const __m256i q0 = ld32(qs);
    const __m256i q11 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 32)));
    if constexpr (P < 2) {
      u[0] = trits(q0, _mm256_set1_epi16(P == 0 ? 1 : 9));
      u[1] = trits(q0, _mm256_set1_epi16(P == 0 ? 3 : 27));
    } else if constexpr (P == 2) {
      u[0] = trits(q0, _mm256_set1_epi16(81));
      u[1] = trits(q11, _mm256_setr_epi16(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3));
    } else {
      u[0] = trits(q11, _mm256_setr_epi16(9, 9, 9, 9, 9, 9, 9, 9, 27, 27, 27, 27, 27, 27, 27, 27));
      const __m128i qh = _mm_set1_epi32(int(load_as<uint32_t>(b + offsetof(block_tq1_0, qh))));
      u[1] = trits(_mm256_inserti128_si256(q11, qh, 1),
                   _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 1, 1, 3, 3, 9, 9, 27, 27));
    }
  }
};

void quantize_act(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::TQ1_0, BackendId::Avx2, FormatId::Q8_K, "gemm_tq1_0_q8_K_1x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_sb_tiles<TQ1>},
    {FormatId::TQ2_0, BackendId::Avx2, FormatId::Q8_K, "gemm_tq2_0_q8_K_1x4_avx2", q8_K_row_bytes, quantize_act,
     gemm_sb_tiles<TQ2>},
};
}  // namespace

std::span<const MatmulKernel> ternary_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(ternary_avx2)

}  // namespace qb::kern
