// Float-family kernels (F32, F16, BF16) against the scalar oracle.
//
// Tolerances and why:
//  * Exact mode: weights and activations are small integers (|v| <= 16, exact in fp16/bf16),
//    every product and partial sum is an integer below 2^24, so any order of fp32 sums is
//    exact: SIMD must equal scalar bit for bit.
//  * Random mode: the scalar oracle sums fp32 products in double (as ggml's generic code); the
//    SIMD kernels sum in fp32, in lanes (about k/16 terms each, then a tree) or, on the AMX
//    path for BF16, sequentially per output (tdpbf16ps: k roundings). Products of bf16/fp16
//    values are exact in fp32, fp32 products round once. Bound: (k + 32) * 2^-24 * sum|w x|.
//    BF16 runs every granted row: the AMX row (where granted) and the vdpbf16ps row.
//  * Scalar vs float reference (qb::dequantize of W and of the converted activations, double
//    sum): the same products in the same order, only the final rounding: 2^-23 * sum|w x|.
//  * quantize_act must write exactly the reference codec's bits, including ties, subnormals,
//    overflow to infinity and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "kernels/matmul_test_util.h"

namespace {

using qb::FormatId;

const FormatId kFormats[] = {FormatId::F32, FormatId::F16, FormatId::BF16};

std::vector<float> make_values(size_t count, bool exact, std::mt19937& rng) {
  std::vector<float> v(count);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> q(-16, 16);
  for (auto& e : v) e = exact ? float(q(rng)) : nd(rng);
  return v;
}

std::vector<uint8_t> to_format(FormatId f, const std::vector<float>& v, int64_t rows, int64_t k) {
  std::vector<uint8_t> out(qb::traits(f).row_bytes(k) * size_t(rows));
  qb::quantize(f, v.data(), out.data(), rows, k, "test weights");
  return out;
}

// sum_i |w_i x_i| per output, from the converted values (what the kernels see).
std::vector<double> magnitudes(FormatId f, const std::vector<uint8_t>& w, const std::vector<float>& X,
                               const qbt::Shape& s) {
  std::vector<float> wf(size_t(s.m * s.k)), xf(size_t(s.n * s.k));
  qb::dequantize(f, w.data(), wf.data(), s.m, s.k);
  const auto xc = to_format(f, X, s.n, s.k);
  qb::dequantize(f, xc.data(), xf.data(), s.n, s.k);
  std::vector<double> mag(size_t(s.m * s.n));
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) {
      double a = 0;
      for (int64_t i = 0; i < s.k; ++i) a += std::fabs(double(wf[size_t(r * s.k + i)]) * xf[size_t(j * s.k + i)]);
      mag[size_t(j * s.m + r)] = a;
    }
  return mag;
}

TEST(FloatKernels, TableRowsAndNames) {
  for (FormatId f : kFormats) {
    const auto* k = qb::find_kernel(f, qb::BackendId::Scalar);
    ASSERT_NE(k, nullptr) << qb::traits(f).name;
    EXPECT_EQ(k->act, qb::traits(f).act);
    for (const auto* sk : qbt::simd_kernels(f)) EXPECT_EQ(sk->act, qb::traits(f).act) << sk->name;
  }
}

TEST(FloatKernels, QuantizeActBitExact) {
  std::vector<float> x;
  std::mt19937 rng(3);
  for (float v : make_values(301, false, rng)) x.push_back(v * 100.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            65504.0f,
                            65519.0f,
                            65520.0f,
                            -1e9f,
                            6e-8f,
                            3e-8f,
                            2.9802322e-08f,
                            1e-40f,
                            -1e-40f,
                            1.0f + std::ldexp(1.0f, -11),
                            1.0f + 3 * std::ldexp(1.0f, -11),
                            1.0f + std::ldexp(1.0f, -8),
                            1.0f + 3 * std::ldexp(1.0f, -8),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(),
                            3.4e38f};
  for (float v : specials) x.push_back(v);
  const int64_t k = int64_t(x.size());
  for (FormatId f : kFormats) {
    const auto* sk = qb::find_kernel(f, qb::BackendId::Scalar);
    const size_t nbytes = sk->act_row_bytes(k);
    std::vector<uint8_t> codec(nbytes), ref(nbytes);
    ASSERT_NE(qb::traits(f).quantize, nullptr);
    qb::traits(f).quantize(x.data(), codec.data(), 1, k);  // raw codec: NaN/Inf allowed here
    sk->quantize_act(x.data(), ref.data(), k);
    EXPECT_EQ(0, std::memcmp(codec.data(), ref.data(), nbytes)) << sk->name << " differs from the codec";
    for (const auto* kern : qbt::simd_kernels(f)) {
      qbt::Bytes got(nbytes, 1);
      kern->quantize_act(x.data(), got.data(), k);
      for (int64_t i = 0; i < k; ++i) {
        const size_t eb = nbytes / size_t(k);
        EXPECT_EQ(0, std::memcmp(got.data() + i * eb, codec.data() + i * eb, eb))
            << kern->name << " element " << i << " (" << x[size_t(i)] << ")";
      }
    }
  }
}

