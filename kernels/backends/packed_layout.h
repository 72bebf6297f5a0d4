// The 8-row interleaved layout of the packed 32-weight-block kernels (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, IQ4_NL), shared by every ISA's packed kernels and by the tests: ggml's block_q4_0x8 idea,
// written from its description, extended to every field of these blocks. The super-block
// layout (pack_sb_x8) is at the end.
//
// Such a block is N2 2-byte fp16 fields (d; or d, m), then 4-byte fields: an optional 32-bit
// 5th-bit mask qh, and Q code bytes (Q4_*, Q5_*, IQ4_NL: Q = 16, Q8_0: Q = 32). Rows [8g, 8g+8)
// become one group of 8 * row_bytes bytes; block b of the group, at b * 8 * block_bytes, holds
// each field of the 8 rows side by side: a field at byte o of the block, w bytes wide, lands at
// 8 * o + w * row. So the group block starts with the 8 rows' d (one vcvtph2ps loads all eight),
// then their m, then their qh words (one 32-byte load), then per 4 code bytes one 32-byte stripe
// holding those bytes of rows 0..7: a 32-byte load puts 4 code bytes of row r in 32-bit lane r,
// integer dot products finish in one lane per row (no horizontal sum), and one fp32 FMA per block
// updates all 8 rows.
// The one change of content: qh's bits are reordered for the stripes (qh_by_stripe below).
// Rows past m are zero (scale 0, codes 0), so the kernels may read whole groups.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qb::kern {
namespace {

constexpr int kPackRows = 8;

// Stripe t's code bytes 4t..4t+3 hold codes 4t+i (low nibble of byte i) and 16+4t+i (high
// nibble); their 5th bits are qh bits 4t+i and 16+4t+i. The packed word puts both in byte i, at
// bit t and bit 4+t, so one shift by the same count in every byte and an AND with 0x10 bring a
// stripe's 5th bits to bit 4 of the byte that holds the code: (qh << (4-t)) & 0x10 for the low
// nibbles, (qh >> t) & 0x10 for the high ones.
inline uint32_t qh_by_stripe(uint32_t qh) {
  uint32_t out = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 4; ++i) {
      out |= ((qh >> (4 * t + i)) & 1u) << (8 * i + t);
      out |= ((qh >> (16 + 4 * t + i)) & 1u) << (8 * i + 4 + t);
    }
  return out;
}

// pack(): blocks of N2 2-byte fields, then (QH) a 5th-bit word, then Q code bytes. Writes the
// output in order (group, block, row), so the stores stream; the 8 source rows are each read in
// order.
template <int N2, bool QH, int Q>
void pack_legacy_x8(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) {
  constexpr int q0 = 2 * N2 + (QH ? 4 : 0), bb = q0 + Q;  // code offset, block bytes
  const int64_t nb = k / 32;
  const auto* w = static_cast<const uint8_t*>(W);
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t g0 = 0; g0 < m; g0 += kPackRows) {
    const int rows = int(std::min<int64_t>(kPackRows, m - g0));
    for (int64_t b = 0; b < nb; ++b, dst += kPackRows * bb) {
      if (rows < kPackRows) std::memset(dst, 0, kPackRows * bb);  // rows past m
      for (int lane = 0; lane < rows; ++lane) {
        const uint8_t* src = w + (g0 + lane) * int64_t(w_stride) + b * bb;
        for (int f = 0; f < N2; ++f) std::memcpy(dst + 16 * f + 2 * lane, src + 2 * f, 2);
        if constexpr (QH) {
          uint32_t qh;
          std::memcpy(&qh, src + 2 * N2, 4);
          qh = qh_by_stripe(qh);
          std::memcpy(dst + 16 * N2 + 4 * lane, &qh, 4);
        }
        for (int t = 0; t < Q / 4; ++t) std::memcpy(dst + 8 * q0 + 32 * t + 4 * lane, src + q0 + 4 * t, 4);
      }
    }
  }
}

// The 8-row super-block layout of the packed super-block kernels (kquant_packed_avx2: Q4_K, Q5_K;
// iquant_packed_avx2: IQ4_XS; kquant_packed_q2_avx2: Q2_K; kquant_packed_q6q3_avx2: Q6_K). A
// super-block of BB bytes has NF 2-byte fields at bytes [H, H + 2 NF) (H = 0: d and dmin or
// scales_h up front; H = BB - 2 NF: Q2_K's d and dmin, Q6_K's d at the back). Super-block s of a
// group holds the 8 rows' super-block s in 8 * BB bytes at s * 8 * BB:
//   [16f, 16f + 16)       field f of rows 0..7 (fp16 d: one vcvtph2ps loads all eight)
//   [16 NF + 32t, ..)     bytes 4t .. 4t + 3 of the row's other BB - 2 NF bytes (row r at + 4r)
// Bytes move whole. Rows past m are zero.
template <int64_t BB, int64_t H, int NF = 2>
void pack_sb_x8(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) {
  constexpr int64_t head = 2 * NF;
  static_assert((H == 0 || H == BB - head) && (BB - head) % 4 == 0);
  constexpr int64_t group_sb = kPackRows * BB, rest = H == 0 ? head : 0;
  const int64_t nsb = k / 256, groups = (m + kPackRows - 1) / kPackRows;
  const auto* w = static_cast<const uint8_t*>(W);
  auto* o = static_cast<uint8_t*>(out);
  std::memset(o, 0, size_t(groups * kPackRows) * w_stride);
  for (int64_t r = 0; r < m; ++r) {
    uint8_t* grp = o + (r / kPackRows) * kPackRows * int64_t(w_stride);
    const int lane = int(r % kPackRows);
    for (int64_t s = 0; s < nsb; ++s) {
      const uint8_t* src = w + r * int64_t(w_stride) + s * BB;
      uint8_t* dst = grp + s * group_sb;
      for (int f = 0; f < NF; ++f) std::memcpy(dst + 16 * f + 2 * lane, src + H + 2 * f, 2);
      for (int t = 0; t < (BB - head) / 4; ++t) std::memcpy(dst + 16 * NF + 32 * t + 4 * lane, src + rest + 4 * t, 4);
    }
  }
}

}  // namespace
}  // namespace qb::kern
