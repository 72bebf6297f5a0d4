// The Markdown report: the decision's summary, performance tables, machine, one table per suite.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "decision_render.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "reporter.h"
#include "tables.h"

namespace qb::rep {

namespace {
// GitHub-style footnotes: a marker where a number is invalid, the reason below the table.
struct Footnotes {
  int next = 1;
  std::string pending;
  std::string mark(const std::string& text) {
    int n = next++;
    pending += fmt::format("[^{}]: {}\n", n, md_escape(text));
    return fmt::format("[^{}]", n);
  }
  std::string flush() { return std::exchange(pending, std::string()); }
};

// One performance table (one kind of work, one metric).
std::string md_perf_table(const PerfTable& t, Footnotes& fn) {
  std::string o = "\n### " + md_escape(t.title()) + "\n\n";
  std::string meta = t.aggregation;
  if (t.estimate) meta += std::string(meta.empty() ? "" : "; ") + "every number here is an estimate, not a measurement";
  if (!meta.empty()) o += md_escape(meta) + ". ";
  o += "Invalid measurements are marked and left out of every mean.\n\n| " + md_escape(t.row_header) + " |";
  for (const auto& c : t.cols) o += " " + md_escape(c) + " |";
  o += "\n|---|";
  for (size_t i = 0; i < t.cols.size(); ++i) o += "---:|";
  o += "\n";
  for (const auto& row : t.rows) {
    o += "| " + md_escape(row) + " |";
    for (const auto& c : t.cols) {
      const TableEntry* e = t.find(row, c);
      std::string v = e ? fmt_num(e->value) + (e->estimate ? " (estimate)" : "") : "—";
      if (e && e->invalid_only)
        v += " (invalid)" + fn.mark("invalid, left out of every mean: " + e->reasons);
      else if (e && e->invalid_left_out)
        v += fn.mark(fmt::format("{} invalid cell(s) left out of this number: {}", e->invalid_left_out, e->reasons));
      o += " " + v + " |";
    }
    o += "\n";
  }
  std::string notes = fn.flush();
  return notes.empty() ? o : o + "\n" + notes;
}

}  // namespace

std::string render_markdown(const nlohmann::json& report) { return MarkdownReporter().render(read_report(report)); }

std::string MarkdownReporter::render(const Report& report) const {
  std::string o = "# qbench report\n\n";
  const nlohmann::json& run = report.run;
  const nlohmann::json& m = report.machine;
  const nlohmann::json& topo = report.topology;
  o += fmt::format("Created {} on {} · {} cells, {} failed, {} invalid\n\n", md_escape(report.created),
                   md_escape(json_field(topo, "cpu_model")), json_field(run, "cells"), json_field(run, "cells_failed"),
                   json_field(run, "cells_invalid"));
  o += "## Summary\n\n" + decision_markdown(report.decision) + "\n";
  const std::vector<CellResult>& res = report.results;
  Footnotes fn;
  const auto tables = perf_tables(res);
  if (!tables.empty()) {
    o += "## Performance by kind of work\n\nOne table per kind of work (GEMV n=1 in GB/s of weights, small batch and "
         "GEMM in "
         "GFLOP/s, model-level in tokens/s): a number never mixes kinds.\n";
    for (const auto& t : tables) o += md_perf_table(t, fn);
    o += "\n";
  }

  o += "## Machine\n\n| field | value |\n|---|---|\n";
  for (const char* k :
       {"cpu_model", "vendor", "packages", "cores", "pus", "smt", "numa_nodes", "governor", "os", "kernel"})
    if (topo.contains(k)) o += fmt::format("| {} | {} |\n", k, md_escape(json_field(topo, k)));
  if (topo.contains("isa") && topo["isa"].is_array()) {
    std::vector<std::string> isa;
    for (const auto& x : topo["isa"]) isa.push_back(json_text(x));
    o += fmt::format("| isa | {} |\n", md_escape(fmt::format("{}", fmt::join(isa, " "))));
  }
  if (topo.contains("mem_total_bytes") && topo["mem_total_bytes"].is_number())
    o += fmt::format("| memory | {} |\n", fmt_bytes(topo["mem_total_bytes"].get<double>()));
  if (m.contains("counters")) {
    const auto& c = m["counters"];
    o += fmt::format("| counters | {} |\n",
                     c.value("available", false) ? "available" : md_escape("unavailable: " + json_field(c, "reason")));
  }
  if (report.qbench)
    o += fmt::format("| qbench | {} {} ({}, {}) |\n", md_escape(json_field(*report.qbench, "version")),
                     md_escape(json_field(*report.qbench, "git_revision")),
                     md_escape(json_field(*report.qbench, "compiler")),
                     md_escape(json_field(*report.qbench, "build_type")));

  for (const auto& suite : report.suites) {
    auto ms = suite_metrics(report, suite);
    o += fmt::format("\n## Suite: {}\n\n| cell | status | valid |", md_escape(suite));
    for (const auto& x : ms)
      o += " " + md_escape(x) + (metric_unit(x).empty() ? "" : " (" + md_escape(metric_unit(x)) + ")") + " |";
    o += "\n|---|---|---|";
    for (size_t i = 0; i < ms.size(); ++i) o += "---:|";
    o += "\n";
    for (size_t i = 0; i < res.size(); ++i) {
      if (res[i].cell.suite != suite) continue;
      std::string st = res[i].status != CellStatus::Ok ? "**" + md_escape(status_name(res[i].status)) + "**" : "ok";
      std::string valid = res[i].status != CellStatus::Ok ? "—"
                          : res[i].valid                  ? "yes"
                                                          : "no" + fn.mark("invalid: " + invalid_reason(res[i]));
      o += fmt::format("| {} | {} | {} |", md_escape(cell_label(res[i])), st, valid);
      for (const auto& x : ms) {
        auto v = metric_value(res[i], x, false);
        o += " " + (v ? fmt_num(v->value) + (v->estimate ? " (estimate)" : "") : "") + " |";
      }
      o += "\n";
    }
    if (std::string notes = fn.flush(); !notes.empty()) o += "\n" + notes;
  }

  o += "\n## Invalid and failed cells\n\n";
  int flagged = 0;
  for (const auto& r : res) {
    if (r.status == CellStatus::Ok && r.valid) continue;
    ++flagged;
    std::string why = r.status != CellStatus::Ok ? std::string(status_name(r.status)) + ": " + r.error
                                                 : "invalid: " + fmt::format("{}", fmt::join(r.reasons, "; "));
    o += fmt::format("- {} {} — {}\n", md_escape(r.cell.suite), md_escape(cell_label(r)), md_escape(why));
  }
  if (!flagged) o += "None.\n";

  o += "\n## Run configuration\n\n```json\n";
  std::string cfg = report.config.dump(2);
  // A fenced block cannot be closed from inside if no line starts with ```.
  for (size_t p; (p = cfg.find("```")) != std::string::npos;) cfg.replace(p, 3, "'''");
  o += cfg + "\n```\n";
  return o;
}

}  // namespace qb::rep
