// qbench recommend (Pareto front, gates, constraints, ranking) and qbench qualify (gate
// language, verdicts, JUnit) on synthetic reports.
#include <gtest/gtest.h>

#include <map>

#include <fmt/format.h>

#include "decide.h"
#include "decision_render.h"
#include "qb/command.h"
#include "qualification_render.h"
#include "qualify.h"
#include "render.h"
#include "report_synthetic.h"

using namespace qb::rep;

namespace {
std::map<std::string, Candidate> by_format(const Decision& d) {
  std::map<std::string, Candidate> m;
  for (const auto& c : d.candidates) m[c.format] = c;
  return m;
}
const Check* gate(const Candidate& c, const std::string& prefix) {
  for (const auto& g : c.gates)
    if (g.name.find(prefix) != std::string::npos) return &g;
  return nullptr;
}
}  // namespace

TEST(Recommend, ParetoFrontAndGates) {
  auto d = decide(qbt::sample_results(), DecisionOptions{});
  EXPECT_EQ(d.baseline_format, "F16");
  auto m = by_format(d);
  ASSERT_EQ(m.size(), 5u);  // F16, Q8_0, Q4_K, Q4_0, Q2_K on avx2 (F32 has no speed cells)
  // Q4_0 has the same bits as Q4_K but lower SNR and lower speed: dominated by Q4_K.
  EXPECT_FALSE(m["Q4_0"].pareto);
  EXPECT_NE(m["Q4_0"].dominated_by.find("Q4_K"), std::string::npos);
  for (const char* f : {"F16", "Q8_0", "Q4_K", "Q2_K"}) EXPECT_TRUE(m[f].pareto) << f;
  // Speed-up vs F16 (geometric mean over the two workloads): 3.2x for Q4_K within noise.
  ASSERT_TRUE(m["Q4_K"].speedup.has_value());
  EXPECT_NEAR(*m["Q4_K"].speedup, 3.2, 0.1);
  // F16 against its own best cell of each class: 1.0 up to the spread of its own GFLOP/s.
  EXPECT_NEAR(*m["F16"].speedup, 1.0, 0.01);
  EXPECT_LE(*m["F16"].speedup, 1.0);
  // Gates: Q4_K passes all; Q8_0 fails speed-up (1.8x) and memory (46.9%); F16 fails both.
  EXPECT_TRUE(m["Q4_K"].gates_pass);
  EXPECT_FALSE(gate(m["Q8_0"], "speed-up")->pass);
  EXPECT_FALSE(gate(m["Q8_0"], "memory")->pass);
  EXPECT_TRUE(gate(m["Q8_0"], "quality")->pass);
  // Q2_K at 9 dB SNR: cosine 0.9438 < 0.95 -> fails the quality gate.
  EXPECT_FALSE(gate(m["Q2_K"], "quality")->pass);
  EXPECT_TRUE(gate(m["Q2_K"], "memory")->pass);
  // Ranking: the only all-gates candidates first (Q4_K, then the dominated Q4_0).
  ASSERT_GE(d.candidates.size(), 2u);
  EXPECT_EQ(d.candidates[0].format, "Q4_K");
  EXPECT_EQ(d.candidates[0].rank, 1);
  EXPECT_EQ(d.candidates[1].format, "Q4_0");
  EXPECT_NE(d.candidates[0].why.find("passes all default gates"), std::string::npos);
  EXPECT_NE(d.candidates[0].why.find("Pareto-optimal"), std::string::npos);
}

TEST(Recommend, ConstraintsExcludeWithReasons) {
  DecisionOptions o;
  parse_min_throughput(o, "2GB/s");
  parse_quality_loss(o, "1%");
  auto d = decide(qbt::sample_results(), o);
  auto m = by_format(d);
  // Throughput: 4096*4096*bpw/8 bytes / time.  F16: 33.5 MB / 4 ms = 8.4 GB/s; Q2_K: 5.5 MB / 0.89 ms = 6.2.
  // Quality loss (1 - cosine): Q4_K 21 dB -> 0.40%; Q2_K 9 dB -> 5.6% -> excluded.
  EXPECT_FALSE(m["Q2_K"].eligible);
  EXPECT_NE(m["Q2_K"].why.find("quality loss <= 1%"), std::string::npos) << m["Q2_K"].why;
  EXPECT_TRUE(m["Q4_K"].eligible);
  EXPECT_EQ(m["Q2_K"].rank, 0);
  // Excluded candidates come after every eligible one.
  bool seen_excluded = false;
  for (const auto& c : d.candidates) {
    if (!c.eligible)
      seen_excluded = true;
    else
      EXPECT_FALSE(seen_excluded) << c.id();
  }
  // No latency in the report: a p99 constraint excludes everything, saying why.
  DecisionOptions p;
  p.max_p99_us = 5000;
  auto d2 = decide(qbt::sample_results(), p);
  for (const auto& c : d2.candidates) {
    EXPECT_FALSE(c.eligible);
    EXPECT_NE(c.why.find("no p99 latency measured"), std::string::npos);
  }
  EXPECT_TRUE(d2.top(3).empty());
}

