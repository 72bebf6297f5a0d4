#include "compare.h"
#include "comparison_render.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/report.h"
#include "report_common.h"

namespace qb::rep {

UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  UTest t;
  t.n1 = int(a.size());
  t.n2 = int(b.size());
  if (t.n1 < 2 || t.n2 < 2) return t;
  t.valid = true;
  const size_t n = a.size() + b.size();
  std::vector<std::pair<double, int>> all;
  all.reserve(n);
  for (double x : a) all.push_back({x, 0});
  for (double x : b) all.push_back({x, 1});
  std::sort(all.begin(), all.end(), [](auto& l, auto& r) { return l.first < r.first; });
  double r1 = 0, tie_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && all[j].first == all[i].first) ++j;
    const double rank = (double(i + 1) + double(j)) / 2.0;  // average of ranks i+1..j
    const double ties = double(j - i);
    tie_sum += ties * ties * ties - ties;
    for (size_t k = i; k < j; ++k)
      if (all[k].second == 0) r1 += rank;
    i = j;
  }
  const double n1 = t.n1, n2 = t.n2, nn = double(n);
  t.u1 = r1 - n1 * (n1 + 1) / 2;
  t.u2 = n1 * n2 - t.u1;
  const double mu = n1 * n2 / 2;
  const double var = n1 * n2 / 12.0 * ((nn + 1) - tie_sum / (nn * (nn - 1)));
  const double u = std::max(t.u1, t.u2);
  if (var <= 0) {
    t.z = 0;
    t.p = 1;
    return t;
  }
  t.z = std::max(0.0, (u - mu - 0.5) / std::sqrt(var));
  t.p = std::min(1.0, std::erfc(t.z / std::sqrt(2.0)));
  return t;
}

namespace {

// Informational metrics: shown, never gate the verdict (noise measures, inputs).
bool informational(const std::string& m) {
  return m == metric::cv || m == metric::overhead_pct || m == metric::max_us || m == metric::working_set_bytes ||
         m == metric::ipc;
}

}  // namespace

Comparison compare_results(const std::vector<CellResult>& base, const std::vector<CellResult>& head,
                           const CompareOptions& opt) {
  Comparison c;
  c.opt = opt;
  std::map<std::string, const CellResult*> bmap, hmap;
  for (const auto& r : base) bmap[r.cell.key()] = &r;
  for (const auto& r : head) hmap[r.cell.key()] = &r;
  for (const auto& r : base)
    if (!hmap.count(r.cell.key())) c.only_base.push_back(r.cell);
  for (const auto& r : head)
    if (!bmap.count(r.cell.key())) c.only_head.push_back(r.cell);

  for (const auto& br : base) {
    auto it = hmap.find(br.cell.key());
    if (it == hmap.end()) continue;
    const CellResult& hr = *it->second;
    CellDiff d;
    d.cell = br.cell;
    d.key = br.cell.key();
    d.base_status = br.status;
    d.head_status = hr.status;
    d.base_valid = br.valid;
    d.head_valid = hr.valid;
    d.utest = mann_whitney_u(br.samples, hr.samples);
    if (br.status == CellStatus::Ok && hr.status != CellStatus::Ok) {
      d.status_regressed = true;
      d.flagged = true;
    }
    if (br.status == CellStatus::Ok && hr.status == CellStatus::Ok) {
      for (const auto& [name, bv] : br.metrics.items()) {
        if (!bv.is_number() || !hr.metrics.contains(name) || !hr.metrics[name].is_number()) continue;
        MetricDelta m;
        m.metric = name;
        m.base = bv.get<double>();
        m.head = hr.metrics[name].get<double>();
        m.known = find_metric(name) != nullptr;
        m.higher_is_better = higher_is_better(name);
        m.gated = m.known && !informational(name);
        const double denom = std::fabs(m.base);
        m.delta_pct = denom > 0 ? (m.head - m.base) / denom * 100.0 : (m.head == m.base ? 0.0 : INFINITY);
        if (m.head == m.base) m.delta_pct = 0;
        m.regression_pct = m.higher_is_better ? -m.delta_pct : m.delta_pct;
        if (is_timing_metric(name)) {
          if (d.utest.valid) {
            m.basis = "mann-whitney";
            m.significant = d.utest.p < opt.alpha;
          } else {
            // A timing without raw samples (an estimate, or a harness self-measure) cannot be
            // tested: shown, never flagged. The cells it is derived from carry the samples.
            m.basis = "no samples (not tested)";
            m.significant = false;
          }
        } else {
          m.basis = "deterministic";
          m.significant = m.head != m.base;
        }
        m.flagged = m.gated && m.significant && m.regression_pct > opt.max_regression_pct;
        if (m.flagged) d.flagged = true;
        if (m.gated && m.significant && -m.regression_pct > opt.max_regression_pct) ++c.improved;
        d.metrics.push_back(m);
      }
    }
    if (d.flagged) ++c.flagged;
    c.cells.push_back(std::move(d));
  }
  return c;
}

namespace {

struct CompareArgs {
  std::string base, head, max_regression = "5%", md, json;
  double alpha = 0.05;
};

void add_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare", "Compare two reports cell by cell; exit 1 on a significant regression");
  cmd->add_option("base", a->base, "Baseline report.json")->required();
  cmd->add_option("head", a->head, "Changed report.json")->required();
  cmd->add_option("--max-regression", a->max_regression, "Largest tolerated significant regression (default 5%)");
  cmd->add_option("--alpha", a->alpha, "Significance level of the Mann-Whitney U test (default 0.05)");
  cmd->add_option("--md", a->md, "Write the comparison as Markdown");
  cmd->add_option("--json", a->json, "Write the comparison as JSON");
  cmd->callback([a] {
    CompareOptions opt;
    opt.max_regression_pct = parse_percent(a->max_regression, "--max-regression");
    if (!(a->alpha > 0 && a->alpha < 1)) throw UsageError(fmt::format("--alpha: {} is not in (0, 1)", a->alpha));
    opt.alpha = a->alpha;
    auto b = load(a->base);
    auto h = load(a->head);
    auto c = compare_results(b.results, h.results, opt);
    c.base_path = a->base;
    c.head_path = a->head;
    if (!a->md.empty()) write_file_atomic(a->md, comparison_markdown(c));
    if (!a->json.empty()) write_file_atomic(a->json, comparison_json(c).dump(2) + "\n");
    if (!globals().quiet) std::fputs(comparison_text(c).c_str(), stdout);
    set_exit_code(c.flagged ? kExitVerdict : kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(compare, "compare", 60, add_compare);
}  // namespace qb::rep
