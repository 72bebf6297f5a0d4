// Float formats (F32, F16, BF16) on weights repacked at load time, AVX2 + FMA + F16C: an
// outer-product microkernel (BLIS-style). pack() stores each group of 16 rows k-major: for every
// k, the 16 rows' values are one contiguous 32-byte (F16/BF16) or 64-byte (F32) vector, so one
// k-step widens 16 weights once (two ymm) and multiplies them by NR = 6 activation broadcasts into
// 2 x 6 ymm accumulators: 12 FMAs per 2 widenings and no horizontal sums (the 4 x 2 inner-product
// tile of float_avx2.cpp widens 6 vectors per 8 FMAs). The activations (stored in the weight's
// format) are widened once per call and k-block into an F32 panel, k-major per 6-column tile.
#include "qb/x86_intrin.h"

#include <algorithm>

#include "compiled_isa.h"
#include "float_act_avx2-inl.h"
#include "float_common.h"
#include "kernel_tables.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

constexpr int kPackRows = 16;   // rows per packed group: two ymm of F32 lanes
constexpr int kGemvGroups = 4;  // groups a GEMV reads at once (gemv_groups)
constexpr int kNR = 6;          // activation columns per tile: 2 x 6 accumulators + 2 weights + 1 broadcast
// Panel floats per k-step of a C-column tile: one column is a plain vector; wider tiles pad to 8
// so that widening is an 8 x 8 transpose (columns C..7 are zero, never read).
constexpr int64_t panel_stride(int C) { return C == 1 ? 1 : 8; }

// Where row r (0..15) of a group sits among the 16 values of one k-step. BF16 interleaves the two
// halves (slot 2i = row i, slot 2i+1 = row 8 + i) so that one 32-byte load widens by a shift (even
// slots: rows 0..7) and a mask (odd slots: rows 8..15); F16 and F32 keep row order.
template <FormatId F>
constexpr int slot_of_row(int r) {
  return F == FormatId::BF16 ? (r < 8 ? 2 * r : 2 * (r - 8) + 1) : r;
}

// Group g (rows [16g, 16g + 16)) occupies 16 * w_stride bytes at 16 * g * w_stride; in it, row r's
// value for step kk is element kk * 16 + slot_of_row(r). Rows past m are zero.
template <FormatId F>
void pack(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) {
  constexpr size_t eb = float_elem_bytes<F>();
  const auto* w = static_cast<const uint8_t*>(W);
  auto* o = static_cast<uint8_t*>(out);
  const int64_t groups = (m + kPackRows - 1) / kPackRows;
  std::memset(o, 0, size_t(groups) * kPackRows * w_stride);
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* dst = o + size_t(g) * kPackRows * w_stride;
    for (int r = 0; r < kPackRows && g * kPackRows + r < m; ++r) {
      const uint8_t* src = w + size_t(g * kPackRows + r) * w_stride;
      uint8_t* d = dst + size_t(slot_of_row<F>(r)) * eb;
      for (int64_t kk = 0; kk < k; ++kk) std::memcpy(d + size_t(kk) * kPackRows * eb, src + size_t(kk) * eb, eb);
    }
  }
}

// The 16 weights of one k-step as F32: rows 0..7 in lo, rows 8..15 in hi.
template <FormatId F>
inline void widen16(const uint8_t* p, __m256& lo, __m256& hi) {
  if constexpr (F == FormatId::F32) {
    lo = _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    hi = _mm256_loadu_ps(reinterpret_cast<const float*>(p) + 8);
  } else if constexpr (F == FormatId::F16) {
    lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p) + 1));
  } else {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xffff0000u))));
  }
}

