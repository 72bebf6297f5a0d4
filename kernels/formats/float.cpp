// Float formats: F32 (copy), F16 (IEEE binary16), BF16 (bfloat16), and the conversions.
// Both narrowing conversions round to nearest, ties to even, bit-exact with ggml's scalar
// reference (and with numpy's astype(float16) / gguf-py's BF16 for finite values).
#include <cmath>
#include <cstring>

#include "codecs.h"
#include "qb/formats.h"

namespace qb {

namespace {
inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace

uint16_t fp32_to_fp16(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;   // NaN -> quiet NaN, payload dropped (as ggml)
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past 65504: infinity
  if (a >= 0x38800000u) {                       // result is a normal half (|f| >= 2^-14)
    const uint32_t odd = (a >> 13) & 1u;        // ties go to the even mantissa
    return uint16_t(sign | ((a + 0xfffu + odd - 0x38000000u) >> 13));
  }
  // Subnormal half (or zero): adding 0.5 makes the FPU round |f| to a multiple of 2^-24 (the ulp
  // of 0.5) with ties to even; the mantissa of the sum is then the half's subnormal mantissa.
  // A result of 0x400 (rounded up to 2^-14) is the correct smallest-normal encoding.
  const float r = float_of(a) + 0.5f;
  return uint16_t(sign | (bits_of(r) - 0x3f000000u));
}

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m * 2^-24 is exact in fp32
    const float v = float(m) * 0x1p-24f;
    return float_of(sign | bits_of(v));
  }
  if (e == 31) return float_of(sign | 0x7f800000u | (m << 13));  // inf / NaN (payload kept)
  return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t fp32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 64u);  // NaN: force quiet bit
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);                // ties to even
}

float bf16_to_fp32(uint16_t h) { return float_of(uint32_t(h) << 16); }

namespace codec {

void quantize_f32(const float* src, void* dst, int64_t nrows, int64_t k) {
  std::memcpy(dst, src, size_t(nrows * k) * sizeof(float));
}
void dequantize_row_f32(const void* src, float* dst, int64_t k) { std::memcpy(dst, src, size_t(k) * sizeof(float)); }

void quantize_f16(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < nrows * k; ++i) y[i] = fp32_to_fp16(src[i]);
}
void dequantize_row_f16(const void* src, float* dst, int64_t k) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < k; ++i) dst[i] = fp16_to_fp32(x[i]);
}

void quantize_bf16(const float* src, void* dst, int64_t nrows, int64_t k) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < nrows * k; ++i) y[i] = fp32_to_bf16(src[i]);
}
void dequantize_row_bf16(const void* src, float* dst, int64_t k) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < k; ++i) dst[i] = bf16_to_fp32(x[i]);
}

}  // namespace codec
}  // namespace qb
