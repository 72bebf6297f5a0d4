#include "report_common.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qb/command.h"
#include "qb/report.h"

namespace qb::rep {

std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      case '`':
        o += "&#96;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string md_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '|':
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '#':
        o += '\\';
        o += c;
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '\n':
      case '\r':
        o += ' ';
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string xml_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          o += ' ';  // not allowed in XML 1.0
        else
          o += c;
    }
  }
  return o;
}

std::string csv_field(std::string_view s) {
  std::string v(s);
  // A text cell starting with = + @ (or a tab/CR) would be run as a formula by spreadsheets.
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) v = "'" + v;
  bool quote = v.find_first_of(",\"\n\r") != std::string::npos;
  if (!quote) return v;
  std::string o = "\"";
  for (char c : v) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

std::string script_json(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string o;
  o.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '<')
      o += "\\u003c";
    else if (c == '>')
      o += "\\u003e";
    else if (c == '&')
      o += "\\u0026";
    else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      o += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else
      o += c;
  }
  return o;
}

std::string json_text(const nlohmann::json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string json_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? "" : json_text(*it);
}

std::string fmt_num(double v, int sig) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1e7 || a < 1e-4) return fmt::format("{:.{}e}", v, sig - 1);
  int digits = sig - 1 - int(std::floor(std::log10(a)));
  if (digits < 0) digits = 0;
  std::string s = fmt::format("{:.{}f}", v, digits);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string fmt_pct(double v) { return fmt::format("{:.0f}%", v); }

std::string fmt_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(b) >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

