// Float formats (F32, F16, BF16), AVX-512 kernels. BF16 x BF16 uses AVX512_BF16 vdpbf16ps
// (32 products per instruction, exact products, fp32 sums); F16 converts both sides to fp32
// (vcvtph2ps) and uses FMA; F32 is FMA. Tiles of 4 rows x 4 columns with fp32 accumulators;
// for GEMM k is blocked to 4 KiB of weights per row, so a tile's 4 rows and 4 columns stay in
// L1 while the column loop reuses the rows. Tails of k use masked loads (any k).
// BF16 GEMM also has AMX rows of their own (gemm_bf16_amx, gemm_bf16_bf16_32x32_amx).
//
// Included by three files compiled with different flags, so that dispatch can gate each kernel
// on exactly what it uses: float_avx512.cpp (F32, F16: no AVX512_BF16 needed),
// float_avx512bf16.cpp (BF16, built with -mavx512bf16: __AVX512BF16__ selects its parts here) and
// float_amxbf16.cpp (BF16 GEMM on AMX-BF16: QB_AMX_BF16 selects its parts).
#pragma once
#include "qb/x86_intrin.h"

#include <algorithm>

#include "float_common.h"
#include "kernel_tables.h"
#include "tile_driver-inl.h"
#include "tu_vector.h"

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

#if defined(__AVX512BF16__)
template <>
struct Ops<FormatId::BF16> {
  static constexpr int kStep = 32;
  using V = __m512bh;
  static V load(const uint8_t* p, __mmask32 m) { return V(_mm512_maskz_loadu_epi16(m, p)); }
  static V load(const uint8_t* p) { return V(_mm512_loadu_si512(p)); }
  static __m512 madd(__m512 acc, V a, V b) { return _mm512_dpbf16_ps(acc, a, b); }
};
#endif

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

// gemm_<f>_<f>_4x4_avx512*: out[r*4+c] = dot of len elements of weight row r and column c.
template <FormatId F>
struct FloatTileAvx512 : FloatGeometry<F> {
  static constexpr int kMR = 4, kNR = 4;

  template <int R, int C>
  static void tile(const uint8_t* const* w, const uint8_t* const* x, int64_t len, float* out) {
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
};

#if defined(QB_AMX_BF16)
// ---- AMX path for BF16 GEMM (tdpbf16ps: 16x16 fp32 tile += 16x32 bf16 by 32x16) ----
// Dispatch loads its row where the CPU has AMX-BF16 and Linux granted the tile state (asked
// once, in cpu_features()), unless QB_NO_AMX=1. Tasks under 16 rows or 16 columns, and GEMV,
// run the vdpbf16ps tiles.
// A tiles are 16 weight rows x 32 k, loaded straight from W; B tiles are 16 activation columns
// packed as (k pair) x column dwords, once per call; C accumulates in memory per k-block.
// Rows, columns and k beyond whole tiles (16, 16, 32) go through the vdpbf16ps tiles above.
struct AmxScratch {
  TuVector<uint8_t> b;  // packed activations: [col group][k chunk] 16 x 64 bytes
  TuVector<float> c;    // accumulators: [row block][col group] 16 x 16 floats
};
thread_local AmxScratch tls_amx;

__attribute__((target("amx-tile,amx-bf16"))) void amx_config() {
  alignas(64) uint8_t cfg[64] = {};
  cfg[0] = 1;  // palette 1
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;  // bytes per row
    cfg[48 + t] = 16;      // rows
  }
  asm volatile("" ::: "memory");
  _tile_loadconfig(cfg);
}

// VZEROUPPER after TILERELEASE: see amx_i8_release in legacy_avx512.h (legacy-SSE code after a
// bare TILERELEASE stalled ~25x on this Sapphire Rapids VM).
__attribute__((target("amx-tile,avx"))) void amx_release() {
  _tile_release();
  _mm256_zeroupper();
}

