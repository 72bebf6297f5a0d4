// `qbench qualify`: named gates from a JSON profile, evaluated on a report.
//
// Profile:
// {
//   "name": "edge-q4", "description": "...",
//   "gates": [
//     { "name": "Q4_K GEMV >= 40 GB/s on 2 threads",
//       "select": {"suite": "throughput", "format": "Q4_K", "threads": 2, "workload": "gemv_*",
//                  "params.n": 1},        // string fields: glob (* ?) or list of globs; numbers exact
//       "metric": "gb_per_s",            // metric vocabulary name (qb/metrics.h)
//       "aggregate": "min",              // min|max|mean|median|geomean|sum|count; default: the
//                                        // worst cell in the metric's direction; count = number
//                                        // of selected cells, any status
//       "op": ">=",                      // >= > <= < == !=
//       "threshold": 40,
//       "baseline": {"format": "F16"},   // optional: value becomes the % change versus the same
//                                        // aggregate over the cells selected by select+baseline
//       "require_valid": true,           // default true: invalid cells are dropped (and counted);
//                                        // false (or --include-invalid) lets them count, marked
//       "min_cells": 1,                  // fewer matching cells -> the gate fails
//       "optional": false }              // true: no matching cells -> skipped instead of failed
//   ]
// }
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb::rep {

struct GateResult {
  std::string name;
  std::string metric, aggregate, op;
  double threshold = 0;
  std::string status;  // "pass" | "fail" | "skipped"
  std::optional<double> value;
  std::optional<double> baseline_value;  // when the gate is relative
  double margin = 0;                     // how far inside (>0) or outside (<0) the threshold, metric units
  double margin_pct = 0;                 // margin relative to |threshold|
  int cells = 0;                         // cells aggregated
  std::string detail;
};

struct Qualification {
  std::string profile_name, profile_path, report_path;
  std::vector<GateResult> gates;
  bool pass() const;  // no gate failed (skipped gates do not fail)
};

// Validates the profile (throws UsageError naming `path` and the field, e.g. gates[2].op).
void validate_profile(const nlohmann::json& profile, const std::string& path);
// include_invalid (--include-invalid): invalid cells count in every gate, whatever require_valid says.
// A measured value outranks an estimated one: a gate uses estimates only where nothing was measured.
Qualification qualify(const nlohmann::json& profile, const std::string& profile_path,
                      const std::vector<CellResult>& results, bool include_invalid = false);

}  // namespace qb::rep
