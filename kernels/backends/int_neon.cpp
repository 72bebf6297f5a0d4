// Int formats, NEON kernels (armv8.2-a + dotprod).
//  INT4_Gxx x Q8_1: the legacy block tile (legacy_neon.h) with the group geometry; activations
//    de-interleaved into even/odd codes by vld2q, the order the nibbles expand to.
//  INT8_PC x Q8_0: sdot of the signed codes; INT8_PT: sdot of (code - 128) plus
//    (128 - zp) * sum(x) (sum by sdot with ones), exact integers per block.
//  NF4 x F32: a group's 64 weights decoded (codebook * absmax) to floats once per row, then
//    fused multiply-add with every column of the tile.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_rows.h"
#include "kernel_tables.h"
#include "legacy_neon.h"

namespace qb::kern {
namespace {

// What an INT8 tile reads per activation column: Q8_0 blocks and their converted scales.
struct Int8Col {
  const uint8_t* blocks;
  const float* d;
};

// gemm_int8p{c,t}_q8_0_4x4_neondot: a tile of up to 4 rows x 4 columns over nbk blocks.
template <bool PT>
struct Int8TileNeon {
  static constexpr int kMR = 4, kNR = 4;
  static constexpr bool kRowScale = true;
  using Row = Int8Row;
  using Col = Int8Col;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nbk, float* out) {
    float32x4_t acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
    const int8x16_t ones = vdupq_n_s8(1);
    for (int64_t b = 0; b < nbk; ++b) {
      int8x16_t lo[R], hi[R];
      for (int r = 0; r < R; ++r) {
        if constexpr (PT) {
          const uint8x16_t flip = vdupq_n_u8(0x80);
          lo[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(w[r].q + b * 32), flip));
          hi[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(w[r].q + b * 32 + 16), flip));
        } else {
          lo[r] = vld1q_s8(reinterpret_cast<const int8_t*>(w[r].q + b * 32));
          hi[r] = vld1q_s8(reinterpret_cast<const int8_t*>(w[r].q + b * 32 + 16));
        }
      }
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = reinterpret_cast<const int8_t*>(x[c].blocks + b * int64_t(sizeof(block_q8_0)) + 2);
        const int8x16_t xl = vld1q_s8(xq), xh = vld1q_s8(xq + 16);
        int32x4_t sx = vdupq_n_s32(0);
        if constexpr (PT) sx = vdotq_s32(vdotq_s32(sx, ones, xl), ones, xh);
        for (int r = 0; r < R; ++r) {
          int32x4_t dot = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo[r], xl), hi[r], xh);
          if constexpr (PT) dot = vmlaq_n_s32(dot, sx, 128 - w[r].zp);
          acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(dot), x[c].d[b]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = vaddvq_f32(acc[r][c]);
  }
};

template <bool PT>
void gemm_int8_neon(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  auto& sc = tls_scales;
  if (sc.size() < size_t(n * nb)) sc.resize(size_t(n * nb));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < nb; ++b)
      sc[size_t(j * nb + b)] = half_neon(xq + j * xq_stride + b * int64_t(sizeof(block_q8_0)));
  TileDriver<Int8TileNeon<PT>>::run(
      r0, r1, n, nb, n == 1 ? nb : kKB, 4,
      [&](int64_t r, int64_t kb) { return int8_row<PT>(w + r * int64_t(w_stride), kb); },
      [&](int64_t c, int64_t kb) {
        return Int8Col{xq + c * int64_t(xq_stride) + kb * int64_t(sizeof(block_q8_0)), sc.data() + c * nb + kb};
      },
      Y, ldy);
}

// gemm_nf4_f32_4x4_neon: a tile of up to 4 rows x 4 columns over ngroups groups of 64.
struct Nf4TileNeon : Nf4Geometry {
  static constexpr int kMR = 4, kNR = 4;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t ngroups, float* out) {
    float32x4_t acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
    alignas(16) float wf[R][64];
    for (int64_t g = 0; g < ngroups; ++g) {
      for (int r = 0; r < R; ++r) {
        const uint8_t* grp = w[r] + g * 36;
        const float amax = load_f32(grp);
        for (int i = 0; i < 32; ++i) {
          wf[r][2 * i] = codec::kNf4Values[grp[4 + i] >> 4] * amax;
          wf[r][2 * i + 1] = codec::kNf4Values[grp[4 + i] & 0x0F] * amax;
        }
      }
      for (int c = 0; c < C; ++c) {
        const float* xf = reinterpret_cast<const float*>(x[c]) + g * 64;
        for (int i = 0; i < 64; i += 4) {
          const float32x4_t xv = vld1q_f32(xf + i);
          for (int r = 0; r < R; ++r) acc[r][c] = vfmaq_f32(acc[r][c], vld1q_f32(&wf[r][i]), xv);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) out[r * 4 + c] = vaddvq_f32(acc[r][c]);
  }
};

constexpr MatmulKernel kKernels[] = {QB_INT_ROWS(Neon, "4x4_neondot", "4x4_neondot", "4x4_neon", gemm_int8_neon,
                                                 gemm_legacy_neon, gemm_strided<Nf4TileNeon>, quantize_act)};

}  // namespace

std::span<const MatmulKernel> int_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_neon)

}  // namespace qb::kern
