// E-divisive means (reports/changepoint.cpp) on synthetic performance histories with known shifts.
#include <gtest/gtest.h>

#include <random>

#include "changepoint.h"

namespace {

// 200 "commits" of a metric near 100 with 1% Gaussian noise (sd 1); a shift of `pct` percent from
// each index in `at` on.
std::vector<double> history(const std::vector<std::pair<int, double>>& shifts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> x(200);
  double level = 100;
  size_t next = 0;
  for (int i = 0; i < 200; ++i) {
    while (next < shifts.size() && shifts[next].first == i) level *= 1 + shifts[next++].second / 100;
    x[size_t(i)] = level + noise(rng);
  }
  return x;
}

}  // namespace

TEST(ChangePoint, FindsThreeInjectedShiftsWithinOneCommit) {
  const std::vector<std::pair<int, double>> shifts{{50, -4.0}, {110, 5.0}, {160, -3.0}};
  for (uint64_t seed : {1u, 2u, 3u}) {
    const auto cps = qb::rep::e_divisive(history(shifts, seed));
    ASSERT_EQ(cps.size(), 3u) << "seed " << seed;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(cps[i].index, shifts[i].first, 1) << "seed " << seed;
      EXPECT_LE(cps[i].p, 0.01);
    }
  }
}

TEST(ChangePoint, PureNoiseHasNoChangePoint) {
  for (uint64_t seed : {11u, 12u, 13u, 14u, 15u})
    EXPECT_TRUE(qb::rep::e_divisive(history({}, seed)).empty()) << "seed " << seed;
}

TEST(ChangePoint, ShortOrConstantSeriesHaveNone) {
  EXPECT_TRUE(qb::rep::e_divisive({}).empty());
  EXPECT_TRUE(qb::rep::e_divisive({1, 2, 3}).empty());
  EXPECT_TRUE(qb::rep::e_divisive(std::vector<double>(50, 7.0)).empty());
}

TEST(ChangePoint, OneStepIsFoundAtItsIndex) {
  std::vector<double> x(40, 10.0);
  for (size_t i = 25; i < x.size(); ++i) x[i] = 12.0;
  for (size_t i = 0; i < x.size(); ++i) x[i] += 0.01 * double(i % 3);  // a little texture
  const auto cps = qb::rep::e_divisive(x);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].index, 25);
}
