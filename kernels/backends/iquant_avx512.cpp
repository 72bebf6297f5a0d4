// I-quant / codebook formats, AVX-512 + VNNI kernels: IQ4_NL and MXFP4 (x Q8_0, two 32-weight
// blocks per zmm, codebook lookup with vpshufb) and IQ4_XS (x Q8_K, super-block engine with
// per-32 scales applied to vpdpbusd sums). Engines: kquant_common.h.
#include <array>

#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"

namespace qb::kern {

namespace {
using namespace avx512;

// Codebook + 128 as unsigned bytes, one 128-bit lane (vpshufb looks up within each lane).
constexpr std::array<uint8_t, 16> plus128(const int8_t (&v)[16]) {
  std::array<uint8_t, 16> t{};
  for (int i = 0; i < 16; ++i) t[size_t(i)] = uint8_t(v[i] + 128);
  return t;
}
constexpr auto kIq4Table = plus128(kIq4nl);
constexpr auto kMxTable = plus128(kMxfp4);

inline __m512i table(const std::array<uint8_t, 16>& t) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data())));
}

struct IQ4NL {
  static constexpr size_t kBytes = sizeof(block_iq4_nl);
  static __m512i table() { return ::qb::kern::table(kIq4Table); }
  static void decode2(const uint8_t* b, bool single, __m512i tbl, DB2& o) {
    const uint8_t* nb = single ? b : b + kBytes;
    const uint8_t* qa = b + offsetof(block_iq4_nl, qs);
    o.u = codes_b2(qa, nb + offsetof(block_iq4_nl, qs), tbl);
    // Both fp16 scales in one conversion, then spread to lanes 0..7 / 8..15.
    const uint32_t dd = uint32_t(load_as<uint16_t>(b + offsetof(block_iq4_nl, d))) |
                        (single ? 0u : uint32_t(load_as<uint16_t>(nb + offsetof(block_iq4_nl, d))) << 16);
    const __m128 d2 = _mm_cvtph_ps(_mm_cvtsi32_si128(int(dd)));
    o.d = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                _mm512_castps128_ps512(d2));
  }
};

struct MXFP4 {
  static constexpr size_t kBytes = sizeof(block_mxfp4);
  static __m512i table() { return ::qb::kern::table(kMxTable); }
  static void decode2(const uint8_t* b, bool single, __m512i tbl, DB2& o) {
    const uint8_t* nb = single ? b : b + kBytes;
    o.u = codes_b2(b + offsetof(block_mxfp4, qs), nb + offsetof(block_mxfp4, qs), tbl);
    const float da = e8m0_half(b[offsetof(block_mxfp4, e)]);
    const float db = single ? 0.0f : e8m0_half(nb[offsetof(block_mxfp4, e)]);
    o.d = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(da), _mm512_set1_ps(db));
  }
};

struct IQ4XS {
  static constexpr DotKind kKind = DotKind::Mul;
  static constexpr bool kSameScale = true, kMinPer32 = false;
  static constexpr size_t kBytes = sizeof(block_iq4_xs);
  static void decode(const uint8_t* b, DSb& o) {
    // Sub-block ib scale: nibble ib of the 32-bit scales_l word | 2 bits of scales_h << 4, - 32.
    const __m512i lw = _mm512_set1_epi32(int(load_as<uint32_t>(b + offsetof(block_iq4_xs, scales_l))));
    const __m512i hw = _mm512_set1_epi32(int(load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h))));
    const __m512i sh_l = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i sh_h = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i ls = _mm512_sub_epi32(
        _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi32(lw, sh_l), _mm512_set1_epi32(0xF)),
                        _mm512_slli_epi32(_mm512_and_si512(_mm512_srlv_epi32(hw, sh_h), _mm512_set1_epi32(3)), 4)),
        _mm512_set1_epi32(32));
    for (int c = 0; c < 4; ++c)
      o.s[c] =
          _mm512_permutexvar_epi32(_mm512_inserti64x4(_mm512_set1_epi32(2 * c), _mm256_set1_epi32(2 * c + 1), 1), ls);
    // Codes are stored +128: subtract 128 * ls per 16-group via the bsums.
    const __m512i g2 = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    o.mn = _mm512_cvtepi32_epi16(_mm512_slli_epi32(_mm512_permutexvar_epi32(g2, ls), 7));
    const __m512i tbl = ::qb::kern::table(kIq4Table);
    const uint8_t* qs = b + offsetof(block_iq4_xs, qs);
    for (int c = 0; c < 4; ++c) o.u[c] = codes_b2(qs + 32 * c, qs + 32 * c + 16, tbl);
    o.d = o.dm = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_xs, d)));
  }
};

void quantize_act_q8_0(const float* x, void* xq, int64_t k) { avx512::quantize_q8_0(x, xq, k); }
void quantize_act_q8_K(const float* x, void* xq, int64_t k) { avx512::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Avx512, FormatId::Q8_0, "gemm_iq4_nl_q8_0_avx512vnni", q8_0_row_bytes,
     quantize_act_q8_0, compute_b2<IQ4NL>},
    {FormatId::IQ4_XS, BackendId::Avx512, FormatId::Q8_K, "gemm_iq4_xs_q8_K_avx512vnni", q8_K_row_bytes,
     quantize_act_q8_K, compute_sb<IQ4XS>},
    {FormatId::MXFP4, BackendId::Avx512, FormatId::Q8_0, "gemm_mxfp4_q8_0_avx512vnni", q8_0_row_bytes,
     quantize_act_q8_0, compute_b2<MXFP4>},
};
}  // namespace

std::span<const MatmulKernel> iquant_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_avx512)

}  // namespace qb::kern
