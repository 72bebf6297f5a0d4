// The NEON (armv8.2-a + dotprod) super-block microkernel (256-weight blocks x Q8_K activations):
// one tile of R rows x C columns for the tile driver (tile_driver-inl.h), which owns the
// row/column tiling, edge tiles and k-blocking. Weights decode to signed int8 (code - offset)
// per 16-group, so sdot multiplies them with the Q8_K activations directly; each group's
// int32x4 is scaled with one multiply-accumulate by its integer scale, and the super-block's
// integer total goes through the same float expression as the scalar oracle.
//
// A format F provides kBytes, kHasMin (K-quant mins through the Q8_K bsums, scaled by dmin) and
// decode(blk, DSb&): the super-block's signed groups, scales, mins and float scales.
// Each decoded super-block serves the tile's C (<= 4) columns. The tile (DecodedTileNeon) also
// runs the 32-weight codebook blocks of iquant_neon.cpp.
//
// Highway's -inl.h convention: templates only, included by files built with NEON dotprod flags.
#include <arm_neon.h>

#include "kquant_common.h"
#include "tile_driver-inl.h"

namespace qb::kern {
inline namespace QB_KQ_ISA {
namespace neon {

struct DSb {
  int8x16_t q[16];  // group g = elements 16g .. 16g+15, signed values
  int32_t sc[16];
  int16_t mn[16];  // K-quant mins (with dmin); zero for formats without
  float d, dmin;
};

// One (row, column) super-block product, as the oracle computes it.
template <class F>
inline float dot_sb(const DSb& w, const uint8_t* xb) {
  const auto* xq = reinterpret_cast<const int8_t*>(xb + off::q8K_qs);
  int32x4_t acc = vdupq_n_s32(0);
  for (int g = 0; g < 16; ++g)
    acc = vmlaq_n_s32(acc, vdotq_s32(vdupq_n_s32(0), w.q[g], vld1q_s8(xq + 16 * g)), w.sc[g]);
  const float dx = load_as<float>(xb + off::q8K_d);
  const int32_t sumi = vaddvq_s32(acc);
  int32_t summ = 0;
  if constexpr (F::kHasMin) {
    int16_t bs[16];
    std::memcpy(bs, xb + off::q8K_bsums, sizeof bs);
    const int16x8_t b0 = vld1q_s16(bs), b1 = vld1q_s16(bs + 8);
    const int16x8_t m0 = vld1q_s16(w.mn), m1 = vld1q_s16(w.mn + 8);
    int32x4_t s = vmull_s16(vget_low_s16(b0), vget_low_s16(m0));
    s = vmlal_s16(s, vget_high_s16(b0), vget_high_s16(m0));
    s = vmlal_s16(s, vget_low_s16(b1), vget_low_s16(m1));
    s = vmlal_s16(s, vget_high_s16(b1), vget_high_s16(m1));
    summ = vaddvq_s32(s);
  }
  return w.d * dx * float(sumi) - w.dmin * dx * float(summ);
}

// gemm_<fmt>_<act>_1x4_neondot (MatmulKernel::compute = gemm_strided<DecodedTileNeon<B>>): per
// block, B decodes the weight block once and gives one float per column, added up in the
// oracle's order. Row = weight row from its k-block's first block, Col = activation row likewise.
// B provides kStep (weights per block), kBytes, kXBytes (activation block), Block,
// decode(wb, Block&) and dot(const Block&, xb) -> float.
template <class B>
struct DecodedTileNeon : BlockGeometry<B::kStep, B::kBytes, B::kXBytes> {
  using G = BlockGeometry<B::kStep, B::kBytes, B::kXBytes>;
  static constexpr int kMR = 1, kNR = 4;

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t nb, float* out) {
    float acc[R][C] = {};
    for (int64_t i = 0; i < nb; ++i)
      for (int r = 0; r < R; ++r) {
        typename B::Block d;
        B::decode(w[r] + i * G::kWStep, d);
        for (int c = 0; c < C; ++c) acc[r][c] += B::dot(d, x[c] + i * G::kXStep);
      }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = acc[r][c];
  }
};

// A super-block format F x Q8_K.
template <class F>
struct SbBlockNeon {
  static constexpr int64_t kStep = QK_K;
  static constexpr size_t kBytes = F::kBytes, kXBytes = sizeof(block_q8_K);
  using Block = DSb;
  static void decode(const uint8_t* b, DSb& d) { F::decode(b, d); }
  static float dot(const DSb& w, const uint8_t* xb) { return dot_sb<F>(w, xb); }
};
template <class F>
using SbTileNeon = DecodedTileNeon<SbBlockNeon<F>>;

}  // namespace neon
}  // namespace QB_KQ_ISA
}  // namespace qb::kern
