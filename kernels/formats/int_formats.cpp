// Non-GGUF layouts of the ONNX Runtime / OpenVINO / QNN / MLX / AWQ / bitsandbytes world.
// Byte layouts are documented in kernels/formats/int_formats.md; summary:
//   INT8_PC   row header: fp32 scale; then k int8.       x ~ scale * q, q in [-127, 127]
//   INT8_PT   row header: fp32 scale, int32 zero point (the same in every row); then k uint8.
//             x ~ scale * (q - zp). One (scale, zp) for the whole tensor.
//   INT4_Gn   per group of n: fp16 scale, fp16 bias, n/2 bytes (element 2i low nibble, 2i+1 high).
//             x ~ scale * q + bias, q in [0, 15].
//   NF4       per group of 64: fp32 absmax, 32 bytes (element 2i HIGH nibble, 2i+1 low nibble,
//             bitsandbytes order). x ~ absmax * kNf4Values[q].
// Integer rounding is round-half-to-even (std::nearbyint), as ONNX QuantizeLinear and PyTorch do.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/formats.h"

namespace qb::codec {

namespace {

inline float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
inline void store_f32(uint8_t* p, float f) { std::memcpy(p, &f, sizeof f); }

// ---- INT8_PC ----------------------------------------------------------------------------------

void int8_pc_row(const float* x, uint8_t* y, int64_t k) {
  float amax = 0.0f;
  for (int64_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = amax / 127.0f;
  store_f32(y, scale);
  auto* q = reinterpret_cast<int8_t*>(y + 4);
  for (int64_t i = 0; i < k; ++i)
    q[i] = scale > 0 ? int8_t(std::clamp(std::nearbyint(x[i] / scale), -127.0f, 127.0f)) : int8_t(0);
}

// ---- INT4 groups (MLX affine layout) ----------------------------------------------------------

template <int G>
void int4_group(const float* x, uint8_t* y) {
  float mn = FLT_MAX, mx = -FLT_MAX;
  for (int i = 0; i < G; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  // Store fp16 scale and bias first, then quantize against the stored values so the rounding
  // of the parameters is absorbed by the level choice.
  const uint16_t sh = fp32_to_fp16((mx - mn) / 15.0f), bh = fp32_to_fp16(mn);
  std::memcpy(y, &sh, 2);
  std::memcpy(y + 2, &bh, 2);
  const float s = fp16_to_fp32(sh), b = fp16_to_fp32(bh);
  uint8_t* qs = y + 4;
  for (int i = 0; i < G; i += 2) {
    uint8_t q[2];
    for (int t = 0; t < 2; ++t)
      q[t] = s > 0 ? uint8_t(std::clamp(std::nearbyint((x[i + t] - b) / s), 0.0f, 15.0f)) : uint8_t(0);
    qs[i / 2] = uint8_t(q[0] | (q[1] << 4));
  }
}

template <int G>
void quantize_int4(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < nrows * (k / G); ++g) int4_group<G>(src + g * G, y + g * (4 + G / 2));
}

template <int G>
void dequantize_int4(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const uint8_t*>(src);
  for (int64_t g = 0; g < k / G; ++g, x += 4 + G / 2, y += G) {
    uint16_t sh, bh;
    std::memcpy(&sh, x, 2);
    std::memcpy(&bh, x + 2, 2);
    const float s = fp16_to_fp32(sh), b = fp16_to_fp32(bh);
    for (int i = 0; i < G / 2; ++i) {
      y[2 * i] = s * float(x[4 + i] & 0x0f) + b;
      y[2 * i + 1] = s * float(x[4 + i] >> 4) + b;
    }
  }
}

// ---- NF4 --------------------------------------------------------------------------------------

// Nearest NF4 code to v in [-1, 1]; exact midpoints go to the lower code (bitsandbytes compares
// with a strict '>').
inline uint8_t nf4_code(float v) {
  uint8_t q = 0;
  for (int i = 1; i < 16; ++i)
    if (v > 0.5f * (kNf4Values[i - 1] + kNf4Values[i])) q = uint8_t(i);
  return q;
}

}  // namespace

void quantize_int8_pc(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < nrows; ++r) int8_pc_row(src + r * k, y + r * (4 + k), k);
}

void dequantize_row_int8_pc(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const uint8_t*>(src);
  const float scale = load_f32(x);
  const auto* q = reinterpret_cast<const int8_t*>(x + 4);
  for (int64_t i = 0; i < k; ++i) y[i] = scale * float(q[i]);
}

void quantize_int8_pt(const float* src, void* dst, int64_t nrows, int64_t k) {
  // Range of the whole tensor, widened to contain 0 so that 0 is exact (ONNX Runtime's rule).
  float rmin = 0.0f, rmax = 0.0f;
  for (int64_t i = 0; i < nrows * k; ++i) {
    rmin = std::min(rmin, src[i]);
    rmax = std::max(rmax, src[i]);
  }
  const float scale = (rmax - rmin) / 255.0f;
  const int32_t zp = scale > 0 ? int32_t(std::clamp(std::nearbyint(-rmin / scale), 0.0f, 255.0f)) : 0;
  auto* y = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < nrows; ++r) {
    uint8_t* row = y + r * (8 + k);
    store_f32(row, scale);  // copied into every row header so each row decodes on its own
    std::memcpy(row + 4, &zp, 4);
    for (int64_t i = 0; i < k; ++i) {
      const float v = src[r * k + i];
      row[8 + i] = scale > 0 ? uint8_t(std::clamp(std::nearbyint(v / scale) + float(zp), 0.0f, 255.0f)) : uint8_t(zp);
    }
  }
}

