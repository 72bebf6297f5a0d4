// Float formats (F32, F16, BF16), AVX-512 kernels. BF16 x BF16 uses AVX512_BF16 vdpbf16ps
// (32 products per instruction, exact products, fp32 sums); F16 converts both sides to fp32
// (vcvtph2ps) and uses FMA; F32 is FMA. Tiles of 4 rows x 4 columns with fp32 accumulators;
// for GEMM k is blocked to 4 KiB of weights per row, so a tile's 4 rows and 4 columns stay in
// L1 while the column loop reuses the rows. Tails of k use masked loads (any k).
#include <immintrin.h>

#include <algorithm>

#include "float_common.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

// Four horizontal sums at once: [sum a, sum b, sum c, sum d].
inline __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  auto half = [](__m512 v) { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)); };
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

template <FormatId F>
struct Ops;

template <>
struct Ops<FormatId::BF16> {
  static constexpr int kStep = 32;
  using V = __m512bh;
  static V load(const uint8_t* p, __mmask32 m) { return V(_mm512_maskz_loadu_epi16(m, p)); }
  static V load(const uint8_t* p) { return V(_mm512_loadu_si512(p)); }
  static __m512 madd(__m512 acc, V a, V b) { return _mm512_dpbf16_ps(acc, a, b); }
};

template <>
struct Ops<FormatId::F16> {
  static constexpr int kStep = 16;
  using V = __m512;
  static V load(const uint8_t* p, __mmask32 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(__mmask16(m), p)); }
  static V load(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 madd(__m512 acc, V a, V b) { return _mm512_fmadd_ps(a, b, acc); }
};

template <>
struct Ops<FormatId::F32> {
  static constexpr int kStep = 16;
  using V = __m512;
  static V load(const uint8_t* p, __mmask32 m) { return _mm512_maskz_loadu_ps(__mmask16(m), p); }
  static V load(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static __m512 madd(__m512 acc, V a, V b) { return _mm512_fmadd_ps(a, b, acc); }
};

// out[r*4+c] = dot of len elements of weight row r and activation column c.
template <FormatId F, int R, int C>
void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t len, float* out) {
  using O = Ops<F>;
  constexpr int64_t eb = int64_t(float_elem_bytes<F>());
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + O::kStep <= len; i += O::kStep) {
    typename O::V wv[R];
    for (int r = 0; r < R; ++r) wv[r] = O::load(w[r] + i * eb);
    for (int c = 0; c < C; ++c) {
      const typename O::V xv = O::load(x[c] + i * eb);
      for (int r = 0; r < R; ++r) acc[r][c] = O::madd(acc[r][c], wv[r], xv);
    }
  }
  if (i < len) {
    const __mmask32 m = __mmask32((uint64_t(1) << (len - i)) - 1);
    typename O::V wv[R];
    for (int r = 0; r < R; ++r) wv[r] = O::load(w[r] + i * eb, m);
    for (int c = 0; c < C; ++c) {
      const typename O::V xv = O::load(x[c] + i * eb, m);
      for (int r = 0; r < R; ++r) acc[r][c] = O::madd(acc[r][c], wv[r], xv);
    }
  }
  for (int r = 0; r < R; ++r) {
    if constexpr (C == 4)
      _mm_storeu_ps(out + r * 4, hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
    else
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum(acc[r][c]);
  }
}

using TileFn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, float*);

template <FormatId F, int R>
TileFn pick_c(int c) {
  switch (c) {
    case 1: return &tile<F, R, 1>;
    case 2: return &tile<F, R, 2>;
    case 3: return &tile<F, R, 3>;
    default: return &tile<F, R, 4>;
  }
}
template <FormatId F>
TileFn pick(int r, int c) {
  switch (r) {
    case 1: return pick_c<F, 1>(c);
    case 2: return pick_c<F, 2>(c);
    case 3: return pick_c<F, 3>(c);
    default: return pick_c<F, 4>(c);
  }
}

template <FormatId F>
void compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
             size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
  constexpr int64_t eb = int64_t(float_elem_bytes<F>());
  const int64_t kc = n == 1 ? k : 4096 / eb;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  float out[16];
  const uint8_t *rows[4], *cols[4];
  for (int64_t k0 = 0; k0 < k; k0 += kc) {
    const int64_t len = std::min(kc, k - k0);
    for (int64_t rt = r0; rt < r1; rt += 4) {
      const int R = int(std::min<int64_t>(4, r1 - rt));
      for (int r = 0; r < R; ++r) rows[r] = w + (rt + r) * w_stride + k0 * eb;
      for (int64_t ct = 0; ct < n; ct += 4) {
        const int C = int(std::min<int64_t>(4, n - ct));
        for (int c = 0; c < C; ++c) cols[c] = xq + (ct + c) * xq_stride + k0 * eb;
        pick<F>(R, C)(rows, cols, len, out);
        for (int c = 0; c < C; ++c) {
          float* y = Y + (ct + c) * ldy + rt;
          for (int r = 0; r < R; ++r) y[r] = k0 == 0 ? out[r * 4 + c] : y[r] + out[r * 4 + c];
        }
      }
    }
  }
}

// Activation conversion with the reference codecs' exact bits (RNE; NaN -> quiet NaN as they do;
// no flush of subnormals, so no vcvtneps2bf16, which flushes them).
template <FormatId F>
void quantize_act(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  if constexpr (F == FormatId::F32) {
    std::memcpy(y, x, size_t(k) * 4);
  } else {
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = k - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      const __m512i u = _mm512_castps_si512(v);
      const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      __m256i h;
      if constexpr (F == FormatId::F16) {
        h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256i qnan = _mm256_or_si256(
            _mm512_cvtepi32_epi16(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000))),
            _mm256_set1_epi16(0x7e00));
        h = _mm256_mask_blend_epi16(nan, h, qnan);
      } else {
        const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
        r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(64));
        h = _mm512_cvtepi32_epi16(r);
      }
      _mm256_mask_storeu_epi16(y + 2 * i, m, h);
    }
  }
}

template <FormatId F>
constexpr MatmulKernel make(const char* name) {
  return {F, BackendId::Avx512, F, name, float_act_row_bytes<F>, quantize_act<F>, compute<F>};
}

constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_4x4_avx512"),
    make<FormatId::F16>("gemm_f16_f16_4x4_avx512f16c"),
    make<FormatId::BF16>("gemm_bf16_bf16_4x4_avx512bf16"),
};

}  // namespace

std::span<const MatmulKernel> float_avx512() { return kKernels; }

}  // namespace qb::kern
