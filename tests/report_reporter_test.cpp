// The typed Report (read once, its Decision computed once) and the Reporter interface: every
// output renders from the same typed object, and reading checks the report's cells.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "decision_render.h"
#include "qb/command.h"
#include "render.h"
#include "report_common.h"
#include "report_synthetic.h"
#include "reporter.h"

using namespace qb::rep;

namespace {

std::vector<qb::CellResult> mixed_results() {
  auto v = qbt::sample_results();
  auto failed = qbt::cell("latency", "Q4_0", "avx2", "gemv_4096x4096", 1, "compact", {});
  failed.status = qb::CellStatus::Failed;
  failed.error = "out of memory";
  v.push_back(failed);
  v.push_back(qbt::invalid(qbt::tp("Q8_0", "avx2", "gemv_4096x4096", 1, 0.003, 8.5, 99)));
  return v;
}

TEST(TypedReport, ReadsCellsMetadataAndSuitesOnce) {
  const auto v = mixed_results();
  const Report r = read_report(qbt::make_report(v));
  ASSERT_EQ(r.results.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(r.results[i].cell.key(), v[i].cell.key());
    EXPECT_EQ(r.results[i].status, v[i].status);
    EXPECT_EQ(r.results[i].valid, v[i].valid);
  }
  // Suites in order of their first cell: sample_results interleaves throughput and quant-error.
  EXPECT_EQ(r.suites, (std::vector<std::string>{"throughput", "quant-error", "latency"}));
  EXPECT_EQ(r.created, "2026-01-01T00:00:00Z");
  EXPECT_EQ(r.topology.value("cpu_model", ""), "Synthetic CPU");
  ASSERT_TRUE(r.qbench.has_value());
  EXPECT_EQ(r.qbench->value("version", ""), "test");
}

TEST(TypedReport, DecisionIsTheDecisionOfItsCellsUnderTheOptionsGiven) {
  const auto v = mixed_results();
  const auto doc = qbt::make_report(v);
  // Independently: decide() on the cells as built, before any JSON round trip.
  EXPECT_EQ(decision_json(read_report(doc).decision), decision_json(decide(v, DecisionOptions{})));
  DecisionOptions one_thread;
  one_thread.max_threads = 1;
  const Report capped = read_report(doc, one_thread);
  EXPECT_EQ(decision_json(capped.decision), decision_json(decide(v, one_thread)));
  for (const auto* c : capped.decision.top(3)) EXPECT_LE(c->threads, 1) << c->id();
}

TEST(TypedReport, EveryOutputRendersThroughTheOneInterface) {
  const auto doc = qbt::make_report(mixed_results());
  const Report r = read_report(doc);
  std::vector<std::unique_ptr<Reporter>> all;
  all.push_back(std::make_unique<HtmlReporter>(""));
  all.push_back(std::make_unique<MarkdownReporter>());
  all.push_back(std::make_unique<CsvReporter>());
  all.push_back(std::make_unique<DecisionTextReporter>());
  all.push_back(std::make_unique<DecisionMarkdownReporter>());
  all.push_back(std::make_unique<DecisionJsonReporter>());
  all.push_back(std::make_unique<DecisionJunitReporter>());
  all.push_back(std::make_unique<DecisionPageReporter>());
  // Each names the decision's top candidate as its format escapes it (CSV: its cells' format).
  const std::string top = r.decision.top(1).at(0)->id();
  const std::vector<std::string> want = {
      top, md_escape(top), "\nthroughput," + r.decision.top(1).at(0)->format, top, md_escape(top), top, top, top};
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NE(all[i]->render(r).find(want[i]), std::string::npos) << "output " << i << " lacks " << want[i];
  // The registered JSON -> text renderers are the same reporters.
  EXPECT_EQ(render_csv(doc), all[2]->render(r));
  EXPECT_EQ(render_markdown(doc), all[1]->render(r));
  // CSV: a header and one row per cell.
  const std::string csv = all[2]->render(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), long(r.results.size()) + 1);
  // JSON: what `recommend --json` prints, parseable, ranking the same top candidate.
  EXPECT_EQ(nlohmann::json::parse(all[5]->render(r))["recommendations"][0], top);
}

TEST(TypedReport, ACellThatDoesNotParseNamesItsIndex) {
  auto doc = qbt::make_report(qbt::sample_results());
  doc["results"][3].erase("suite");
  try {
    read_report(doc);
    FAIL() << "read_report accepted a cell without a suite";
  } catch (const qb::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("results[3]"), std::string::npos) << e.what();
  }
}

}  // namespace
