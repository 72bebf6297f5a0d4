// The quant-error suite through its Suite interface: plan shape, metric names and sanity of the
// numbers (ordering of formats by bits, agreement of rmse / rel_frobenius / snr_db), refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "qb/metrics.h"
#include "qb/suite.h"
#include "qb/topology.h"

namespace {

struct Ctx {
  qb::RunConfig cfg;
  std::vector<qb::CellResult> done;
  qb::RunContext ctx{qb::machine_topology(), cfg, done, nullptr};
};

TEST(QuantErrorSuite, PlansOneCellPerFormatAndDistribution) {
  qb::Suite* s = qb::find_suite("quant-error");
  ASSERT_NE(s, nullptr);
  Ctx c;
  c.cfg.formats = {"Q4_0", "Q8_0"};
  c.cfg.quick = true;
  const auto cells = s->plan(c.ctx);
  ASSERT_EQ(cells.size(), 8u);  // 2 formats x {gaussian, laplace, student_t, outliers}
  for (const auto& cell : cells) {
    EXPECT_EQ(cell.suite, "quant-error");
    EXPECT_EQ(cell.backend, "-");
    EXPECT_EQ(cell.placement, "-");
    EXPECT_EQ(cell.threads, 1);
  }
}

TEST(QuantErrorSuite, MetricsAreConsistentAndOrdered) {
  qb::Suite* s = qb::find_suite("quant-error");
  ASSERT_NE(s, nullptr);
  Ctx c;
  c.cfg.formats = {"Q4_0", "Q6_K", "Q8_0", "F32"};
  c.cfg.quick = true;
  std::map<std::string, double> snr;
  for (const auto& cell : s->plan(c.ctx)) {
    if (cell.workload != "gaussian") continue;
    const qb::CellResult r = s->measure(cell, c.ctx);
    EXPECT_TRUE(r.valid) << cell.format;
    for (const auto& [name, v] : r.metrics.items()) {
      EXPECT_NE(qb::find_metric(name), nullptr) << "metric '" << name << "' is not in the vocabulary";
      EXPECT_TRUE(std::isfinite(v.get<double>())) << name;
    }
    const double rel = r.metrics["rel_frobenius"], cos = r.metrics["cosine"];
    EXPECT_GE(cos, 0.99) << cell.format;
    EXPECT_LE(cos, 1.0 + 1e-12);
    if (cell.format == "F32") {
      EXPECT_EQ(r.metrics["rmse"].get<double>(), 0.0);
      EXPECT_FALSE(r.metrics.contains("snr_db"));  // lossless: no finite SNR
      continue;
    }
    // snr_db and rel_frobenius describe the same ratio.
    EXPECT_NEAR(r.metrics["snr_db"].get<double>(), -20 * std::log10(rel), 1e-9);
    EXPECT_GE(r.metrics["max_abs_err"].get<double>(), r.metrics["rmse"].get<double>());
    snr[cell.format] = r.metrics["snr_db"];
  }
  ASSERT_EQ(snr.size(), 3u);
  EXPECT_GT(snr["Q8_0"], snr["Q6_K"]);
  EXPECT_GT(snr["Q6_K"], snr["Q4_0"]);
  EXPECT_GT(snr["Q4_0"], 19.0);  // 4.5 bits on a gaussian: ~21 dB
}

TEST(QuantErrorSuite, UnknownFormatOrWorkloadIsAClearError) {
  qb::Suite* s = qb::find_suite("quant-error");
  ASSERT_NE(s, nullptr);
  Ctx c;
  qb::Cell cell;
  cell.suite = "quant-error";
  cell.format = "Q9_Z";
  cell.workload = "gaussian";
  try {
    s->measure(cell, c.ctx);
    FAIL() << "accepted an unknown format";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("Q9_Z"), std::string::npos) << e.what();
  }
  cell.format = "Q4_0";
  cell.workload = "cauchy";
  EXPECT_THROW(s->measure(cell, c.ctx), std::invalid_argument);
}

}  // namespace
