// Renderers: registration, escaping of every string that comes from a report (HTML injection,
// Markdown tables, CSV quoting / formula guard), chart-less fallback, `qbench report` CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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
  auto bad = qbt::cell("throughput", "Q4_K", "avx2", kEvil, 2, "compact", {{"gb_per_s", 1.0}},
                       qbt::timing_samples(1e-3, 5, 3));
  bad.valid = false;
  bad.reasons = {kEvilAttr, "CV, \"quoted\" | piped"};
  v.push_back(bad);
  auto failed = qbt::cell("latency", "Q4_0", kEvilAttr, "=HYPERLINK(\"http://x\")", 1, "compact", {});
  failed.status = qb::CellStatus::Failed;
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

// `qbench run`'s outputs come from one reading of the report; each must be what the standalone
// renderer makes of the same JSON.
TEST(Render, RenderingsReadOnceAndMatchTheRenderers) {
  const nlohmann::json doc = qbt::make_report(qbt::sample_results());
  std::vector<std::string> names;
  for (const qb::Rendering& r : qb::renderings_of(doc)) {
    names.push_back(r.name + ":" + r.file_name);
    if (r.name == "csv") {
      EXPECT_EQ(r.render(), render_csv(doc));
    } else if (r.name == "markdown") {
      EXPECT_EQ(r.render(), render_markdown(doc));
    }
  }
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
    if (c == '"')
      q = !q;
    else if (c == '\n' && !q)
      ++records;
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
  EXPECT_EQ(
      qbt::run_qbench("report " + p + " --html " + dir + "/r.html --md " + dir + "/r.md --csv " + dir + "/r.csv", &out),
      0)
      << out;
  for (const char* f : {"/r.html", "/r.md", "/r.csv"}) EXPECT_TRUE(std::filesystem::exists(dir + f)) << f;
  EXPECT_EQ(qbt::run_qbench("report /nonexistent/x.json --html " + dir + "/x.html", &out), 2);
  EXPECT_NE(out.find("/nonexistent/x.json"), std::string::npos);
  auto bad = qbt::write("bad_results.json", R"({"schema_version": "1.0", "results": [{"suite": 3}]})");
  EXPECT_EQ(qbt::run_qbench("report " + bad + " --md " + dir + "/b.md", &out), 2);
  EXPECT_NE(out.find("bad_results.json"), std::string::npos) << out;
  EXPECT_NE(out.find("results[0]"), std::string::npos) << out;
}

// ---- issue 11, points 8 and 9: invalid cells marked and out of every mean; one table per kind
// of work; estimates labelled.

namespace {
// The number a heatmap shows for (row, col) in the table of one kind of work; NaN when absent.
double heat_value(const std::string& html, const std::string& kind, const std::string& row, const std::string& col,
                  std::string* td = nullptr) {
  size_t t = html.find("<table class=\"heat\" data-suite=\"throughput\" data-kind=\"" + kind + "\"");
  if (kind == "decode") t = html.find("data-kind=\"decode\" data-metric");
  if (t == std::string::npos) return NAN;
  size_t end = html.find("</table>", t);
  size_t p = html.find("data-row=\"" + row + "\" data-col=\"" + col + "\" data-v=\"", t);
  if (p == std::string::npos || p > end) return NAN;
  if (td) *td = html.substr(html.rfind("<td", p), html.find("</td>", p) - html.rfind("<td", p));
  return std::stod(html.substr(html.find("data-v=\"", p) + 8));
}

double gbs(const qb::CellResult& r) { return r.metrics["gb_per_s"].get<double>(); }

// The Markdown table row of `row` in the table whose heading contains `title`.
std::string md_row(const std::string& md, const std::string& title, const std::string& row) {
  size_t t = md.find(title);
  if (t == std::string::npos) return "";
  size_t p = md.find("\n| " + row + " |", t);
  size_t next = md.find("\n### ", t + 1);
  if (p == std::string::npos || (next != std::string::npos && p > next)) return "";
  return md.substr(p + 1, md.find('\n', p + 1) - p - 1);
}
}  // namespace

TEST(Render, OneTablePerKindOfWork) {
  std::vector<qb::CellResult> v = {qbt::tp("Q4_0", "avx2", "gemv_4096x4096", 2, 0.002, 4.5, 1),
                                   qbt::tp("Q4_0", "avx512", "gemv_4096x4096", 2, 0.001, 4.5, 2)};
  auto before = render_html(qbt::make_report(v), "");
  // GEMM runs only on the best backend: avx512 gets an extra cell of another kind of work.
  v.push_back(qbt::tp("Q4_0", "avx512", "gemm512_4096x4096", 2, 0.02, 4.5, 3));
  auto rep = qbt::make_report(v);
  auto after = render_html(rep, "");
  const double gemv = gbs(v[1]);
  EXPECT_NEAR(heat_value(before, "gemv", "Q4_0", "avx512"), gemv, gemv * 1e-9);
  EXPECT_NEAR(heat_value(after, "gemv", "Q4_0", "avx512"), gemv, gemv * 1e-9) << "GEMV figure moved by a GEMM cell";
  // The GEMM cell has its own table, in GFLOP/s, and the GEMV table is in GB/s.
  const double gflops = v[2].metrics["gflop_per_s"].get<double>();
  EXPECT_NEAR(heat_value(after, "gemm512", "Q4_0", "avx512"), gflops, gflops * 1e-9);
  EXPECT_NE(after.find("data-kind=\"gemv\" data-metric=\"gb_per_s\""), std::string::npos);
  EXPECT_NE(after.find("data-kind=\"gemm512\" data-metric=\"gflop_per_s\""), std::string::npos);
  EXPECT_TRUE(std::isnan(heat_value(after, "gemm512", "Q4_0", "avx2")));
  // Markdown: the same tables.
  auto md = render_markdown(rep);
  EXPECT_NE(md_row(md, "GEMV (n=1)", "Q4\\_0").find(fmt_num(gemv)), std::string::npos) << md;
  EXPECT_NE(md_row(md, "GEMM (n=512)", "Q4\\_0").find(fmt_num(gflops)), std::string::npos) << md;
  // CSV: the kind of work of every row.
  auto csv = render_csv(rep);
  EXPECT_NE(csv.find("gemm512_4096x4096,2,compact,ok,true,,,,gemm512"), std::string::npos) << csv;
}

