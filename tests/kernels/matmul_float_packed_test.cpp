// Packed float kernels (float_packed_avx2.cpp: weights repacked by MatmulKernel::pack) against
// the scalar oracle on the unpacked bytes, and pack() against an independent computation of
// where each original byte lands.
//
// Tolerances as matmul_float_test.cpp: exact mode (small integers, every sum exact in fp32) must
// equal the scalar kernel bit for bit; random mode within (k + 32) * 2^-24 * sum|w x| (the scalar
// oracle sums in double, the kernel in fp32 lanes).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "kernels/matmul_test_util.h"

#if defined(__x86_64__)
namespace {

using qb::FormatId;

// Why the packed AVX2 rows cannot run here ("" when they can).
std::string packed_unavailable() {
  const uint32_t need = qb::isa::kAvx2 | qb::isa::kFma | qb::isa::kF16c;
  return qb::isa_granted(need, qb::cpu_features().isa_mask()) ? "" : "CPU lacks AVX2/FMA/F16C";
}

// float_packed_avx2.cpp's row for f (find_packed_kernel would hide it under QB_NO_REPACK=1).
const qb::MatmulKernel& packed_row(FormatId f) {
  const auto rows = qbt::packed_kernels(f);
  if (rows.size() != 1) throw std::runtime_error("expected one packed row for " + std::string(qb::traits(f).name));
  return *rows[0];
}

std::vector<uint8_t> random_format(FormatId f, int64_t rows, int64_t k, bool exact, std::mt19937& rng) {
  std::vector<float> v(size_t(rows * k));
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> q(-16, 16);
  for (auto& e : v) e = exact ? float(q(rng)) : nd(rng);
  std::vector<uint8_t> out(qb::traits(f).row_bytes(k) * size_t(rows));
  qb::quantize(f, v.data(), out.data(), rows, k, "test weights");
  return out;
}

class Packed : public ::testing::TestWithParam<FormatId> {};

// Row r's element i lands in group r / 16 at element i * 16 + s, where s counts the row within its
// group (F32/F16) or, for BF16, interleaves the halves: rows 0..7 at even s, rows 8..15 at odd s.
TEST_P(Packed, PackPlacesEveryByte) {
  const std::string why = packed_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  const FormatId f = GetParam();
  const auto& kern = packed_row(f);
  ASSERT_EQ(kern.pack_rows, 16);
  const size_t eb = qb::traits(f).row_bytes(1);
  for (const int64_t m : {1, 7, 13, 16, 37})
    for (const int64_t k : {1, 5, 37}) {
      const size_t stride = eb * size_t(k);
      std::vector<uint8_t> w(stride * size_t(m));
      for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t(1 + i % 251);  // never 0: padding is
      const size_t size = size_t((m + 15) / 16 * 16) * stride;
      ASSERT_EQ(qb::packed_bytes(kern, m, k), size) << kern.name << " m=" << m << " k=" << k;
      std::vector<uint8_t> got(size + 64, 0xEE);
      kern.pack(w.data(), stride, m, k, got.data());
      std::vector<uint8_t> want(size, 0);
      for (int64_t r = 0; r < m; ++r)
        for (int64_t i = 0; i < k; ++i) {
          const int64_t in_group = r % 16;
          const int64_t s = f == FormatId::BF16 ? (in_group % 8) * 2 + in_group / 8 : in_group;
          const size_t at = size_t(r / 16) * 16 * stride + size_t(i * 16 + s) * eb;
          std::memcpy(want.data() + at, w.data() + size_t(r) * stride + size_t(i) * eb, eb);
        }
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << kern.name << " m=" << m << " k=" << k << " byte " << i;
      for (size_t i = want.size(); i < got.size(); ++i)
        ASSERT_EQ(got[i], 0xEE) << kern.name << " wrote past the packed size, byte " << i;
    }
}

// compute() on the packed bytes vs the scalar kernel on the unpacked ones: through qb::matmul
// (its row chunks are multiples of 16; 1 and 2 threads) and directly on sub-ranges [r0, r1).
TEST_P(Packed, MatchesScalar) {
  const std::string why = packed_unavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  const FormatId f = GetParam();
  const auto& kern = packed_row(f);
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  std::mt19937 rng(11 + int(f));
  std::vector<qbt::Shape> shapes;
  for (const int64_t m : {1, 7, 13, 37})
    for (const int64_t k : {1, 37, 333})
      for (const int64_t n : {1, 3, 5, 17}) shapes.push_back({m, k, n});
  shapes.push_back({40, 5000, 17});  // several k-blocks (the panel of 17 columns holds 1927 steps)
  shapes.push_back({7, 9000, 1});    // GEMV, long rows
  shapes.push_back({70, 300, 64});   // matmul's GEMM tasks
  shapes.push_back({100, 333, 1});   // r0=16: GEMV four groups at once, then single groups
  shapes.push_back({80, 33000, 1});  // and over two k-blocks (32768 steps each at n = 1)
  for (const bool exact : {true, false})
    for (const qbt::Shape& s : shapes) {
      const auto w = random_format(f, s.m, s.k, exact, rng);
      const auto xb = random_format(FormatId::F32, s.n, s.k, exact, rng);
      std::vector<float> X(size_t(s.n * s.k));
      std::memcpy(X.data(), xb.data(), xb.size());
      const size_t stride = qb::traits(f).row_bytes(s.k);
      std::vector<uint8_t> packed(qb::packed_bytes(kern, s.m, s.k));
      kern.pack(w.data(), stride, s.m, s.k, packed.data());
      const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      // sum |w x| per output, for the random-mode bound.
      std::vector<float> wf(size_t(s.m * s.k)), xf(size_t(s.n * s.k));
      qb::dequantize(f, w.data(), wf.data(), s.m, s.k);
      std::vector<uint8_t> xc(stride * size_t(s.n));
      for (int64_t j = 0; j < s.n; ++j) scalar->quantize_act(X.data() + j * s.k, xc.data() + size_t(j) * stride, s.k);
      qb::dequantize(f, xc.data(), xf.data(), s.n, s.k);
      auto tol = [&](int64_t r, int64_t j) {
        if (exact) return 0.0;
        double a = 0;
        for (int64_t i = 0; i < s.k; ++i) a += std::fabs(double(wf[size_t(r * s.k + i)]) * xf[size_t(j * s.k + i)]);
        return (double(s.k) + 32) * std::ldexp(1.0, -24) * a;
      };
      auto check = [&](float got, int64_t r, int64_t j, const char* how) {
        const double t = tol(r, j);
        return std::fabs(double(got) - want[size_t(j * s.m + r)]) <= t
                   ? ::testing::AssertionSuccess()
                   : ::testing::AssertionFailure() << kern.name << (exact ? " exact " : " random ") << how << " "
                                                   << qbt::shape_name(s) << " row " << r << " col " << j << ": got "
                                                   << got << " want " << want[size_t(j * s.m + r)] << " tol " << t;
      };
      for (const bool threads : {false, true}) {
        const auto got = qbt::run_matmul(kern, packed.data(), packed.size(), X, s, threads, 2);
        for (int64_t j = 0; j < s.n; ++j)
          for (int64_t r = 0; r < s.m; ++r)
            ASSERT_TRUE(check(got[size_t(j * s.m + r)], r, j, threads ? "matmul 2 threads" : "matmul"));
      }
      // Sub-ranges: the second group alone and from the second group to m; untouched rows stay NaN.
      if (s.m <= 16) continue;
      for (const int64_t r1 : {int64_t(32) < s.m ? int64_t(32) : s.m, s.m}) {
        std::vector<float> y(size_t(s.n * s.m), std::nanf(""));
        kern.compute(s.k, packed.data(), stride, 16, r1, xc.data(), stride, s.n, y.data(), s.m);
        for (int64_t j = 0; j < s.n; ++j)
          for (int64_t r = 0; r < s.m; ++r) {
            const float g = y[size_t(j * s.m + r)];
            if (r >= 16 && r < r1)
              ASSERT_TRUE(check(g, r, j, "r0=16"));
            else
              ASSERT_TRUE(std::isnan(g)) << kern.name << " wrote row " << r << " outside [16, " << r1 << ")";
          }
      }
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, Packed, ::testing::Values(FormatId::F32, FormatId::F16, FormatId::BF16),
                         [](const auto& info) { return std::string(qb::traits(info.param).name); });

}  // namespace
#endif
