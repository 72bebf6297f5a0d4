// Reference codecs: table consistency, round-trip error bounds per format, edge cases, refusal of
// bad input, exhaustive fp16/bf16 conversion checks. Byte-exactness against ggml / gguf-py is
// checked separately (tests/py/test_gguf_codecs.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qb/blocks.h"
#include "qb/formats.h"

namespace {

using qb::FormatId;

constexpr int64_t kRows = 16, kCols = 4096;

// Scale group of a format: the set of weights whose error is bounded relative to its absmax.
// 0 = per value (float formats), -1 = row, -2 = whole tensor.
int scale_group(FormatId id) {
  switch (id) {
    case FormatId::F32:
    case FormatId::F16:
    case FormatId::BF16:
      return 0;
    case FormatId::INT8_PC:
      return -1;
    case FormatId::INT8_PT:
      return -2;
    default:
      return qb::traits(id).block_size;
  }
}

// Worst-case |x - dequant(quant(x))| as a fraction of the scale group's absmax (relative to |x|
// for the float formats). Derivations (d = step, 2^-11 = fp16 relative rounding of stored scales):
//   Q8_0/Q8_1   d = amax/127: d/2 + 127*d*2^-11                              = 0.00443
//   Q4_0        the signed extreme maps to -8, the other side clamps at +7:  1/8 + 2^-11 = 0.1255
//   Q5_0        same with 16 levels per side:                                1/16 + 2^-11
//   Q4_1/INT4   step = range/15 <= 2amax/15: step/2 + range*2^-11 + |min|*2^-11 = 0.0682
//   Q5_1        step = range/31:                                             0.0337
//   Q8_K/INT8   fp32 scale amax/127 (INT8_PT: range/255 <= 2amax/255):       0.5/127
//   MXFP4       top E2M1 codes 4 and 6 (x 2^e) around amax in [4, 8) x 2^e: u <= amax/4
//   NF4         widest code gap (-1 .. -0.696) / 2:                          0.152
//   TQ1_0/TQ2_0 levels {-1, 0, 1} x amax: amax/2 (+ fp16 rounding of amax)
//   K-quants    step/2 of the sub-block plus 4/6/8-bit sub-scale (and min) rounding, and the
//               least-squares scale search may clip the extreme of a sub-block:
//               Q6_K 1/64 + 1/256, Q5_K 1/31 + 2/126 + 1/126, Q4_K 1/15 + 3/126,
//               Q3_K clamp at +3 of [-4, 3] -> 1/4 (+search slack), Q2_K 1/3 + 1/10 -> bounds below.
//   IQ4_NL/XS   half the widest codebook gap (24/2 of 127) plus clipping by the trial scales
//               (up to 134/127 of the extreme): empirical margin.
double max_err_bound(FormatId id) {
  switch (id) {
    case FormatId::F32:
      return 0;
    case FormatId::F16:
      return 0x1p-11;
    case FormatId::BF16:
      return 0x1p-8;
    case FormatId::Q8_0:
    case FormatId::Q8_1:
      return 0.5 / 127 + 0x1p-11;
    case FormatId::Q4_0:
      return 0.125 + 0x1p-11;
    case FormatId::Q5_0:
      return 0.0625 + 0x1p-11;
    case FormatId::Q4_1:
    case FormatId::INT4_G32:
    case FormatId::INT4_G64:
    case FormatId::INT4_G128:
      return 1.0 / 15 + 3 * 0x1p-11;
    case FormatId::Q5_1:
      return 1.0 / 31 + 3 * 0x1p-11;
    case FormatId::Q8_K:
    case FormatId::INT8_PC:
      return 0.5 / 127 * 1.0001;
    case FormatId::INT8_PT:
      return 1.0 / 255 * 1.0001;
    case FormatId::MXFP4:
      return 0.25 * 1.0001;
    case FormatId::NF4:
      return 0.5 * (1 - 0.6961928009986877) * 1.0001;
    case FormatId::TQ1_0:
    case FormatId::TQ2_0:
      return 0.5 + 0x1p-11;
    case FormatId::Q6_K:
      return 1.0 / 64 + 1.0 / 256;
    case FormatId::Q5_K:
      return 1.0 / 31 + 3.0 / 126;
    case FormatId::Q4_K:
      return 1.0 / 15 + 4.0 / 126;
    case FormatId::Q3_K:
      return 0.30;
    case FormatId::Q2_K:
      return 0.50;
    case FormatId::IQ4_NL:
      return 0.15;
    case FormatId::IQ4_XS:
      return 0.15;
    default:
      return 0;
  }
}

// SNR floor (dB) on N(0,1) weights, 16 x 4096, seed 42: measured value minus ~0.5 dB, so a codec
// that still meets the max-error bound but lost quality (e.g. a broken scale search) fails.
double min_snr_db(FormatId id) {
  switch (id) {
    case FormatId::F32:
      return 200;
    case FormatId::F16:
      return 73;
    case FormatId::BF16:
      return 55;
    case FormatId::Q4_0:
      return 20.8;
    case FormatId::Q4_1:
      return 21.6;
    case FormatId::Q5_0:
      return 26.9;
    case FormatId::Q5_1:
      return 27.9;
    case FormatId::Q8_0:
    case FormatId::Q8_1:
      return 44.9;
    case FormatId::Q2_K:
      return 10.0;
    case FormatId::Q3_K:
      return 15.9;
    case FormatId::Q4_K:
      return 22.4;
    case FormatId::Q5_K:
      return 28.3;
    case FormatId::Q6_K:
      return 34.5;
    case FormatId::Q8_K:
      return 42.6;
    case FormatId::IQ4_NL:
      return 21.8;
    case FormatId::IQ4_XS:
      return 21.8;
    case FormatId::TQ1_0:
    case FormatId::TQ2_0:
      return 1.3;
    case FormatId::MXFP4:
      return 18.2;
    case FormatId::INT8_PC:
      return 40.9;
    case FormatId::INT8_PT:
      return 39.3;
    case FormatId::INT4_G32:
      return 21.6;
    case FormatId::INT4_G64:
      return 20.4;
    case FormatId::INT4_G128:
      return 19.5;
    case FormatId::NF4:
      return 20.2;
    default:
      return 0;
  }
}

std::vector<float> gaussian(int64_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> roundtrip(FormatId id, const std::vector<float>& x, int64_t rows, int64_t k) {
  const auto& t = qb::traits(id);
  std::vector<uint8_t> q(t.row_bytes(k) * size_t(rows));
  qb::quantize(id, x.data(), q.data(), rows, k, "test");
  std::vector<float> y(x.size());
  qb::dequantize(id, q.data(), y.data(), rows, k);
  return y;
}

// Largest error over the tensor as a fraction of the group absmax; also checks finiteness.
// abs_floor: absolute slack for magnitudes where fp16 scales lose relative precision.
void expect_within_bound(FormatId id, const std::vector<float>& x, const std::vector<float>& y, int64_t rows, int64_t k,
                         const std::string& what, double abs_floor = 0) {
  const auto& t = qb::traits(id);
  const int g = scale_group(id);
  const double bound = max_err_bound(id);
  const int64_t gsize = g > 0 ? g : g == -1 ? k : rows * k;
  double worst = 0;
  int64_t worst_at = -1;
  for (int64_t s = 0; s < rows * k; s += (g == 0 ? 1 : gsize)) {
    const int64_t n = g == 0 ? 1 : gsize;
    double amax = 0;
    for (int64_t i = s; i < s + n; ++i) amax = std::max(amax, std::fabs(double(x[size_t(i)])));
    for (int64_t i = s; i < s + n; ++i) {
      ASSERT_TRUE(std::isfinite(y[size_t(i)])) << t.name << " " << what << ": non-finite output at " << i;
      const double err = std::fabs(double(y[size_t(i)]) - double(x[size_t(i)]));
      // Float formats: half the spacing of their subnormals is the absolute floor.
      const double sub_floor = id == FormatId::F16 ? 0x1p-25 : id == FormatId::BF16 ? 0x1p-134 : 0.0;
      const double allowed = bound * amax + abs_floor + sub_floor;
      if (err > allowed && err - allowed > worst) {
        worst = err - allowed;
        worst_at = i;
      }
    }
  }
  EXPECT_EQ(worst_at, -1) << t.name << " " << what << ": error exceeds bound by " << worst << " at index " << worst_at
                          << " (x=" << (worst_at >= 0 ? x[size_t(worst_at)] : 0.f)
                          << ", y=" << (worst_at >= 0 ? y[size_t(worst_at)] : 0.f) << ")";
}

class EveryFormat : public ::testing::TestWithParam<FormatId> {};

std::string format_param_name(const ::testing::TestParamInfo<FormatId>& info) {
  return std::string(qb::traits(info.param).name);
}

std::vector<FormatId> all_ids() {
  std::vector<FormatId> ids;
  for (const auto& t : qb::all_formats()) ids.push_back(t.id);
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Codecs, EveryFormat, ::testing::ValuesIn(all_ids()), format_param_name);

TEST_P(EveryFormat, HasCodecsAndConsistentSizes) {
  const auto& t = qb::traits(GetParam());
  ASSERT_NE(t.quantize, nullptr);
  ASSERT_NE(t.dequantize_row, nullptr);
  EXPECT_EQ(t.row_bytes(4096), size_t(t.row_header_bytes) + size_t(4096 / t.block_size) * size_t(t.block_bytes));
  EXPECT_EQ(qb::find_format(t.name), &t);
  if (t.gguf_type >= 0) {
    EXPECT_EQ(qb::find_format_by_gguf_type(t.gguf_type), &t);
  }
}

TEST_P(EveryFormat, GaussianRoundTripWithinBounds) {
  const FormatId id = GetParam();
  const auto x = gaussian(kRows * kCols, 1.0f, 42);
  const auto y = roundtrip(id, x, kRows, kCols);
  expect_within_bound(id, x, y, kRows, kCols, "gaussian");
  double se = 0, sx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    se += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
    sx += double(x[i]) * x[i];
  }
  const double snr = se > 0 ? 10 * std::log10(sx / se) : 300;
  EXPECT_GE(snr, min_snr_db(id)) << qb::traits(id).name << " SNR on N(0,1)";
}

TEST_P(EveryFormat, EdgeCases) {
  const FormatId id = GetParam();
  const auto& t = qb::traits(id);
  const int64_t k = 1024;
  auto run = [&](const std::vector<float>& x, const std::string& what, double abs_floor = 0) {
    const auto y = roundtrip(id, x, 1, k);
    expect_within_bound(id, x, y, 1, k, what, abs_floor);
    return y;
  };
  // All zeros decode to exact zeros.
  const auto z = run(std::vector<float>(k, 0.0f), "zeros");
  for (float v : z) ASSERT_EQ(v, 0.0f) << t.name << ": zeros must stay zeros";
  run(std::vector<float>(k, 0.37f), "constant 0.37");
  run(std::vector<float>(k, -2.5f), "constant -2.5");
  auto g = gaussian(k, 1.0f, 7);
  std::vector<float> neg(g), pos(g);
  for (auto& v : neg) v = -std::fabs(v);
  for (auto& v : pos) v = std::fabs(v) + 0.5f;
  run(neg, "negative-only");
  run(pos, "positive-only (offset)");
  std::vector<float> outl = gaussian(k, 0.01f, 8);
  for (int64_t i = 5; i < k; i += 32) outl[size_t(i)] = (i / 32) % 2 ? 4.0f : -4.0f;  // one per block of 32
  run(outl, "one outlier per block");
  // Huge: near the largest magnitude each format accepts (fp16 scales cap most of them).
  float big_scale = 30000.0f;
  switch (id) {
    case FormatId::F32:
    case FormatId::BF16:
    case FormatId::Q8_K:
    case FormatId::INT8_PC:
    case FormatId::INT8_PT:
    case FormatId::NF4:
      big_scale = 1e30f;
      break;
    case FormatId::MXFP4:
      big_scale = 1e37f;
      break;
    case FormatId::Q4_0:
    case FormatId::Q5_0:
    case FormatId::Q8_0:
      big_scale = 60000.0f;
      break;
    case FormatId::Q8_1:
      big_scale = 1000.0f;
      break;
    default:
      break;
  }
  std::vector<float> big(g);
  float gmax = 0;
  for (float v : g) gmax = std::max(gmax, std::fabs(v));
  for (auto& v : big) v = v / gmax * big_scale;
  run(big, "huge magnitudes");
  // Tiny magnitudes and fp32 subnormals: fp16 scales lose relative precision there (as in ggml),
  // so only finiteness and an absolute error of at most the group's absmax (plus the smallest
  // fp16 step times the largest level) are required.
  std::vector<float> tiny(g), sub(g);
  for (auto& v : tiny) v *= 1e-6f;
  for (auto& v : sub) v *= 1e-40f;
  for (const auto* xs : {&tiny, &sub}) {
    const auto y = roundtrip(id, *xs, 1, k);
    float amax = 0;
    for (float v : *xs) amax = std::max(amax, std::fabs(v));
    for (int64_t i = 0; i < k; ++i) {
      ASSERT_TRUE(std::isfinite(y[size_t(i)])) << t.name << ": tiny input gave non-finite output";
      ASSERT_LE(std::fabs(y[size_t(i)] - (*xs)[size_t(i)]), amax * 1.001 + 128 * 0x1p-24)
          << t.name << ": tiny input error blew up at " << i;
    }
  }
  // Tiny values that fp16 still resolves keep the relative bound for the float formats.
  if (id == FormatId::F32 || id == FormatId::BF16) run(sub, "subnormals");
}

TEST_P(EveryFormat, RefusesNonFiniteAndBadLengths) {
  const FormatId id = GetParam();
  const auto& t = qb::traits(id);
  const int64_t k = 512;
  std::vector<float> x(2 * k, 0.5f);
  std::vector<uint8_t> q(2 * t.row_bytes(k));
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    x[size_t(k + 7)] = bad;
    try {
      qb::quantize(id, x.data(), q.data(), 2, k, "blk.0.w");
      FAIL() << t.name << " accepted " << bad;
    } catch (const qb::FormatError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("blk.0.w"), std::string::npos) << msg;
      EXPECT_NE(msg.find("row 1, column 7"), std::string::npos) << msg;
    }
  }
  x[size_t(k + 7)] = 0.5f;
  if (t.block_size > 1) {
    const int64_t bad_k = t.block_size + 1;
    EXPECT_THROW(qb::quantize(id, x.data(), q.data(), 1, bad_k, "w"), qb::FormatError);
    try {
      qb::quantize(id, x.data(), q.data(), 1, bad_k, "w");
    } catch (const qb::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("block size " + std::to_string(t.block_size)), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(qb::dequantize(id, q.data(), x.data(), 1, bad_k), qb::FormatError);
  }
  EXPECT_THROW(qb::quantize(id, x.data(), q.data(), 1, 0, "w"), qb::FormatError);
  // Magnitudes whose scale would overflow are refused (fp32-scaled formats have no such limit).
  const float too_big = id == FormatId::BF16 ? 3.39e38f : id == FormatId::MXFP4 ? 1e38f : 1e36f;
  if (id != FormatId::F32 && id != FormatId::Q8_K && id != FormatId::INT8_PC && id != FormatId::INT8_PT &&
      id != FormatId::NF4) {
    x[3] = too_big;
    EXPECT_THROW(qb::quantize(id, x.data(), q.data(), 1, k, "w"), qb::FormatError) << t.name;
  }
}

