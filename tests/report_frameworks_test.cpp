// The framework decision (issue 15): which framework a backend's cells measure, recommend
// --frameworks and the framework comparison (winners per format family), on synthetic reports of qbench's kernels, ggml
// (llama.cpp's kernels) and an ONNX Runtime adapter the report declares in machine.backends.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "decide.h"
#include "decision_render.h"
#include "frameworks.h"
#include "qb/command.h"
#include "render.h"
#include "report_common.h"
#include "report_synthetic.h"

using namespace qb::rep;

namespace {

// The backends of the synthetic report with their kinds, as `qbench run` writes machine.backends.
const BackendKinds kKinds = {{"avx2", "qbench"}, {"ggml", "framework"}, {"onnxruntime", "framework"}};

// F16 and three quantized formats on qbench's avx2 kernels, ggml and onnxruntime; each backend
// has its own speed factor per format so no framework wins everything.
struct F {
  const char* name;
  double bpw, snr, avx2, ggml, ort;  // speed vs F16 on avx2 (0: the backend lacks the format)
};
const F kFs[] = {{"F16", 16, 75, 1.0, 0.9, 1.1},
                 {"Q8_0", 8.5, 42, 1.8, 2.0, 0},
                 {"Q4_0", 4.5, 19, 3.0, 2.6, 0},
                 {"INT4_G32", 5, 20, 2.5, 0, 2.9}};

std::vector<qb::CellResult> three_frameworks() {
  std::vector<qb::CellResult> v;
  unsigned seed = 1;
  for (const auto& f : kFs) {
    const std::pair<const char*, double> backends[] = {{"avx2", f.avx2}, {"ggml", f.ggml}, {"onnxruntime", f.ort}};
    for (auto [b, speed] : backends)
      if (speed > 0) v.push_back(qbt::tp(f.name, b, "gemv_4096x4096", 2, 0.004 / speed, f.bpw, seed++));
    v.push_back(qbt::qe(f.name, f.snr, f.bpw));
  }
  return v;
}

nlohmann::json report_with_kinds(const std::vector<qb::CellResult>& v) {
  auto rep = qbt::make_report(v);
  for (const auto& [name, kind] : kKinds) rep["machine"]["backends"].push_back({{"name", name}, {"kind", kind}});
  return rep;
}

}  // namespace

TEST(Frameworks, BackendKindsNameTheFramework) {
  EXPECT_EQ(framework_of("avx2", kKinds), "qbench");
  EXPECT_EQ(framework_of("ggml", kKinds), "llama.cpp/ggml");
  EXPECT_EQ(framework_of("onnxruntime", kKinds), "onnxruntime");
  EXPECT_EQ(framework_of("-", kKinds), "");
  // Without the report's list, this build's backends say the kind.
  EXPECT_EQ(framework_of("scalar", {}), "qbench");
  EXPECT_EQ(framework_of("openblas", {}), "peer library");
  EXPECT_EQ(framework_of("ggml", {}), "llama.cpp/ggml");
  EXPECT_EQ(framework_of("llama.cpp", {}), "llama.cpp");
  // The report's record wins over this build's idea of a name.
  EXPECT_EQ(framework_of("avx2", {{"avx2", "peer"}}), "peer library");
  // machine.backends read back from a report.
  EXPECT_EQ(backend_kinds(report_with_kinds({})), kKinds);
  EXPECT_TRUE(backend_kinds(qbt::make_report({})).empty());
}

TEST(Frameworks, CandidatesCarryTheirFramework) {
  const auto v = three_frameworks();
  Decision d = decide(v, DecisionOptions{}, kKinds);
  std::set<std::string> ids;
  for (const auto& r : v)
    if (r.cell.suite == "throughput") ids.insert(r.cell.format + "/" + r.cell.backend);
  ASSERT_EQ(d.candidates.size(), ids.size());
  for (const auto& c : d.candidates) {
    SCOPED_TRACE(c.id());
    EXPECT_EQ(c.framework, c.backend == "avx2" ? "qbench" : c.backend == "ggml" ? "llama.cpp/ggml" : "onnxruntime");
  }
  // The ranking shows the framework column.
  EXPECT_NE(decision_text(d).find("framework"), std::string::npos);
  EXPECT_NE(decision_text(d).find("llama.cpp/ggml"), std::string::npos);
  EXPECT_NE(decision_markdown(d).find("| framework |"), std::string::npos);
  EXPECT_NE(decision_matrix_html(d).find("<th>framework</th>"), std::string::npos);
  EXPECT_EQ(decision_json(d)["candidates"][0]["framework"], d.candidates[0].framework);
}

