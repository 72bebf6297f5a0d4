// Float formats (F32, F16, BF16), AVX2 kernels (AVX2 + FMA + F16C). Both sides are widened to
// fp32 (F16 by vcvtph2ps, BF16 by a 16-bit shift) and multiplied with FMA into fp32 lanes.
// Tiles of 4 rows x 2 columns; GEMM blocks k to 4 KiB of weights per row; the k % 8 tail is
// finished in scalar code.
#include "qb/x86_intrin.h"

#include <algorithm>

#include "compiled_isa.h"
#include "float_act_avx2-inl.h"
#include "float_common.h"
#include "kernel_tables.h"
#include "tile_driver-inl.h"

namespace qb::kern {
namespace {

inline float hsum8(__m256 v) {
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

template <FormatId F>
inline __m256 load8(const uint8_t* p) {
  if constexpr (F == FormatId::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (F == FormatId::F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

// gemm_<f>_<f>_4x2_avx2: one tile of up to 4 rows x 2 columns over len elements.
template <FormatId F>
struct FloatTileAvx2 : FloatGeometry<F> {
  static constexpr int kMR = 4, kNR = 2;

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t len, float* out) {
    constexpr int64_t eb = int64_t(float_elem_bytes<F>());
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = load8<F>(w[r] + i * eb);
      for (int c = 0; c < C; ++c) {
        const __m256 xv = load8<F>(x[c] + i * eb);
        for (int r = 0; r < R; ++r) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) {
        float s = hsum8(acc[r][c]);
        for (int64_t t = i; t < len; ++t) s += float_at<F>(w[r], t) * float_at<F>(x[c], t);
        out[r * 4 + c] = s;
      }
  }
};

template <FormatId F>
constexpr MatmulKernel make(const char* name) {
  return {F, BackendId::Avx2, F, name, float_act_row_bytes<F>, float_quantize_avx2<F>, gemm_strided<FloatTileAvx2<F>>};
}

constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_4x2_avx2"),
    make<FormatId::F16>("gemm_f16_f16_4x2_avx2f16c"),
    make<FormatId::BF16>("gemm_bf16_bf16_4x2_avx2"),
};

}  // namespace

std::span<const MatmulKernel> float_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_avx2)

}  // namespace qb::kern
