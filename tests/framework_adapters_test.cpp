// The subprocess framework adapters (kernels/peers/frameworks.cpp and workers/*_worker.py), every
// variant on a small shape (64 x 256, n = 1 and 4, 2 threads): the framework's weights as it
// decodes them are within the quantization bound of their bit width of the F32 weights; its
// output equals W_hat X within its activation precision; and against the F32 product within the
// bound that follows from both. Skips, with the reason, when a framework's packages are absent.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "qb/peers.h"

using namespace qb;

namespace {

constexpr int64_t kM = 64, kK = 256, kMaxN = 4;

std::vector<float> gaussian(size_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// max |y - ref| / rms(ref), ref = A (kM x kK) times X (n x kK) in double.
double rel_err(const std::vector<float>& y, const std::vector<float>& a, const std::vector<float>& x, int64_t n) {
  double ss = 0, mx = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < kM; ++r) {
      double ref = 0;
      for (int64_t c = 0; c < kK; ++c) ref += double(a[size_t(r * kK + c)]) * x[size_t(j * kK + c)];
      ss += ref * ref;
      mx = std::max(mx, std::fabs(double(y[size_t(j * kM + r)]) - ref));
    }
  return mx / std::sqrt(ss / double(n * kM));
}

void check_framework(const char* name) {
  const PeerBackend* p = find_peer(name);
  ASSERT_NE(p, nullptr) << name << " is not in the peer registry";
  EXPECT_EQ(p->kind, "framework");
  EXPECT_EQ(p->mode, "subprocess");
  if (!p->available) GTEST_SKIP() << name << " unavailable: " << p->missing;
  ASSERT_TRUE(p->variants && p->create_variant);
  const auto w = gaussian(size_t(kM * kK), 0.02f, 11);
  const auto x = gaussian(size_t(kMaxN * kK), 1.f, 12);
  const auto variants = p->variants();
  ASSERT_FALSE(variants.empty());
  for (const auto& v : variants) {
    SCOPED_TRACE(std::string(name) + ":" + v.name);
    auto mm = p->create_variant(v.name, w.data(), kM, kK, kMaxN, 2);
    ASSERT_TRUE(mm);
    std::vector<float> w_hat;
    ASSERT_TRUE(mm->dequantized(w_hat));
    ASSERT_EQ(w_hat.size(), w.size());
    // Weights: relative Frobenius error of a b-bit quantizer over groups of Gaussian weights is
    // about 2^-b; 1.5 * 2^(1-b) bounds every format here (affine, symmetric, NF4, E2M1).
    double se = 0, sw = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      const double d = double(w_hat[i]) - w[i];
      se += d * d;
      sw += double(w[i]) * w[i];
    }
    const double frob = std::sqrt(se / sw);
    const double bound = v.bits >= 32 ? 1e-6 : 1.5 * std::ldexp(1.0, 1 - v.bits);
    EXPECT_LE(frob, bound) << v.bits << "-bit weights";
    if (v.bits < 32) {
      EXPECT_GT(frob, 0) << "quantized weights identical to F32";
    }
    // Storage: at least the stored bits, at most 2.5 bits more of scales, biases and zero points.
    const double bpw = 8.0 * double(mm->weight_bytes()) / double(kM * kK);
    EXPECT_GE(bpw, v.bits);
    EXPECT_LE(bpw, v.bits + 2.5);
    // Output: n = 1 and n = kMaxN; in-worker time reported; the protocol's overhead measured.
    const double act_tol = v.act_bits < 32 ? 5e-2 : 5e-3;
    for (int64_t n : {int64_t(1), kMaxN}) {
      std::vector<float> y(size_t(n * kM), NAN);
      mm->run(x.data(), n, y.data());
      EXPECT_GT(mm->last_run_seconds(), 0);
      EXPECT_LE(rel_err(y, w_hat, x, n), act_tol) << "n=" << n << " vs the framework's own W_hat";
      EXPECT_LE(rel_err(y, w, x, n), 5 * bound + act_tol) << "n=" << n << " vs the F32 weights";
    }
    EXPECT_GE(mm->protocol_overhead_seconds(), 0);
  }
}

}  // namespace

TEST(FrameworkAdapters, OnnxRuntime) { check_framework("onnxruntime"); }
TEST(FrameworkAdapters, OpenVino) { check_framework("openvino"); }
TEST(FrameworkAdapters, Mlx) { check_framework("mlx"); }

TEST(FrameworkAdapters, QnnListedUnavailableWithTheReason) {
  const PeerBackend* p = find_peer("qnn");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->available);
  EXPECT_NE(p->missing.find("Snapdragon"), std::string::npos) << p->missing;
  EXPECT_FALSE(p->create || p->create_variant) << "no untested adapter code";
}
