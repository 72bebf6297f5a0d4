// `qbench run --shard I/N` and `qbench merge`: the split covers the plan exactly once, is balanced
// by expected time, and merge joins only shards of one plan and one build.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "qb/command.h"
#include "qb/results_db.h"
#include "qb/runner.h"
#include "qb/shard.h"
#include "qb/suite.h"
#include "report_synthetic.h"

namespace fs = std::filesystem;

namespace {

// The throughput suite's plan for a few tiny shapes, as `qbench run` would plan it.
std::vector<qb::Cell> small_plan(const qb::RunConfig& cfg) {
  const std::vector<qb::CellResult> none;
  const qb::RunContext ctx{qb::machine_topology(), cfg, none,
                           [](int, const std::string&) -> qb::ThreadPool* { return nullptr; }};
  return qb::find_suite("throughput")->plan(ctx);
}

qb::RunConfig small_config() {
  qb::RunConfig cfg;
  cfg.suites = {"throughput"};
  cfg.formats = {"Q4_0", "Q8_0", "Q4_K", "F16"};
  cfg.backends = {"scalar"};
  cfg.threads = {1, 2};
  cfg.batch = {1, 64};
  for (const char* s : {"64x256", "128x512", "256x1024"}) cfg.shapes.push_back(qb::parse_shape(s));
  cfg.measure = qb::quick_options();
  return cfg;
}

}  // namespace

TEST(Shard, ParsesIOfNAndRefusesTheRest) {
  const auto s = qb::parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/3", "1", "1/0", "a/3", "1/3x", "/3", "1/"})
    EXPECT_THROW(qb::parse_shard(bad), qb::UsageError) << bad;
}

TEST(Shard, ThreeShardsAreDisjointCoverThePlanAndAreBalanced) {
  const qb::RunConfig cfg = small_config();
  const auto plan = small_plan(cfg);
  ASSERT_GE(plan.size(), 24u);
  const auto owner = qb::assign_shards(plan, 3, cfg.measure);
  ASSERT_EQ(owner.size(), plan.size());
  std::vector<std::set<std::string>> shards(3);
  std::vector<double> load(3, 0.0);
  double biggest = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    ASSERT_GE(owner[i], 0);
    ASSERT_LT(owner[i], 3);
    // Disjoint: a key lands in one shard only (and keys are unique in the plan).
    for (int s = 0; s < 3; ++s) EXPECT_FALSE(shards[size_t(s)].count(plan[i].key())) << plan[i].key();
    shards[size_t(owner[i])].insert(plan[i].key());
    const double e = qb::expected_cell_s(plan[i], cfg.measure);
    EXPECT_GT(e, 0);
    load[size_t(owner[i])] += e;
    biggest = std::max(biggest, e);
  }
  std::set<std::string> all, uni;
  for (const auto& c : plan) all.insert(c.key());
  for (const auto& s : shards) uni.insert(s.begin(), s.end());
  EXPECT_EQ(uni, all);
  // Greedy longest-first: no shard exceeds another by more than its largest cell.
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  EXPECT_LE(*hi - *lo, biggest + 1e-12) << *lo << " vs " << *hi;
  // Deterministic: the same plan gives the same split; a different count gives a different one.
  EXPECT_EQ(qb::assign_shards(plan, 3, cfg.measure), owner);
  EXPECT_NE(qb::assign_shards(plan, 2, cfg.measure), owner);
}

TEST(Shard, FingerprintNamesThePlanNotTheShard) {
  qb::RunConfig cfg = small_config();
  const auto plan = small_plan(cfg);
  const std::string fp = qb::plan_fingerprint(qb::config_to_json(cfg), plan);
  EXPECT_EQ(fp.size(), 16u);
  cfg.shard = {1, 3};
  EXPECT_EQ(qb::plan_fingerprint(qb::config_to_json(cfg), plan), fp) << "the shard index is not part of the plan";
  auto fewer = plan;
  fewer.pop_back();
  EXPECT_NE(qb::plan_fingerprint(qb::config_to_json(cfg), fewer), fp);
  cfg.formats.pop_back();
  EXPECT_NE(qb::plan_fingerprint(qb::config_to_json(cfg), plan), fp);
}

