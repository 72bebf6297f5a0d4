// The loop shared by the 8-row packed kernels (legacy_packed_avx2, kquant_packed_avx2 and later
// formats): k in blocks of `kb` units (a unit is a format's block or super-block; the whole row
// when one column tile covers n, since then nothing is reused from L1), the 8-row groups of
// [r0, r1), and column tiles of up to kPackedTileC. A group's unit u starts at byte
// u * unit_group_bytes of the group (8 rows' units interleaved). Each k-block's partial sums are
// added into Y (the first one stores).
//
// tile(std::integral_constant<int, C>, wg, c0, u0, len, out) computes out[c] = the 8 rows'
// partial sums for columns c0 .. c0 + C - 1 over units [u0, u0 + len), reading the group's bytes
// from wg (already at unit u0); C is a compile-time constant so the tile keeps its accumulators in
// registers.
#pragma once

#include "qb/x86_intrin.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "packed_layout.h"  // kPackRows

namespace qb::kern {

constexpr int kPackedTileC = 4;  // columns per tile

template <class Tile>
inline void run_packed_x8(const void* W, size_t w_stride, int64_t r0, int64_t r1, int64_t n, float* Y, int64_t ldy,
                          int64_t units, int64_t unit_group_bytes, int64_t kb, Tile&& tile) {
  const auto* w = static_cast<const uint8_t*>(W);
  if (n <= kPackedTileC) kb = units;
  for (int64_t u0 = 0; u0 < units; u0 += kb) {
    const int64_t len = std::min(kb, units - u0);
    for (int64_t g0 = r0; g0 < r1; g0 += kPackRows) {
      const uint8_t* wg = w + g0 * int64_t(w_stride) + u0 * unit_group_bytes;
      const int rows = int(std::min<int64_t>(kPackRows, r1 - g0));
      for (int64_t c0 = 0; c0 < n; c0 += kPackedTileC) {
        const int nc = int(std::min<int64_t>(kPackedTileC, n - c0));
        __m256 out[kPackedTileC];
        switch (nc) {
          case 4:
            tile(std::integral_constant<int, 4>{}, wg, c0, u0, len, out);
            break;
          case 3:
            tile(std::integral_constant<int, 3>{}, wg, c0, u0, len, out);
            break;
          case 2:
            tile(std::integral_constant<int, 2>{}, wg, c0, u0, len, out);
            break;
          default:
            tile(std::integral_constant<int, 1>{}, wg, c0, u0, len, out);
            break;
        }
        for (int c = 0; c < nc; ++c) {
          alignas(32) float part[kPackRows];
          _mm256_store_ps(part, out[c]);
          float* y = Y + (c0 + c) * ldy + g0;
          for (int r = 0; r < rows; ++r) y[r] = u0 == 0 ? part[r] : y[r] + part[r];
        }
      }
    }
  }
}

// Loads the packed tiles share: a 32-byte stripe (8 rows' 4-byte lanes), 4 activation bytes
// broadcast to every lane, and the word pair (byte 4r + a, byte 4r + b) of each 32-bit lane r
// (per 128-bit half: lanes 0..3), zero-extended.
inline __m256i ld32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}
template <int a, int b>
inline __m256i lane_words(__m256i v) {
  return _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(a, -1, b, -1, 4 + a, -1, 4 + b, -1, 8 + a, -1, 8 + b, -1, 12 + a, -1, 12 + b, -1, a, -1, b,
                          -1, 4 + a, -1, 4 + b, -1, 8 + a, -1, 8 + b, -1, 12 + a, -1, 12 + b, -1));
}

// The super-block loop of a packed tile of C columns: every line of the group's super-block two
// ahead prefetched (GroupSb bytes: 8 rows' super-blocks), then body(wb, xs, acc) adds super-block
// wb's partial sums for the columns xs[c] (their activation block XSb bytes each, at the same
// super-block) into acc[c]; out[c] = the sums over the nsb super-blocks.
template <int C, int64_t GroupSb, int64_t XSb, class Body>
inline void sb_tile_loop(const uint8_t* wg, const uint8_t* const* x, int64_t nsb, __m256* out, Body&& body) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* wb = wg + s * GroupSb;
#pragma GCC unroll 32
    for (int64_t l = 0; l < (GroupSb + 63) / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(wb + 2 * GroupSb + 64 * l), _MM_HINT_T0);
    const uint8_t* xs[C];
    for (int c = 0; c < C; ++c) xs[c] = x[c] + s * XSb;
    body(wb, xs, acc);
  }
  for (int c = 0; c < C; ++c) out[c] = acc[c];
}

// MatmulKernel::compute of a packed kernel whose units are T::kUnitWeights weights, with one
// T::kXUnit-byte activation block per unit and column (super-blocks x Q8_K):
// T::tile<C>(wg, x, len, out) gets x[c] = column c0 + c of Xq from unit u0 on.
template <class T>
void gemm_packed_x8(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  const auto* xq = static_cast<const uint8_t*>(Xq);
  run_packed_x8(W, w_stride, r0, r1, n, Y, ldy, k / T::kUnitWeights, T::kUnitGroupBytes, T::kGemmKb,
                [&](auto C, const uint8_t* wg, int64_t c0, int64_t u0, int64_t len, __m256* out) {
                  const uint8_t* x[C];
                  for (int c = 0; c < C; ++c) x[c] = xq + (c0 + c) * int64_t(xq_stride) + u0 * T::kXUnit;
                  T::template tile<C>(wg, x, len, out);
                });
}

}  // namespace qb::kern
