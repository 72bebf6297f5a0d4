// Float formats (F32, F16, BF16), NEON kernels: both sides widened to fp32 (F16 by fcvtl, BF16
// by a 16-bit shift) and multiplied with fused multiply-add into fp32 lanes. Tiles of 4 rows x
// 4 columns; GEMM blocks k to 4 KiB of weights per row; the k % 4 tail in scalar code.
#include <arm_neon.h>

#include <algorithm>

#include "compiled_isa.h"
#include "float_common.h"
#include "kernel_tables.h"
#include "tile_driver-inl.h"

namespace qb::kern {
namespace {

template <FormatId F>
inline float32x4_t load4(const uint8_t* p) {
  if constexpr (F == FormatId::F32)
    return vld1q_f32(reinterpret_cast<const float*>(p));
  else if constexpr (F == FormatId::F16)
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  else
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
}

// gemm_<f>_<f>_4x4_neon: one tile of up to 4 rows x 4 columns over len elements.
template <FormatId F>
struct FloatTileNeon : FloatGeometry<F> {
  static constexpr int kMR = 4, kNR = 4;

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t len, float* out) {
    constexpr int64_t eb = int64_t(float_elem_bytes<F>());
    float32x4_t acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
      float32x4_t wv[R];
      for (int r = 0; r < R; ++r) wv[r] = load4<F>(w[r] + i * eb);
      for (int c = 0; c < C; ++c) {
        const float32x4_t xv = load4<F>(x[c] + i * eb);
        for (int r = 0; r < R; ++r) acc[r][c] = vfmaq_f32(acc[r][c], wv[r], xv);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) {
        float s = vaddvq_f32(acc[r][c]);
        for (int64_t t = i; t < len; ++t) s += float_at<F>(w[r], t) * float_at<F>(x[c], t);
        out[r * 4 + c] = s;
      }
  }
};

template <FormatId F>
constexpr MatmulKernel make(const char* name) {
  // Activation conversion: the scalar converters are the reference codecs' own bit recipes.
  return {
      F, BackendId::Neon, F, name, float_act_row_bytes<F>, float_quantize_scalar<F>, gemm_strided<FloatTileNeon<F>>};
}

constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_4x4_neon"),
    make<FormatId::F16>("gemm_f16_f16_4x4_neonfp16"),
    make<FormatId::BF16>("gemm_bf16_bf16_4x4_neon"),
};

}  // namespace

std::span<const MatmulKernel> float_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_neon)

}  // namespace qb::kern