TEST(FormatTable, BitsPerWeight) {
  const struct {
    FormatId id;
    double bpw;
  } expect[] = {{FormatId::F32, 32},
                {FormatId::F16, 16},
                {FormatId::BF16, 16},
                {FormatId::Q4_0, 4.5},
                {FormatId::Q4_1, 5},
                {FormatId::Q5_0, 5.5},
                {FormatId::Q5_1, 6},
                {FormatId::Q8_0, 8.5},
                {FormatId::Q8_1, 9},
                {FormatId::Q2_K, 2.625},
                {FormatId::Q3_K, 3.4375},
                {FormatId::Q4_K, 4.5},
                {FormatId::Q5_K, 5.5},
                {FormatId::Q6_K, 6.5625},
                {FormatId::Q8_K, 9.125},
                {FormatId::IQ4_NL, 4.5},
                {FormatId::IQ4_XS, 4.25},
                {FormatId::TQ1_0, 1.6875},
                {FormatId::TQ2_0, 2.0625},
                {FormatId::MXFP4, 4.25},
                {FormatId::INT8_PC, 8 + 32.0 / 4096},
                {FormatId::INT8_PT, 8 + 64.0 / 4096},
                {FormatId::INT4_G32, 5},
                {FormatId::INT4_G64, 4.5},
                {FormatId::INT4_G128, 4.25},
                {FormatId::NF4, 4.5}};
  ASSERT_EQ(std::size(expect), size_t(FormatId::COUNT));
  for (const auto& e : expect) EXPECT_DOUBLE_EQ(qb::traits(e.id).bits_per_weight(4096), e.bpw) << qb::traits(e.id).name;
  // GGUF block sizes are the public contract.
  EXPECT_EQ(qb::traits(FormatId::Q4_K).block_bytes, int(sizeof(qb::block_q4_K)));
  EXPECT_EQ(qb::traits(FormatId::TQ1_0).block_bytes, int(sizeof(qb::block_tq1_0)));
  EXPECT_EQ(qb::traits(FormatId::Q8_K).block_bytes, int(sizeof(qb::block_q8_K)));
}

