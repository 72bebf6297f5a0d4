// The `ggml` framework adapter (kernels/peers/ggml.cpp): ggml's quantizer writes qbench's codec
// bytes, its mul_mat agrees with qbench's scalar kernel within the bound the activation
// quantizers allow, and without the library it is listed unavailable with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/peers.h"

#if defined(QB_HAVE_GGML)
#include <ggml-cpu.h>
#include <ggml.h>
#endif

using namespace qb;

namespace {

const PeerBackend& ggml_peer() {
  const PeerBackend* p = find_peer("ggml");
  if (!p) throw std::runtime_error("no ggml entry in the peer registry");
  return *p;
}

// Gaussian weights with a few outliers per row (the case where quantizers' choices differ most).
// Unused in a build without libggml (its tests compile out).
[[maybe_unused]] std::vector<float> weights(int64_t m, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 0.02f);
  std::vector<float> w(size_t(m * k));
  for (auto& v : w) v = nd(rng);
  for (int64_t r = 0; r < m; ++r) w[size_t(r * k + (r * 37) % k)] = (r % 2 ? 0.4f : -0.3f);
  return w;
}

}  // namespace

TEST(GgmlAdapter, ListedAsFrameworkWithVersionOrReason) {
  const PeerBackend& p = ggml_peer();
  EXPECT_EQ(p.kind, "framework");
  EXPECT_EQ(p.mode, "in-process");
  if (p.available) {
#if defined(QB_HAVE_GGML)
    EXPECT_NE(p.version.find(ggml_version()), std::string::npos) << p.version;
#endif
    EXPECT_NE(p.version.find("llama-cpp-python"), std::string::npos) << p.version;
    ASSERT_TRUE(p.native_name);
    EXPECT_EQ(p.native_name(FormatId::Q4_K), "q4_K");
    for (FormatId f : p.formats) EXPECT_GE(traits(f).gguf_type, 0) << "ggml runs GGUF types only";
  }
}

TEST(GgmlAdapter, UnavailableWithReasonWhenLibraryAbsent) {
  const PeerBackend& p = ggml_peer();
  if (p.available) GTEST_SKIP() << "libggml is present in this build (" << p.version << "): absent path not reachable";
  EXPECT_FALSE(p.missing.empty());
  EXPECT_TRUE(p.formats.empty());
  EXPECT_FALSE(p.create) << "an unavailable backend must not offer a create()";
}

#if defined(QB_HAVE_GGML)
// ggml_quantize_chunk and qbench's codec write the same bytes (qbench's codecs follow ggml's
// reference quantizers); odd row count, several blocks per row.
TEST(GgmlAdapter, QuantizedBytesEqualQbenchCodec) {
  const PeerBackend& p = ggml_peer();
  ASSERT_TRUE(p.available) << p.missing;
  const int64_t m = 7, k = 3 * 256;
  const auto w = weights(m, k, 11);
  for (FormatId f : p.formats) {
    const FormatTraits& t = traits(f);
    const auto gt = ggml_type(t.gguf_type);
    ASSERT_EQ(ggml_row_size(gt, k), t.row_bytes(k)) << t.name;
    std::vector<uint8_t> mine(size_t(m) * t.row_bytes(k) + 64, 0), theirs(mine.size(), 0);
    quantize(f, w.data(), mine.data(), m, k);
    ggml_quantize_chunk(gt, w.data(), theirs.data(), 0, m, k, nullptr);
    size_t differ = 0;
    for (size_t i = 0; i < size_t(m) * t.row_bytes(k); ++i) differ += mine[i] != theirs[i];
    EXPECT_EQ(differ, 0u) << t.name << ": bytes differing from ggml_quantize_chunk";
  }
}

// Bound on |y_ggml - y_qbench| for one row when both multiply the same weights: each side
// quantizes the activations to its own activation type, each element to within half a step,
// and float accumulation order differs. With w the dequantized weights:
//   sum_i |w_i| * (step_a(i)/2 + step_b(i)/2) + 1e-5 * sum_i |w_i x_i|.
double act_step(FormatId act_qb, ggml_type act_ggml, const float* x, int64_t i, int64_t k, bool qbench_side) {
  auto q8_step = [&](int64_t block) {
    const int64_t b0 = i / block * block;
    float a = 0;
    for (int64_t c = b0; c < std::min(k, b0 + block); ++c) a = std::max(a, std::fabs(x[c]));
    return double(a) / 127.0;
  };
  const double ax = std::fabs(x[i]);
  if (qbench_side) {
    switch (act_qb) {
      case FormatId::Q8_0:
      case FormatId::Q8_1:
        return q8_step(32);
      case FormatId::Q8_K:
        return q8_step(256);
      case FormatId::F16:
        return ax * std::ldexp(1.0, -10);
      case FormatId::BF16:
        return ax * std::ldexp(1.0, -7);
      default:
        return 0;
    }
  }
  switch (act_ggml) {
    case GGML_TYPE_Q8_0:
    case GGML_TYPE_Q8_1:
      return q8_step(32);
    case GGML_TYPE_Q8_K:
      return q8_step(256) * 128.0 / 127.0;  // ggml's Q8_K scales by -128/max
    case GGML_TYPE_F16:
      return ax * std::ldexp(1.0, -10);
    case GGML_TYPE_BF16:
      return ax * std::ldexp(1.0, -7);
    default:
      return 0;
  }
}