TEST(Recommend, WeightsChangeTheOrderAmongEligible) {
  auto results = qbt::sample_results();
  DecisionOptions mem;
  parse_weights(mem, "quality=0,speed=0,memory=1");
  mem.gate_quality_ratio = 0;  // let every candidate pass the gates
  mem.gate_speedup = 0;
  mem.gate_memory_reduction_pct = -1000;
  auto d = decide(results, mem);
  EXPECT_EQ(d.candidates[0].format, "Q2_K");
  DecisionOptions q = mem;
  parse_weights(q, "quality=1,speed=0,memory=0");
  auto dq = decide(results, q);
  EXPECT_EQ(dq.candidates[0].format, "F16");
}

TEST(Recommend, DeviceClassAndBadOptions) {
  DecisionOptions o;
  apply_device_class(o, "mobile", false);
  EXPECT_EQ(o.max_threads, 4);
  EXPECT_DOUBLE_EQ(o.w_memory, 2);
  EXPECT_FALSE(o.memory_budget_explicit);
  EXPECT_THROW(apply_device_class(o, "toaster", false), qb::UsageError);
  EXPECT_THROW(parse_weights(o, "quality=x"), qb::UsageError);
  EXPECT_THROW(parse_weights(o, "colour=1"), qb::UsageError);
  EXPECT_THROW(parse_min_throughput(o, "fast"), qb::UsageError);
  EXPECT_THROW(parse_quality_loss(o, "3"), qb::UsageError);
  parse_min_throughput(o, "15tokens/s");
  EXPECT_EQ(o.throughput_metric, "tokens_per_s");
  EXPECT_DOUBLE_EQ(*o.min_throughput, 15);
  parse_quality_loss(o, "1dB");
  EXPECT_TRUE(o.quality_loss_db);
}

TEST(Recommend, FormatsOnlyReport) {
  std::vector<qb::CellResult> v = {qbt::qe("F16", 75, 16), qbt::qe("Q4_K", 21, 4.5), qbt::qe("Q4_0", 19, 4.5),
                                   qbt::qe("F32", INFINITY, 32)};
  auto d = decide(v, DecisionOptions{});
  ASSERT_EQ(d.candidates.size(), 4u);
  auto m = by_format(d);
  EXPECT_TRUE(m["F32"].lossless);
  EXPECT_FALSE(m["Q4_0"].pareto);
  EXPECT_FALSE(gate(m["Q4_K"], "speed-up")->evaluated);
  EXPECT_EQ(d.candidates[0].format, "Q4_K");  // passes the two evaluated gates
}

TEST(Recommend, CliJson) {
  auto p = qbt::write("rec.json", qbt::make_report(qbt::sample_results()).dump());
  std::string out;
  ASSERT_EQ(qbt::run_qbench("recommend " + p + " --json --weights quality=1,speed=1,memory=1", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["recommendations"][0], "Q4_K / avx2 / 2t / compact");
  EXPECT_EQ(qbt::run_qbench("recommend " + p + " --memory-budget 2XB", &out), 2);
  EXPECT_NE(out.find("--memory-budget"), std::string::npos);
  EXPECT_EQ(qbt::run_qbench("recommend " + p + " --device-class watch", &out), 2);
}

// ---- qualify

namespace {
nlohmann::json profile() {
  return nlohmann::json::parse(R"({
    "name": "synthetic",
    "gates": [
      {"name": "Q4_K GEMV >= 20 GB/s on 2 threads", "select": {"suite": "throughput", "format": "Q4_K", "threads": 2, "workload": "gemv_*"},
       "metric": "gb_per_s", "op": ">=", "threshold": 20},
      {"name": "Q4_K SNR >= 20 dB", "select": {"suite": "quant-error", "format": "Q4_K"}, "metric": "snr_db", "op": ">=", "threshold": 20},
      {"name": "Q4_K time change vs F16 <= -50%", "select": {"suite": "throughput", "format": "Q4_K"}, "baseline": {"format": "F16"},
       "metric": "time_s", "aggregate": "geomean", "op": "<=", "threshold": -50},
      {"name": "optional perplexity", "select": {"suite": "perplexity"}, "metric": "ppl", "op": "<=", "threshold": 10, "optional": true}
    ]})");
}
}  // namespace

