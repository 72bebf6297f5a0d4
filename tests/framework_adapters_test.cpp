// The framework adapters with variants of their own: subprocess (kernels/peers/frameworks.cpp and
// workers/*_worker.py) and in process (kernels/peers/mlx.cpp), every variant on a small shape
// (n = 1 and a few, 2 threads): the framework's weights as it decodes them are within the
// quantization bound of their bit width of the F32 weights; its output equals W_hat X within its
// activation precision; and against the F32 product within the bound that follows from both.
// Skips, with the reason, when a framework's packages are absent.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "matmul_reference.h"
#include "qb/peers.h"

using namespace qb;

namespace {

// A framework, how it runs, and the shape its variants are checked on (odd m and n for mlx: no
// dimension a multiple of a SIMD width beyond the group size k needs).
struct Case {
  const char* name;
  const char* mode;
  int64_t m, k, max_n;
  double act_tol;  // max |y - W_hat x| / rms with F32 activations (8-bit activations: 5e-2)
};

std::vector<float> gaussian(size_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

void check_framework(const Case& fc) {
  const char* name = fc.name;
  const int64_t m = fc.m, k = fc.k, max_n = fc.max_n;
  const bool in_process = std::string(fc.mode) == "in-process";
  const PeerBackend* p = find_peer(name);
  ASSERT_NE(p, nullptr) << name << " is not in the peer registry";
  EXPECT_EQ(p->kind, "framework");
  EXPECT_EQ(p->mode, fc.mode);
  if (!p->available) GTEST_SKIP() << name << " unavailable: " << p->missing;
  ASSERT_TRUE(p->variants && p->create_variant);
  const auto w = gaussian(size_t(m * k), 0.02f, 11);
  const auto x = gaussian(size_t(max_n * k), 1.f, 12);
  const auto variants = p->variants();
  ASSERT_FALSE(variants.empty());
  for (const auto& v : variants) {
    SCOPED_TRACE(std::string(name) + ":" + v.name);
    auto mm = p->create_variant(v.name, w.data(), m, k, max_n, 2);
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
    const double bpw = 8.0 * double(mm->weight_bytes()) / double(m * k);
    EXPECT_GE(bpw, v.bits);
    EXPECT_LE(bpw, v.bits + 2.5);
    // Output: n = 1 and n = max_n; the framework call's own time reported; a subprocess
    // adapter's protocol overhead measured (none in process).
    const double act_tol = v.act_bits < 32 ? 5e-2 : fc.act_tol;
    for (int64_t n : {int64_t(1), max_n}) {
      std::vector<float> y(size_t(n * m), NAN);
      mm->run(x.data(), n, y.data());
      EXPECT_GT(mm->last_run_seconds(), 0);
      EXPECT_LE(qbt::matmul_rel_err(y, w_hat, x, m, k, n), act_tol) << "n=" << n << " vs the framework's own W_hat";
      EXPECT_LE(qbt::matmul_rel_err(y, w, x, m, k, n), 5 * bound + act_tol) << "n=" << n << " vs the F32 weights";
    }
    if (in_process) {
      EXPECT_LT(mm->protocol_overhead_seconds(), 0);
    } else {
      EXPECT_GE(mm->protocol_overhead_seconds(), 0);
    }
    // A rotation copy (made here, in process) computes the same as its original, bit for bit.
    if (auto c = in_process ? mm->clone() : nullptr) {
      std::vector<float> y0(size_t(max_n * m)), y1(y0.size());
      mm->run(x.data(), max_n, y0.data());
      c->run(x.data(), max_n, y1.data());
      EXPECT_EQ(y0, y1) << "clone";
    }
  }
}

}  // namespace

// Subprocess frameworks may compute in reduced precision inside (5e-3); MLX's CPU quantized_matmul
// accumulates the dequantized weights in F32 (~1e-6 here), so 1e-4 catches a wrong group or bias.
TEST(FrameworkAdapters, OnnxRuntime) { check_framework({"onnxruntime", "subprocess", 64, 256, 4, 5e-3}); }
TEST(FrameworkAdapters, OpenVino) { check_framework({"openvino", "subprocess", 64, 256, 4, 5e-3}); }
TEST(FrameworkAdapters, Mlx) { check_framework({"mlx", "in-process", 37, 384, 3, 1e-4}); }

// MLX's variants: bits 2/3/4/6/8 x group 32/64/128 affine and mxfp4, mapped to qbench formats by bit
// width; GEMM only on the default variant. A k that is no multiple of the group is refused by name.
TEST(FrameworkAdapters, MlxVariantsAndRefusals) {
  const PeerBackend* p = find_peer("mlx");
  ASSERT_NE(p, nullptr);
  if (!p->available) {
    EXPECT_FALSE(p->missing.empty());
    EXPECT_FALSE(p->variants || p->create_variant) << "an unavailable backend must not offer variants";
    GTEST_SKIP() << "mlx unavailable: " << p->missing;
  }
  const auto vs = p->variants();
  ASSERT_EQ(vs.size(), 16u);
  int gemm = 0;
  for (const auto& v : vs) {
    SCOPED_TRACE(v.name);
    const FormatId want = v.name == "mxfp4_g32"    ? FormatId::MXFP4
                          : v.bits == 8            ? FormatId::INT8_PC
                          : v.bits == 6            ? FormatId::Q6_K
                          : v.bits == 3            ? FormatId::Q3_K
                          : v.bits == 2            ? FormatId::Q2_K
                          : v.name.ends_with("32") ? FormatId::INT4_G32
                          : v.name.ends_with("64") ? FormatId::INT4_G64
                                                   : FormatId::INT4_G128;
    EXPECT_EQ(v.format, want);
    EXPECT_EQ(v.act_bits, 32);
    gemm += v.no_gemm.empty();
  }
  EXPECT_EQ(gemm, 1);
  const auto w = gaussian(size_t(4 * 96), 0.02f, 3);
  try {
    p->create_variant("affine_b4_g64", w.data(), 4, 96, 1, 1);
    ADD_FAILURE() << "k=96 with group 64 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("k=96"), std::string::npos) << e.what();
  }
  EXPECT_THROW(p->create_variant("affine_b5_g64", w.data(), 4, 96, 1, 1), std::invalid_argument);
}

TEST(FrameworkAdapters, QnnListedUnavailableWithTheReason) {
  const PeerBackend* p = find_peer("qnn");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->available);
  EXPECT_NE(p->missing.find("Snapdragon"), std::string::npos) << p->missing;
  EXPECT_FALSE(p->create || p->create_variant) << "no untested adapter code";
}
