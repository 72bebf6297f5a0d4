// I-quant / codebook formats, AVX2 (+FMA, F16C) kernels: IQ4_NL and MXFP4 x Q8_0 (vpshufb
// codebook lookup, |w| x sign-moved x), IQ4_XS x Q8_K (super-block engine, signed codes).
// Engines: kquant_common.h.
#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline __m256i table(const int8_t (&v)[16]) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
}

struct IQ4NL {
  static constexpr size_t kBytes = sizeof(block_iq4_nl), kQsOff = offsetof(block_iq4_nl, qs);
  static __m256i table() { return ::qb::kern::table(kIq4nl); }
  static float scale(const uint8_t* b) { return _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_nl, d))); }
};

struct MXFP4 {
  static constexpr size_t kBytes = sizeof(block_mxfp4), kQsOff = offsetof(block_mxfp4, qs);
  static __m256i table() { return ::qb::kern::table(kMxfp4); }
  static float scale(const uint8_t* b) { return e8m0_half(b[offsetof(block_mxfp4, e)]); }
};

struct IQ4XS {
  static constexpr bool kSigned = true, kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_iq4_xs);
  static void decode(const uint8_t* b, DSb& o) {
    const uint32_t sl = load_as<uint32_t>(b + offsetof(block_iq4_xs, scales_l));
    const uint32_t sh = load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h));
    const __m256i tbl = ::qb::kern::table(kIq4nl);
    const uint8_t* qs = b + offsetof(block_iq4_xs, qs);
    for (int c = 0; c < 8; ++c) {  // chunk c = sub-block c
      const int ls = int(((sl >> (4 * c)) & 0xF) | (((sh >> (2 * c)) & 3) << 4)) - 32;
      o.s[c] = _mm256_set1_epi16(short(ls));
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16 * c));
      const __m256i nib = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1),
                                           _mm256_set1_epi8(0xF));
      o.u[c] = _mm256_shuffle_epi8(tbl, nib);
    }
    o.d = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_xs, d)));
    o.dm = 0.0f;
  }
};

void quantize_act_q8_0(const float* x, void* xq, int64_t k) { avx2::quantize_q8_0(x, xq, k); }
void quantize_act_q8_K(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Avx2, FormatId::Q8_0, "gemm_iq4_nl_q8_0_avx2", q8_0_row_bytes, quantize_act_q8_0,
     compute_b32<IQ4NL>},
    {FormatId::IQ4_XS, BackendId::Avx2, FormatId::Q8_K, "gemm_iq4_xs_q8_K_avx2", q8_K_row_bytes, quantize_act_q8_K,
     compute_sb<IQ4XS>},
    {FormatId::MXFP4, BackendId::Avx2, FormatId::Q8_0, "gemm_mxfp4_q8_0_avx2", q8_0_row_bytes, quantize_act_q8_0,
     compute_b32<MXFP4>},
};
}  // namespace

std::span<const MatmulKernel> iquant_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_avx2)

}  // namespace qb::kern
