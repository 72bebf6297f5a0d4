// BF16 x BF16, NEON kernels with the BF16 extension (armv8.6 bf16; Neoverse V1/N2, Apple M2,
// Graviton 3): bf16 pairs multiplied and summed into fp32 lanes without widening. One column
// (GEMV) runs bfdot (vbfdotq_f32: each fp32 lane adds two products); several columns run bfmmla
// (vbfmmlaq_f32: a 2 x 4 row pair times a 2 x 4 column pair into a 2 x 2 fp32 tile), rows and
// columns in pairs (an odd last one pairs with zeros). The k % 8 tail in scalar code.
// float_neon.cpp keeps BF16 (by widening) on CPUs without the extension.
#include <arm_neon.h>

#include "compiled_isa.h"
#include "float_common.h"
#include "kernel_tables.h"
#include "tile_driver-inl.h"

namespace qb::kern {
namespace {

inline bfloat16x8_t load8(const uint8_t* p) {
  return vreinterpretq_bf16_u16(vld1q_u16(reinterpret_cast<const uint16_t*>(p)));
}
inline uint64x2_t as_u64(bfloat16x8_t v) { return vreinterpretq_u64_bf16(v); }

// [a0..a3, b0..b3] and [a4..a7, b4..b7]: two 2 x 4 operands of bfmmla from 8 values each of a, b.
inline void pair_halves(bfloat16x8_t a, bfloat16x8_t b, bfloat16x8_t& p0, bfloat16x8_t& p1) {
  p0 = vreinterpretq_bf16_u64(vzip1q_u64(as_u64(a), as_u64(b)));
  p1 = vreinterpretq_bf16_u64(vzip2q_u64(as_u64(a), as_u64(b)));
}

// Σ w[t] x[t] over t in [from, len): the k % 8 tail.
inline float tail_dot(const uint8_t* w, const uint8_t* x, int64_t from, int64_t len) {
  float s = 0.0f;
  for (int64_t t = from; t < len; ++t) s += float_at<FormatId::BF16>(w, t) * float_at<FormatId::BF16>(x, t);
  return s;
}

// gemm_bf16_bf16_4x4_neonbf16: one tile of up to 4 rows x 4 columns over len elements.
struct Bf16TileNeon : FloatGeometry<FormatId::BF16> {
  static constexpr int kMR = 4, kNR = 4;

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t len, float* out) {
    int64_t i = 0;
    if constexpr (C == 1) {
      float32x4_t acc[R];
      for (int r = 0; r < R; ++r) acc[r] = vdupq_n_f32(0.0f);
      for (; i + 8 <= len; i += 8) {
        const bfloat16x8_t xv = load8(x[0] + 2 * i);
        for (int r = 0; r < R; ++r) acc[r] = vbfdotq_f32(acc[r], load8(w[r] + 2 * i), xv);
      }
      for (int r = 0; r < R; ++r) out[r * 4] = vaddvq_f32(acc[r]) + tail_dot(w[r], x[0], i, len);
    } else {
      constexpr int RP = (R + 1) / 2, CP = (C + 1) / 2;
      const bfloat16x8_t zero = vreinterpretq_bf16_u16(vdupq_n_u16(0));
      float32x4_t acc[RP][CP];  // lanes: (row 2p, col 2q), (2p, 2q+1), (2p+1, 2q), (2p+1, 2q+1)
      for (int p = 0; p < RP; ++p)
        for (int q = 0; q < CP; ++q) acc[p][q] = vdupq_n_f32(0.0f);
      for (; i + 8 <= len; i += 8) {
        bfloat16x8_t wp[RP][2], xp[CP][2];
        for (int p = 0; p < RP; ++p)
          pair_halves(load8(w[2 * p] + 2 * i), 2 * p + 1 < R ? load8(w[2 * p + 1] + 2 * i) : zero, wp[p][0], wp[p][1]);
        for (int q = 0; q < CP; ++q)
          pair_halves(load8(x[2 * q] + 2 * i), 2 * q + 1 < C ? load8(x[2 * q + 1] + 2 * i) : zero, xp[q][0], xp[q][1]);
        for (int p = 0; p < RP; ++p)
          for (int q = 0; q < CP; ++q)
            acc[p][q] = vbfmmlaq_f32(vbfmmlaq_f32(acc[p][q], wp[p][0], xp[q][0]), wp[p][1], xp[q][1]);
      }
      for (int p = 0; p < RP; ++p)
        for (int q = 0; q < CP; ++q) {
          float lane[4];
          vst1q_f32(lane, acc[p][q]);
          for (int h = 0; h < 2 && 2 * p + h < R; ++h)
            for (int v = 0; v < 2 && 2 * q + v < C; ++v)
              out[(2 * p + h) * 4 + 2 * q + v] = lane[2 * h + v] + tail_dot(w[2 * p + h], x[2 * q + v], i, len);
        }
    }
  }
};

constexpr MatmulKernel kKernels[] = {
    {FormatId::BF16, BackendId::Neon, FormatId::BF16, "gemm_bf16_bf16_4x4_neonbf16",
     float_act_row_bytes<FormatId::BF16>, float_quantize_scalar<FormatId::BF16>, gemm_strided<Bf16TileNeon>},
};

}  // namespace

std::span<const MatmulKernel> float_neonbf16() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_neonbf16)

}  // namespace qb::kern
