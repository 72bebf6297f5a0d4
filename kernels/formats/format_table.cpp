// The table of truth: one row per format. Codec functions live in one file per family
// (kernels/formats/<family>.cpp) and are declared in codecs.h.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "codecs.h"
#include "qb/formats.h"

namespace qb {

namespace {
using F = FormatId;
using Fam = Family;
// name, gguf type, family, block size, block bytes, row header bytes, activation, codecs
const FormatTraits kTable[] = {
    {F::F32, "F32", 0, Fam::Float, 1, 4, 0, F::F32, codec::quantize_f32, codec::dequantize_row_f32},
    {F::F16, "F16", 1, Fam::Float, 1, 2, 0, F::F16, codec::quantize_f16, codec::dequantize_row_f16},
    {F::BF16, "BF16", 30, Fam::Float, 1, 2, 0, F::BF16, codec::quantize_bf16, codec::dequantize_row_bf16},
    {F::Q4_0, "Q4_0", 2, Fam::Legacy, 32, 18, 0, F::Q8_0, codec::quantize_q4_0, codec::dequantize_row_q4_0},
    {F::Q4_1, "Q4_1", 3, Fam::Legacy, 32, 20, 0, F::Q8_1, codec::quantize_q4_1, codec::dequantize_row_q4_1},
    {F::Q5_0, "Q5_0", 6, Fam::Legacy, 32, 22, 0, F::Q8_0, codec::quantize_q5_0, codec::dequantize_row_q5_0},
    {F::Q5_1, "Q5_1", 7, Fam::Legacy, 32, 24, 0, F::Q8_1, codec::quantize_q5_1, codec::dequantize_row_q5_1},
    {F::Q8_0, "Q8_0", 8, Fam::Legacy, 32, 34, 0, F::Q8_0, codec::quantize_q8_0, codec::dequantize_row_q8_0},
    {F::Q8_1, "Q8_1", 9, Fam::Legacy, 32, 36, 0, F::Q8_1, codec::quantize_q8_1, codec::dequantize_row_q8_1},
    {F::Q2_K, "Q2_K", 10, Fam::KQuant, 256, 84, 0, F::Q8_K, codec::quantize_q2_K, codec::dequantize_row_q2_K},
    {F::Q3_K, "Q3_K", 11, Fam::KQuant, 256, 110, 0, F::Q8_K, codec::quantize_q3_K, codec::dequantize_row_q3_K},
    {F::Q4_K, "Q4_K", 12, Fam::KQuant, 256, 144, 0, F::Q8_K, codec::quantize_q4_K, codec::dequantize_row_q4_K},
    {F::Q5_K, "Q5_K", 13, Fam::KQuant, 256, 176, 0, F::Q8_K, codec::quantize_q5_K, codec::dequantize_row_q5_K},
    {F::Q6_K, "Q6_K", 14, Fam::KQuant, 256, 210, 0, F::Q8_K, codec::quantize_q6_K, codec::dequantize_row_q6_K},
    {F::Q8_K, "Q8_K", 15, Fam::KQuant, 256, 292, 0, F::Q8_K, codec::quantize_q8_K, codec::dequantize_row_q8_K},
    {F::IQ4_NL, "IQ4_NL", 20, Fam::IQuant, 32, 18, 0, F::Q8_0, codec::quantize_iq4_nl, codec::dequantize_row_iq4_nl},
    {F::IQ4_XS, "IQ4_XS", 23, Fam::IQuant, 256, 136, 0, F::Q8_K, codec::quantize_iq4_xs, codec::dequantize_row_iq4_xs},
    {F::TQ1_0, "TQ1_0", 34, Fam::Ternary, 256, 54, 0, F::Q8_K, codec::quantize_tq1_0, codec::dequantize_row_tq1_0},
    {F::TQ2_0, "TQ2_0", 35, Fam::Ternary, 256, 66, 0, F::Q8_K, codec::quantize_tq2_0, codec::dequantize_row_tq2_0},
    {F::MXFP4, "MXFP4", 39, Fam::MX, 32, 17, 0, F::Q8_0, codec::quantize_mxfp4, codec::dequantize_row_mxfp4},
    // Non-GGUF layouts: see kernels/formats/int_formats.md.
    {F::INT8_PC, "INT8_PC", -1, Fam::Int, 1, 1, 4, F::Q8_0, codec::quantize_int8_pc, codec::dequantize_row_int8_pc},
    {F::INT8_PT, "INT8_PT", -1, Fam::Int, 1, 1, 8, F::Q8_0, codec::quantize_int8_pt, codec::dequantize_row_int8_pt},
    {F::INT4_G32, "INT4_G32", -1, Fam::Int, 32, 20, 0, F::Q8_1, codec::quantize_int4_g32,
     codec::dequantize_row_int4_g32},
    {F::INT4_G64, "INT4_G64", -1, Fam::Int, 64, 36, 0, F::Q8_1, codec::quantize_int4_g64,
     codec::dequantize_row_int4_g64},
    {F::INT4_G128, "INT4_G128", -1, Fam::Int, 128, 68, 0, F::Q8_1, codec::quantize_int4_g128,
     codec::dequantize_row_int4_g128},
    {F::NF4, "NF4", -1, Fam::Int, 64, 36, 0, F::F32, codec::quantize_nf4, codec::dequantize_row_nf4},
};
static_assert(std::size(kTable) == size_t(FormatId::COUNT), "one row per FormatId");

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
         });
}
}  // namespace

