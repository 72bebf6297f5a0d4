// Legacy formats (Q4_0 .. Q8_1 x Q8_0/Q8_1), NEON GEMM kernels with the int8 matrix multiply
// extension (armv8.6 i8mm; Neoverse V1/N2, Apple M2, Graviton 3). smmla (vmmlaq_s32) multiplies a
// 2 x 8 int8 row pair by a 2 x 8 column pair into a 2 x 2 int32 tile: four per 32-weight block for
// two rows x two columns, where sdot needs eight for the same four dots. Rows and columns go in
// pairs (an odd last row or column pairs with zeros); weights are decoded as legacy_neon.h does.
//
// GEMM only: with one column half of every smmla product is padding, so dispatch keeps the
// dotprod kernels (legacy_neon.cpp) for n == 1 and these rows for n > 1.
#include "compiled_isa.h"
#include "kernel_rows.h"
#include "kernel_tables.h"
#include "legacy_neon.h"

namespace qb::kern {
namespace {

// [a0..a7, b0..b7] and [a8..a15, b8..b15]: two 2 x 8 operands of smmla from 16 codes each of a, b.
inline void pair_halves(int8x16_t a, int8x16_t b, int8x16_t& p0, int8x16_t& p1) {
  const int64x2_t a64 = vreinterpretq_s64_s8(a), b64 = vreinterpretq_s64_s8(b);
  p0 = vreinterpretq_s8_s64(vzip1q_s64(a64, b64));
  p1 = vreinterpretq_s8_s64(vzip2q_s64(a64, b64));
}

// gemm_<w>_<a>_4x4_neoni8mm: up to 4 rows x 4 columns as 2 x 2 pairs of pairs over nbk blocks.
template <const LegacyGeom& G, bool Q81>
struct LegacyTileI8mm : LegacyTileShapeNeon {
  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    constexpr int RP = (R + 1) / 2, CP = (C + 1) / 2;
    float32x4_t acc[RP][CP];  // lanes: (row 2i, col 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)
    float macc[R][C] = {};
    for (int i = 0; i < RP; ++i)
      for (int j = 0; j < CP; ++j) acc[i][j] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nbk; ++b) {
      int8x16_t wp[RP][4], xp[CP][4];
      float dw[2 * RP] = {}, mw[R] = {}, dx[2 * CP] = {};
      for (int i = 0; i < RP; ++i) {
        int8x16_t lo[2] = {vdupq_n_s8(0), vdupq_n_s8(0)}, hi[2] = {vdupq_n_s8(0), vdupq_n_s8(0)};
        for (int h = 0; h < 2 && 2 * i + h < R; ++h) {
          const int r = 2 * i + h;
          const uint8_t* wb = w[r] + (b / G.bpg) * G.group_bytes();
          decode<G>(wb, int(b % G.bpg), lo[h], hi[h]);
          dw[r] = half_neon(wb);
          if constexpr (G.m_off >= 0) mw[r] = half_neon(wb + G.m_off);
        }
        pair_halves(lo[0], lo[1], wp[i][0], wp[i][1]);
        pair_halves(hi[0], hi[1], wp[i][2], wp[i][3]);
      }
      for (int j = 0; j < CP; ++j) {
        int8x16_t xl[2] = {vdupq_n_s8(0), vdupq_n_s8(0)}, xh[2] = {vdupq_n_s8(0), vdupq_n_s8(0)};
        for (int h = 0; h < 2 && 2 * j + h < C; ++h) {
          load_x<G, Q81>(x[2 * j + h], b, xl[h], xh[h]);
          dx[2 * j + h] = x[2 * j + h].d[b];
        }
        pair_halves(xl[0], xl[1], xp[j][0], xp[j][1]);
        pair_halves(xh[0], xh[1], xp[j][2], xp[j][3]);
      }
      for (int i = 0; i < RP; ++i) {
        const float32x4_t dwv = vcombine_f32(vdup_n_f32(dw[2 * i]), vdup_n_f32(dw[2 * i + 1]));
        for (int j = 0; j < CP; ++j) {
          int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), wp[i][0], xp[j][0]);
          s = vmmlaq_s32(s, wp[i][1], xp[j][1]);
          s = vmmlaq_s32(s, wp[i][2], xp[j][2]);
          s = vmmlaq_s32(s, wp[i][3], xp[j][3]);
          const float32x2_t d2 = vset_lane_f32(dx[2 * j + 1], vdup_n_f32(dx[2 * j]), 1);
          acc[i][j] = vfmaq_f32(acc[i][j], vcvtq_f32_s32(s), vmulq_f32(dwv, vcombine_f32(d2, d2)));
        }
      }
      if constexpr (G.m_off >= 0)
        for (int r = 0; r < R; ++r)
          for (int c = 0; c < C; ++c) macc[r][c] += mw[r] * x[c].s[b];
    }
    for (int i = 0; i < RP; ++i)
      for (int j = 0; j < CP; ++j) {
        float lane[4];
        vst1q_f32(lane, acc[i][j]);
        for (int h = 0; h < 2 && 2 * i + h < R; ++h)
          for (int v = 0; v < 2 && 2 * j + v < C; ++v)
            out[(2 * i + h) * 4 + 2 * j + v] = lane[2 * h + v] + macc[2 * i + h][2 * j + v];
      }
  }
};

template <const LegacyGeom& G, bool Q81>
void gemm_legacy_i8mm(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                      size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  gemm_legacy_neon<G, Q81, LegacyTileI8mm>(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
}

constexpr MatmulKernel kKernels[] = {QB_LEGACY_ROWS(Neon, "4x4_neoni8mm", gemm_legacy_i8mm, quantize_act)};

}  // namespace

std::span<const MatmulKernel> legacy_neoni8mm() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_neoni8mm)

}  // namespace qb::kern
