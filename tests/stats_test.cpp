// Statistics on fixed synthetic samples with exact expected values.
#include <gtest/gtest.h>

#include <cmath>

#include "qb/measure.h"
#include "qb/stats.h"

using qb::compute_stats;

TEST(Stats, ExactValuesOnFixedSamples) {
  const std::vector<double> s = {5, 1, 4, 2, 3};  // unsorted on purpose
  auto st = compute_stats(s);
  EXPECT_EQ(st.n, 5);
  EXPECT_DOUBLE_EQ(st.min, 1);
  EXPECT_DOUBLE_EQ(st.max, 5);
  EXPECT_DOUBLE_EQ(st.median, 3);
  EXPECT_DOUBLE_EQ(st.mean, 3);
  EXPECT_DOUBLE_EQ(st.stdev, std::sqrt(2.5));  // sample stdev of 1..5
  EXPECT_DOUBLE_EQ(st.cv, std::sqrt(2.5) / 3);
  EXPECT_DOUBLE_EQ(st.p90, 4.6);   // linear interpolation: rank 0.9*4 = 3.6
  EXPECT_DOUBLE_EQ(st.p99, 4.96);  // rank 3.96
  EXPECT_LE(st.median_ci_lo, st.median);
  EXPECT_GE(st.median_ci_hi, st.median);
}

TEST(Stats, EvenCountMedian) {
  auto st = compute_stats({10, 20, 30, 40});
  EXPECT_DOUBLE_EQ(st.median, 25);
  EXPECT_DOUBLE_EQ(qb::percentile({10, 20, 30, 40}, 0.5), 25);
}

// llama-bench's one-pass formula sqrt(E[x^2] - E[x]^2) loses all precision here; the two-pass
// result must match the exact stdev of the offsets.
TEST(Stats, LargeMeanTinySpreadIsStable) {
  const double base = 1e9;  // e.g. nanoseconds
  std::vector<double> s;
  const double offs[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  for (double o : offs) s.push_back(base + o);
  auto st = compute_stats(s);
  std::vector<double> o(std::begin(offs), std::end(offs));
  double m = 0;
  for (double x : o) m += x;
  m /= double(o.size());
  double ss = 0;
  for (double x : o) ss += (x - m) * (x - m);
  const double exact = std::sqrt(ss / double(o.size() - 1));
  EXPECT_NEAR(st.stdev, exact, exact * 1e-4);
  // The naive one-pass formula is far off on the same data (documents why two-pass).
  double sum = 0, sum2 = 0;
  for (double x : s) { sum += x; sum2 += x * x; }
  const double n = double(s.size());
  const double naive = std::sqrt(std::max(0.0, (sum2 - sum * sum / n) / (n - 1)));
  EXPECT_GT(std::fabs(naive - exact), exact * 0.5);
}

TEST(Stats, SingleAndEmpty) {
  auto one = compute_stats({7});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(one.median, 7);
  EXPECT_DOUBLE_EQ(one.stdev, 0);
  EXPECT_DOUBLE_EQ(one.median_ci_lo, 7);
  auto none = compute_stats({});
  EXPECT_EQ(none.n, 0);
}

TEST(Stats, BootstrapCiIsReproducibleAndBracketsMedian) {
  std::vector<double> s;
  for (int i = 0; i < 200; ++i) s.push_back(1.0 + 0.01 * ((i * 37) % 101));
  auto a = compute_stats(s), b = compute_stats(s);
  EXPECT_DOUBLE_EQ(a.median_ci_lo, b.median_ci_lo);
  EXPECT_DOUBLE_EQ(a.median_ci_hi, b.median_ci_hi);
  EXPECT_LT(a.median_ci_lo, a.median_ci_hi);
  EXPECT_LE(a.median_ci_lo, a.median);
  EXPECT_GE(a.median_ci_hi, a.median);
}

TEST(Measure, ValidityVerdicts) {
  qb::MeasureOptions o;
  o.min_samples = 10;
  o.max_cv = 0.05;
  qb::Measurement m;
  m.samples = {1, 1, 1};
  qb::judge(m, o, false);
  EXPECT_FALSE(m.valid);
  ASSERT_EQ(m.reasons.size(), 1u);
  EXPECT_NE(m.reasons[0].find("too few samples"), std::string::npos);

  m.samples = std::vector<double>(20, 1.0);
  m.samples[0] = 3.0;  // CV ~ 0.43
  qb::judge(m, o, false);
  EXPECT_FALSE(m.valid);
  EXPECT_NE(m.reasons.back().find("CV"), std::string::npos);

  m.samples = std::vector<double>(20, 1.0);
  qb::judge(m, o, false);
  EXPECT_TRUE(m.valid);
  EXPECT_TRUE(m.reasons.empty());
}

TEST(Measure, LoopStopsAtMinTimeAndSamples) {
  qb::MeasureOptions o;
  o.warmup = 1;
  o.min_time_s = 0.0;
  o.min_samples = 25;
  o.max_time_s = 5;
  int calls = 0;
  auto m = qb::measure(o, [&] { ++calls; });
  EXPECT_EQ(m.samples.size(), 25u);
  EXPECT_EQ(calls, 26);  // warm-up + samples
  EXPECT_TRUE(m.counters.contains("available"));
}

TEST(Measure, CapIsReported) {
  qb::MeasureOptions o;
  o.warmup = 0;
  o.min_time_s = 10;
  o.min_samples = 1000000;
  o.max_time_s = 0.02;
  auto m = qb::measure(o, [] {});
  EXPECT_FALSE(m.valid);
  bool cap = false;
  for (auto& r : m.reasons) cap = cap || r.find("cap") != std::string::npos;
  EXPECT_TRUE(cap);
}