TEST(Qualify, PassMarginsAndSkips) {
  auto q = qualify(profile(), "p.json", qbt::sample_results());
  ASSERT_EQ(q.gates.size(), 4u);
  // Q4_K: 4096*4096*4.5/8 B / (4ms/3.2) = 7.55 GB/s (worst of 2 cells) < 20 -> fail.
  EXPECT_EQ(q.gates[0].status, "fail");
  EXPECT_EQ(q.gates[0].cells, 2);
  EXPECT_NEAR(*q.gates[0].value, 9437184.0 / 0.00125 / 1e9, 0.2);
  EXPECT_LT(q.gates[0].margin, 0);
  EXPECT_EQ(q.gates[1].status, "pass");
  EXPECT_DOUBLE_EQ(*q.gates[1].value, 21);
  EXPECT_DOUBLE_EQ(q.gates[1].margin, 1);
  EXPECT_NEAR(q.gates[1].margin_pct, 5, 1e-9);
  EXPECT_EQ(q.gates[2].status, "pass");  // 1/3.2 - 1 = -68.75%
  EXPECT_NEAR(*q.gates[2].value, -68.75, 1.5);
  EXPECT_EQ(q.gates[3].status, "skipped");
  EXPECT_FALSE(q.pass());
  auto x = qualification_junit(q);
  EXPECT_NE(x.find("tests=\"4\" failures=\"1\""), std::string::npos);
  EXPECT_NE(x.find("<skipped"), std::string::npos);
  EXPECT_NE(x.find("name=\"Q4_K GEMV &gt;= 20 GB/s on 2 threads\""), std::string::npos);
}

