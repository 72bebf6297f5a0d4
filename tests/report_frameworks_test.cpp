// The framework decision (issue 15): which framework a backend's cells measure, recommend
// --frameworks, on synthetic reports of qbench's kernels, ggml (llama.cpp's kernels) and an ONNX
// Runtime adapter the report declares in machine.backends.
#include <gtest/gtest.h>

#include <set>

#include "decide.h"
#include "frameworks.h"
#include "qb/command.h"
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
  EXPECT_NE(d.text().find("framework"), std::string::npos);
  EXPECT_NE(d.text().find("llama.cpp/ggml"), std::string::npos);
  EXPECT_NE(d.markdown().find("| framework |"), std::string::npos);
  EXPECT_NE(d.html().find("<th>framework</th>"), std::string::npos);
  EXPECT_EQ(d.to_json()["candidates"][0]["framework"], d.candidates[0].framework);
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