void dequantize_row_int8_pt(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const uint8_t*>(src);
  const float scale = load_f32(x);
  int32_t zp;
  std::memcpy(&zp, x + 4, 4);
  for (int64_t i = 0; i < k; ++i) y[i] = scale * float(int32_t(x[8 + i]) - zp);
}

void quantize_int4_g32(const float* s, void* d, int64_t n, int64_t k) { quantize_int4<32>(s, d, n, k); }
void quantize_int4_g64(const float* s, void* d, int64_t n, int64_t k) { quantize_int4<64>(s, d, n, k); }
void quantize_int4_g128(const float* s, void* d, int64_t n, int64_t k) { quantize_int4<128>(s, d, n, k); }
void dequantize_row_int4_g32(const void* s, float* y, int64_t k) { dequantize_int4<32>(s, y, k); }
void dequantize_row_int4_g64(const void* s, float* y, int64_t k) { dequantize_int4<64>(s, y, k); }
void dequantize_row_int4_g128(const void* s, float* y, int64_t k) { dequantize_int4<128>(s, y, k); }

void quantize_nf4(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < nrows * (k / 64); ++g, y += 36) {
    const float* x = src + g * 64;
    float amax = 0.0f;
    for (int i = 0; i < 64; ++i) amax = std::max(amax, std::fabs(x[i]));
    store_f32(y, amax);
    const float inv = amax > 0 ? 1.0f / amax : 0.0f;
    for (int i = 0; i < 32; ++i) y[4 + i] = uint8_t((nf4_code(x[2 * i] * inv) << 4) | nf4_code(x[2 * i + 1] * inv));
  }
}

void dequantize_row_nf4(const void* src, float* y, int64_t k) {
  const auto* x = static_cast<const uint8_t*>(src);
  for (int64_t g = 0; g < k / 64; ++g, x += 36, y += 64) {
    const float amax = load_f32(x);
    for (int i = 0; i < 32; ++i) {
      y[2 * i] = kNf4Values[x[4 + i] >> 4] * amax;
      y[2 * i + 1] = kNf4Values[x[4 + i] & 0x0f] * amax;
    }
  }
}

}  // namespace qb::codec
