// Renderers: registration, escaping of every string that comes from a report (HTML injection,
// Markdown tables, CSV quoting / formula guard), chart-less fallback, `qbench report` CLI.
#include <gtest/gtest.h>

#include <algorithm>

#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "report_synthetic.h"

using namespace qb::rep;

namespace {
const char* kEvil = "<script>alert(1)</script>";
const char* kEvilAttr = "\"><img src=x onerror=alert(2)>";

nlohmann::json evil_report() {
  auto v = qbt::sample_results();
  auto bad = qbt::cell("throughput", "Q4_K", "avx2", kEvil, 2, "compact", {{"gb_per_s", 1.0}}, qbt::timing_samples(1e-3, 5, 3));
  bad.valid = false;
  bad.reasons = {kEvilAttr, "CV, \"quoted\" | piped"};
  v.push_back(bad);
  auto failed = qbt::cell("latency", "Q4_0", kEvilAttr, "=HYPERLINK(\"http://x\")", 1, "compact", {});
  failed.status = "failed";
  failed.error = std::string("line1\nline2 | ") + kEvil;
  v.push_back(failed);
  auto rep = qbt::make_report(v);
  rep["machine"]["topology"]["cpu_model"] = std::string("CPU ") + kEvil;
  rep["config"]["note"] = std::string("</script><script>alert(3)</script> ``` ") + kEvilAttr;
  return rep;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = 0; (p = s.find(what, p)) != std::string::npos; p += what.size()) ++n;
  return n;
}
}  // namespace

TEST(Render, RenderersAreRegistered) {
  std::vector<std::string> names;
  for (const auto& r : qb::all_renderers()) names.push_back(r.name + ":" + r.file_name);
  for (const char* n : {"html:report.html", "markdown:report.md", "csv:report.csv"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST(Render, EscapeHelpers) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(md_escape("a|b_c\nd"), "a\\|b\\_c d");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("=1+2"), "'=1+2");
  EXPECT_EQ(csv_field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(script_json("</script>"), "\"\\u003c/script\\u003e\"");
  EXPECT_TRUE(glob_match("gemv_*", "gemv_4096x4096"));
  EXPECT_FALSE(glob_match("gemv_*", "gemm_4096x4096"));
  EXPECT_TRUE(glob_match("Q?_K", "Q4_K"));
  EXPECT_EQ(fmt_num(1234.5678), "1235");
  EXPECT_EQ(fmt_num(0.5), "0.5");
  EXPECT_DOUBLE_EQ(parse_bytes("2GiB", "x"), 2147483648.0);
  EXPECT_DOUBLE_EQ(parse_bytes("512MB", "x"), 512e6);
  EXPECT_DOUBLE_EQ(parse_percent("5%", "x"), 5);
  EXPECT_DOUBLE_EQ(parse_duration_us("5ms", "x"), 5000);
  EXPECT_THROW(parse_bytes("lots", "--memory-budget"), qb::UsageError);
  EXPECT_THROW(parse_percent("-1%", "--max-regression"), qb::UsageError);
}

TEST(Render, HtmlEscapesEverythingFromTheReport) {
  auto rep = evil_report();
  std::string html = render_html(rep, "/* fake chart.js */ var s = '</script>'; window.Chart = undefined;");
  // Only our own <script> elements: the JSON data block, the inlined library, the page script.
  EXPECT_EQ(count(html, "<script"), 3u) << "injected script element";
  EXPECT_EQ(count(html, "</script>"), 3u);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("alert(1)</"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  // No network: no external references.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  // Sections.
  for (const char* id : {"id=\"summary\"", "id=\"machine\"", "id=\"heatmaps\"", "id=\"latency\"", "id=\"quality\"",
                         "id=\"decision\"", "id=\"flagged\"", "id=\"config\"", "@media print", "decision-matrix"})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  // Failed and invalid cells are flagged with their reasons.
  EXPECT_NE(html.find("line1\nline2 | &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("no-charts"), std::string::npos);
}

TEST(Render, HtmlWithoutChartJsSaysSo) {
  std::string html = render_html(qbt::make_report(qbt::sample_results()), "");
  EXPECT_NE(html.find("id=\"no-charts\""), std::string::npos);
  EXPECT_NE(html.find("libjs-chart.js"), std::string::npos);
  EXPECT_EQ(count(html, "<script"), 2u);  // data + page script (which notices Chart is missing)
}

TEST(Render, MarkdownEscapesTableCells) {
  std::string md = render_markdown(evil_report());
  // Outside the fenced JSON block (where Markdown shows HTML literally) no raw HTML survives.
  std::string body = md.substr(0, md.find("## Run configuration"));
  EXPECT_EQ(body.find("<script>"), std::string::npos);
  EXPECT_EQ(body.find("<img"), std::string::npos);
  EXPECT_NE(md.find("line1 line2 \\| &lt;script&gt;"), std::string::npos);
  // The config block cannot be closed early by ``` in a value.
  EXPECT_EQ(count(md, "```"), 2u);
  EXPECT_NE(md.find("### Decision matrix"), std::string::npos);
  EXPECT_NE(md.find("Top recommendations"), std::string::npos);
}

TEST(Render, CsvOneRowPerCellQuoted) {
  auto rep = evil_report();
  std::string csv = render_csv(rep);
  // Count records (newlines outside quotes).
  size_t records = 0;
  bool q = false;
  for (char c : csv) {
    if (c == '"') q = !q;
    else if (c == '\n' && !q) ++records;
  }
  EXPECT_EQ(records, rep["results"].size() + 1);
  EXPECT_NE(csv.find("'=HYPERLINK(\"\"http://x\"\")"), std::string::npos);
  EXPECT_NE(csv.find("\"\"quoted\"\""), std::string::npos);
  EXPECT_EQ(csv.rfind("suite,format,backend,workload,threads,placement,status,valid,error,reasons", 0), 0u);
}

TEST(Render, ReportCli) {
  auto p = qbt::write("render_report.json", evil_report().dump());
  auto dir = qbt::tmpdir();
  std::string out;
  EXPECT_EQ(qbt::run_qbench("report " + p + " --html " + dir + "/r.html --md " + dir + "/r.md --csv " + dir + "/r.csv", &out), 0) << out;
  for (const char* f : {"/r.html", "/r.md", "/r.csv"}) EXPECT_TRUE(std::filesystem::exists(dir + f)) << f;
  EXPECT_EQ(qbt::run_qbench("report /nonexistent/x.json --html " + dir + "/x.html", &out), 2);
  EXPECT_NE(out.find("/nonexistent/x.json"), std::string::npos);
  auto bad = qbt::write("bad_results.json", R"({"schema_version": "1.0", "results": [{"suite": 3}]})");
  EXPECT_EQ(qbt::run_qbench("report " + bad + " --md " + dir + "/b.md", &out), 2);
  EXPECT_NE(out.find("bad_results.json"), std::string::npos) << out;
  EXPECT_NE(out.find("results[0]"), std::string::npos) << out;
}