TEST(Qualify, BadProfilesNameTheField) {
  auto bad = [](const char* text) {
    try {
      validate_profile(nlohmann::json::parse(text), "bad.json");
    } catch (const qb::UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(bad(R"({"gates": []})").find("gates"), std::string::npos);
  EXPECT_NE(bad(R"({"gates": [{"name": "a", "metric": "speed", "op": ">=", "threshold": 1}]})").find("gates[0].metric"),
            std::string::npos);
  EXPECT_NE(bad(R"({"gates": [{"name": "a", "metric": "gb_per_s", "op": "=>", "threshold": 1}]})").find("gates[0].op"),
            std::string::npos);
  EXPECT_NE(bad(R"({"gates": [{"name": "a", "metric": "gb_per_s", "op": ">=", "threshold": "1"}]})").find("threshold"),
            std::string::npos);
  EXPECT_NE(
      bad(R"({"gates": [{"name": "a", "metric": "gb_per_s", "op": ">=", "threshold": 1, "select": {"colour": "red"}}]})")
          .find("gates[0].select.colour"),
      std::string::npos);
  EXPECT_NE(bad(R"({"gates": [{"name": "a", "metric": "gb_per_s", "op": ">=", "threshold": 1, "aggregate": "avg"}]})")
                .find("aggregate"),
            std::string::npos);
}

TEST(Qualify, CliExitCodesAndJUnit) {
  auto rep = qbt::write("q_report.json", qbt::make_report(qbt::sample_results()).dump());
  auto pass = profile();
  pass["gates"].erase(0);
  auto pp = qbt::write("q_pass.json", pass.dump());
  auto pf = qbt::write("q_fail.json", profile().dump());
  auto junit = qbt::tmpdir() + "/q.xml";
  std::string out;
  EXPECT_EQ(qbt::run_qbench("qualify --profile " + pp + " " + rep + " --junit " + junit, &out), 0) << out;
  EXPECT_NE(out.find("QUALIFIED"), std::string::npos);
  EXPECT_EQ(qbt::run_qbench("qualify --profile " + pf + " " + rep + " --junit " + junit, &out), 1) << out;
  std::ifstream in(junit);
  std::string xml((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(xml.find("<failure"), std::string::npos);
  auto broken = qbt::write("q_broken.json", "{\"gates\": [");
  EXPECT_EQ(qbt::run_qbench("qualify --profile " + broken + " " + rep, &out), 2);
  EXPECT_NE(out.find("q_broken.json"), std::string::npos);
  EXPECT_EQ(qbt::run_qbench("qualify --profile " + pp + " /nonexistent.json", &out), 2);
  // The shipped example profiles are valid.
  for (const char* f : {"edge-q4.json", "ci-smoke.json"}) {
    std::string path = std::string(QB_SOURCE_DIR) + "/reports/profiles/" + f;
    std::ifstream pin(path);
    ASSERT_TRUE(pin) << path;
    EXPECT_NO_THROW(validate_profile(nlohmann::json::parse(pin), path));
  }
}

// Perplexity is not measured by any suite yet: synthetic cells check that it takes over quality.
TEST(Recommend, PerplexityDrivesQualityWhenPresent) {
  auto v = qbt::sample_results();
  const std::pair<const char*, double> ppl[] = {
      {"F16", 10.0}, {"Q8_0", 10.02}, {"Q4_K", 10.3}, {"Q4_0", 10.7}, {"Q2_K", 12.5}};
  for (auto [f, p] : ppl)
    v.push_back(qbt::cell("perplexity", f, "-", "wikitext2", 1, "-", {{"ppl", p}, {"kld", (p - 10) / 10}}));
  auto d = decide(v, DecisionOptions{});
  EXPECT_NE(d.quality_basis.find("perplexity"), std::string::npos);
  auto m = by_format(d);
  EXPECT_NEAR(*m["Q4_K"].quality_ratio, 10.0 / 10.3, 1e-12);
  EXPECT_NEAR(*m["Q4_K"].quality_loss_pct, 3.0, 1e-9);
  EXPECT_TRUE(gate(m["Q4_K"], "quality")->pass);   // 97.1% >= 95%
  EXPECT_FALSE(gate(m["Q4_0"], "quality")->pass);  // 10/10.7 = 93.5%
  EXPECT_FALSE(gate(m["Q2_K"], "quality")->pass);
  DecisionOptions o;
  parse_quality_loss(o, "3.5%");
  auto d2 = decide(v, o);
  auto m2 = by_format(d2);
  EXPECT_TRUE(m2["Q4_K"].eligible);
  EXPECT_FALSE(m2["Q4_0"].eligible);  // +7% ppl
  EXPECT_EQ(d2.candidates[0].format, "Q4_K");
  // The HTML shows a perplexity-vs-bits chart and the KLD column.
  std::string html = render_html(qbt::make_report(v), "");
  EXPECT_NE(html.find("perplexity (lower is better)"), std::string::npos);
  EXPECT_NE(html.find("<th>KLD</th>"), std::string::npos);
}

TEST(Qualify, PerplexityIncreaseGate) {
  auto v = qbt::sample_results();
  v.push_back(qbt::cell("perplexity", "F16", "-", "wikitext2", 1, "-", {{"ppl", 10.0}}));
  v.push_back(qbt::cell("perplexity", "Q4_K", "-", "wikitext2", 1, "-", {{"ppl", 10.25}}));
  auto p = nlohmann::json::parse(R"({"name": "ppl", "gates": [
      {"name": "PPL increase <= 3%", "select": {"suite": "perplexity", "format": "Q4_K"}, "baseline": {"format": "F16"},
       "metric": "ppl", "op": "<=", "threshold": 3}]})");
  auto q = qualify(p, "ppl.json", v);
  ASSERT_EQ(q.gates.size(), 1u);
  EXPECT_EQ(q.gates[0].status, "pass");
  EXPECT_NEAR(*q.gates[0].value, 2.5, 1e-9);
  EXPECT_NEAR(q.gates[0].margin, 0.5, 1e-9);
  EXPECT_TRUE(q.pass());
}

TEST(Qualify, CountGateSeesFailedCells) {
  auto v = qbt::sample_results();
  auto p = nlohmann::json::parse(R"({"gates": [{"name": "no failed throughput cell",
      "select": {"suite": "throughput", "status": "failed"}, "metric": "gb_per_s", "aggregate": "count", "op": "==", "threshold": 0}]})");
  EXPECT_EQ(qualify(p, "c.json", v).gates[0].status, "pass");
  v[0].status = qb::CellStatus::Failed;
  v[0].error = "boom";
  auto q = qualify(p, "c.json", v);
  EXPECT_EQ(q.gates[0].status, "fail");
  EXPECT_DOUBLE_EQ(*q.gates[0].value, 1);
}

