// `qbench compare`: per-cell, per-metric differences between two reports, with a Mann-Whitney U
// test on the raw timing samples (as Google Benchmark's tools/compare.py does).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb::rep {

// Two-sided Mann-Whitney U test, normal approximation with tie correction and continuity
// correction (scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)).
struct UTest {
  int n1 = 0, n2 = 0;
  double u1 = 0;       // U of the first sample: R1 - n1(n1+1)/2
  double u2 = 0;       // n1*n2 - u1
  double z = 0;        // standardised max(u1,u2), continuity-corrected (>= 0)
  double p = 1;        // two-sided p-value
  bool valid = false;  // both samples have >= 2 values
};
UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

struct CompareOptions {
  double max_regression_pct = 5.0;
  double alpha = 0.05;
};

struct MetricDelta {
  std::string metric;
  double base = 0, head = 0;
  double delta_pct = 0;       // (head - base) / |base| * 100
  double regression_pct = 0;  // > 0: worse by this much, in the metric's direction
  bool higher_is_better = true;
  bool known = true;  // in the metric vocabulary
  bool gated = true;  // counts for the verdict (informational metrics do not)
  std::string basis;  // "mann-whitney" | "no samples (value only)" | "deterministic"
  bool significant = false;
  bool flagged = false;  // significant regression beyond max_regression_pct
};

struct CellDiff {
  Cell cell;
  std::string key;
  CellStatus base_status = CellStatus::Ok, head_status = CellStatus::Ok;
  bool base_valid = true, head_valid = true;
  UTest utest;  // of the timing samples (base vs head)
  std::vector<MetricDelta> metrics;
  bool status_regressed = false;  // ok in base, not ok in head
  bool flagged = false;
};

struct Comparison {
  CompareOptions opt;
  std::string base_path, head_path;
  std::vector<CellDiff> cells;
  std::vector<Cell> only_base, only_head;
  int flagged = 0;   // flagged cells
  int improved = 0;  // significant improvements beyond the threshold (informational)
};

Comparison compare_results(const std::vector<CellResult>& base, const std::vector<CellResult>& head,
                           const CompareOptions& opt);

}  // namespace qb::rep