// 8 activation values as F32.
template <FormatId F>
inline __m256 widen8(const uint8_t* p) {
  if constexpr (F == FormatId::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (F == FormatId::F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

// Adds to acc one group of 16 rows x C columns over len k-steps (a multiple of U): acc[h][c]
// holds rows 8h..8h+7 of column c. w: the group's k-steps from the block start; x: the tile's
// panel, value (kk, c) at x[kk * panel_stride(C) + c]. Few columns cannot hide the FMA latency (4 cycles, 2
// pipes: 8 chains in flight), so C <= 3 runs U independent accumulator sets. The unroll pragmas
// make GCC unroll before scalarising the arrays; at -O2 it otherwise keeps them on the stack.
template <FormatId F, int C, int U>
inline void tile_steps(const uint8_t* w, const float* x, int64_t len, __m256 (&acc)[2][C]) {
  constexpr int64_t step = int64_t(kPackRows * float_elem_bytes<F>());
  // The first column tile streams the weights from DRAM: one stream per core needs a software
  // prefetch (F16 n=4, 4096 x 14336, 1 thread: 9-10 -> 15-17 GB/s); later tiles hit L1.
  constexpr int64_t kPrefetchBytes = 2048, kPrefetchLines = std::max<int64_t>(1, U * step / 64);
  __m256 a[U][2][C];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) a[u][0][c] = a[u][1][c] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < len; kk += U) {
#pragma GCC unroll 4
    for (int64_t i = 0; i < kPrefetchLines; ++i)
      _mm_prefetch(reinterpret_cast<const char*>(w + kk * step) + kPrefetchBytes + 64 * i, _MM_HINT_T0);
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      __m256 lo, hi;
      widen16<F>(w + (kk + u) * step, lo, hi);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const __m256 b = _mm256_broadcast_ss(x + (kk + u) * panel_stride(C) + c);
        a[u][0][c] = _mm256_fmadd_ps(lo, b, a[u][0][c]);
        a[u][1][c] = _mm256_fmadd_ps(hi, b, a[u][1][c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      acc[0][c] = _mm256_add_ps(acc[0][c], a[u][0][c]);
      acc[1][c] = _mm256_add_ps(acc[1][c], a[u][1][c]);
    }
}

template <FormatId F, int C>
inline void tile(const uint8_t* w, const float* x, int64_t len, __m256 (&acc)[2][C]) {
  constexpr int U = C == 1 ? 4 : C == 2 ? 3 : C == 3 ? 2 : 1;
  for (int c = 0; c < C; ++c) acc[0][c] = acc[1][c] = _mm256_setzero_ps();
  const int64_t main = len / U * U;
  tile_steps<F, C, U>(w, x, main, acc);
  if (main < len)
    tile_steps<F, C, 1>(w + main * int64_t(kPackRows * float_elem_bytes<F>()), x + main * panel_stride(C), len - main,
                        acc);
}

// Tile (group at row rg, columns [ct, ct + C)) into Y: rows [rg, rg + R), R <= 16; the first
// k-block stores, later ones add.
template <FormatId F, int C>
void tile_to_y(const uint8_t* w, const float* x, int64_t len, int64_t rg, int R, int64_t ct, bool first, float* Y,
               int64_t ldy) {
  __m256 acc[2][C];
  tile<F, C>(w, x, len, acc);
  for (int c = 0; c < C; ++c) {
    float* y = Y + (ct + c) * ldy + rg;
    if (R == kPackRows) {
      for (int h = 0; h < 2; ++h) {
        const __m256 v = first ? acc[h][c] : _mm256_add_ps(acc[h][c], _mm256_loadu_ps(y + 8 * h));
        _mm256_storeu_ps(y + 8 * h, v);
      }
    } else {
      alignas(32) float t[kPackRows];
      _mm256_store_ps(t, acc[0][c]);
      _mm256_store_ps(t + 8, acc[1][c]);
      for (int r = 0; r < R; ++r) y[r] = first ? t[r] : y[r] + t[r];
    }
  }
}

// GEMV over G full groups at once (rows [rg, rg + 16G), one column): G weight streams in flight,
// as the row-major kernels read G rows; one stream per core reaches ~70% of the DRAM bandwidth that
// four do (F16 4096 x 14336 from DRAM, 1 thread: 17.5 vs 24.5 GB/s; the row-major 4 x 2 tile: 24-25).
template <FormatId F, int G>
void gemv_groups(const uint8_t* w, int64_t group_bytes, const float* x, int64_t len, bool first, float* y) {
  constexpr int64_t step = int64_t(kPackRows * float_elem_bytes<F>());
  __m256 a[G][2];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) a[g][0] = a[g][1] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < len; ++kk) {
    const __m256 b = _mm256_broadcast_ss(x + kk);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      __m256 lo, hi;
      widen16<F>(w + g * group_bytes + kk * step, lo, hi);
      a[g][0] = _mm256_fmadd_ps(lo, b, a[g][0]);
      a[g][1] = _mm256_fmadd_ps(hi, b, a[g][1]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h) {
      float* yy = y + g * kPackRows + 8 * h;
      _mm256_storeu_ps(yy, first ? a[g][h] : _mm256_add_ps(a[g][h], _mm256_loadu_ps(yy)));
    }
}

template <FormatId F>
using TileFn = void (*)(const uint8_t*, const float*, int64_t, int64_t, int, int64_t, bool, float*, int64_t);
template <FormatId F>
constexpr TileFn<F> kTiles[kNR] = {tile_to_y<F, 1>, tile_to_y<F, 2>, tile_to_y<F, 3>,
                                   tile_to_y<F, 4>, tile_to_y<F, 5>, tile_to_y<F, 6>};

// 8 x 8 floats: in[c] (8 k-steps of column c) -> out[i] (k-step i, columns 0..7).
inline void transpose8(__m256 (&v)[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Columns [0, n) of steps [k0, k0 + len) widened into panel: tile t (columns [6t, 6t + C)) at
// panel + t * len * 8, value (kk, c) at kk * panel_stride(C) + c.
template <FormatId F>
void fill_panel(const uint8_t* xq, size_t xq_stride, int64_t n, int64_t k0, int64_t len, float* panel) {
  constexpr int64_t eb = int64_t(float_elem_bytes<F>());
  for (int64_t ct = 0; ct < n; ct += kNR) {
    const int C = int(std::min<int64_t>(kNR, n - ct));
    const int64_t S = panel_stride(C);
    float* p = panel + ct / kNR * len * 8;
    const uint8_t* x[kNR];
    for (int c = 0; c < C; ++c) x[c] = xq + (ct + c) * int64_t(xq_stride) + k0 * eb;
    int64_t kk = 0;
    for (; kk + 8 <= len; kk += 8) {
      if (C == 1) {
        _mm256_storeu_ps(p + kk, widen8<F>(x[0] + kk * eb));
        continue;
      }
      __m256 v[8];
      for (int c = 0; c < 8; ++c) v[c] = c < C ? widen8<F>(x[c] + kk * eb) : _mm256_setzero_ps();
      transpose8(v);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(p + (kk + i) * 8, v[i]);
    }
    for (; kk < len; ++kk)
      for (int c = 0; c < C; ++c) p[kk * S + c] = float_at<F>(x[c], kk);
  }
}

// The k-block: the panel of n columns (8 floats per k-step and 6-column tile) stays within
// ~128 KiB (L2) while the 16-row weight block (16 x kc values) is reused from L1 by every tile.
inline int64_t packed_kc(int64_t n, int64_t k) {
  const int64_t per_step = n == 1 ? 1 : (n + kNR - 1) / kNR * 8;
  return std::min<int64_t>(k, std::max<int64_t>(256, 32768 / per_step));
}

template <FormatId F>
void compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
             int64_t n, float* Y, int64_t ldy) {
  if (r1 <= r0 || n <= 0) return;
  constexpr int64_t eb = int64_t(float_elem_bytes<F>());
  const auto* w = static_cast<const uint8_t*>(W);
  const int64_t kc = packed_kc(n, k);
  thread_local TuVector<float> panel_buf;
  panel_buf.resize(size_t((n + kNR - 1) / kNR * 8 * kc));
  float* panel = panel_buf.data();
  for (int64_t k0 = 0; k0 < k; k0 += kc) {
    const int64_t len = std::min(kc, k - k0);
    fill_panel<F>(static_cast<const uint8_t*>(Xq), xq_stride, n, k0, len, panel);
    int64_t rg = r0;
    if (n == 1)
      for (; rg + kGemvGroups * kPackRows <= r1; rg += kGemvGroups * kPackRows)
        gemv_groups<F, kGemvGroups>(w + rg * int64_t(w_stride) + k0 * kPackRows * eb, kPackRows * int64_t(w_stride),
                                    panel, len, k0 == 0, Y + rg);
    for (; rg < r1; rg += kPackRows) {
      const int R = int(std::min<int64_t>(kPackRows, r1 - rg));
      const uint8_t* wg = w + rg * int64_t(w_stride) + k0 * kPackRows * eb;
      for (int64_t ct = 0; ct < n; ct += kNR) {
        const int C = int(std::min<int64_t>(kNR, n - ct));
        kTiles<F>[C - 1](wg, panel + ct / kNR * len * 8, len, rg, R, ct, k0 == 0, Y, ldy);
      }
    }
  }
}

template <FormatId F>
constexpr MatmulKernel make(const char* name) {
  return {F, BackendId::Avx2, F, name, float_act_row_bytes<F>, float_quantize_avx2<F>, compute<F>, kPackRows, pack<F>};
}

constexpr MatmulKernel kKernels[] = {
    make<FormatId::F32>("gemm_f32_f32_packed16x6_avx2"),
    make<FormatId::F16>("gemm_f16_f16_packed16x6_avx2f16c"),
    make<FormatId::BF16>("gemm_bf16_bf16_packed16x6_avx2"),
};

}  // namespace

std::span<const MatmulKernel> float_packed_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(float_packed_avx2)

}  // namespace qb::kern
