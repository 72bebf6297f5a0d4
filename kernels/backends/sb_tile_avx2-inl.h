// The AVX2 super-block microkernel (256-weight blocks x Q8_K activations): one tile of R rows x
// C columns for the tile driver (tile_driver-inl.h), which owns the row/column tiling, edge tiles
// and k-blocking. No VNNI: the integer dot is vpmaddubsw (unsigned codes x int8) + vpmaddwd with
// the group scales.
//
// A format F provides, per weight super-block:
//   kBytes, kMin (SbMin), kSigned (codes are signed values: |w| x sign-moved x), kUnitScale;
//   head(blk, SbHead&): scales, mins and float scales (once per row and super-block);
//   codes<P>(blk, u): the codes of chunks 2P and 2P+1 (chunk c = elements 32c .. 32c+31), with
//     P a compile-time constant so shifts and masks are immediates.
// The codes stay in registers: each decoded chunk is used for the C columns at once, and an
// activation chunk is a memory operand of vpmaddubsw (Q8_K's order is the code order, so the
// activations need no rearranging). Rows share nothing but the loop, so registers go to columns:
// 1 x 4 tiles (GEMM decodes each weight once per 4 columns), rows one at a time for GEMV.
//
// Highway's -inl.h convention: templates only, included by files built with AVX2 flags.
#include "kquant_common.h"
#include "tile_driver-inl.h"

namespace qb::kern {
inline namespace QB_KQ_ISA {
namespace avx2 {

// How a format's offsets or mins come back through the Q8_K bsums (Σ mn[g] * bsum[g] per 16):
// None; Same: scaled by d, subtracted from the integer sum; Own: scaled by dm (K-quant dmin).
enum class SbMin { None, Same, Own };

struct SbHead {
  __m256i sc;  // int16 group scales: lane 0 word j = scale of elements 32j..32j+15 (group 2j),
               // lane 1 word j = scale of 32j+16..32j+31 (group 2j+1)
  __m256i mn;  // int16 per 16-group (natural order), times bsum
  float d, dm;
};

// Scale vector of chunk c: word c of each lane broadcast over the lane.
template <int c>
inline __m256i chunk_scale(__m256i sc) {
  return _mm256_shuffle_epi8(sc, _mm256_set1_epi16(short(0x0100 + 0x0202 * c)));
}

// 16 int16 group scales in natural order -> the SbHead::sc layout (evens in lane 0, odds in 1).
inline __m256i sc_from_groups(__m256i g16) {
  const __m256i split =
      _mm256_shuffle_epi8(g16, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 0, 1, 4, 5, 8, 9,
                                                12, 13, 2, 3, 6, 7, 10, 11, 14, 15));
  return _mm256_permute4x64_epi64(split, 0xD8);
}

// gemm_<fmt>_q8_K_1x4_avx2: Row = weight row from its k-block's first super-block, Col = Q8_K
// activation row likewise; out[r * 4 + c] = Σ over nsb super-blocks.
template <class F>
struct SbTileAvx2 : BlockGeometry<QK_K, F::kBytes, sizeof(block_q8_K)> {
  using G = BlockGeometry<QK_K, F::kBytes, sizeof(block_q8_K)>;
  static constexpr int kMR = 1, kNR = 4;

  // Every cache line of the super-block kPrefetchSb ahead on this row's stream. One prefetch
  // per super-block 4 ahead (576 B for Q4_K) left 1-2 of its 2-3 lines to the hardware and was
  // slower than none: DRAM-streamed GEMV, paired rounds, loaded machine, Q5_K 1.24x without it,
  // 1.51x with this (Q4_K 1.08x, Q6_K 1.29x, IQ4_XS 1.10x, TQ2_0 1.44x; docs/performance.md).
  static constexpr int64_t kPrefetchSb = 16;
  static void prefetch_ahead(const uint8_t* wb) {
    const auto* p = reinterpret_cast<const char*>(wb + kPrefetchSb * G::kWStep);
    for (int64_t l = 0; l < (G::kWStep + 63) / 64; ++l) _mm_prefetch(p + 64 * l, _MM_HINT_T0);
  }

  template <int P, int C>
  static void pair(const uint8_t* wb, const SbHead& h, const uint8_t* const* xb, __m256i (&acc)[C]) {
    __m256i u[2];
    F::template codes<P>(wb, u);
    const __m256i s[2] = {F::kUnitScale ? _mm256_set1_epi16(1) : chunk_scale<2 * P>(h.sc),
                          F::kUnitScale ? _mm256_set1_epi16(1) : chunk_scale<2 * P + 1>(h.sc)};
    for (int j = 0; j < 2; ++j) {
      const size_t xo = off::q8K_qs + size_t(32 * (2 * P + j));
      __m256i a = u[j];
      if constexpr (F::kSigned) a = _mm256_sign_epi8(u[j], u[j]);
      for (int c = 0; c < C; ++c) {
        __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[c] + xo));
        if constexpr (F::kSigned) x = _mm256_sign_epi8(x, u[j]);
        acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, x), s[j]));
        // Keeps the sum a running register: without it GCC reassociates the 32 products of a
        // super-block into a tree and spills them to the stack (30% more instructions).
        asm("" : "+x"(acc[c]));
      }
    }
  }

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t nsb, float* out) {
    __m256 facc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) facc[r][c] = _mm256_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s) {
      const uint8_t* xb[C];
      for (int c = 0; c < C; ++c) xb[c] = x[c] + s * G::kXStep;
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = w[r] + s * G::kWStep;
        prefetch_ahead(wb);
        SbHead h;
        F::head(wb, h);
        __m256i acc[C];
        for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_si256();
        pair<0, C>(wb, h, xb, acc);
        pair<1, C>(wb, h, xb, acc);
        pair<2, C>(wb, h, xb, acc);
        pair<3, C>(wb, h, xb, acc);
        const __m256 d = _mm256_set1_ps(h.d);
        for (int c = 0; c < C; ++c) {
          const __m256 dx = _mm256_broadcast_ss(reinterpret_cast<const float*>(xb[c] + off::q8K_d));
          if constexpr (F::kMin != SbMin::None) {
            const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[c] + off::q8K_bsums));
            const __m256i m = _mm256_madd_epi16(h.mn, bs);
            if constexpr (F::kMin == SbMin::Same) {
              acc[c] = _mm256_sub_epi32(acc[c], m);
            } else {
              const __m256 dm = _mm256_mul_ps(_mm256_set1_ps(h.dm), dx);
              facc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), dm, facc[r][c]);
            }
          }
          facc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[c]), _mm256_mul_ps(d, dx), facc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(facc[r][c]);
  }
};

// MatmulKernel::compute for a super-block format on the tile driver.
template <class F>
void gemm_sb_tiles(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                   int64_t n, float* Y, int64_t ldy) {
  gemm_strided<SbTileAvx2<F>>(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
}

}  // namespace avx2
}  // namespace QB_KQ_ISA
}  // namespace qb::kern
