// model/kld.h against direct long-double computations on synthetic logits: the top-k + remainder
// KLD, its bound on the full-vocabulary KLD, statistics, and the base file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "model/kld.h"
#include "qb/command.h"

namespace qb::model {
namespace {

using LD = long double;

// Softmax in long double, the max subtracted: the reference every check compares with.
std::vector<LD> softmax_ld(const std::vector<float>& x) {
  const LD mx = *std::max_element(x.begin(), x.end());
  std::vector<LD> p(x.size());
  LD s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += p[i] = std::exp(LD(x[i]) - mx);
  for (auto& v : p) v /= s;
  return p;
}

// The bucketed KLD computed directly: top-k of p by (value desc, id asc), one bucket for the rest.
LD bucket_kld_ld(const std::vector<float>& a, const std::vector<float>& b, int k) {
  const auto p = softmax_ld(a), q = softmax_ld(b);
  std::vector<int> idx(a.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int i, int j) { return a[i] > a[j]; });
  LD kld = 0, pr = 0, qr = 0;
  for (size_t r = 0; r < idx.size(); ++r) {
    const int i = idx[r];
    if (int(r) < k) {
      if (p[i] > 0) kld += p[i] * std::log(p[i] / q[i]);
    } else {
      pr += p[i];
      qr += q[i];
    }
  }
  if (pr > 0) kld += pr * std::log(pr / qr);
  return kld;
}

LD full_kld_ld(const std::vector<float>& a, const std::vector<float>& b) {
  const auto p = softmax_ld(a), q = softmax_ld(b);
  LD kld = 0;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0) kld += p[i] * std::log(p[i] / q[i]);
  return kld;
}

std::vector<float> random_logits(int64_t n, uint64_t seed, float scale, float offset = 0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = d(g) + offset;
  return x;
}

std::vector<float> perturb(std::vector<float> x, uint64_t seed, float sigma) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  for (auto& v : x) v += d(g);
  return x;
}

TEST(Kld, SameLogitsGiveExactlyZero) {
  const auto x = random_logits(5000, 1, 3.0f);
  const BaseToken b = make_base_token(x.data(), int64_t(x.size()), 17);
  const TokenComparison c = compare_token(b, x.data(), int64_t(x.size()), 17);
  EXPECT_EQ(c.kld, 0.0);
  EXPECT_TRUE(c.top1_same);
  EXPECT_EQ(c.p_model, c.p_base);
  EXPECT_NEAR(c.p_base, double(softmax_ld(x)[17]), 1e-15);
  EXPECT_EQ(kld_full(x.data(), x.data(), int64_t(x.size())), 0.0);
}

TEST(Kld, TopKMatchesDirectComputationAndBoundsFullKld) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const int64_t n = 2000 + int64_t(seed) * 37;
    const auto a = random_logits(n, seed, 2.0f + float(seed % 5));
    const auto q = perturb(a, seed + 100, 0.05f * float(seed));
    const int32_t tok = int32_t(seed * 13 % uint64_t(n));
    const BaseToken b = make_base_token(a.data(), n, tok);
    const TokenComparison c = compare_token(b, q.data(), n, tok);
    const LD ref = bucket_kld_ld(a, q, kKldTopK), full = full_kld_ld(a, q);
    EXPECT_NEAR(c.kld, double(ref), 1e-12 + 1e-9 * double(ref)) << "seed " << seed;
    EXPECT_LE(c.kld, double(full) * (1 + 1e-9) + 1e-15) << "the bucketed KLD must not exceed the full one";
    EXPECT_NEAR(kld_full(a.data(), q.data(), n), double(full), 1e-12 + 1e-9 * double(full));
    EXPECT_GT(c.kld, 0.0);
    // The true token's probabilities and the NLL.
    EXPECT_NEAR(c.p_model, double(softmax_ld(q)[size_t(tok)]), 1e-14);
    EXPECT_NEAR(c.nll, -std::log(double(softmax_ld(q)[size_t(tok)])), 1e-10);
    // The top-1 verdict against the argmax computed here.
    const int32_t am = int32_t(std::max_element(q.begin(), q.end()) - q.begin());
    EXPECT_EQ(c.top1_same, b.ids[0] == am);
  }
}

