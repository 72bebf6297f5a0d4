// qbench compare: Mann-Whitney U statistics (exact values from scipy.stats.mannwhitneyu with
// method="asymptotic", use_continuity=True), matching, regression flags and exit codes.
#include <gtest/gtest.h>

#include "compare.h"
#include "comparison_render.h"
#include "report_synthetic.h"

using qb::rep::mann_whitney_u;

TEST(MannWhitney, SeparatedSamples) {
  auto t = mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  ASSERT_TRUE(t.valid);
  EXPECT_DOUBLE_EQ(t.u1, 0.0);
  EXPECT_DOUBLE_EQ(t.u2, 25.0);
  EXPECT_NEAR(t.p, 0.012185780355344813, 1e-12);
  // Symmetric: swapping the samples swaps U, keeps p.
  auto s = mann_whitney_u({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(s.u1, 25.0);
  EXPECT_NEAR(s.p, t.p, 1e-15);
}

TEST(MannWhitney, TiesUseTieCorrection) {
  auto t = mann_whitney_u({1, 2, 2, 3, 3, 3, 4}, {2, 3, 4, 4, 5, 5});
  ASSERT_TRUE(t.valid);
  EXPECT_DOUBLE_EQ(t.u1, 8.5);
  EXPECT_NEAR(t.p, 0.07826242947714618, 1e-12);
}

TEST(MannWhitney, IdenticalSamplesAreNotSignificant) {
  std::vector<double> a = {1.0, 1.1, 0.9, 1.05, 0.95};
  auto t = mann_whitney_u(a, a);
  EXPECT_DOUBLE_EQ(t.u1, 12.5);
  EXPECT_DOUBLE_EQ(t.p, 1.0);
  auto c = mann_whitney_u({2, 2, 2}, {2, 2, 2});  // all tied: zero variance
  EXPECT_DOUBLE_EQ(c.p, 1.0);
}

TEST(MannWhitney, OverlappingShift) {
  auto t = mann_whitney_u({10.1, 10.3, 9.8, 10.0, 10.2, 9.9, 10.4, 10.05, 9.95},
                          {10.6, 10.2, 10.9, 10.5, 10.7, 10.4, 11.0, 10.8, 10.65});
  EXPECT_DOUBLE_EQ(t.u1, 3.0);
  EXPECT_NEAR(t.p, 0.0010733600529651412, 1e-12);
}

TEST(MannWhitney, TooFewSamplesIsInvalid) {
  EXPECT_FALSE(mann_whitney_u({1.0}, {2.0, 3.0}).valid);
  EXPECT_FALSE(mann_whitney_u({}, {}).valid);
}

TEST(Compare, SameSamplesNothingFlagged) {
  auto base = qbt::sample_results();
  auto c = qb::rep::compare_results(base, base, {});
  EXPECT_EQ(c.flagged, 0);
  EXPECT_EQ(c.cells.size(), base.size());
  for (const auto& d : c.cells)
    for (const auto& m : d.metrics) {
      EXPECT_FALSE(m.flagged) << d.key << " " << m.metric;
      EXPECT_DOUBLE_EQ(m.delta_pct, 0.0);
    }
}

TEST(Compare, SlowerCellIsFlagged) {
  auto base = qbt::sample_results();
  auto head = base;
  // One throughput cell 1.2x slower (same noise pattern, so only the shift differs).
  int idx = -1;
  for (size_t i = 0; i < head.size(); ++i)
    if (head[i].cell.format == "Q4_K" && head[i].cell.suite == "throughput") {
      idx = int(i);
      break;
    }
  ASSERT_GE(idx, 0);
  auto& h = head[idx];
  for (auto& s : h.samples) s *= 1.2;
  h.metrics["time_s"] = h.metrics["time_s"].get<double>() * 1.2;
  h.metrics["gb_per_s"] = h.metrics["gb_per_s"].get<double>() / 1.2;
  h.metrics["gflop_per_s"] = h.metrics["gflop_per_s"].get<double>() / 1.2;
  qb::rep::CompareOptions opt;
  opt.max_regression_pct = 5;
  auto c = qb::rep::compare_results(base, head, opt);
  EXPECT_EQ(c.flagged, 1);
  for (const auto& d : c.cells) {
    if (d.key != base[idx].cell.key()) {
      EXPECT_FALSE(d.flagged) << d.key;
      continue;
    }
    EXPECT_TRUE(d.flagged);
    EXPECT_LT(d.utest.p, 1e-6);  // 20 vs 20 samples, fully separated
    bool saw_gbs = false;
    for (const auto& m : d.metrics)
      if (m.metric == "gb_per_s") {
        saw_gbs = true;
        EXPECT_TRUE(m.flagged);
        EXPECT_NEAR(m.delta_pct, (1 / 1.2 - 1) * 100, 1e-9);
        EXPECT_EQ(m.basis, "mann-whitney");
      }
    EXPECT_TRUE(saw_gbs);
  }
  // Below the threshold: not flagged.
  opt.max_regression_pct = 25;
  EXPECT_EQ(qb::rep::compare_results(base, head, opt).flagged, 0);
  // The improvement direction (head faster) is not a regression.
  EXPECT_EQ(qb::rep::compare_results(head, base, qb::rep::CompareOptions{}).flagged, 0);
}

TEST(Compare, NoiseWithoutShiftIsNotSignificant) {
  auto base = qbt::sample_results();
  auto head = base;
  // Same distribution, different draws: a 1% noise level, no shift.
  for (auto& r : head)
    if (!r.samples.empty()) r.samples = qbt::timing_samples(r.stats.median, 20, 999);
  auto c = qb::rep::compare_results(base, head, {});
  EXPECT_EQ(c.flagged, 0);
}

TEST(Compare, OneSidedCellsAndStatusRegressions) {
  auto base = qbt::sample_results();
  auto head = base;
  head.pop_back();  // F32 quant-error only in base
  head.push_back(qbt::qe("Q6_K", 30, 6.5625));
  head[0].status = qb::CellStatus::Failed;
  head[0].error = "out of memory";
  auto c = qb::rep::compare_results(base, head, {});
  ASSERT_EQ(c.only_base.size(), 1u);
  EXPECT_EQ(c.only_base[0].format, "F32");
  ASSERT_EQ(c.only_head.size(), 1u);
  EXPECT_EQ(c.only_head[0].format, "Q6_K");
  EXPECT_EQ(c.flagged, 1);
  auto j = qb::rep::comparison_json(c);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["only_in_base"].size(), 1u);
  EXPECT_NE(qb::rep::comparison_markdown(c).find("Mann-Whitney U"), std::string::npos);
}

TEST(Compare, DeterministicQualityChange) {
  auto base = qbt::sample_results();
  auto head = base;
  for (auto& r : head)
    if (r.cell.suite == "quant-error" && r.cell.format == "Q4_K") r.metrics["snr_db"] = 18.0;  // 21 -> 18 dB: -14%
  auto c = qb::rep::compare_results(base, head, {});
  EXPECT_EQ(c.flagged, 1);
}

TEST(CompareCli, ExitCodesAndOutputs) {
  auto base = qbt::sample_results();
  auto head = base;
  for (auto& r : head)
    if (r.cell.format == "Q4_0" && r.cell.suite == "throughput") {
      for (auto& s : r.samples) s *= 1.2;
      r.metrics["time_s"] = r.metrics["time_s"].get<double>() * 1.2;
      r.metrics["gb_per_s"] = r.metrics["gb_per_s"].get<double>() / 1.2;
    }
  auto b = qbt::write("cmp_base.json", qbt::make_report(base).dump());
  auto h = qbt::write("cmp_head.json", qbt::make_report(head).dump());
  std::string out;
  EXPECT_EQ(qbt::run_qbench("compare " + b + " " + b, &out), 0) << out;
  EXPECT_NE(out.find("PASS"), std::string::npos);
  auto md = qbt::tmpdir() + "/cmp.md", js = qbt::tmpdir() + "/cmp.json";
  EXPECT_EQ(qbt::run_qbench("compare " + b + " " + h + " --max-regression 5% --md " + md + " --json " + js, &out), 1)
      << out;
  EXPECT_NE(out.find("FAIL"), std::string::npos);
  EXPECT_NE(out.find("Mann-Whitney"), std::string::npos);
  std::ifstream jin(js);
  auto j = nlohmann::json::parse(jin);
  EXPECT_EQ(j["flagged_cells"], 2);  // two Q4_0 throughput workloads
  EXPECT_TRUE(std::filesystem::exists(md));
  EXPECT_EQ(qbt::run_qbench("compare " + b + " " + h + " --max-regression 30%", &out), 0) << out;
  // Bad input: exit 2 with the file or option named.
  EXPECT_EQ(qbt::run_qbench("compare " + b + " /nonexistent/report.json", &out), 2);
  EXPECT_NE(out.find("/nonexistent/report.json"), std::string::npos);
  auto notrep = qbt::write("not_a_report.json", "{\"x\": 1}");
  EXPECT_EQ(qbt::run_qbench("compare " + b + " " + notrep, &out), 2);
  EXPECT_NE(out.find("schema_version"), std::string::npos);
  EXPECT_EQ(qbt::run_qbench("compare " + b + " " + h + " --max-regression abc", &out), 2);
  EXPECT_NE(out.find("--max-regression"), std::string::npos);
}

TEST(Compare, TimingWithoutSamplesIsNotTested) {
  std::vector<qb::CellResult> base = {
      qbt::cell("latency", "Q4_K", "avx2", "decode_m", 1, "compact", {{"decode_ms", 10.0}})};
  auto head = base;
  head[0].metrics["decode_ms"] = 12.0;  // +20%, but no raw samples to test
  auto c = qb::rep::compare_results(base, head, {});
  EXPECT_EQ(c.flagged, 0);
  ASSERT_EQ(c.cells.size(), 1u);
  ASSERT_EQ(c.cells[0].metrics.size(), 1u);
  EXPECT_EQ(c.cells[0].metrics[0].basis, "no samples (not tested)");
  EXPECT_NEAR(c.cells[0].metrics[0].delta_pct, 20.0, 1e-9);
}
