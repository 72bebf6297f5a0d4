// I-quant / codebook formats, AVX2 (+FMA, F16C) kernels: IQ4_NL and MXFP4 x Q8_0 (vpshufb
// codebook lookup, two blocks per ymm; IQ4_NL |w| x sign-moved x, MXFP4 unsigned value + 12),
// IQ4_XS x Q8_K (super-block microkernel, signed codes: sb_tile_avx2-inl.h).
// 32-weight engine: kquant_common.h.
#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"
#include "sb_tile_avx2-inl.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline __m256i table(const int8_t (&v)[16]) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
}

struct IQ4NL {
  static constexpr int kOffset = 0;  // values -127..113: |w| x sign-moved x
  static constexpr size_t kBytes = sizeof(block_iq4_nl), kQsOff = offsetof(block_iq4_nl, qs);
  static __m256i table() { return ::qb::kern::table(kIq4nl); }
  static float scale(const uint8_t* b) { return _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_nl, d))); }
  static __m128 scale4(const uint8_t* b) {  // four consecutive blocks
    __m128i h = _mm_setzero_si128();
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + offsetof(block_iq4_nl, d)), 0);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + kBytes + offsetof(block_iq4_nl, d)), 1);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + 2 * kBytes + offsetof(block_iq4_nl, d)), 2);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + 3 * kBytes + offsetof(block_iq4_nl, d)), 3);
    return _mm_cvtph_ps(h);
  }
};

struct MXFP4 {
  static constexpr int kOffset = 12;  // values -12..12 stored + 12: unsigned codes, no sign moves
  static constexpr size_t kBytes = sizeof(block_mxfp4), kQsOff = offsetof(block_mxfp4, qs);
  static __m256i table() {
    int8_t t[16];
    for (int i = 0; i < 16; ++i) t[i] = int8_t(kMxfp4[i] + kOffset);
    return ::qb::kern::table(t);
  }
  static float scale(const uint8_t* b) { return e8m0_half(b[offsetof(block_mxfp4, e)]); }
  static __m128 scale4(const uint8_t* b) {  // four consecutive blocks, e8m0_half on each lane
    constexpr size_t e = offsetof(block_mxfp4, e);
    const __m128i ev = _mm_setr_epi32(b[e], b[kBytes + e], b[2 * kBytes + e], b[3 * kBytes + e]);
    const __m128i normal = _mm_slli_epi32(_mm_sub_epi32(ev, _mm_set1_epi32(1)), 23);
    const __m128i sub = _mm_sllv_epi32(_mm_set1_epi32(0x00200000), ev);
    return _mm_castsi128_ps(_mm_blendv_epi8(normal, sub, _mm_cmplt_epi32(ev, _mm_set1_epi32(2))));
  }
};

struct IQ4XS {
  static constexpr bool kSigned = true, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::None;
  static constexpr size_t kBytes = sizeof(block_iq4_xs);
  static void head(const uint8_t* b, SbHead& h) {  // scale of sub-block c: 4 + 2 bits, stored +32
    const __m256i sl = _mm256_set1_epi32(int(load_as<uint32_t>(b + offsetof(block_iq4_xs, scales_l))));
    const __m256i sh = _mm256_set1_epi32(load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h)));
    const __m256i lo =
        _mm256_and_si256(_mm256_srlv_epi32(sl, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)), _mm256_set1_epi32(0xF));
    const __m256i hi =
        _mm256_and_si256(_mm256_srlv_epi32(sh, _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)), _mm256_set1_epi32(3));
    const __m256i ls = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32));
    // int16 words 0..7 of both lanes: one scale per chunk
    h.sc = _mm256_permute4x64_epi64(_mm256_packs_epi32(ls, ls), 0x88);
    h.mn = _mm256_setzero_si256();
    h.d = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_xs, d)));
    h.dm = 0.0f;
  }
  // Chunk c = sub-block c: low nibbles of qs[16c .. 16c+15], then their high nibbles.
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + offsetof(block_iq4_xs, qs) + 32 * P));
    const __m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0xF));
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0xF));
    const __m256i tbl = ::qb::kern::table(kIq4nl);
    u[0] = _mm256_shuffle_epi8(tbl, _mm256_permute2x128_si256(lo, hi, 0x20));
    u[1] = _mm256_shuffle_epi8(tbl, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
};

void quantize_act_q8_0(const float* x, void* xq, int64_t k) { avx2::quantize_q8_0(x, xq, k); }
void quantize_act_q8_K(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Avx2, FormatId::Q8_0, "gemm_iq4_nl_q8_0_avx2", q8_0_row_bytes, quantize_act_q8_0,
     compute_b32<IQ4NL>},
    {FormatId::IQ4_XS, BackendId::Avx2, FormatId::Q8_K, "gemm_iq4_xs_q8_K_1x4_avx2", q8_K_row_bytes, quantize_act_q8_K,
     gemm_sb_tiles<IQ4XS>},
    {FormatId::MXFP4, BackendId::Avx2, FormatId::Q8_0, "gemm_mxfp4_q8_0_avx2", q8_0_row_bytes, quantize_act_q8_0,
     compute_b32<MXFP4>},
};
}  // namespace

std::span<const MatmulKernel> iquant_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_avx2)

}  // namespace qb::kern
