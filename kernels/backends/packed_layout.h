// The 8-row interleaved layout of the packed legacy kernels (Q4_0, Q8_0), shared by every ISA's
// packed kernels and by the tests: ggml's block_q4_0x8 idea, written from its description.
//
// A format block is a 2-byte fp16 scale d and Q code bytes (Q4_0: Q = 16, Q8_0: Q = 32). Rows
// [8g, 8g+8) become one group of 8 * row_bytes bytes; block b of the group holds, in 8 * (2 + Q)
// bytes at b * 8 * (2 + Q):
//   bytes [0, 16):          the 8 rows' scales in row order (one vcvtph2ps loads all eight);
//   bytes [16 + 32t, 48+32t): code bytes [4t, 4t+4) of rows 0..7 (4 bytes per row, t < Q/4),
// so a 32-byte load puts 4 code bytes of row r in 32-bit lane r: integer dot products finish in
// one lane per row (no horizontal sum), and one fp32 FMA per block updates all 8 rows.
// Rows past m are zero (scale 0, codes 0), so the kernels may read whole groups.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qb::kern {
namespace {

constexpr int kPackRows = 8;

// pack(): Q code bytes per block (16 or 32), blocks of 2 + Q bytes. Writes the output in order
// (group, block, row), so the stores stream; the 8 source rows are each read in order.
template <int Q>
void pack_legacy_x8(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) {
  constexpr int bb = 2 + Q;
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t g0 = 0; g0 < m; g0 += kPackRows) {
    const int rows = int(std::min<int64_t>(kPackRows, m - g0));
    for (int64_t b = 0; b < nb; ++b, dst += kPackRows * bb) {
      if (rows < kPackRows) std::memset(dst, 0, kPackRows * bb);  // rows past m
      for (int lane = 0; lane < rows; ++lane) {
        const uint8_t* src = w + (g0 + lane) * int64_t(w_stride) + b * bb;
        std::memcpy(dst + 2 * lane, src, 2);
        for (int t = 0; t < Q / 4; ++t) std::memcpy(dst + 16 + 32 * t + 4 * lane, src + 2 + 4 * t, 4);
      }
    }
  }
}

}  // namespace
}  // namespace qb::kern