TEST(Frameworks, RestrictTheCandidates) {
  const auto v = three_frameworks();
  DecisionOptions o;
  o.frameworks = parse_frameworks("QBench, onnxruntime", kKinds);
  ASSERT_EQ(o.frameworks, (std::vector<std::string>{"qbench", "onnxruntime"}));
  Decision d = decide(v, o, kKinds);
  size_t expected = 0;
  for (const auto& r : v) expected += r.cell.suite == "throughput" && r.cell.backend != "ggml";
  ASSERT_EQ(d.candidates.size(), expected);
  for (const auto& c : d.candidates) EXPECT_NE(c.framework, "llama.cpp/ggml") << c.id();
  // Quality comes from the format-level cells, which every framework shares.
  for (const auto& c : d.candidates) EXPECT_TRUE(c.snr_db.has_value()) << c.id();
  // Only ggml: its fastest quantized format leads (Q8_0 at 2.0x, Q4_0 2.6x; the gates pass both).
  o.frameworks = parse_frameworks("llama.cpp/ggml", kKinds);
  Decision g = decide(v, o, kKinds);
  for (const auto& c : g.candidates) EXPECT_EQ(c.backend, "ggml");
  EXPECT_EQ(g.candidates.size(), 3u);
}

TEST(Frameworks, UnknownFrameworkIsAUsageError) {
  try {
    parse_frameworks("qbench,tensorflow", kKinds);
    FAIL() << "no error";
  } catch (const qb::UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'tensorflow'"), std::string::npos) << msg;
    for (const char* known : {"qbench", "llama.cpp/ggml", "onnxruntime", "peer library"})
      EXPECT_NE(msg.find(known), std::string::npos) << msg;
  }
  DecisionOptions o;
  o.frameworks = {"tensorflow"};
  EXPECT_THROW(decide(three_frameworks(), o, kKinds), qb::UsageError);
}

TEST(Frameworks, CliFrameworksOption) {
  auto p = qbt::write("frameworks.json", report_with_kinds(three_frameworks()).dump());
  std::string out;
  ASSERT_EQ(qbt::run_qbench("recommend " + p + " --frameworks onnxruntime", &out), 0) << out;
  EXPECT_NE(out.find("framework"), std::string::npos) << out;
  EXPECT_NE(out.find("onnxruntime"), std::string::npos) << out;
  EXPECT_EQ(out.find(" avx2 "), std::string::npos) << out;
  EXPECT_EQ(qbt::run_qbench("recommend " + p + " --frameworks tensorflow", &out), 2) << out;
  EXPECT_NE(out.find("unknown framework 'tensorflow'"), std::string::npos) << out;
  EXPECT_NE(out.find("onnxruntime"), std::string::npos) << out;
}

namespace {

// rel_err (output vs F32 weights) of each format on each backend, added to the throughput cells.
const std::map<std::string, double> kRelErr = {
    {"F16/avx2", 0.001}, {"F16/ggml", 0.002},     {"F16/onnxruntime", 0.0005},
    {"Q8_0/avx2", 0.01}, {"Q8_0/ggml", 0.01},     {"Q4_0/avx2", 0.05},
    {"Q4_0/ggml", 0.04}, {"INT4_G32/avx2", 0.06}, {"INT4_G32/onnxruntime", 0.07}};

std::vector<qb::CellResult> with_rel_err(std::vector<qb::CellResult> v) {
  for (auto& r : v)
    if (r.cell.suite == "throughput") r.metrics["rel_err"] = kRelErr.at(r.cell.format + "/" + r.cell.backend);
  return v;
}

// The expected winner computed from the inputs: per family, each format measured by two or more
// backends is one shared cell; most cells won wins, then the geometric mean of value / best.
struct Expected {
  std::string winner;
  int wins = 0, shared = 0;
};
Expected expected_winner(const std::map<std::string, std::map<std::string, double>>& by_format, bool higher) {
  std::map<std::string, int> wins;
  std::map<std::string, std::vector<double>> rel;
  int shared = 0;
  for (const auto& [format, values] : by_format) {
    if (values.size() < 2) continue;
    ++shared;
    double best = higher ? 0 : INFINITY;
    for (const auto& [b, x] : values) best = higher ? std::max(best, x) : std::min(best, x);
    int at_best = 0;
    for (const auto& [b, x] : values) at_best += x == best;
    for (const auto& [b, x] : values) {
      wins[b] += at_best == 1 && x == best;
      rel[b].push_back(higher ? x / best : best / x);
    }
  }
  Expected e;
  e.shared = shared;
  double best_rel = -1;
  for (const auto& [b, n] : wins) {
    double g = 0;
    for (double x : rel[b]) g += std::log(x);
    g = std::exp(g / double(rel[b].size()));
    if (n > e.wins || (n == e.wins && g > best_rel)) e = {b, n, shared}, best_rel = g;
  }
  return e;
}

}  // namespace