// C blocks (RT x CT tiles of 16x16) += A rows x B columns over k chunks [kc0, kc1).
// Tiles: 0-3 C, 4-5 A, 6-7 B.
template <int RT, int CT>
__attribute__((target("amx-tile,amx-bf16"))) void amx_block(const uint8_t* a, size_t lda, const uint8_t* b,
                                                            size_t b_group, int64_t kc0, int64_t kc1, float* c,
                                                            size_t c_row_block, bool zero) {
  float* c00 = c;
  float* c01 = c + 256;
  float* c10 = c + c_row_block;
  float* c11 = c + c_row_block + 256;
  if (zero) {
    _tile_zero(0);
    if constexpr (CT == 2) _tile_zero(1);
    if constexpr (RT == 2) _tile_zero(2);
    if constexpr (RT == 2 && CT == 2) _tile_zero(3);
  } else {
    _tile_loadd(0, c00, 64);
    if constexpr (CT == 2) _tile_loadd(1, c01, 64);
    if constexpr (RT == 2) _tile_loadd(2, c10, 64);
    if constexpr (RT == 2 && CT == 2) _tile_loadd(3, c11, 64);
  }
  for (int64_t kc = kc0; kc < kc1; ++kc) {
    _tile_loadd(4, a + kc * 64, lda);
    if constexpr (RT == 2) _tile_loadd(5, a + 16 * lda + kc * 64, lda);
    _tile_loadd(6, b + kc * 1024, 64);
    if constexpr (CT == 2) _tile_loadd(7, b + b_group + kc * 1024, 64);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (CT == 2) _tile_dpbf16ps(1, 4, 7);
    if constexpr (RT == 2) _tile_dpbf16ps(2, 5, 6);
    if constexpr (RT == 2 && CT == 2) _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, c00, 64);
  if constexpr (CT == 2) _tile_stored(1, c01, 64);
  if constexpr (RT == 2) _tile_stored(2, c10, 64);
  if constexpr (RT == 2 && CT == 2) _tile_stored(3, c11, 64);
}

using AmxBlockFn = void (*)(const uint8_t*, size_t, const uint8_t*, size_t, int64_t, int64_t, float*, size_t, bool);