// ---- issue 11, point 2: decisions on invalid data; measured numbers outrank estimates

namespace {
const Candidate* find(const Decision& d, const std::string& format, const std::string& backend) {
  for (const auto& c : d.candidates)
    if (c.format == format && c.backend == backend) return &c;
  return nullptr;
}
}  // namespace

TEST(Recommend, InvalidCellsAreNotRankedButListed) {
  auto v = qbt::sample_results();
  // A disturbed run: Q4_K on avx512 looks 10x faster than anything, but its cells are invalid.
  v.push_back(
      qbt::invalid(qbt::tp("Q4_K", "avx512", "gemv_4096x4096", 2, 0.0001, 4.5, 90), "CV 41% over threshold 5%"));
  v.push_back(
      qbt::invalid(qbt::tp("Q4_K", "avx512", "gemv_4096x14336", 2, 0.0001, 4.5, 91), "steal 12% during the cell"));
  auto d = decide(v, DecisionOptions{});
  const Candidate* bad = find(d, "Q4_K", "avx512");
  ASSERT_NE(bad, nullptr);
  EXPECT_FALSE(bad->eligible);
  EXPECT_EQ(bad->rank, 0);
  EXPECT_FALSE(bad->pareto);
  EXPECT_EQ(bad->invalid_cells, 2);
  EXPECT_NE(bad->why.find("CV 41%"), std::string::npos) << bad->why;
  EXPECT_NE(bad->why.find("--include-invalid"), std::string::npos) << bad->why;
  // The valid ranking is the one without the invalid cells.
  EXPECT_EQ(d.candidates[0].format, "Q4_K");
  EXPECT_EQ(d.candidates[0].backend, "avx2");
  EXPECT_TRUE(find(d, "Q4_K", "avx2")->pareto);  // not dominated by an invalid measurement
  ASSERT_EQ(d.invalid_cells.size(), 2u);
  EXPECT_NE(decision_text(d).find("Invalid cells left out"), std::string::npos);
  EXPECT_NE(decision_text(d).find("steal 12%"), std::string::npos);
  EXPECT_NE(decision_markdown(d).find("steal 12%"), std::string::npos);
  EXPECT_NE(decision_matrix_html(d).find("class=\"invalid\""), std::string::npos);

  // --include-invalid brings them back, visibly marked.
  DecisionOptions inc;
  inc.include_invalid = true;
  auto di = decide(v, inc);
  const Candidate* back = find(di, "Q4_K", "avx512");
  ASSERT_NE(back, nullptr);
  EXPECT_TRUE(back->eligible);
  EXPECT_EQ(back->rank, 1);
  EXPECT_TRUE(back->includes_invalid);
  EXPECT_NE(back->why.find("INCLUDES 2 INVALID"), std::string::npos) << back->why;
  EXPECT_NE(decision_text(di).find("[includes invalid cells]"), std::string::npos);
  EXPECT_NE(decision_matrix_html(di).find("eligible pareto invalid"), std::string::npos);
}

TEST(Recommend, InvalidCellLeavesTheCandidatesNumbersAlone) {
  auto v = qbt::sample_results();
  auto clean = decide(v, DecisionOptions{});
  // One more Q4_0 cell, 100x slower and invalid: neither its GB/s nor its speed-up may move.
  v.push_back(qbt::invalid(qbt::tp("Q4_0", "avx2", "gemv_4096x11008", 2, 0.1, 4.5, 77)));
  auto d = decide(v, DecisionOptions{});
  const Candidate *a = find(clean, "Q4_0", "avx2"), *b = find(d, "Q4_0", "avx2");
  ASSERT_TRUE(a && b && a->gb_per_s && b->gb_per_s && a->speedup && b->speedup);
  EXPECT_DOUBLE_EQ(*a->gb_per_s, *b->gb_per_s);
  EXPECT_DOUBLE_EQ(*a->speedup, *b->speedup);
  EXPECT_TRUE(b->eligible);
  EXPECT_EQ(b->invalid_cells, 1);
  EXPECT_NE(b->why.find("1 invalid cell(s) left out"), std::string::npos) << b->why;
}