TEST(FormatTable, ActivationQuantizersCarryTheirSums) {
  const auto x = gaussian(2 * 256, 1.0f, 3);
  std::vector<qb::block_q8_K> qk(2);
  qb::quantize(FormatId::Q8_K, x.data(), qk.data(), 1, 512);
  for (const auto& b : qk)
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += b.qs[16 * j + i];
      EXPECT_EQ(b.bsums[j], s);
    }
  std::vector<qb::block_q8_1> q1(16);
  qb::quantize(FormatId::Q8_1, x.data(), q1.data(), 1, 512);
  for (const auto& b : q1) {
    int s = 0;
    for (int v : b.qs) s += v;
    const float d = qb::fp16_to_fp32(b.d);
    EXPECT_NEAR(qb::fp16_to_fp32(b.s), d * s, std::fabs(d * s) * 2e-3 + 1e-6);
  }
}

// ---- fp16 / bf16 conversions ------------------------------------------------------------------

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Independent fp16 decoder: value = (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024.
double ref_half_value(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const double v = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
  return (h & 0x8000) ? -v : v;
}

TEST(HalfConversion, ExhaustiveDecodeAndReencode) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = qb::fp16_to_fp32(uint16_t(h));
    const int e = (h >> 10) & 31;
    if (e == 31) {
      if (h & 1023) {
        ASSERT_TRUE(std::isnan(f)) << std::hex << h;
        ASSERT_EQ(qb::fp32_to_fp16(f) & 0x7e00u, 0x7e00u) << "NaN stays a quiet NaN, " << std::hex << h;
      } else {
        ASSERT_TRUE(std::isinf(f)) << std::hex << h;
        ASSERT_EQ(qb::fp32_to_fp16(f), h);
      }
      continue;
    }
    ASSERT_EQ(double(f), ref_half_value(uint16_t(h))) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_fp16(f), h) << std::hex << h;
  }
}

