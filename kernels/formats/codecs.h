// Reference codec functions, one file per family (float.cpp, legacy.cpp, kquants.cpp,
// iquants.cpp, ternary.cpp, mxfp4.cpp, int_formats.cpp). Referenced by format_table.cpp.
//
// quantize_<fmt>(src, dst, nrows, k): nrows rows of k floats -> nrows * row_bytes(k) bytes.
//   Callers that already validated the input (format_table.cpp's qb::quantize) or that quantize
//   activations they produced themselves (kernels: quantize_q8_0(x, xq, 1, k)) may call these
//   directly. k must be a multiple of the block size; values must be finite.
// dequantize_row_<fmt>(src, dst, k): one row of row_bytes(k) bytes -> k floats.
//
// Every GGUF codec reproduces ggml's scalar reference byte for byte (same float operation order,
// same rounding helpers); no file in kernels/formats/ is built with -mfma or -ffast-math, so the
// compiler cannot contract or reorder the float arithmetic that byte-exactness depends on.
#pragma once
#include <cstdint>
#include <cstring>

namespace qb::codec {

#define QB_CODEC(fmt)                                                         \
  void quantize_##fmt(const float* src, void* dst, int64_t nrows, int64_t k); \
  void dequantize_row_##fmt(const void* src, float* dst, int64_t k);

// float.cpp
QB_CODEC(f32)
QB_CODEC(f16)
QB_CODEC(bf16)
// legacy.cpp
QB_CODEC(q4_0)
QB_CODEC(q4_1)
QB_CODEC(q5_0)
QB_CODEC(q5_1)
QB_CODEC(q8_0)
QB_CODEC(q8_1)
// Activation rule of Q8_0/Q8_1 (ggml's SIMD quantizers: id = 127/amax, ties to even), used by
// every backend's quantize_act; qb::quantize_activations picks it.
void quantize_q8_0_act(const float* src, void* dst, int64_t nrows, int64_t k);
void quantize_q8_1_act(const float* src, void* dst, int64_t nrows, int64_t k);
// kquants.cpp
QB_CODEC(q2_K)
QB_CODEC(q3_K)
QB_CODEC(q4_K)
QB_CODEC(q5_K)
QB_CODEC(q6_K)
QB_CODEC(q8_K)
// iquants.cpp
QB_CODEC(iq4_nl)
QB_CODEC(iq4_xs)
// ternary.cpp
QB_CODEC(tq1_0)
QB_CODEC(tq2_0)
// mxfp4.cpp
QB_CODEC(mxfp4)
// int_formats.cpp (layouts: kernels/formats/int_formats.md)
QB_CODEC(int8_pc)
QB_CODEC(int8_pt)
QB_CODEC(int4_g32)
QB_CODEC(int4_g64)
QB_CODEC(int4_g128)
QB_CODEC(nf4)
#undef QB_CODEC

// Non-linear codebooks (facts shared with the kernels).
// IQ4_NL / IQ4_XS: ggml's kvalues_iq4nl.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
// MXFP4: E2M1 values times two (so they are integers); the block scale carries the 1/2.
inline constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
// NF4: bitsandbytes NormalFloat4 code (quantiles of N(0,1) normalised to [-1, 1]).
inline constexpr float kNf4Values[16] = {-1.0f,
                                         -0.6961928009986877f,
                                         -0.5250730514526367f,
                                         -0.39491748809814453f,
                                         -0.28444138169288635f,
                                         -0.18477343022823334f,
                                         -0.09105003625154495f,
                                         0.0f,
                                         0.07958029955625534f,
                                         0.16093020141124725f,
                                         0.24611230194568634f,
                                         0.33791524171829224f,
                                         0.44070982933044434f,
                                         0.5626170039176941f,
                                         0.7229568362236023f,
                                         1.0f};

// E8M0 exponent byte -> 2^(e-128), i.e. half the MX scale, because kMxfp4Values are doubled.
// e < 2 gives the fp32 subnormals 2^-128 and 2^-127, as ggml does.
inline float e8m0_to_fp32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (uint32_t(0x00200000) << e) : (uint32_t(e - 1) << 23);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest, ties to even, valid for |v| < 2^22: adding 1.5 * 2^23 leaves the integer in
// the low mantissa bits. This is the rounding the K-quant reference uses (not roundf), so the
// K-quant codecs must use it too to match ggml byte for byte.
inline int nearest_int(float v) {
  const float biased = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

}  // namespace qb::codec
