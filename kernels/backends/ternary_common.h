// Scalar oracle decoders for the ternary formats (weights -1/0/+1 times one fp16 scale per 256,
// Q8_K activations). See kquant_common.h for the super-block model.
#pragma once
#include "kquant_common.h"

namespace qb::kern {
inline namespace QB_KQ_ISA {

// Trit i of a base-3 fraction byte: multiply by 3^i mod 256, then the top "digit" (q*3)>>8.
inline int trit(uint8_t byte, int i) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = uint8_t(byte * kPow3[i]);
  return (int(q) * 3) >> 8;
}

// TQ1_0: qs[0..31] hold elements m + 32t (t = 0..4), qs[32..47] elements 160 + m + 16t,
// qh[0..3] elements 240 + m + 4t (t = 0..3). Stored value is trit + 1.
inline void decode_tq1_0(const uint8_t* b, SuperBlock& sb) {
  const uint8_t* qs = b + offsetof(block_tq1_0, qs);
  const uint8_t* qh = b + offsetof(block_tq1_0, qh);
  sb.d = load_half(b + offsetof(block_tq1_0, d));
  sb.dmin = 0.0f;
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = 1;
    sb.mn[g] = 0;
  }
  for (int t = 0; t < 5; ++t)
    for (int m = 0; m < 32; ++m) sb.q[32 * t + m] = int8_t(trit(qs[m], t) - 1);
  for (int t = 0; t < 5; ++t)
    for (int m = 0; m < 16; ++m) sb.q[160 + 16 * t + m] = int8_t(trit(qs[32 + m], t) - 1);
  for (int t = 0; t < 4; ++t)
    for (int m = 0; m < 4; ++m) sb.q[240 + 4 * t + m] = int8_t(trit(qh[m], t) - 1);
}

// TQ2_0: element 128c + 32n + m is bits 2n..2n+1 of qs[32c + m], stored value + 1.
inline void decode_tq2_0(const uint8_t* b, SuperBlock& sb) {
  const uint8_t* qs = b + offsetof(block_tq2_0, qs);
  sb.d = load_half(b + offsetof(block_tq2_0, d));
  sb.dmin = 0.0f;
  for (int g = 0; g < 16; ++g) {
    sb.sc[g] = 1;
    sb.mn[g] = 0;
  }
  for (int c = 0; c < 2; ++c)
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 32; ++m) sb.q[128 * c + 32 * n + m] = int8_t(((qs[32 * c + m] >> (2 * n)) & 3) - 1);
}

}  // namespace QB_KQ_ISA
}  // namespace qb::kern
