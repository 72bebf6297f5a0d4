// The plan stage (qb/plan.h): the selected suites' cells in run order, the fingerprint a resumed
// run must match, and the interleaved groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "qb/command.h"
#include "qb/plan.h"
#include "qb/suite.h"

namespace {

qb::RunConfig small_config() {
  qb::RunConfig cfg;
  cfg.suites = {"quant-error", "throughput"};  // given out of run order
  cfg.formats = {"Q4_0", "Q8_0"};
  cfg.backends = {"scalar"};
  cfg.threads = {1};
  cfg.batch = {1, 64};
  cfg.shapes = {qb::parse_shape("64x256"), qb::parse_shape("128x512")};
  cfg.measure = qb::quick_options();
  return cfg;
}

qb::Plan plan_of(const qb::RunConfig& cfg) {
  static const std::vector<qb::CellResult> none;
  const qb::RunContext ctx{qb::machine_topology(), cfg, none,
                           [](int, const std::string&) -> qb::ThreadPool* { return nullptr; }};
  return qb::make_plan(ctx);
}

TEST(PlanStage, SelectedSuitesInRunOrderAndOnlyTheirCells) {
  const qb::RunConfig cfg = small_config();
  const auto suites = qb::selected_suites(cfg);
  ASSERT_EQ(suites.size(), 2u);
  EXPECT_LE(suites[0]->order(), suites[1]->order());
  const qb::Plan plan = plan_of(cfg);
  ASSERT_FALSE(plan.empty());
  // Each cell is its suite's, suites in run order, and the plan is every suite's own plan() joined.
  size_t expected = 0;
  for (qb::Suite* s : suites) {
    qb::RunConfig one = cfg;
    one.suites = {s->name()};
    expected += plan_of(one).size();
  }
  EXPECT_EQ(plan.size(), expected);
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].first->name(), plan[i].second.suite);
    if (i) {
      EXPECT_LE(plan[i - 1].first->order(), plan[i].first->order());
    }
  }
  EXPECT_TRUE(std::any_of(plan.begin(), plan.end(), [](const auto& sc) { return sc.second.suite == "quant-error"; }));
}

TEST(PlanStage, AResumedRunMustPlanTheStudyItJournaled) {
  const qb::RunConfig cfg = small_config();
  qb::Plan plan = plan_of(cfg);
  nlohmann::json header = nlohmann::json::object();
  qb::record_plan(cfg, plan, header);
  const std::string fp = header["run"]["plan_fingerprint"];
  EXPECT_EQ(fp.size(), 16u);
  qb::Plan again = plan_of(cfg);
  EXPECT_NO_THROW(qb::record_plan(cfg, again, header));  // the same study resumes
  qb::RunConfig other = cfg;
  other.formats = {"Q4_0"};
  qb::Plan fewer = plan_of(other);
  EXPECT_THROW(qb::record_plan(other, fewer, header), qb::UsageError);
}

TEST(PlanStage, InterleavedGroupsHoldTheUnfinishedGemvCells) {
  const qb::Plan plan = plan_of(small_config());
  std::vector<size_t> gemv;
  for (size_t j = 0; j < plan.size(); ++j)
    if (plan[j].second.suite == "throughput" && plan[j].second.params.value("n", 0) == 1 &&
        plan[j].second.workload != "harness_overhead")
      gemv.push_back(j);
  ASSERT_GE(gemv.size(), 3u);
  auto groups = qb::interleave_groups(plan, {}, 3);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups.begin()->second, gemv);
  // A finished cell leaves its group; one round or a group of one cell is no interleaving.
  groups = qb::interleave_groups(plan, {plan[gemv[0]].second.key()}, 3);
  EXPECT_EQ(groups.begin()->second, std::vector<size_t>(gemv.begin() + 1, gemv.end()));
  EXPECT_TRUE(qb::interleave_groups(plan, {}, 1).empty());
  std::set<std::string> all_but_one;
  for (size_t k = 1; k < gemv.size(); ++k) all_but_one.insert(plan[gemv[k]].second.key());
  EXPECT_TRUE(qb::interleave_groups(plan, all_but_one, 3).empty());
}

}  // namespace
