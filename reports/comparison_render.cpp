#include "comparison_render.h"

#include <cmath>

#include <fmt/format.h>

#include "qb/report.h"
#include "report_common.h"

namespace qb::rep {

namespace {

nlohmann::json cell_json(const Cell& c) {
  return {{"suite", c.suite},       {"format", c.format},   {"backend", c.backend},
          {"workload", c.workload}, {"threads", c.threads}, {"placement", c.placement}};
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

const char* kMethod =
    "Significance: two-sided Mann-Whitney U test on the raw timing samples of each cell (normal "
    "approximation with tie and continuity correction, alpha {}), as Google Benchmark's compare.py. "
    "Metrics not derived from timings (quality, sizes) are deterministic: any change counts; timings "
    "without raw samples are not tested. "
    "A regression is flagged when it is significant and worse than {}% in the metric's direction.";

std::string verdict_line(const Comparison& c) {
  if (c.flagged == 0)
    return fmt::format("PASS: no significant regression beyond {}%", fmt_num(c.opt.max_regression_pct));
  return fmt::format("FAIL: {} cell(s) with a significant regression beyond {}%", c.flagged,
                     fmt_num(c.opt.max_regression_pct));
}

std::string cell_name(const Cell& c) {
  return fmt::format("{} {} {} {} t{} {}", c.suite, c.format, c.backend, c.workload, c.threads, c.placement);
}

}  // namespace

nlohmann::json comparison_json(const Comparison& cmp) {
  nlohmann::json j;
  j["base"] = cmp.base_path;
  j["head"] = cmp.head_path;
  j["max_regression_pct"] = cmp.opt.max_regression_pct;
  j["alpha"] = cmp.opt.alpha;
  j["method"] = fmt::format(fmt::runtime(kMethod), cmp.opt.alpha, fmt_num(cmp.opt.max_regression_pct));
  j["verdict"] = cmp.flagged ? "fail" : "pass";
  j["flagged_cells"] = cmp.flagged;
  j["improved_metrics"] = cmp.improved;
  auto& arr = j["cells"] = nlohmann::json::array();
  for (const auto& d : cmp.cells) {
    nlohmann::json e = cell_json(d.cell);
    e["key"] = d.key;
    e["base_status"] = status_name(d.base_status);
    e["head_status"] = status_name(d.head_status);
    e["base_valid"] = d.base_valid;
    e["head_valid"] = d.head_valid;
    e["flagged"] = d.flagged;
    e["status_regressed"] = d.status_regressed;
    if (d.utest.valid)
      e["utest"] = {{"n_base", d.utest.n1}, {"n_head", d.utest.n2}, {"u", d.utest.u1},
                    {"z", d.utest.z},       {"p", d.utest.p},       {"significant", d.utest.p < cmp.opt.alpha}};
    else
      e["utest"] = nullptr;
    auto& ms = e["metrics"] = nlohmann::json::array();
    for (const auto& m : d.metrics)
      ms.push_back({{"metric", m.metric},
                    {"base", num(m.base)},
                    {"head", num(m.head)},
                    {"delta_pct", num(m.delta_pct)},
                    {"higher_is_better", m.higher_is_better},
                    {"gated", m.gated},
                    {"basis", m.basis},
                    {"significant", m.significant},
                    {"regression", m.regression_pct > 0},
                    {"flagged", m.flagged}});
    arr.push_back(e);
  }
  j["only_in_base"] = nlohmann::json::array();
  for (const auto& c : cmp.only_base) j["only_in_base"].push_back(cell_json(c));
  j["only_in_head"] = nlohmann::json::array();
  for (const auto& c : cmp.only_head) j["only_in_head"].push_back(cell_json(c));
  return j;
}

std::string comparison_markdown(const Comparison& cmp) {
  std::string o = "# qbench compare\n\n";
  o += fmt::format("- base: `{}`\n- head: `{}`\n- **{}**\n\n", md_escape(cmp.base_path), md_escape(cmp.head_path),
                   verdict_line(cmp));
  o += fmt::format(fmt::runtime(kMethod), cmp.opt.alpha, fmt_num(cmp.opt.max_regression_pct)) + "\n\n";
  o += "| | cell | metric | base | head | delta | p (U test) | significant |\n|---|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& d : cmp.cells) {
    if (d.status_regressed)
      o += fmt::format("| ❌ | {} | status | {} | {} | | | |\n", md_escape(cell_name(d.cell)),
                       md_escape(status_name(d.base_status)), md_escape(status_name(d.head_status)));
    for (const auto& m : d.metrics) {
      if (!m.gated) continue;
      const char* mark = m.flagged ? "❌" : (m.significant && m.regression_pct < -cmp.opt.max_regression_pct ? "✅" : "");
      o += fmt::format("| {} | {} | {} | {} | {} | {:+.2f}% | {} | {} |\n", mark, md_escape(cell_name(d.cell)),
                       md_escape(m.metric), fmt_num(m.base), fmt_num(m.head), m.delta_pct,
                       m.basis == "mann-whitney" ? fmt::format("{:.4f}", d.utest.p) : "-",
                       m.basis == "mann-whitney" ? (m.significant ? "yes" : "no") : md_escape(m.basis));
    }
  }
  if (!cmp.only_base.empty() || !cmp.only_head.empty()) {
    o += "\n## Cells present on one side only\n\n";
    for (const auto& c : cmp.only_base) o += "- only in base: " + md_escape(cell_name(c)) + "\n";
    for (const auto& c : cmp.only_head) o += "- only in head: " + md_escape(cell_name(c)) + "\n";
  }
  return o;
}

std::string comparison_text(const Comparison& cmp) {
  std::string o;
  o += fmt::format("base: {}\nhead: {}\n", cmp.base_path, cmp.head_path);
  o += fmt::format(fmt::runtime(kMethod), cmp.opt.alpha, fmt_num(cmp.opt.max_regression_pct)) + "\n\n";
  o += fmt::format("{:<2} {:<58} {:<14} {:>11} {:>11} {:>9} {:>8}\n", "", "cell", "metric", "base", "head", "delta",
                   "p");
  for (const auto& d : cmp.cells) {
    if (d.status_regressed)
      o += fmt::format("{:<2} {:<58} {:<14} {:>11} {:>11}\n", "!!", cell_name(d.cell).substr(0, 58), "status",
                       status_name(d.base_status), status_name(d.head_status));
    for (const auto& m : d.metrics) {
      if (!m.gated) continue;
      const char* mark =
          m.flagged
              ? "!!"
              : (m.significant && m.regression_pct > 0 ? "-" : (m.significant && m.regression_pct < 0 ? "+" : ""));
      o += fmt::format(
          "{:<2} {:<58} {:<14} {:>11} {:>11} {:>+8.2f}% {:>8}\n", mark, cell_name(d.cell).substr(0, 58), m.metric,
          fmt_num(m.base), fmt_num(m.head), m.delta_pct,
          m.basis == "mann-whitney" ? fmt::format("{:.4f}", d.utest.p) : (m.basis == "deterministic" ? "det." : "n/a"));
    }
  }
  for (const auto& c : cmp.only_base) o += "only in base: " + cell_name(c) + "\n";
  for (const auto& c : cmp.only_head) o += "only in head: " + cell_name(c) + "\n";
  o += fmt::format("\n{} matched cells, {} only in base, {} only in head\n{}\n", cmp.cells.size(), cmp.only_base.size(),
                   cmp.only_head.size(), verdict_line(cmp));
  return o;
}

}  // namespace qb::rep
