// The framework decision: which framework each cell measures, `recommend --frameworks`, and the
// report's framework comparison (per format family, which framework is fastest and which most
// accurate on this machine, with the cells that show it).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb::rep {

// backend name -> kind ("qbench", "peer", "framework"), as the report's machine.backends records it.
using BackendKinds = std::map<std::string, std::string>;
BackendKinds backend_kinds(const nlohmann::json& report);

// The framework a backend's cells measure: "qbench" for qbench's own kernels, "peer library" for
// OpenBLAS/oneDNN/XNNPACK, "llama.cpp/ggml" for the ggml adapter, "llama.cpp" for the model
// backend, the adapter's name for the other frameworks; "" for "-" (format-level cells). The kind
// comes from `kinds` (the report), else from this build's backends.
std::string framework_of(const std::string& backend, const BackendKinds& kinds);

// Every framework name this build or the report knows, sorted.
std::vector<std::string> known_frameworks(const BackendKinds& kinds);

// Comma-separated framework names (case-insensitive) -> their known spelling; throws UsageError
// naming the known ones.
std::vector<std::string> parse_frameworks(const std::string& list, const BackendKinds& kinds);

// The cells of the given frameworks plus the format-level cells (backend "-"); all of them when
// `frameworks` is empty.
std::vector<CellResult> select_frameworks(const std::vector<CellResult>& results,
                                          const std::vector<std::string>& frameworks, const BackendKinds& kinds);

// The family a format is compared in: float, legacy, k-quant, i-quant, ternary, mx, int8, int4
// (the format table's family, integer formats split by width); "other" for unknown names.
std::string comparison_family(const std::string& format);

// One claim of the framework comparison: in one format family, on one metric, which framework
// is best on the cells that two or more frameworks measured (same format, workload and threads;
// each framework at its best backend and placement there).
struct FrameworkClaim {
  std::string family;
  std::string aspect;  // "fastest" | "most accurate"
  std::string metric;  // metric name ("gb_per_s", "rel_err", ...)
  std::string title;   // "GEMV GB/s", ...
  bool higher_better = true;
  std::string winner;
  int wins = 0, shared = 0;             // shared cells won by the winner, of all shared cells
  std::string runner_up;                // the next framework in that order
  bool tie = false;                     // winner and runner-up equal on cells won and on the mean
  double ratio = 1;                     // how much better the winner is than the runner-up: geometric mean over the
                                        // cells both measured of value ratios (inverted for lower-is-better metrics)
  std::vector<std::string> frameworks;  // those that measured the shared cells, best first
  std::vector<std::string> evidence;    // "winner cell vs runner-up cell: value vs value"
};

struct FrameworkComparison {
  std::vector<std::string> frameworks;  // frameworks with counted cells in the report
  std::vector<FrameworkClaim> claims;   // by family, then the metric table's order
  std::string absent;                   // why there is no comparison ("" when claims may exist)
};

FrameworkComparison compare_frameworks(const std::vector<CellResult>& results, const BackendKinds& kinds);

std::string framework_comparison_html(const FrameworkComparison& fc);
std::string framework_comparison_markdown(const FrameworkComparison& fc);
std::string framework_comparison_text(const FrameworkComparison& fc);

}  // namespace qb::rep
