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
std::string md_escape(std::string_view s);   // table cells: | \ ` * _ < > [ ] and newlines
std::string csv_field(std::string_view s);   // RFC 4180 quoting; spreadsheet formula guard
// JSON text safe to embed inside <script>: "<", ">", "&", U+2028/9 escaped.
std::string script_json(const nlohmann::json& j);

// Number formatting: 4 significant digits, no exponent for common ranges.
std::string fmt_num(double v, int sig = 4);
std::string fmt_bytes(double bytes);  // "1.50 GiB"

// Parses sizes and rates given on the command line; throw UsageError naming `option`.
double parse_bytes(const std::string& s, const std::string& option);      // "2GiB", "512MB", "1e9"
double parse_percent(const std::string& s, const std::string& option);    // "5%" or "5" -> 5
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

// The full-precision baseline formats in order of preference.
bool is_full_precision(const std::string& format);

// Metrics derived from timing samples (compare uses Mann-Whitney U for these).
bool is_timing_metric(const std::string& metric);

}  // namespace qb::rep