// Three shards run by the binary, merged: every planned cell once, each tagged with its shard;
// merges of mixed plans, missing, repeated or non-run directories exit 2 with the reason.
TEST(Shard, ThreeShardRunMergesAndBadMergesAreRefused) {
  const fs::path d = fs::temp_directory_path() / ("qbench-shard-" + std::to_string(getpid()));
  fs::remove_all(d);
  const std::string db = "sqlite:" + (d / "results.sqlite").string();
  auto sel = [&](const std::string& formats) {
    return "--quiet run --suites quant-error --formats " + formats + " --quick --no-fsync --results " + db;
  };
  for (int i = 0; i < 3; ++i) {
    std::string out;
    const int code = qbt::run_qbench(
        sel("Q8_0,Q4_0") + " --shard " + std::to_string(i) + "/3 --out " + (d / ("s" + std::to_string(i))).string(),
        &out);
    ASSERT_EQ(code, 0) << out;
  }
  const std::string s0 = (d / "s0").string(), s1 = (d / "s1").string(), s2 = (d / "s2").string();
  std::string out;
  ASSERT_EQ(
      qbt::run_qbench(
          "--quiet merge " + s0 + " " + s1 + " " + s2 + " --out " + (d / "merged").string() + " --results " + db, &out),
      0)
      << out;
  {
    // Each shard stored its cells as it ran; the merge stored the same study again: no duplicates.
    auto store = qb::open_results(db, /*must_exist=*/true);
    EXPECT_EQ(store->count_rows("runs"), 1);
    EXPECT_EQ(store->count_rows("cells"), 8);
    EXPECT_EQ(store->series({"snr_db", {{"format", "Q8_0"}}, ""}).size(), 4u);
  }
  std::ifstream in(d / "merged" / "report.json");
  const auto rep = nlohmann::json::parse(in);
  std::set<std::string> keys;
  std::map<int, int> per_shard;
  for (const auto& r : rep["results"]) {
    keys.insert(r["suite"].get<std::string>() + "/" + r["format"].get<std::string>() + "/" +
                r["workload"].get<std::string>());
    ++per_shard[r["shard"].get<int>()];
  }
  EXPECT_EQ(rep["results"].size(), 8u) << "2 formats x 4 weight distributions";
  EXPECT_EQ(keys.size(), 8u) << "each cell once";
  EXPECT_EQ(rep["merged"]["plan_cells"].get<int>(), 8);
  EXPECT_EQ(per_shard.size(), 3u);
  ASSERT_EQ(rep["shards"].size(), 3u);
  for (const auto& s : rep["shards"]) EXPECT_TRUE(s["machine"].contains("topology"));
  EXPECT_TRUE(fs::exists(d / "merged" / "report.html"));

  // A shard of another plan (one more format), a missing shard, a repeated one, no run at all.
  ASSERT_EQ(qbt::run_qbench(sel("Q8_0,Q4_0,F16") + " --shard 2/3 --out " + (d / "other").string()), 0);
  struct Bad {
    std::string dirs, expect;
  } bad[] = {{s0 + " " + s1 + " " + (d / "other").string(), "shards of different plans"},
             {s0 + " " + s1, "shard(s) 2 of 3 missing"},
             {s0 + " " + s0 + " " + s1 + " " + s2, "are both shard 0/3"},
             {s0 + " " + (d / "nosuch").string(), "not a qbench run directory"}};
  for (const auto& b : bad) {
    EXPECT_EQ(qbt::run_qbench("--quiet merge " + b.dirs + " --out " + (d / "bad").string(), &out), 2) << b.dirs;
    EXPECT_NE(out.find(b.expect), std::string::npos) << out;
  }
  fs::remove_all(d);
}