TEST(Kld, BaseRecordHoldsTopKInOrderAndTheRemainder) {
  const auto x = random_logits(1000, 7, 4.0f);
  const BaseToken b = make_base_token(x.data(), 1000, 3);
  const auto p = softmax_ld(x);
  std::vector<int> idx(1000);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int i, int j) { return x[i] > x[j]; });
  LD top = 0;
  for (int i = 0; i < kKldTopK; ++i) {
    EXPECT_EQ(b.ids[i], idx[i]);
    EXPECT_NEAR(b.logp[i], double(std::log(p[idx[i]])), 1e-12);
    top += p[idx[i]];
  }
  EXPECT_NEAR(b.logp_rest, double(std::log(1 - top)), 1e-10);
  EXPECT_NEAR(b.logp_true, double(std::log(p[3])), 1e-12);
}

TEST(Kld, VocabularySmallerThanKHasNoRemainderAndIsExact) {
  const std::vector<float> a = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f}, q = {0.0f, 2.5f, -2.0f, 0.5f, 2.0f};
  const BaseToken b = make_base_token(a.data(), 5, 1);
  EXPECT_EQ(b.ids[5], -1);
  EXPECT_TRUE(std::isinf(b.logp_rest) && b.logp_rest < 0);
  const TokenComparison c = compare_token(b, q.data(), 5, 1);
  EXPECT_NEAR(c.kld, double(full_kld_ld(a, q)), 1e-15);
  EXPECT_FALSE(c.top1_same);  // argmax 4 vs 1
}

TEST(Kld, TiesAndUniformLogits) {
  const std::vector<float> u(100, 0.25f);
  const BaseToken b = make_base_token(u.data(), 100, 50);
  for (int i = 0; i < kKldTopK; ++i) {
    EXPECT_EQ(b.ids[i], i);  // equal logits: lower id first
    EXPECT_NEAR(b.logp[i], -std::log(100.0), 1e-14);
  }
  EXPECT_NEAR(b.logp_rest, std::log(double(100 - kKldTopK) / 100.0), 1e-14);
  // Uniform base against a peaked model: KLD = log(n) - H-cross terms, checked directly.
  auto q = u;
  q[7] = 5.0f;
  EXPECT_NEAR(compare_token(b, q.data(), 100, 50).kld, double(bucket_kld_ld(u, q, kKldTopK)), 1e-13);
}

TEST(Kld, ExtremeLogitsStayFinite) {
  // Large magnitudes and offsets: exp without the max subtracted would overflow float and double.
  auto a = random_logits(3000, 11, 30.0f, 1.0e4f);
  auto q = perturb(a, 12, 5.0f);
  a[42] = 2.0e4f;  // one dominant token
  const BaseToken b = make_base_token(a.data(), 3000, 42);
  const TokenComparison c = compare_token(b, q.data(), 3000, 42);
  EXPECT_TRUE(std::isfinite(c.kld));
  EXPECT_NEAR(c.kld, double(bucket_kld_ld(a, q, kKldTopK)), 1e-9 * std::max(1.0, std::fabs(c.kld)));
  EXPECT_NEAR(c.p_base, 1.0, 1e-12);
  EXPECT_TRUE(std::isfinite(log_sum_exp(a.data(), 3000)));
  EXPECT_NEAR(log_sum_exp(a.data(), 3000), 2.0e4, 1e-6);
}

TEST(Kld, ModelWithoutMassWhereTheBaseHasSomeIsInfinite) {
  // The base spreads mass outside its top k; the model puts all of its mass on one token, so the
  // remainder underflows to 0 in double: KL is infinite, as the direct computation says.
  const std::vector<float> a(200, 0.0f);
  std::vector<float> q(200, -1.0e6f);
  q[0] = 0.0f;
  const BaseToken b = make_base_token(a.data(), 200, 0);
  EXPECT_TRUE(std::isinf(compare_token(b, q.data(), 200, 0).kld));
}