TEST(Render, InvalidCellsMarkedAndLeftOutOfMeans) {
  std::vector<qb::CellResult> v = {
      qbt::tp("Q4_0", "avx2", "gemv_4096x4096", 2, 0.002, 4.5, 1),
      qbt::tp("Q4_0", "avx2", "gemv_4096x14336", 2, 0.003, 4.5, 2),
      qbt::invalid(qbt::tp("Q4_0", "avx2", "gemv_4096x11008", 2, 0.2, 4.5, 3), "CV 41% over threshold 5%"),
      qbt::invalid(qbt::tp("Q4_0", "avx512", "gemv_4096x4096", 2, 0.05, 4.5, 4), "steal 12% during the cell")};
  auto rep = qbt::make_report(v);
  auto html = render_html(rep, "");
  // The mean is over the two valid cells only; the entry says one invalid cell was left out.
  std::string td;
  const double mean = std::sqrt(gbs(v[0]) * gbs(v[1]));
  EXPECT_NEAR(heat_value(html, "gemv", "Q4_0", "avx2", &td), mean, mean * 1e-9);
  EXPECT_NE(td.find("1 invalid cell(s) left out: CV 41% over threshold 5%"), std::string::npos) << td;
  // A backend with nothing but an invalid cell: its number is greyed, with the reason on hover.
  EXPECT_NEAR(heat_value(html, "gemv", "Q4_0", "avx512", &td), gbs(v[3]), gbs(v[3]) * 1e-9);
  EXPECT_EQ(td.rfind("<td class=\"v invalid\"", 0), 0u) << td;
  EXPECT_NE(td.find("title=\"invalid, left out of every mean: steal 12% during the cell\""), std::string::npos) << td;
  // The chart greys it too, and the all-results table greys the invalid rows with their reasons.
  EXPECT_NE(html.find("\"greyed\":[true]"), std::string::npos);
  EXPECT_NE(
      html.find(
          "<tr class=\"invalid\" title=\"invalid, left out of every mean and ranking: steal 12% during the cell\">"),
      std::string::npos);
  // Markdown: a footnote marker on the invalid numbers, the reason in the footnote, a valid column.
  auto md = render_markdown(rep);
  std::string row = md_row(md, "GEMV (n=1)", "Q4\\_0");
  EXPECT_NE(row.find(fmt_num(mean) + "[^"), std::string::npos) << row;
  EXPECT_NE(row.find(fmt_num(gbs(v[3])) + " (invalid)[^"), std::string::npos) << row;
  EXPECT_NE(md.find("]: invalid, left out of every mean: steal 12% during the cell"), std::string::npos) << md;
  EXPECT_NE(md.find("| cell | status | valid |"), std::string::npos);
  EXPECT_NE(md.find("| ok | no[^"), std::string::npos) << md;
  EXPECT_NE(md.find("]: invalid: CV 41% over threshold 5%"), std::string::npos) << md;
  // CSV: valid and reasons columns.
  auto csv = render_csv(rep);
  EXPECT_NE(csv.find("ok,false,,CV 41% over threshold 5%,,gemv"), std::string::npos) << csv;
}

TEST(Render, DecodeEstimateLabelledEverywhere) {
  auto v = qbt::sample_results();
  v.push_back(qbt::decode_estimate("Q4_0", "avx2", 42));
  auto est = qbt::cell("latency", "Q4_K", "avx2", "decode_llama3.2-1b", 2, "compact", {{"est_tokens_per_s", 37.0}});
  v.push_back(est);  // the other naming a suite may use
  auto rep = qbt::make_report(v);
  auto html = render_html(rep, "");
  std::string td;
  EXPECT_NEAR(heat_value(html, "decode", "Q4_0", "avx2", &td), 42, 1e-9);
  EXPECT_NE(td.find("estimate"), std::string::npos) << td;
  EXPECT_NEAR(heat_value(html, "decode", "Q4_K", "avx2", &td), 37, 1e-9);
  EXPECT_NE(td.find("estimate"), std::string::npos) << td;
  EXPECT_NE(html.find("latency — model-level decode (estimate) — tokens_per_s"), std::string::npos);
  // The latency table labels the estimated numbers.
  EXPECT_NE(html.find("<td data-v=\"42\" class=\"est\" title=\"estimate, not a measurement\">42 <small "
                      "class=\"est\">estimate</small></td>"),
            std::string::npos);
  // The decision matrix shows the tokens/s as an estimate.
  EXPECT_NE(html.find("42 tok/s (estimate)"), std::string::npos);
  auto md = render_markdown(rep);
  EXPECT_NE(md.find("42 (estimate)"), std::string::npos);
  EXPECT_NE(md.find("42 tok/s (estimate)"), std::string::npos);
  auto csv = render_csv(rep);
  EXPECT_NE(csv.find("decode_ms;tokens_per_s,decode"), std::string::npos) << csv;
  EXPECT_NE(csv.find("est_tokens_per_s,decode"), std::string::npos) << csv;
}
