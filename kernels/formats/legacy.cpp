// Legacy GGUF formats: blocks of 32 weights with one fp16 scale (and an fp16 min for the _1 kinds).
// Q8_0 / Q8_1 double as the activation formats of the legacy, IQ4_NL and MXFP4 kernels.
//
// Byte-exactness with ggml's quantize_row_*_ref: the scale is computed in fp32 and only then
// rounded to fp16, the weights are scaled with the fp32 inverse (not the stored fp16 scale), and
// each format keeps ggml's own rounding: truncation of x + 8.5 / 16.5 / 0.5 for Q4/Q5, roundf
// (half away from zero) for Q8. Element j and j + 16 share a byte: j in the low nibble.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/blocks.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

// Signed extreme of a block: the value of largest magnitude, first one on ties.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

inline void min_max(const float* x, int n, float& mn, float& mx) {
  mn = FLT_MAX;
  mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < mn) mn = x[j];
    if (x[j] > mx) mx = x[j];
  }
}

void q4_0_block(const float* x, block_q4_0& y) {
  const float max = signed_absmax(x, QK4_0);
  // Scale by the signed extreme over -8 so that extreme lands exactly on level -8 (0 after +8).
  const float d = max / -8;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  for (int j = 0; j < QK4_0 / 2; ++j) {
    const uint8_t lo = std::min<int>(15, int8_t(x[j] * id + 8.5f));
    const uint8_t hi = std::min<int>(15, int8_t(x[j + QK4_0 / 2] * id + 8.5f));
    y.qs[j] = uint8_t(lo | (hi << 4));
  }
}

void q4_1_block(const float* x, block_q4_1& y) {
  float mn, mx;
  min_max(x, QK4_1, mn, mx);
  const float d = (mx - mn) / 15;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  y.m = fp32_to_fp16(mn);
  for (int j = 0; j < QK4_1 / 2; ++j) {
    const uint8_t lo = std::min<int>(15, int8_t((x[j] - mn) * id + 0.5f));
    const uint8_t hi = std::min<int>(15, int8_t((x[j + QK4_1 / 2] - mn) * id + 0.5f));
    y.qs[j] = uint8_t(lo | (hi << 4));
  }
}

void q5_0_block(const float* x, block_q5_0& y) {
  const float max = signed_absmax(x, QK5_0);
  const float d = max / -16;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  uint32_t qh = 0;
  for (int j = 0; j < QK5_0 / 2; ++j) {
    const uint8_t lo = std::min<int>(31, int8_t(x[j] * id + 16.5f));
    const uint8_t hi = std::min<int>(31, int8_t(x[j + QK5_0 / 2] * id + 16.5f));
    y.qs[j] = uint8_t((lo & 0x0f) | ((hi & 0x0f) << 4));
    // Fifth bits: element j at bit j, element j + 16 at bit j + 16.
    qh |= uint32_t((lo >> 4) & 1) << j;
    qh |= uint32_t((hi >> 4) & 1) << (j + QK5_0 / 2);
  }
  std::memcpy(y.qh, &qh, sizeof qh);
}

void q5_1_block(const float* x, block_q5_1& y) {
  float mn, mx;
  min_max(x, QK5_1, mn, mx);
  const float d = (mx - mn) / 31;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  y.m = fp32_to_fp16(mn);
  uint32_t qh = 0;
  for (int j = 0; j < QK5_1 / 2; ++j) {
    // (x - min) * id is in [0, 31] up to rounding, so no clamp is needed (ggml has none either).
    const uint8_t lo = uint8_t((x[j] - mn) * id + 0.5f);
    const uint8_t hi = uint8_t((x[j + QK5_1 / 2] - mn) * id + 0.5f);
    y.qs[j] = uint8_t((lo & 0x0f) | ((hi & 0x0f) << 4));
    qh |= uint32_t((lo >> 4) & 1) << j;
    qh |= uint32_t((hi >> 4) & 1) << (j + QK5_1 / 2);
  }
  std::memcpy(y.qh, &qh, sizeof qh);
}

inline float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

void q8_0_block(const float* x, block_q8_0& y) {
  const float d = absmax(x, QK8_0) / 127;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  for (int j = 0; j < QK8_0; ++j) y.qs[j] = int8_t(std::round(x[j] * id));
}

void q8_1_block(const float* x, block_q8_1& y) {
  const float d = absmax(x, QK8_1) / 127;
  const float id = d ? 1.0f / d : 0.0f;
  y.d = fp32_to_fp16(d);
  int sum = 0;
  for (int j = 0; j < QK8_1; ++j) {
    y.qs[j] = int8_t(std::round(x[j] * id));
    sum += y.qs[j];
  }
  // s = d * sum(q) with the fp32 d (not the fp16 one), as ggml: the Q4_1/Q5_1 dot uses it for the
  // min term.
  y.s = fp32_to_fp16(float(sum) * d);
}