class FloatVsScalar : public ::testing::TestWithParam<FormatId> {};

std::vector<qbt::Shape> float_shapes() {
  std::vector<qbt::Shape> v;
  for (const auto& s : qbt::odd_shapes(1)) v.push_back({s.m, s.k * 37, s.n});  // k = 37..333: tails
  v.push_back({5, 1, 3});
  v.push_back({6, 5000, 2});     // GEMM k-blocking with a tail block
  v.push_back({7, 9000, 1});     // GEMV long rows
  v.push_back({160, 2080, 40});  // BF16 AMX: 2x2 tile blocks, 1x1 edges, two k-blocks, k tail
  return v;
}

TEST_P(FloatVsScalar, OddShapesThreadsAlignment) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = qbt::simd_kernels(f);
  if (kernels.empty()) GTEST_SKIP() << "no SIMD backend available for " << qb::traits(f).name;
  std::mt19937 rng(77 + int(f));
  for (const bool exact : {true, false})
    for (const qbt::Shape& s : float_shapes()) {
      const auto w = to_format(f, make_values(size_t(s.m * s.k), exact, rng), s.m, s.k);
      const auto X = make_values(size_t(s.n * s.k), exact, rng);
      const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      const auto mag = magnitudes(f, w, X, s);
      for (const auto* kern : kernels) {
        for (const bool threads : {false, true}) {
          // F32 rows need 4-byte alignment only for speed; the interface takes bytes: misalign.
          const auto got = qbt::run_matmul(*kern, w.data(), w.size(), X, s, threads, threads ? 2 : 1);
          int bad = 0;
          for (size_t i = 0; i < got.size() && bad < 5; ++i) {
            const double tol = exact ? 0.0 : (double(s.k) + 32) * std::ldexp(1.0, -24) * mag[i];
            if (!(std::fabs(double(got[i]) - want[i]) <= tol)) {
              ++bad;
              ADD_FAILURE() << kern->name << (exact ? " exact" : " random") << " " << qbt::shape_name(s)
                            << (threads ? " 2 threads" : " 1 thread") << " row " << (i % size_t(s.m)) << " col "
                            << (i / size_t(s.m)) << ": got " << got[i] << " want " << want[i] << " tol " << tol;
            }
          }
        }
      }
    }
}

// The loop above tests the AMX row only where AMX is granted: say so instead of passing silently.
TEST(FloatAmx, Bf16AmxRowExercisedOrSkipped) {
  const std::string why = qbt::amx_unavailable_reason(false);
  if (!why.empty()) GTEST_SKIP() << "BF16 AMX row not exercised: " << why;
  int amx = 0;
  for (const auto* k : qbt::simd_kernels(FormatId::BF16)) amx += k->name.ends_with("_amx");
  EXPECT_EQ(amx, 1) << "AMX-BF16 is granted but no gemm_bf16_bf16_*_amx row is tested";
}

TEST_P(FloatVsScalar, ScalarMatchesDequantizedReference) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  std::mt19937 rng(5 + int(f));
  const qbt::Shape s{7, 333, 3};
  const auto w = to_format(f, make_values(size_t(s.m * s.k), false, rng), s.m, s.k);
  const auto X = make_values(size_t(s.n * s.k), false, rng);
  const auto got = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
  std::vector<float> wf(size_t(s.m * s.k)), xf(size_t(s.n * s.k));
  qb::dequantize(f, w.data(), wf.data(), s.m, s.k);
  const auto xc = to_format(f, X, s.n, s.k);
  qb::dequantize(f, xc.data(), xf.data(), s.n, s.k);
  const auto mag = magnitudes(f, w, X, s);
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) {
      double ref = 0;
      for (int64_t i = 0; i < s.k; ++i) ref += double(wf[size_t(r * s.k + i)]) * xf[size_t(j * s.k + i)];
      EXPECT_NEAR(got[size_t(j * s.m + r)], ref, std::ldexp(1.0, -22) * mag[size_t(j * s.m + r)])
          << qb::traits(f).name << " row " << r << " col " << j;
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, FloatVsScalar, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(qb::traits(info.param).name); });

}  // namespace