std::string_view family_name(Family f) {
  switch (f) {
    case Family::Float:
      return "float";
    case Family::Legacy:
      return "legacy";
    case Family::KQuant:
      return "k-quant";
    case Family::IQuant:
      return "i-quant";
    case Family::Ternary:
      return "ternary";
    case Family::MX:
      return "mx";
    case Family::Int:
      return "int";
  }
  return "?";
}

std::span<const FormatTraits> all_formats() { return kTable; }

const FormatTraits& traits(FormatId id) { return kTable[size_t(id)]; }

const FormatTraits* find_format(std::string_view name) {
  for (const auto& t : kTable)
    if (iequals(t.name, name)) return &t;
  return nullptr;
}

const FormatTraits* find_format_by_gguf_type(int gguf_type) {
  if (gguf_type < 0) return nullptr;
  for (const auto& t : kTable)
    if (t.gguf_type == gguf_type) return &t;
  return nullptr;
}

std::string format_names() {
  std::string s;
  for (const auto& t : kTable) {
    if (!s.empty()) s += ", ";
    s += t.name;
  }
  return s;
}

namespace {
// Largest |x| a format encodes without its scale (or value) overflowing: fp16 scales top out at
// 65504, so e.g. Q4_0 (d = max/8) holds up to 8 * 65504, Q8_1 (s = d * sum(q), up to 32 * max)
// only 65504 / 32. Beyond it the stored scale would be inf and every weight NaN/inf.
double max_encodable(FormatId id) {
  constexpr double kHalfMax = 65504.0;
  switch (id) {
    case F::F32:
    case F::Q8_K:
    case F::INT8_PC:
    case F::NF4:
      return 3.0e38;  // fp32 scales; headroom left for the scale arithmetic itself
    case F::INT8_PT:
      return 1.0e38;  // its range max - min must stay finite
    case F::BF16:
      return 3.38e38;  // larger values round to bf16 inf
    case F::Q4_0:
      return 8 * kHalfMax;
    case F::Q5_0:
      return 16 * kHalfMax;
    case F::Q8_0:
      return 127 * kHalfMax;
    case F::Q8_1:
      return kHalfMax / 32;
    case F::MXFP4:
      return 0x1p126;  // E8M0 exponent stays below 255 (NaN)
    default:
      return kHalfMax;  // fp16 values, mins or super-block scales of order max|x|
  }
}

std::string fmt_value(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", double(v));
  return buf;
}

void check_shape(const FormatTraits& t, int64_t nrows, int64_t k, std::string_view what) {
  if (nrows < 0) throw FormatError(std::string(what) + ": negative row count " + std::to_string(nrows));
  if (k <= 0 || k % t.block_size != 0)
    throw FormatError(std::string(what) + ": row length " + std::to_string(k) + " is not a multiple of " +
                      std::string(t.name) + "'s block size " + std::to_string(t.block_size) +
                      " (expected a positive multiple of " + std::to_string(t.block_size) + ")");
}
}  // namespace

void quantize(FormatId id, const float* src, void* dst, int64_t nrows, int64_t k, std::string_view what) {
  const FormatTraits& t = traits(id);
  check_shape(t, nrows, k, what);
  const double limit = max_encodable(id);
  for (int64_t r = 0; r < nrows; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const float v = src[r * k + c];
      if (!std::isfinite(v))
        throw FormatError(std::string(what) + ": non-finite value " + fmt_value(v) + " at row " + std::to_string(r) +
                          ", column " + std::to_string(c) + "; " + std::string(t.name) + " refuses NaN/Inf");
      if (std::fabs(double(v)) > limit)
        throw FormatError(std::string(what) + ": value " + fmt_value(v) + " at row " + std::to_string(r) + ", column " +
                          std::to_string(c) + " exceeds " + std::string(t.name) + "'s largest encodable magnitude " +
                          fmt_value(float(limit)) + " (its scales would overflow)");
    }
  if (!t.quantize) throw FormatError(std::string(t.name) + ": no reference quantizer");
  t.quantize(src, dst, nrows, k);
}

void quantize_activations(FormatId act, const float* src, void* dst, int64_t nrows, int64_t k) {
  if (act == FormatId::Q8_0 || act == FormatId::Q8_1) {
    check_shape(traits(act), nrows, k, "activations");
    (act == FormatId::Q8_0 ? codec::quantize_q8_0_act : codec::quantize_q8_1_act)(src, dst, nrows, k);
    return;
  }
  quantize(act, src, dst, nrows, k, "activations");
}

void dequantize(FormatId id, const void* src, float* dst, int64_t nrows, int64_t k) {
  const FormatTraits& t = traits(id);
  check_shape(t, nrows, k, "dequantize");
  if (!t.dequantize_row) throw FormatError(std::string(t.name) + ": no dequantizer");
  const size_t rb = t.row_bytes(k);
  for (int64_t r = 0; r < nrows; ++r) t.dequantize_row(static_cast<const uint8_t*>(src) + r * rb, dst + r * k, k);
}

}  // namespace qb