// Activations (what a matmul quantizes at run time) follow ggml's SIMD quantizers, not its scalar
// reference: id = 127/amax and round half to even (x86 vroundps nearest, NEON vcvtnq). The
// weight codecs above keep the reference's 1/d and roundf, so files stay byte-identical. Ties are
// common (a row of small integers, the BOS embedding), and llama.cpp on x86 rounds them to even.
template <typename Block>
int act_block(const float* x, Block& y) {
  const float amax = absmax(x, 32);
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  y.d = fp32_to_fp16(amax / 127.0f);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    y.qs[j] = int8_t(std::nearbyint(x[j] * id));  // default FP environment: nearest, ties to even
    sum += y.qs[j];
  }
  return sum;
}

void q8_0_act_block(const float* x, block_q8_0& y) { act_block(x, y); }

void q8_1_act_block(const float* x, block_q8_1& y) {
  const int sum = act_block(x, y);
  y.s = fp32_to_fp16(float(sum) * (absmax(x, 32) / 127.0f));
}

template <typename Block, int QK, void (*Fn)(const float*, Block&)>
void quantize_blocks(const float* src, void* dst, int64_t nrows, int64_t k) {
  // No row header: a tensor is just its blocks in row order.
  const int64_t nb = nrows * (k / QK);
  auto* y = static_cast<Block*>(dst);
  for (int64_t i = 0; i < nb; ++i) Fn(src + i * QK, y[i]);
}

}  // namespace

void quantize_q4_0(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q4_0, QK4_0, q4_0_block>(s, d, n, k);
}
void quantize_q4_1(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q4_1, QK4_1, q4_1_block>(s, d, n, k);
}
void quantize_q5_0(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q5_0, QK5_0, q5_0_block>(s, d, n, k);
}
void quantize_q5_1(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q5_1, QK5_1, q5_1_block>(s, d, n, k);
}
void quantize_q8_0(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q8_0, QK8_0, q8_0_block>(s, d, n, k);
}
void quantize_q8_1(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q8_1, QK8_1, q8_1_block>(s, d, n, k);
}
void quantize_q8_0_act(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q8_0, QK8_0, q8_0_act_block>(s, d, n, k);
}
void quantize_q8_1_act(const float* s, void* d, int64_t n, int64_t k) {
  quantize_blocks<block_q8_1, QK8_1, q8_1_act_block>(s, d, n, k);
}

void dequantize_row_q4_0(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q4_0*>(src);
  for (int64_t i = 0; i < k / QK4_0; ++i, y += QK4_0) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      y[j] = float((x[i].qs[j] & 0x0f) - 8) * d;
      y[j + QK4_0 / 2] = float((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q4_1*>(src);
  for (int64_t i = 0; i < k / QK4_1; ++i, y += QK4_1) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      y[j] = float(x[i].qs[j] & 0x0f) * d + m;
      y[j + QK4_1 / 2] = float(x[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q5_0*>(src);
  for (int64_t i = 0; i < k / QK5_0; ++i, y += QK5_0) {
    const float d = fp16_to_fp32(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof qh);
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int lo = (x[i].qs[j] & 0x0f) | int(((qh >> j) & 1) << 4);
      const int hi = (x[i].qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
      y[j] = float(lo - 16) * d;
      y[j + QK5_0 / 2] = float(hi - 16) * d;
    }
  }
}

void dequantize_row_q5_1(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q5_1*>(src);
  for (int64_t i = 0; i < k / QK5_1; ++i, y += QK5_1) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof qh);
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const int lo = (x[i].qs[j] & 0x0f) | int(((qh >> j) & 1) << 4);
      const int hi = (x[i].qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
      y[j] = float(lo) * d + m;
      y[j + QK5_1 / 2] = float(hi) * d + m;
    }
  }
}

void dequantize_row_q8_0(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const block_q8_0*>(src);
  for (int64_t i = 0; i < k / QK8_0; ++i, y += QK8_0) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_0; ++j) y[j] = float(x[i].qs[j]) * d;
  }
}

void dequantize_row_q8_1(const void* src, float* y, int64_t k) {
  // ggml has no Q8_1 dequantizer (it is an activation-only type); s is redundant with d and qs.
  const auto* x = static_cast<const block_q8_1*>(src);
  for (int64_t i = 0; i < k / QK8_1; ++i, y += QK8_1) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < QK8_1; ++j) y[j] = float(x[i].qs[j]) * d;
  }
}

}  // namespace qb::codec