TEST(GgmlAdapter, MulMatEqualsQbenchScalarKernelOnOddShapes) {
  const PeerBackend& p = ggml_peer();
  ASSERT_TRUE(p.available) << p.missing;
  const int64_t m = 37, k = 3 * 256;
  const auto w = weights(m, k, 23);
  std::mt19937 rng(5);
  std::normal_distribution<float> nx(0.f, 1.f);
  std::vector<float> X(size_t(5 * k));
  for (auto& v : X) v = nx(rng);
  int compared = 0;
  for (FormatId f : p.formats) {
    const FormatTraits& t = traits(f);
    const MatmulKernel* sk = find_kernel(f, BackendId::Scalar);
    if (!sk) continue;  // no scalar kernel to compare with (reported below by the count)
    std::vector<uint8_t> wq(size_t(m) * t.row_bytes(k) + 64, 0);
    quantize(f, w.data(), wq.data(), m, k);
    std::vector<float> deq(size_t(m * k));
    dequantize(f, wq.data(), deq.data(), m, k);
    const ggml_type vd = ggml_get_type_traits_cpu(ggml_type(t.gguf_type))->vec_dot_type;
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(5)})
      for (int threads : {1, 2}) {
        auto mm = p.create(f, w.data(), m, k, n, threads);
        ASSERT_TRUE(mm) << t.name;
        EXPECT_EQ(mm->weight_bytes(), size_t(m) * t.row_bytes(k)) << t.name;
        std::vector<float> yg(size_t(n * m), NAN), yq(size_t(n * m), NAN);
        mm->run(X.data(), n, yg.data());
        std::vector<uint8_t> xq(size_t(n) * sk->act_row_bytes(k) + 64, 0);
        matmul(*sk, wq.data(), m, k, X.data(), n, yq.data(), m, xq.data());
        for (int64_t j = 0; j < n; ++j)
          for (int64_t r = 0; r < m; ++r) {
            const float* x = X.data() + j * k;
            double bound = 0, mag = 0;
            for (int64_t i = 0; i < k; ++i) {
              const double aw = std::fabs(deq[size_t(r * k + i)]);
              bound += aw * 0.5 * (act_step(sk->act, vd, x, i, k, true) + act_step(sk->act, vd, x, i, k, false));
              mag += aw * std::fabs(x[i]);
            }
            bound += 1e-5 * mag;
            const double d = std::fabs(double(yg[size_t(j * m + r)]) - double(yq[size_t(j * m + r)]));
            ASSERT_LE(d, bound) << t.name << " n=" << n << " threads=" << threads << " row " << r << " col " << j
                                << ": ggml " << yg[size_t(j * m + r)] << " qbench " << yq[size_t(j * m + r)];
          }
        // A clone holds the same weights in memory of its own and computes the same.
        auto c = mm->clone();
        ASSERT_TRUE(c);
        std::vector<float> yc(size_t(n * m), NAN);
        c->run(X.data(), n, yc.data());
        EXPECT_EQ(yc, yg) << t.name;
      }
    ++compared;
  }
  EXPECT_GE(compared, 15) << "formats compared with a scalar kernel";
}

TEST(GgmlAdapter, RefusesWhatItDoesNotRun) {
  const PeerBackend& p = ggml_peer();
  ASSERT_TRUE(p.available) << p.missing;
  const auto w = weights(4, 256, 3);
  EXPECT_FALSE(p.create(FormatId::Q8_K, w.data(), 4, 256, 1, 1)) << "Q8_K is an activation type in ggml";
  EXPECT_FALSE(p.create(FormatId::INT4_G32, w.data(), 4, 256, 1, 1)) << "not a GGUF type";
  EXPECT_FALSE(p.create(FormatId::Q4_K, w.data(), 4, 128, 1, 1)) << "k not a multiple of 256";
}
#endif