TEST(Recommend, MeasuredNumberOutranksEstimate) {
  // Same candidate: a measured tokens/s and the decode estimate. The measurement is the number.
  std::vector<qb::CellResult> v = {qbt::qe("Q4_K", 21, 4.5), qbt::qe("Q4_0", 19, 4.5)};
  v.push_back(qbt::decode_estimate("Q4_K", "avx2", 100));
  v.push_back(qbt::cell("latency", "Q4_K", "avx2", "model_llama3.2-1b", 2, "compact", {{"tokens_per_s", 20.0}}));
  // Another candidate known only by the estimate, five times "faster".
  v.push_back(qbt::decode_estimate("Q4_0", "avx2", 100));
  DecisionOptions o;
  o.w_speed = 3;  // speed dominates the score: only the measured-first rule puts Q4_K first
  auto d = decide(v, o);
  const Candidate *k = find(d, "Q4_K", "avx2"), *z = find(d, "Q4_0", "avx2");
  ASSERT_TRUE(k && z && k->tokens_per_s && z->tokens_per_s);
  EXPECT_DOUBLE_EQ(*k->tokens_per_s, 20.0);
  EXPECT_FALSE(k->is_estimate("tokens_per_s"));
  EXPECT_TRUE(z->is_estimate("tokens_per_s"));
  EXPECT_TRUE(z->speed_estimated);
  EXPECT_GT(z->score, k->score);
  EXPECT_EQ(d.candidates[0].format, "Q4_K") << decision_text(d);
  EXPECT_EQ(d.candidates[1].format, "Q4_0");
  // Wherever the estimate is shown it says so.
  EXPECT_NE(decision_markdown(d).find("100 tok/s (estimate)"), std::string::npos);
  EXPECT_NE(decision_matrix_html(d).find("100 tok/s (estimate)"), std::string::npos);
  EXPECT_NE(decision_text(d).find("estimate"), std::string::npos);
  EXPECT_NE(decision_json(d).dump().find("\"estimated\":[\"decode_ms\",\"tokens_per_s\"]"), std::string::npos)
      << decision_json(d).dump();
  // A constraint met only by an estimate says so too.
  DecisionOptions m = o;
  parse_min_throughput(m, "50tokens/s");
  auto dm = decide(v, m);
  const Candidate* zm = find(dm, "Q4_0", "avx2");
  ASSERT_FALSE(zm->constraints.empty());
  EXPECT_NE(zm->constraints[0].detail.find("100 tokens/s (estimate)"), std::string::npos) << zm->constraints[0].detail;
}

TEST(Recommend, EstimateKeyedOnParamOrMetricName) {
  // Whatever the latency suite writes: params.estimate on any workload, or est_* metric names.
  auto a = qbt::cell("latency", "Q4_K", "avx2", "model_x", 2, "compact", {{"tokens_per_s", 50.0}});
  a.cell.params = {{"estimate", true}};
  auto b = qbt::cell("latency", "Q4_0", "avx2", "decode_x", 2, "compact", {{"est_tokens_per_s", 60.0}});
  auto d = decide({a, b, qbt::qe("Q4_K", 21, 4.5), qbt::qe("Q4_0", 19, 4.5)}, DecisionOptions{});
  const Candidate *k = find(d, "Q4_K", "avx2"), *z = find(d, "Q4_0", "avx2");
  ASSERT_TRUE(k && z && k->tokens_per_s && z->tokens_per_s);
  EXPECT_TRUE(k->is_estimate("tokens_per_s"));
  EXPECT_TRUE(z->is_estimate("tokens_per_s"));
  EXPECT_DOUBLE_EQ(*z->tokens_per_s, 60.0);
}