namespace {
// Splits "12.5GiB" into 12.5 and "gib" (lower case, spaces dropped).
bool split_number(const std::string& s, double& v, std::string& unit) {
  std::string t;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  if (t.empty()) return false;
  size_t pos = 0;
  try {
    v = std::stod(t, &pos);
  } catch (const std::exception&) {
    return false;
  }
  if (!std::isfinite(v)) return false;
  unit = t.substr(pos);
  for (auto& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
  return true;
}
}  // namespace

double parse_bytes(const std::string& s, const std::string& option) {
  double v;
  std::string u;
  if (!split_number(s, v, u) || v < 0)
    throw UsageError(fmt::format("{}: bad size '{}': expected e.g. 2GiB, 512MB, 1e9", option, s));
  if (u.empty() || u == "b") return v;
  const std::pair<const char*, double> units[] = {{"k", 1e3},
                                                  {"kb", 1e3},
                                                  {"m", 1e6},
                                                  {"mb", 1e6},
                                                  {"g", 1e9},
                                                  {"gb", 1e9},
                                                  {"t", 1e12},
                                                  {"tb", 1e12},
                                                  {"kib", 1024.0},
                                                  {"mib", 1048576.0},
                                                  {"gib", 1073741824.0},
                                                  {"tib", 1099511627776.0}};
  for (auto& [n, f] : units)
    if (u == n) return v * f;
  throw UsageError(fmt::format("{}: bad size unit in '{}': use B, KB, MB, GB, KiB, MiB, GiB", option, s));
}

double parse_percent(const std::string& s, const std::string& option) {
  double v;
  std::string u;
  if (!split_number(s, v, u) || (!u.empty() && u != "%") || v < 0)
    throw UsageError(fmt::format("{}: bad percentage '{}': expected e.g. 5% or 5", option, s));
  return v;
}

double parse_duration_us(const std::string& s, const std::string& option) {
  double v;
  std::string u;
  if (!split_number(s, v, u) || v < 0)
    throw UsageError(fmt::format("{}: bad duration '{}': expected e.g. 5ms, 300us, 0.1s", option, s));
  if (u == "us") return v;
  if (u == "ms" || u.empty()) return v * 1e3;
  if (u == "s") return v * 1e6;
  if (u == "ns") return v * 1e-3;
  throw UsageError(fmt::format("{}: bad duration unit in '{}': use ns, us, ms or s", option, s));
}

namespace {
constexpr std::string_view kEstPrefix = "est_";
// The vocabulary entry of a metric, also under its estimate form est_<name>.
const MetricDef* metric_def(const std::string& metric) {
  if (const MetricDef* d = find_metric(metric)) return d;
  if (metric.starts_with(kEstPrefix)) return find_metric(metric.substr(kEstPrefix.size()));
  return nullptr;
}
}  // namespace

bool higher_is_better(const std::string& metric) {
  const MetricDef* d = metric_def(metric);
  return d ? d->higher_is_better : false;
}

std::string metric_unit(const std::string& metric) {
  const MetricDef* d = metric_def(metric);
  return d ? std::string(d->unit) : std::string();
}

std::vector<CellResult> results_of(const nlohmann::json& report) { return report_results(report); }

LoadedReport load(const std::string& path) {
  LoadedReport r;
  r.path = path;
  r.doc = load_report(path);
  try {
    r.results = report_results(r.doc);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", path, e.what()));
  }
  return r;
}

std::string cell_name(const CellResult& r) {
  return fmt::format("{} {} {} {} {}t {}", r.cell.suite, r.cell.format, r.cell.backend, r.cell.workload, r.cell.threads,
                     r.cell.placement);
}

std::string cell_label(const CellResult& r) {
  std::vector<std::string> parts;
  for (const std::string* f : {&r.cell.format, &r.cell.backend, &r.cell.workload})
    if (*f != "-") parts.push_back(*f);
  parts.push_back(fmt::format("t{}", r.cell.threads));
  if (r.cell.placement != "-") parts.push_back(r.cell.placement);
  return fmt::format("{}", fmt::join(parts, " "));
}

bool glob_match(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi, ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool is_full_precision(const std::string& f) { return f == "F32" || f == "F16" || f == "BF16"; }

bool is_timing_metric(const std::string& m) {
  static const char* kTiming[] = {metric::gb_per_s,      metric::gflop_per_s,  metric::roofline_pct,
                                  metric::bandwidth_pct, metric::time_s,       metric::p50_us,
                                  metric::p90_us,        metric::p99_us,       metric::max_us,
                                  metric::decode_ms,     metric::tokens_per_s, metric::ns_per_call,
                                  metric::overhead_pct,  metric::ipc};
  for (auto* k : kTiming)
    if (m == k) return true;
  return false;
}

bool is_estimate(const CellResult& r) {
  auto it = r.cell.params.find("estimate");
  if (it != r.cell.params.end() && it->is_boolean() && it->get<bool>()) return true;
  return r.cell.suite == "latency" && r.cell.workload.starts_with("decode_");
}

bool is_estimate(const CellResult& r, const std::string& metric) {
  if (is_estimate(r) || metric.starts_with(kEstPrefix)) return true;
  auto it = r.cell.params.find(metric + "_method");
  return it != r.cell.params.end() && it->is_string() && it->get<std::string>().starts_with("estimate");
}

std::optional<MetricValue> metric_value(const CellResult& r, const std::string& name, bool with_est_form) {
  for (const std::string& n : {name, std::string(kEstPrefix) + name}) {
    if (n != name && !with_est_form) break;
    auto it = r.metrics.find(n);
    if (it == r.metrics.end() || !it->is_number()) continue;
    double v = it->get<double>();
    if (std::isfinite(v)) return MetricValue{v, is_estimate(r, n)};
  }
  return std::nullopt;
}

bool is_invalid(const CellResult& r) { return r.status == CellStatus::Ok && !r.valid; }

bool counts(const CellResult& r, bool include_invalid) {
  return r.status == CellStatus::Ok && (r.valid || include_invalid);
}

std::string invalid_reason(const CellResult& r) {
  if (r.reasons.empty()) return "invalid (no reason recorded)";
  return fmt::format("{}", fmt::join(r.reasons, "; "));
}

WorkKind work_kind(const CellResult& r) {
  const auto& p = r.cell.params;
  if (r.cell.suite == "throughput" && p.contains("n") && p["n"].is_number_integer()) {
    const int64_t n = p["n"].get<int64_t>();
    if (n == 1) return {"gemv", "GEMV (n=1)", metric::gb_per_s, 0};
    if (n <= 32) return {fmt::format("batch{}", n), fmt::format("small batch (n={})", n), metric::gflop_per_s, 1};
    return {fmt::format("gemm{}", n), fmt::format("GEMM (n={})", n), metric::gflop_per_s, 2};
  }
  if (r.cell.suite == "latency" && r.cell.workload.starts_with("decode_"))
    return {"decode", "model-level decode (estimate)", metric::tokens_per_s, 3};
  if (metric_value(r, metric::tokens_per_s))
    return {"model", is_estimate(r, metric::tokens_per_s) ? "model-level (estimate)" : "model-level",
            metric::tokens_per_s, 4};
  return {};
}

}  // namespace qb::rep