void gemm_bf16_amx(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                   int64_t n, float* Y, int64_t ldy) {
  const int64_t R16 = (r1 - r0) / 16 * 16, N16 = n / 16 * 16, K32 = k / 32 * 32;
  if (n == 1 || R16 == 0 || N16 == 0 || K32 == 0)
    return gemm_strided<FloatTileAvx512<FormatId::BF16>>(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  const int64_t nchunks = K32 / 32, ncg = N16 / 16, nrb = R16 / 16;
  AmxScratch& s = tls_amx;
  const size_t b_group = size_t(nchunks) * 1024;
  if (s.b.size() < size_t(ncg) * b_group) s.b.resize(size_t(ncg) * b_group);
  if (s.c.size() < size_t(nrb * ncg * 256)) s.c.resize(size_t(nrb * ncg * 256));
  // Pack: tile row i of chunk kc holds, for each of the 16 columns, the bf16 pair (2i, 2i+1).
  for (int64_t g = 0; g < ncg; ++g)
    for (int64_t j = 0; j < 16; ++j) {
      const uint8_t* col = xq + (g * 16 + j) * xq_stride;
      uint8_t* dst = s.b.data() + size_t(g) * b_group + size_t(j) * 4;
      for (int64_t kc = 0; kc < nchunks; ++kc)
        for (int i = 0; i < 16; ++i) std::memcpy(dst + kc * 1024 + i * 64, col + kc * 64 + i * 4, 4);
    }
  static constexpr AmxBlockFn kBlocks[2][2] = {{&amx_block<1, 1>, &amx_block<1, 2>},
                                               {&amx_block<2, 1>, &amx_block<2, 2>}};
  const int64_t kcb = 64;  // k chunks per k-block: 32 rows x 4 KiB of weights stay in L1/L2
  const size_t c_row_block = size_t(ncg) * 256;
  amx_config();
  for (int64_t kc0 = 0; kc0 < nchunks; kc0 += kcb) {
    const int64_t kc1 = std::min(nchunks, kc0 + kcb);
    for (int64_t rb = 0; rb < nrb; rb += 2) {
      const int RT = int(std::min<int64_t>(2, nrb - rb));
      const uint8_t* a = w + (r0 + rb * 16) * int64_t(w_stride);
      for (int64_t g = 0; g < ncg; g += 2) {
        const int CT = int(std::min<int64_t>(2, ncg - g));
        kBlocks[RT - 1][CT - 1](a, w_stride, s.b.data() + size_t(g) * b_group, b_group, kc0, kc1,
                                s.c.data() + size_t(rb) * c_row_block + size_t(g) * 256, c_row_block, kc0 == 0);
      }
    }
  }
  amx_release();
  // Y = C (+ the k tail past the last whole chunk, by the vdpbf16ps tiles).
  float tail[16];
  const uint8_t *rows[4], *cols[4];
  for (int64_t rt = 0; rt < R16; rt += 4)
    for (int64_t ct = 0; ct < N16; ct += 4) {
      std::fill(tail, tail + 16, 0.0f);
      if (K32 < k) {
        for (int r = 0; r < 4; ++r) rows[r] = w + (r0 + rt + r) * int64_t(w_stride) + K32 * 2;
        for (int c = 0; c < 4; ++c) cols[c] = xq + (ct + c) * xq_stride + K32 * 2;
        FloatTileAvx512<FormatId::BF16>::tile<4, 4>(rows, cols, k - K32, tail);
      }
      for (int c = 0; c < 4; ++c)
        for (int r = 0; r < 4; ++r) {
          const int64_t rr = rt + r, cc = ct + c;
          const float v = s.c[size_t((rr / 16) * int64_t(c_row_block) + (cc / 16) * 256 + (rr % 16) * 16 + cc % 16)];
          Y[cc * ldy + r0 + rr] = v + tail[r * 4 + c];
        }
    }
  // Rows and columns outside whole tiles.
  if (R16 < r1 - r0)
    gemm_strided<FloatTileAvx512<FormatId::BF16>>(k, W, w_stride, r0 + R16, r1, Xq, xq_stride, n, Y, ldy);
  if (N16 < n)
    gemm_strided<FloatTileAvx512<FormatId::BF16>>(k, W, w_stride, r0, r0 + R16, xq + N16 * xq_stride, xq_stride,
                                                  n - N16, Y + N16 * ldy, ldy);
}

#endif  // QB_AMX_BF16

template <FormatId F>
void gemm_float_avx512(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq,
                       size_t xq_stride, int64_t n, float* Y, int64_t ldy) {
#if defined(QB_AMX_BF16)
  if constexpr (F == FormatId::BF16)
    gemm_bf16_amx(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
  else
#endif
    gemm_strided<FloatTileAvx512<F>>(k, W, w_stride, r0, r1, Xq, xq_stride, n, Y, ldy);
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
  return {F, BackendId::Avx512, F, name, float_act_row_bytes<F>, quantize_act<F>, gemm_float_avx512<F>};
}

#if defined(QB_AMX_BF16)
constexpr MatmulKernel kKernels[] = {
    make<FormatId::BF16>("gemm_bf16_bf16_32x32_amx"),
};
#elif defined(__AVX512BF16__)
constexpr MatmulKernel kKernels[] = {
    make<FormatId::BF16>("gemm_bf16_bf16_4x4_avx512bf16"),
};
#else
constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_4x4_avx512"),
    make<FormatId::F16>("gemm_f16_f16_4x4_avx512f16c"),
};
#endif

}  // namespace

}  // namespace qb::kern