TEST(Frameworks, ComparisonWinnersMatchTheInputs) {
  const auto fc = compare_frameworks(with_rel_err(three_frameworks()), kKinds);
  EXPECT_EQ(fc.frameworks, (std::vector<std::string>{"llama.cpp/ggml", "onnxruntime", "qbench"}));
  EXPECT_TRUE(fc.absent.empty()) << fc.absent;
  // Inputs by family: speed factors (GEMV GB/s scales with them) and rel_err.
  std::map<std::string, std::map<std::string, std::map<std::string, double>>> speed, err;
  for (const auto& f : kFs) {
    const std::pair<const char*, double> backends[] = {{"avx2", f.avx2}, {"ggml", f.ggml}, {"onnxruntime", f.ort}};
    for (auto [b, s] : backends)
      if (s > 0) {
        const std::string fw = framework_of(b, kKinds), fam = comparison_family(f.name);
        speed[fam][f.name][fw] = s;
        err[fam][f.name][fw] = kRelErr.at(std::string(f.name) + "/" + b);
      }
  }
  std::set<std::string> want, got;
  for (const auto& [fam, by_format] : speed) want.insert(fam + " gb_per_s"), want.insert(fam + " rel_err");
  for (const auto& c : fc.claims) got.insert(c.family + " " + c.metric);
  EXPECT_EQ(got, want);  // GEMV speed and output error per family; SNR has one framework (qbench's codecs)
  for (const auto& c : fc.claims) {
    SCOPED_TRACE(c.family + " " + c.metric);
    const bool is_speed = c.metric == "gb_per_s";
    Expected e = expected_winner((is_speed ? speed : err)[c.family], is_speed);
    EXPECT_EQ(c.winner, e.winner);
    EXPECT_EQ(c.wins, e.wins);
    EXPECT_EQ(c.shared, e.shared);
    EXPECT_EQ(c.aspect, is_speed ? "fastest" : "most accurate");
    EXPECT_GE(c.ratio, 1.0);
    ASSERT_FALSE(c.evidence.empty());
    EXPECT_NE(c.evidence[0].find(std::string(" ") +
                                 (c.winner == "qbench"        ? "avx2"
                                  : c.winner == "onnxruntime" ? "onnxruntime"
                                                              : "ggml") +
                                 " "),
              std::string::npos)
        << c.evidence[0];
  }
  // The spot checks behind the independent count: legacy GEMV is 1-1 on cells won (Q8_0 to ggml at
  // 2.0 vs 1.8, Q4_0 to qbench at 3.0 vs 2.6) and qbench leads on the geometric mean.
  for (const auto& c : fc.claims)
    if (c.family == "legacy" && c.metric == "gb_per_s") {
      EXPECT_EQ(c.winner, "qbench");
      EXPECT_EQ(c.wins, 1);
      EXPECT_NEAR(c.ratio, std::sqrt(1.8 / 2.0 * 3.0 / 2.6), 0.02);
    }
}

TEST(Frameworks, ComparisonAbsentWithOneFramework) {
  const auto fc = compare_frameworks(qbt::sample_results(), {});
  EXPECT_TRUE(fc.claims.empty());
  EXPECT_NE(fc.absent.find("one framework (qbench)"), std::string::npos) << fc.absent;
  const std::string html = render_html(qbt::make_report(qbt::sample_results()), "");
  EXPECT_NE(html.find("<h2>Framework comparison</h2>"), std::string::npos);
  EXPECT_NE(html.find("one framework (qbench)"), std::string::npos);
}

TEST(Frameworks, ComparisonInEveryRendering) {
  const auto rep = report_with_kinds(with_rel_err(three_frameworks()));
  const std::string html = render_html(rep, "");
  EXPECT_NE(html.find("id=\"framework-comparison-table\""), std::string::npos);
  EXPECT_NE(html.find("throughput Q4_0 avx2 gemv_4096x4096 2t compact"), std::string::npos);  // evidence named
  const std::string md = render_markdown(rep);
  EXPECT_NE(md.find("### Framework comparison"), std::string::npos);
  EXPECT_NE(md.find("| legacy | fastest | GEMV GB/s | **qbench** |"), std::string::npos) << md;
  Decision d = decide(results_of(rep), DecisionOptions{}, backend_kinds(rep));
  EXPECT_NE(decision_text(d).find("Framework comparison"), std::string::npos);
  EXPECT_NE(decision_text(d).find("most accurate"), std::string::npos);
}
