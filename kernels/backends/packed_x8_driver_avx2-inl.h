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

}  // namespace qb::kern