TEST(Qualify, InvalidCellsDoNotDecideGatesByDefault) {
  auto v = qbt::sample_results();
  v.push_back(qbt::invalid(qbt::tp("Q4_K", "avx2", "gemv_4096x11008", 2, 1.0, 4.5, 5), "CV 41% over threshold 5%"));
  nlohmann::json p = {{"name", "t"},
                      {"gates",
                       {{{"name", "Q4_K GEMV >= 1 GB/s"},
                         {"select", {{"suite", "throughput"}, {"format", "Q4_K"}}},
                         {"metric", "gb_per_s"},
                         {"op", ">="},
                         {"threshold", 1}}}}};
  auto q = qualify(p, "p.json", v);
  EXPECT_EQ(q.gates[0].status, "pass") << q.gates[0].detail;
  EXPECT_EQ(q.gates[0].cells, 2);
  EXPECT_NE(q.gates[0].detail.find("1 invalid cell(s) dropped"), std::string::npos);
  // --include-invalid: the invalid cell decides, and the verdict says so.
  auto qi = qualify(p, "p.json", v, true);
  EXPECT_EQ(qi.gates[0].status, "fail");
  EXPECT_NE(qi.gates[0].detail.find("INCLUDES 1 INVALID"), std::string::npos) << qi.gates[0].detail;
  // An explicit require_valid: false still works.
  p["gates"][0]["require_valid"] = false;
  EXPECT_EQ(qualify(p, "p.json", v).gates[0].status, "fail");
  // CLI.
  p["gates"][0].erase("require_valid");
  auto pp = qbt::write("q_invalid.json", p.dump()),
       rep = qbt::write("q_invalid_report.json", qbt::make_report(v).dump());
  std::string out;
  EXPECT_EQ(qbt::run_qbench("qualify --profile " + pp + " " + rep, &out), 0) << out;
  EXPECT_EQ(qbt::run_qbench("qualify --include-invalid --profile " + pp + " " + rep, &out), 1) << out;
  EXPECT_NE(out.find("INVALID"), std::string::npos) << out;
}

TEST(Qualify, MeasuredValueOutranksEstimate) {
  std::vector<qb::CellResult> v = {
      qbt::decode_estimate("Q4_K", "avx2", 100),
      qbt::cell("latency", "Q4_K", "avx2", "model_llama3.2-1b", 2, "compact", {{"tokens_per_s", 20.0}})};
  nlohmann::json p = {{"name", "t"},
                      {"gates",
                       {{{"name", "Q4_K decodes >= 50 tokens/s"},
                         {"select", {{"format", "Q4_K"}}},
                         {"metric", "tokens_per_s"},
                         {"aggregate", "max"},
                         {"op", ">="},
                         {"threshold", 50}}}}};
  auto q = qualify(p, "p.json", v);
  EXPECT_EQ(q.gates[0].status, "fail") << q.gates[0].detail;
  ASSERT_TRUE(q.gates[0].value.has_value());
  EXPECT_DOUBLE_EQ(*q.gates[0].value, 20.0);
  EXPECT_NE(q.gates[0].detail.find("1 estimate(s) ignored"), std::string::npos) << q.gates[0].detail;
  // Only the estimate: it is used, and the verdict says it is an estimate.
  auto qe = qualify(p, "p.json", {v[0]});
  EXPECT_EQ(qe.gates[0].status, "pass");
  EXPECT_NE(qe.gates[0].detail.find("estimate"), std::string::npos) << qe.gates[0].detail;
}

TEST(Recommend, CliIncludeInvalid) {
  auto v = qbt::sample_results();
  v.push_back(qbt::invalid(qbt::tp("Q4_K", "avx512", "gemv_4096x4096", 2, 0.0001, 4.5, 90)));
  auto rep = qbt::write("rec_invalid.json", qbt::make_report(v).dump());
  std::string out;
  ASSERT_EQ(qbt::run_qbench("recommend " + rep + " --json", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["recommendations"][0], "Q4_K / avx2 / 2t / compact");
  EXPECT_EQ(j["invalid_cells"].size(), 1u);
  ASSERT_EQ(qbt::run_qbench("recommend " + rep + " --json --include-invalid", &out), 0) << out;
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["recommendations"][0], "Q4_K / avx512 / 2t / compact");
}

