// The table of truth for quantization formats: one row per format (kernels/formats/format_table.cpp).
// Adding a format = one enum value + one row + one codec file + its tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qb {

enum class FormatId : uint8_t {
  F32,
  F16,
  BF16,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q8_1,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  Q8_K,
  IQ4_NL,
  IQ4_XS,
  TQ1_0,
  TQ2_0,
  MXFP4,
  // Non-GGUF layouts used by ONNX Runtime / OpenVINO / QNN / MLX / AWQ / bitsandbytes exports.
  INT8_PC,   // int8 symmetric, one scale per output channel (row)
  INT8_PT,   // int8 asymmetric (uint8 + zero point), one scale/zero point per tensor
  INT4_G32,  // int4 asymmetric group-wise (scale + bias per group), MLX/AWQ style
  INT4_G64,
  INT4_G128,
  NF4,  // bitsandbytes NormalFloat4, absmax per group of 64
  COUNT
};

enum class Family : uint8_t { Float, Legacy, KQuant, IQuant, Ternary, MX, Int };
std::string_view family_name(Family f);

// Reference codecs. quantize converts nrows rows of k floats (row-major, contiguous) into
// nrows * row_bytes(k) bytes; it is only called after validation (finite values, k % block == 0).
using QuantizeFn = void (*)(const float* src, void* dst, int64_t nrows, int64_t k);
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t k);

struct FormatTraits {
  FormatId id;
  std::string_view name;
  int gguf_type;  // GGUF/ggml type id, -1 when the format is not a GGUF type
  Family family;
  int block_size;        // weights per block
  int block_bytes;       // bytes per block
  int row_header_bytes;  // bytes before the first block of each row (per-row/per-tensor params)
  FormatId act;          // activation format its integer dot product pairs with (F32 for float dots)
  QuantizeFn quantize;
  DequantizeRowFn dequantize_row;

  size_t row_bytes(int64_t k) const { return size_t(row_header_bytes) + size_t(k / block_size) * size_t(block_bytes); }
  // Bits per weight of the block payload (row headers amortised over a row of k).
  double bits_per_weight(int64_t k = 4096) const { return 8.0 * double(row_bytes(k)) / double(k); }
};

std::span<const FormatTraits> all_formats();
const FormatTraits& traits(FormatId id);
const FormatTraits* find_format(std::string_view name);       // case-insensitive, nullptr if unknown
const FormatTraits* find_format_by_gguf_type(int gguf_type);  // nullptr if not in the table
std::string format_names();                                   // "F32, F16, ..." for error messages

// Thrown for input a codec refuses: row length not a multiple of the block size, NaN/Inf.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Validating entry points: check k against the block size and every value for NaN/Inf
// (the error names `what` (e.g. a tensor name), the row, the column), then run the codec.
void quantize(FormatId id, const float* src, void* dst, int64_t nrows, int64_t k, std::string_view what = "tensor");
void dequantize(FormatId id, const void* src, float* dst, int64_t nrows, int64_t k);
// The reference of what a kernel's quantize_act writes for activation format `act`: Q8_0 and Q8_1
// round as ggml's SIMD quantizers do (ties to even, id = 127/amax), which differs from their
// weight codec (roundf, id = 1/d) on exact ties; every other format uses its codec.
void quantize_activations(FormatId act, const float* src, void* dst, int64_t nrows, int64_t k);

// fp16 / bf16 conversions, bit-exact with ggml's scalar reference (round to nearest even).
uint16_t fp32_to_fp16(float f);
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float bf16_to_fp32(uint16_t h);

}  // namespace qb