TEST(Kld, AccumulatorStatistics) {
  // Hand-made comparisons: two chunks, known values.
  KldAccumulator acc;
  const double klds[] = {0.1, 0.4, 0.2, 0.0, 0.3, 0.5};
  const double pm[] = {0.5, 0.2, 0.9, 0.4, 0.3, 0.6}, pb[] = {0.4, 0.3, 0.8, 0.4, 0.5, 0.6};
  for (int i = 0; i < 6; ++i) {
    TokenComparison c;
    c.kld = klds[i];
    c.top1_same = i % 3 != 0;
    c.p_model = pm[i];
    c.p_base = pb[i];
    c.nll = -std::log(pm[i]);
    acc.add(c, -std::log(pb[i]));
    if (i == 2 || i == 5) acc.end_chunk();
  }
  const KldStats s = acc.stats();
  EXPECT_EQ(s.n, 6);
  EXPECT_NEAR(s.kld_mean, 0.25, 1e-15);
  // stderr = sd / sqrt(n) with sd^2 = sum (x - 0.25)^2 / 5 = 0.175 / 5
  EXPECT_NEAR(s.kld_stderr, std::sqrt(0.175 / 5 / 6), 1e-15);
  EXPECT_NEAR(s.kld_median, 0.25, 1e-15);
  EXPECT_NEAR(s.kld_max, 0.5, 0);
  EXPECT_NEAR(s.kld_p90, 0.45, 1e-15);  // rank 4.5 of sorted {0,.1,.2,.3,.4,.5}
  EXPECT_NEAR(s.top1_agreement, 4.0 / 6.0, 1e-15);
  double dp = 0, dp2 = 0, lm = 0, lb = 0;
  for (int i = 0; i < 6; ++i) {
    dp += pm[i] - pb[i];
    dp2 += (pm[i] - pb[i]) * (pm[i] - pb[i]);
    lm += -std::log(pm[i]);
    lb += -std::log(pb[i]);
  }
  EXPECT_NEAR(s.delta_p_mean, dp / 6, 1e-15);
  EXPECT_NEAR(s.delta_p_rms, std::sqrt(dp2 / 6), 1e-15);
  EXPECT_NEAR(s.ppl_model, std::exp(lm / 6), 1e-12);
  EXPECT_NEAR(s.ppl_base, std::exp(lb / 6), 1e-12);
  EXPECT_NEAR(s.ppl_ratio, s.ppl_model / s.ppl_base, 1e-12);
  // Two chunks: the correlation of two points is +1 or -1.
  const double c1m = -(std::log(0.5) + std::log(0.2) + std::log(0.9)) / 3,
               c2m = -(std::log(0.4) + std::log(0.3) + std::log(0.6)) / 3;
  const double c1b = -(std::log(0.4) + std::log(0.3) + std::log(0.8)) / 3,
               c2b = -(std::log(0.4) + std::log(0.5) + std::log(0.6)) / 3;
  EXPECT_EQ(s.ln_ppl_correlation, ((c2m - c1m) * (c2b - c1b) > 0) ? 1.0 : -1.0);
}

TEST(Kld, OneChunkHasNoCorrelationAndEmptyIsEmpty) {
  KldAccumulator acc;
  EXPECT_EQ(acc.stats().n, 0);
  TokenComparison c;
  c.p_model = c.p_base = 0.5;
  c.nll = std::log(2.0);
  acc.add(c, std::log(2.0));
  acc.end_chunk();
  const KldStats s = acc.stats();
  EXPECT_TRUE(std::isnan(s.ln_ppl_correlation));
  EXPECT_EQ(s.ppl_ratio, 1.0);
}

TEST(Kld, BaseFileRoundTripAndRefusals) {
  const auto dir = std::filesystem::temp_directory_path() / ("qb_kld_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "base.bin").string();
  KldBase b;
  b.model_id = "test model";
  b.tokens_hash = hash_tokens({1, 2, 3});
  b.n_vocab = 300;
  b.n_ctx = 8;
  b.n_chunks = 2;
  b.per_chunk = 3;
  for (int i = 0; i < 6; ++i) {
    const auto x = random_logits(300, uint64_t(i + 1), 2.0f);
    b.tokens.push_back(make_base_token(x.data(), 300, i));
  }
  write_kld_base(path, b);
  const KldBase r = read_kld_base(path);
  EXPECT_EQ(r.model_id, b.model_id);
  EXPECT_EQ(r.tokens_hash, b.tokens_hash);
  EXPECT_NE(hash_tokens({1, 2, 3}), hash_tokens({1, 2, 4}));
  ASSERT_EQ(r.tokens.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(r.tokens[size_t(i)].ids[0], b.tokens[size_t(i)].ids[0]);
    EXPECT_EQ(r.tokens[size_t(i)].logp_true, b.tokens[size_t(i)].logp_true);
  }
  // Truncated and foreign files are refused with a UsageError.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  EXPECT_THROW(read_kld_base(path), UsageError);
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a base file at all, really not"; }
  EXPECT_THROW(read_kld_base(path), UsageError);
  EXPECT_THROW(read_kld_base((dir / "missing.bin").string()), UsageError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qb::model
