// The time split of the model runtime (model/phase_times.h): shares from accumulated phase times.
#include <gtest/gtest.h>

#include "model/phase_times.h"

using namespace qb::model;

namespace {

PhaseTimes times(double total, double attention, std::initializer_list<double> matmuls) {
  PhaseTimes t;
  t.total_s = total;
  t.attention_s = attention;
  size_t i = 0;
  for (double m : matmuls) t.matmul_s[i++] = m;
  t.tokens = 1;
  return t;
}

}  // namespace

TEST(ModelPhaseTimes, SharesAreFractionsOfTheTotal) {
  // matmul 0.5 + 0.25 + 0.05 = 0.8 of 2 s, attention 0.3 s of 2 s.
  const auto s = time_shares(times(2.0, 0.3, {0.5, 0.25, 0.05, 0.6, 0.2}));
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->matmul, 1.6 / 2.0);
  EXPECT_DOUBLE_EQ(s->attention, 0.3 / 2.0);
  EXPECT_NEAR(s->other, 0.1 / 2.0, 1e-15);
  EXPECT_NEAR(s->matmul + s->attention + s->other, 1.0, 1e-12);
}

TEST(ModelPhaseTimes, PartsOverrunningTheTotalAreClamped) {
  // Clock reads that do not nest exactly: the parts sum to a hair more than the total.
  const auto s = time_shares(times(1.0, 0.2, {0.5, 0.3000001}));
  ASSERT_TRUE(s);
  for (double v : {s->matmul, s->attention, s->other}) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_NEAR(s->matmul + s->attention + s->other, 1.0, 1e-12);
  EXPECT_EQ(s->other, 0.0);
}

TEST(ModelPhaseTimes, NoTimeGivesNoShares) {
  EXPECT_FALSE(time_shares(PhaseTimes{}));
  EXPECT_FALSE(time_shares(times(0.0, 0.0, {0.0})));
}

TEST(ModelPhaseTimes, AccumulatesAcrossSamples) {
  PhaseTimes a = times(1.0, 0.1, {0.2, 0.3}), b = times(3.0, 0.5, {0.1, 0.0, 0.4});
  a += b;
  EXPECT_DOUBLE_EQ(a.total_s, 4.0);
  EXPECT_DOUBLE_EQ(a.attention_s, 0.6);
  EXPECT_DOUBLE_EQ(a.matmul_total_s(), 1.0);
  EXPECT_EQ(a.tokens, 2);
  EXPECT_EQ(role_name(LinearRole::Output), "output");
}
