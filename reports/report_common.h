// Helpers shared by the renderers and the report commands (report, compare, recommend, qualify).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/metrics.h"
#include "qb/result.h"

namespace qb::rep {

// Escaping for the output formats. html_escape covers text and attribute values.
std::string html_escape(std::string_view s);
std::string md_escape(std::string_view s);  // table cells: | \ ` * _ < > [ ] and newlines
std::string csv_field(std::string_view s);
std::string xml_escape(std::string_view s);  // text and attributes; control characters XML 1.0 forbids -> ' '    // RFC
                                             // 4180 quoting; spreadsheet formula guard
// JSON text safe to embed inside <script>: "<", ">", "&", U+2028/9 escaped.
std::string script_json(const nlohmann::json& j);

// A JSON value as report text: a string as is, anything else as JSON ("" for null); json_field
// the same for the member `key` of an object ("" when absent).
std::string json_text(const nlohmann::json& v);
std::string json_field(const nlohmann::json& j, const char* key);

// Number formatting: 4 significant digits, no exponent for common ranges.
std::string fmt_num(double v, int sig = 4);
std::string fmt_bytes(double bytes);  // "1.50 GiB"
std::string fmt_pct(double percent);  // "47%"

// Parses sizes and rates given on the command line; throw UsageError naming `option`.
double parse_bytes(const std::string& s, const std::string& option);        // "2GiB", "512MB", "1e9"
double parse_percent(const std::string& s, const std::string& option);      // "5%" or "5" -> 5
double parse_duration_us(const std::string& s, const std::string& option);  // "5ms", "300us", "0.1s"

// A metric's direction; unknown metrics are treated as higher-is-better = false and flagged.
bool higher_is_better(const std::string& metric);
std::string metric_unit(const std::string& metric);

// Reads a report and its results; any error names the file (UsageError).
struct LoadedReport {
  std::string path;
  nlohmann::json doc;
  std::vector<CellResult> results;
};
LoadedReport load(const std::string& path);
std::vector<CellResult> results_of(const nlohmann::json& report);

// Simple glob: '*' and '?' (used by qualify selectors and compare filters).
bool glob_match(std::string_view pattern, std::string_view text);

// How the decision names one cell: "suite format backend workload Nt placement".
std::string cell_name(const CellResult& r);
// How the report's tables name one cell: "format backend workload tN placement", without the "-"
// of a field the suite has none of.
std::string cell_label(const CellResult& r);

// The full-precision baseline formats in order of preference.
bool is_full_precision(const std::string& format);

// Metrics derived from timing samples (compare uses Mann-Whitney U for these).
bool is_timing_metric(const std::string& metric);

// ---- Which numbers may decide: the one place that says whether a cell counts, whether a number
// is an estimate, and which kind of work a cell measures. recommend, qualify and every renderer
// use these; none decides on its own.

// A cell whose numbers are estimates rather than measurements: params.estimate == true, or a
// latency decode_* cell (the decode-step estimate).
bool is_estimate(const CellResult& r);
// One metric of a cell is an estimate: the cell is, the metric is named est_*, or the cell's
// params.<metric>_method says "estimate...".
bool is_estimate(const CellResult& r, const std::string& metric);
// A metric read from a cell under its name, or (with_est_form) else its estimate form
// est_<name>; finite values only.
struct MetricValue {
  double value = 0;
  bool estimate = false;
};
std::optional<MetricValue> metric_value(const CellResult& r, const std::string& name, bool with_est_form = true);

// Whether a cell's numbers enter rankings, Pareto fronts, gates, geometric means and other
// aggregates: status ok and valid (invalid cells too when include_invalid).
bool counts(const CellResult& r, bool include_invalid = false);
bool is_invalid(const CellResult& r);             // status ok but valid == false
std::string invalid_reason(const CellResult& r);  // the recorded reasons, "; "-joined

// The kind of work a cell measures; numbers of different kinds are never averaged together.
// Throughput: GEMV (n=1, GB/s of weights), small batch (n <= 32) and GEMM (GFLOP/s), one kind per
// n; model-level (tokens/s): the latency suite's decode estimate and model suites. Other cells
// have an empty key and metric.
struct WorkKind {
  std::string key;     // "gemv", "batch8", "gemm512", "decode", "model", ""
  std::string title;   // "GEMV (n=1)", ...
  std::string metric;  // the metric its tables show
  int order = 9;       // display order
};
WorkKind work_kind(const CellResult& r);

}  // namespace qb::rep
