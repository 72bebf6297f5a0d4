// CSV (one row per cell) and Markdown renderers.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "decide.h"
#include "qb/metrics.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "tables.h"

namespace qb::rep {

namespace {
std::string jstr(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}
std::string reasons_of(const nlohmann::json& r) {
  std::vector<std::string> v;
  if (r.contains("reasons") && r["reasons"].is_array())
    for (const auto& x : r["reasons"])
      if (x.is_string()) v.push_back(x.get<std::string>());
  return fmt::format("{}", fmt::join(v, "; "));
}
}  // namespace

std::vector<std::string> suites_of(const nlohmann::json& report) {
  std::vector<std::string> v;
  for (const auto& r : report["results"]) {
    std::string s = jstr(r, "suite");
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  }
  return v;
}

std::vector<std::string> suite_metrics(const nlohmann::json& report, const std::string& suite, size_t max) {
  std::set<std::string> present;
  for (const auto& r : report["results"])
    if (jstr(r, "suite") == suite && r.contains("metrics") && r["metrics"].is_object())
      for (const auto& [k, v] : r["metrics"].items())
        if (v.is_number()) present.insert(k);
  std::vector<std::string> out;
  // In vocabulary order; an estimate form est_NAME sits beside NAME.
  for (const auto& m : all_metrics())
    for (std::string name : {std::string(m.name), "est_" + std::string(m.name)})
      if (present.count(name) && out.size() < max && m.name != metric::cv) out.push_back(name);
  return out;
}

std::string render_csv(const nlohmann::json& report) {
  std::set<std::string> present;
  for (const auto& r : report["results"])
    if (r.contains("metrics") && r["metrics"].is_object())
      for (const auto& [k, v] : r["metrics"].items()) present.insert(k);
  std::vector<std::string> metrics;
  for (const auto& m : all_metrics())
    if (present.count(std::string(m.name))) metrics.push_back(std::string(m.name)), present.erase(std::string(m.name));
  for (const auto& m : present) metrics.push_back(m);  // unknown names last, sorted
  // valid/reasons say which rows left every ranking and mean; estimate lists the metrics of the row
  // that are estimates, not measurements; kind is the kind of work (rows of different kinds never
  // average together).
  std::string o = "suite,format,backend,workload,threads,placement,status,valid,error,reasons,estimate,kind";
  for (const auto& m : metrics) o += "," + csv_field(m);
  o += ",n,median_s,mean_s,p99_s,cv,median_ci95_lo_s,median_ci95_hi_s,params\n";
  const auto res = results_of(report);
  for (size_t i = 0; i < res.size(); ++i) {
    const auto& r = report["results"][i];
    std::vector<std::string> est;
    for (const auto& m : metrics)
      if (res[i].metrics.contains(m) && is_estimate(res[i], m)) est.push_back(m);
    std::vector<std::string> f = {jstr(r, "suite"),
                                  jstr(r, "format"),
                                  jstr(r, "backend"),
                                  jstr(r, "workload"),
                                  jstr(r, "threads"),
                                  jstr(r, "placement"),
                                  jstr(r, "status"),
                                  r.value("valid", false) ? "true" : "false",
                                  jstr(r, "error"),
                                  reasons_of(r),
                                  fmt::format("{}", fmt::join(est, ";")),
                                  work_kind(res[i]).key};
    std::string line;
    for (size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + csv_field(f[i]);
    for (const auto& m : metrics) {
      line += ",";
      if (r.contains("metrics") && r["metrics"].contains(m) && r["metrics"][m].is_number())
        line += fmt::format("{}", r["metrics"][m].get<double>());
    }
    const auto& s = r.contains("stats") && r["stats"].is_object() ? r["stats"] : nlohmann::json::object();
    auto sn = [&](const char* k) {
      return s.contains(k) && s[k].is_number() ? fmt::format("{}", s[k].get<double>()) : "";
    };
    std::string lo, hi;
    if (s.contains("median_ci95") && s["median_ci95"].is_array() && s["median_ci95"].size() == 2) {
      lo = fmt::format("{}", s["median_ci95"][0].get<double>());
      hi = fmt::format("{}", s["median_ci95"][1].get<double>());
    }
    line += fmt::format(",{},{},{},{},{},{},{},{}", sn("n"), sn("median"), sn("mean"), sn("p99"), sn("cv"), lo, hi,
                        csv_field(r.contains("params") ? r["params"].dump() : "{}"));
    o += line + "\n";
  }
  return o;
}

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

std::string md_cell_name(const nlohmann::json& r) {
  std::vector<std::string> parts;
  for (const char* k : {"format", "backend", "workload"})
    if (jstr(r, k) != "-") parts.push_back(jstr(r, k));
  parts.push_back("t" + jstr(r, "threads"));
  if (jstr(r, "placement") != "-") parts.push_back(jstr(r, "placement"));
  return md_escape(fmt::format("{}", fmt::join(parts, " ")));
}
}  // namespace

std::string render_markdown(const nlohmann::json& report) {
  std::string o = "# qbench report\n\n";
  const auto& run = report.value("run", nlohmann::json::object());
  const auto& m = report.value("machine", nlohmann::json::object());
  const auto& topo = m.value("topology", nlohmann::json::object());
  o += fmt::format("Created {} on {} · {} cells, {} failed, {} invalid\n\n", md_escape(jstr(report, "created")),
                   md_escape(jstr(topo, "cpu_model")), jstr(run, "cells"), jstr(run, "cells_failed"),
                   jstr(run, "cells_invalid"));
  Decision d = decide(results_of(report), DecisionOptions{}, backend_kinds(report));
  o += "## Summary\n\n" + d.markdown() + "\n";
  const auto res = results_of(report);
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
    if (topo.contains(k)) o += fmt::format("| {} | {} |\n", k, md_escape(jstr(topo, k)));
  if (topo.contains("isa") && topo["isa"].is_array()) {
    std::vector<std::string> isa;
    for (const auto& x : topo["isa"]) isa.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    o += fmt::format("| isa | {} |\n", md_escape(fmt::format("{}", fmt::join(isa, " "))));
  }
  if (topo.contains("mem_total_bytes") && topo["mem_total_bytes"].is_number())
    o += fmt::format("| memory | {} |\n", fmt_bytes(topo["mem_total_bytes"].get<double>()));
  if (m.contains("counters")) {
    const auto& c = m["counters"];
    o += fmt::format("| counters | {} |\n",
                     c.value("available", false) ? "available" : md_escape("unavailable: " + jstr(c, "reason")));
  }
  if (report.contains("qbench"))
    o += fmt::format("| qbench | {} {} ({}, {}) |\n", md_escape(jstr(report["qbench"], "version")),
                     md_escape(jstr(report["qbench"], "git_revision")), md_escape(jstr(report["qbench"], "compiler")),
                     md_escape(jstr(report["qbench"], "build_type")));

  for (const auto& suite : suites_of(report)) {
    auto ms = suite_metrics(report, suite);
    o += fmt::format("\n## Suite: {}\n\n| cell | status | valid |", md_escape(suite));
    for (const auto& x : ms)
      o += " " + md_escape(x) + (metric_unit(x).empty() ? "" : " (" + md_escape(metric_unit(x)) + ")") + " |";
    o += "\n|---|---|---|";
    for (size_t i = 0; i < ms.size(); ++i) o += "---:|";
    o += "\n";
    for (size_t i = 0; i < res.size(); ++i) {
      const auto& r = report["results"][i];
      if (res[i].cell.suite != suite) continue;
      std::string st = jstr(r, "status") != "ok" ? "**" + md_escape(jstr(r, "status")) + "**" : "ok";
      std::string valid = res[i].status != CellStatus::Ok ? "—"
                          : res[i].valid                  ? "yes"
                                                          : "no" + fn.mark("invalid: " + invalid_reason(res[i]));
      o += fmt::format("| {} | {} | {} |", md_cell_name(r), st, valid);
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
  for (const auto& r : report["results"]) {
    if (jstr(r, "status") == "ok" && r.value("valid", false)) continue;
    ++flagged;
    std::string why =
        jstr(r, "status") != "ok" ? jstr(r, "status") + ": " + jstr(r, "error") : "invalid: " + reasons_of(r);
    o += fmt::format("- {} {} — {}\n", md_escape(jstr(r, "suite")), md_cell_name(r), md_escape(why));
  }
  if (!flagged) o += "None.\n";

  o += "\n## Run configuration\n\n```json\n";
  std::string cfg = report.value("config", nlohmann::json::object()).dump(2);
  // A fenced block cannot be closed from inside if no line starts with ```.
  for (size_t p; (p = cfg.find("```")) != std::string::npos;) cfg.replace(p, 3, "'''");
  o += cfg + "\n```\n";
  return o;
}

namespace {
const bool kRegistered = [] {
  register_renderer({"csv", "report.csv", [](const nlohmann::json& r) { return render_csv(r); }});
  register_renderer({"markdown", "report.md", [](const nlohmann::json& r) { return render_markdown(r); }});
  return true;
}();
}  // namespace

}  // namespace qb::rep