TEST(HalfConversion, RoundsToNearestEvenAtEveryMidpoint) {
  // For each pair of adjacent finite halves, the exact midpoint (representable in fp32) must
  // round to the even one, and the floats just around it to the nearer one.
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const double a = ref_half_value(uint16_t(h)), b = ref_half_value(uint16_t(h + 1));
    const float mid = float((a + b) / 2);
    ASSERT_EQ(double(mid), (a + b) / 2);
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(qb::fp32_to_fp16(mid), even) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_fp16(-mid), even | 0x8000) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_fp16(std::nextafter(mid, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_fp16(std::nextafter(mid, INFINITY)), h + 1) << std::hex << h;
  }
  // Overflow: 65504 is the largest half; from the midpoint 65520 up it rounds to infinity.
  EXPECT_EQ(qb::fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(qb::fp32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(qb::fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(qb::fp32_to_fp16(1e30f), 0x7c00);
  EXPECT_EQ(qb::fp32_to_fp16(-1e30f), 0xfc00);
  // Below half the smallest subnormal: signed zero; exactly half of it ties to even (zero).
  EXPECT_EQ(qb::fp32_to_fp16(0x1p-25f), 0x0000);
  EXPECT_EQ(qb::fp32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(qb::fp32_to_fp16(-1e-30f), 0x8000);
}

// The compiler's own half type (hardware conversion where the ISA has one) as a second opinion.
#if defined(__x86_64__) && defined(__FLT16_MANT_DIG__)
using HwHalf = _Float16;
#define QB_HAVE_HW_HALF 1
#elif defined(__aarch64__)
using HwHalf = __fp16;
#define QB_HAVE_HW_HALF 1
#endif

TEST(HalfConversion, MatchesCompilerFloat16OnRandomFloats) {
#if defined(QB_HAVE_HW_HALF)
  std::mt19937 rng(11);
  for (int i = 0; i < 2000000; ++i) {
    // Random bit patterns concentrated on the half range (exponents 100..150).
    const uint32_t u = (rng() & 0x807fffffu) | (uint32_t(100 + rng() % 51) << 23);
    const float f = from_bits(u);
    const HwHalf h = static_cast<HwHalf>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(qb::fp32_to_fp16(f), hb) << f;
  }
#else
  GTEST_SKIP() << "compiler has no half-precision type";
#endif
}

TEST(BFloat16Conversion, ExhaustiveAndTies) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = qb::bf16_to_fp32(uint16_t(h));
    ASSERT_EQ(bits(f), h << 16);
    if (std::isnan(f))
      ASSERT_EQ(qb::fp32_to_bf16(f), uint16_t(h | 0x40)) << "NaN gets the quiet bit, " << std::hex << h;
    else
      ASSERT_EQ(qb::fp32_to_bf16(f), h) << std::hex << h;
    if ((h & 0x7f80) == 0x7f80) continue;  // no midpoints above the largest finite
    // Midpoint to the next bf16: ties to even; one ulp either side goes to the nearer value.
    const uint32_t mid = (h << 16) | 0x8000u;
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(qb::fp32_to_bf16(from_bits(mid)), even) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_bf16(from_bits(mid - 1)), h) << std::hex << h;
    ASSERT_EQ(qb::fp32_to_bf16(from_bits(mid + 1)), uint16_t(h + 1)) << std::hex << h;
  }
}

}  // namespace