// With measured model quality (perplexity cells) and model speed (decode cells), the decision
// ranks on them: the fastest format that loses the most perplexity (Q2_K) is not first, the gates
// are llama.cpp's (PPL increase, KLD) with measured value and margin, and kernel cells do not rank.
TEST(Recommend, ModelGroundedQualityAndSpeed) {
  using qbt::cell;
  std::vector<qb::CellResult> rs;
  struct F {
    const char* name;
    double ppl_ratio, kld, bpw, decode_tps;
  };
  const F fs[] = {{"Q8_0", 1.002, 0.002, 8.5, 40}, {"Q4_K_M", 1.03, 0.04, 4.9, 60}, {"Q2_K", 1.60, 0.45, 2.9, 75}};
  for (const auto& f : fs) {
    rs.push_back(cell(
        "perplexity", f.name, "avx512", "ctx512", 2, "-",
        {{"ppl", 8.0 * f.ppl_ratio}, {"ppl_ratio", f.ppl_ratio}, {"kld_mean", f.kld}, {"bits_per_weight", f.bpw}}));
    const double t = 128.0 / f.decode_tps;
    auto d = cell("decode", f.name, "avx512", "tg128", 2, "-", {{"tokens_per_s", f.decode_tps}, {"time_s", t}},
                  qbt::timing_samples(t, 5, 3));
    rs.push_back(d);
    // A kernel cell that would make Q2_K look best on GB/s: not ranked once model cells exist.
    rs.push_back(qbt::tp(f.name, "avx512", "gemv_4096x4096", 2, std::string(f.name) == "Q2_K" ? 1e-4 : 1e-3, f.bpw));
  }
  DecisionOptions o;
  Decision d = decide(rs, o);
  ASSERT_EQ(d.candidates.size(), 3u);
  EXPECT_NE(d.quality_basis.find("measured perplexity"), std::string::npos) << d.quality_basis;
  EXPECT_NE(d.candidates.front().format, "Q2_K");
  EXPECT_EQ(d.candidates.front().format, "Q4_K_M");  // passes both gates and is faster than Q8_0
  for (const auto& c : d.candidates) {
    SCOPED_TRACE(c.format);
    ASSERT_TRUE(c.tokens_per_s.has_value());
    const F& f = *std::find_if(std::begin(fs), std::end(fs), [&](const F& x) { return c.format == x.name; });
    EXPECT_DOUBLE_EQ(*c.tokens_per_s, f.decode_tps);  // the decode cell, not the kernel cell
    ASSERT_GE(c.gates.size(), 2u);
    EXPECT_EQ(c.gates[0].name, "PPL increase <= 5%");
    EXPECT_EQ(c.gates[0].pass, (f.ppl_ratio - 1) * 100 <= 5);
    EXPECT_NE(c.gates[0].detail.find(fmt::format("{:+.2f}%", (f.ppl_ratio - 1) * 100)), std::string::npos)
        << c.gates[0].detail;
    EXPECT_NE(c.gates[0].detail.find("margin"), std::string::npos);
    EXPECT_EQ(c.gates[1].name, "KLD <= 0.1");
    EXPECT_EQ(c.gates[1].pass, f.kld <= 0.10);
  }
  // Tighter gates move the decision: at 1% PPL increase only Q8_0 passes.
  o.gate_max_ppl_increase_pct = 1.0;
  EXPECT_EQ(decide(rs, o).candidates.front().format, "Q8_0");
}

// The steps that choose what quality and size are read on: the quant-error distribution and the
// memory suite's model.
TEST(Recommend, DistributionAndModelSizeSteps) {
  auto v = qbt::sample_results();
  v.push_back(qbt::qe("Q4_K", 30, 4.5, "laplace"));
  EXPECT_DOUBLE_EQ(*find(decide(v, DecisionOptions{}), "Q4_K", "avx2")->snr_db, 21);  // gaussian by default
  DecisionOptions lap;
  lap.distribution = "laplace";
  auto dl = decide(v, lap);
  EXPECT_EQ(dl.distribution, "laplace");
  EXPECT_DOUBLE_EQ(*find(dl, "Q4_K", "avx2")->snr_db, 30);
  lap.distribution = "cauchy";
  EXPECT_THROW(decide(v, lap), qb::UsageError);

  for (auto [model, bytes] : {std::pair<const char*, double>{"small", 7e8}, {"big", 7e9}})
    v.push_back(qbt::cell("memory", "Q4_K", "-", std::string("model_") + model, 1, "-", {{"model_bytes", bytes}}));
  auto largest = decide(v, DecisionOptions{});
  EXPECT_EQ(largest.model, "");
  EXPECT_DOUBLE_EQ(*find(largest, "Q4_K", "avx2")->model_bytes, 7e9);  // the largest: conservative
  DecisionOptions small;
  small.model = "small";
  EXPECT_DOUBLE_EQ(*find(decide(v, small), "Q4_K", "avx2")->model_bytes, 7e8);
  small.model = "huge";
  EXPECT_THROW(decide(v, small), qb::UsageError);
  // The latency suite's decode model is the default when it has memory cells.
  v.push_back(qbt::decode_estimate("Q4_K", "avx2", 50, "small"));
  auto dec = decide(v, DecisionOptions{});
  EXPECT_EQ(dec.model, "small");
  EXPECT_DOUBLE_EQ(*find(dec, "Q4_K", "avx2")->model_bytes, 7e8);
}
