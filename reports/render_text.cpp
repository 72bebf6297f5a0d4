// CSV (one row per cell) and Markdown renderers.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "decide.h"
#include "qb/metrics.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"

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
  for (const auto& m : all_metrics())
    if (present.count(std::string(m.name)) && out.size() < max && m.name != "cv") out.push_back(std::string(m.name));
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
  std::string o = "suite,format,backend,workload,threads,placement,status,valid,error,reasons";
  for (const auto& m : metrics) o += "," + csv_field(m);
  o += ",n,median_s,mean_s,p99_s,cv,median_ci95_lo_s,median_ci95_hi_s,params\n";
  for (const auto& r : report["results"]) {
    std::vector<std::string> f = {jstr(r, "suite"), jstr(r, "format"), jstr(r, "backend"), jstr(r, "workload"),
                                  jstr(r, "threads"), jstr(r, "placement"), jstr(r, "status"),
                                  r.value("valid", false) ? "true" : "false", jstr(r, "error"), reasons_of(r)};
    std::string line;
    for (size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + csv_field(f[i]);
    for (const auto& m : metrics) {
      line += ",";
      if (r.contains("metrics") && r["metrics"].contains(m) && r["metrics"][m].is_number())
        line += fmt::format("{}", r["metrics"][m].get<double>());
    }
    const auto& s = r.contains("stats") && r["stats"].is_object() ? r["stats"] : nlohmann::json::object();
    auto sn = [&](const char* k) { return s.contains(k) && s[k].is_number() ? fmt::format("{}", s[k].get<double>()) : ""; };
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
  Decision d = decide(results_of(report), DecisionOptions{});
  o += "## Summary\n\n" + d.markdown() + "\n";

  o += "## Machine\n\n| field | value |\n|---|---|\n";
  for (const char* k : {"cpu_model", "vendor", "packages", "cores", "pus", "smt", "numa_nodes", "governor", "os", "kernel"})
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
    o += fmt::format("| counters | {} |\n", c.value("available", false) ? "available" : md_escape("unavailable: " + jstr(c, "reason")));
  }
  if (report.contains("qbench"))
    o += fmt::format("| qbench | {} {} ({}, {}) |\n", md_escape(jstr(report["qbench"], "version")),
                     md_escape(jstr(report["qbench"], "git_revision")), md_escape(jstr(report["qbench"], "compiler")),
                     md_escape(jstr(report["qbench"], "build_type")));

  for (const auto& suite : suites_of(report)) {
    auto ms = suite_metrics(report, suite);
    o += fmt::format("\n## Suite: {}\n\n| cell | status |", md_escape(suite));
    for (const auto& x : ms) o += " " + md_escape(x) + (metric_unit(x).empty() ? "" : " (" + md_escape(metric_unit(x)) + ")") + " |";
    o += "\n|---|---|";
    for (size_t i = 0; i < ms.size(); ++i) o += "---:|";
    o += "\n";
    for (const auto& r : report["results"]) {
      if (jstr(r, "suite") != suite) continue;
      std::string st = jstr(r, "status") != "ok" ? "**" + md_escape(jstr(r, "status")) + "**"
                       : r.value("valid", false) ? "ok" : "ok (invalid)";
      o += fmt::format("| {} | {} |", md_cell_name(r), st);
      for (const auto& x : ms)
        o += " " + (r["metrics"].contains(x) && r["metrics"][x].is_number() ? fmt_num(r["metrics"][x].get<double>()) : "") + " |";
      o += "\n";
    }
  }

  o += "\n## Invalid and failed cells\n\n";
  int flagged = 0;
  for (const auto& r : report["results"]) {
    if (jstr(r, "status") == "ok" && r.value("valid", false)) continue;
    ++flagged;
    std::string why = jstr(r, "status") != "ok" ? jstr(r, "status") + ": " + jstr(r, "error") : "invalid: " + reasons_of(r);
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
