#include "tables.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace qb::rep {

const TableEntry* PerfTable::find(const std::string& row, const std::string& col) const {
  auto r = at.find(row);
  if (r == at.end()) return nullptr;
  auto c = r->second.find(col);
  return c == r->second.end() ? nullptr : &c->second;
}

std::string PerfTable::title() const {
  std::string unit = metric_unit(metric);
  return fmt::format("{}{} — {}{}{}", suite, kind.key.empty() ? "" : " — " + kind.title, metric,
                     unit.empty() ? "" : " (" + unit + ")",
                     estimate && kind.title.find("estimate") == std::string::npos ? ", estimate" : "");
}

namespace {

double geomean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

template <class T>
void push_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// Values gathered for one table entry, per thread configuration (by-format tables) or together.
struct Acc {
  std::map<std::string, std::vector<double>> valid, invalid;  // config -> values
  bool estimate_valid = false, estimate_invalid = false;
  std::vector<std::string> reasons;
  int invalid_cells = 0;
};

// Best over configurations of the geometric mean of each configuration's values.
double best_of(const std::map<std::string, std::vector<double>>& m) {
  double best = 0;
  for (const auto& [cfg, v] : m) best = std::max(best, geomean(v));
  return best;
}

PerfTable build(const std::string& suite, const WorkKind& kind, const std::vector<const CellResult*>& cells) {
  PerfTable t;
  t.suite = suite;
  t.kind = kind;
  t.metric = kind.metric;
  if (t.metric.empty()) {  // a suite without kinds: tokens/s when it has them, else GB/s
    for (const char* m : {metric::gb_per_s, metric::tokens_per_s})
      for (const CellResult* r : cells)
        if (metric_value(*r, m)) t.metric = m;
  }
  if (t.metric.empty()) return t;
  t.by_format = std::any_of(cells.begin(), cells.end(), [](const CellResult* r) { return r->cell.format != "-"; });
  // Suites without formats (bandwidth): workloads named OP_LEVEL pivot into OP rows x LEVEL columns.
  bool pivot = !t.by_format;
  std::set<std::string> configs;
  for (const CellResult* r : cells) {
    configs.insert(fmt::format("{}t {}", r->cell.threads, r->cell.placement));
    if (r->cell.workload.find('_') == std::string::npos) pivot = false;
  }
  t.row_header = t.by_format ? "format \\ backend" : pivot ? "operation \\ working set" : "workload \\ threads";
  t.aggregation = t.by_format ? "best thread count and placement; geometric mean over this kind's shapes" : "";
  std::map<std::string, std::map<std::string, Acc>> acc;
  for (const CellResult* r : cells) {
    auto mv = metric_value(*r, t.metric);
    if (!mv || mv->value <= 0) continue;
    const std::string& w = r->cell.workload;
    const std::string config = fmt::format("{}t {}", r->cell.threads, r->cell.placement);
    std::string row = t.by_format ? r->cell.format : pivot ? w.substr(0, w.find('_')) : w;
    std::string col = t.by_format ? r->cell.backend
                      : pivot     ? w.substr(w.find('_') + 1) + (configs.size() > 1 ? " · " + config : "")
                                  : config;
    push_unique(t.rows, row);
    push_unique(t.cols, col);
    Acc& a = acc[row][col];
    const std::string group = t.by_format ? config : "";
    if (counts(*r)) {
      a.valid[group].push_back(mv->value);
      a.estimate_valid |= mv->estimate;
    } else {
      a.invalid[group].push_back(mv->value);
      a.estimate_invalid |= mv->estimate;
      ++a.invalid_cells;
      push_unique(a.reasons, invalid_reason(*r));
    }
  }
  t.estimate = !acc.empty();
  for (auto& [row, m] : acc)
    for (auto& [col, a] : m) {
      TableEntry e;
      e.invalid_only = a.valid.empty();
      e.value = best_of(e.invalid_only ? a.invalid : a.valid);
      for (auto& [g, v] : a.valid) e.cells += int(v.size());
      e.invalid_left_out = a.invalid_cells;
      e.reasons = fmt::format("{}", fmt::join(a.reasons, "; "));
      e.estimate = e.invalid_only ? a.estimate_invalid : a.estimate_valid;
      t.estimate &= e.estimate;
      t.at[row][col] = e;
    }
  return t;
}

}  // namespace

std::vector<PerfTable> perf_tables(const std::vector<CellResult>& results) {
  std::vector<std::string> suites;
  for (const auto& r : results) push_unique(suites, r.cell.suite);
  std::vector<PerfTable> out;
  for (const auto& s : suites) {
    std::map<std::string, std::pair<WorkKind, std::vector<const CellResult*>>> kinds;
    for (const auto& r : results) {
      if (r.cell.suite != s || r.status != CellStatus::Ok) continue;
      WorkKind k = work_kind(r);
      auto& slot = kinds[fmt::format("{:02}|{}", k.order, k.key)];
      slot.first = k;
      slot.second.push_back(&r);
    }
    for (auto& [key, kc] : kinds) {
      PerfTable t = build(s, kc.first, kc.second);
      if (!t.rows.empty()) out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace qb::rep
