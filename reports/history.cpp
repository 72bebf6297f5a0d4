// `qbench history` (a metric over runs, per machine and cell, from a results database) and
// `qbench regressions` (change points in those series by E-divisive means; exit 1 when the newest
// segment of a series is a regression beyond --max-regression).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "changepoint.h"
#include "qb/command.h"
#include "qb/report.h"
#include "qb/results_db.h"
#include "render.h"
#include "report_common.h"

namespace qb::rep {
namespace {

// "format=Q4_K,backend=avx2" -> {format: Q4_K, backend: avx2}.
std::map<std::string, std::string> parse_where(const std::string& s) {
  std::map<std::string, std::string> w;
  std::stringstream ss(s);
  for (std::string kv; std::getline(ss, kv, ',');) {
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
      throw UsageError(fmt::format("bad --where '{}': expected FIELD=VALUE[,FIELD=VALUE...]", kv));
    w[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return w;
}

// A series: one metric of one cell on one machine, one point per run, oldest first.
using SeriesKey = std::pair<std::string, std::string>;  // machine, cell key
std::map<SeriesKey, std::vector<SeriesPoint>> query_series(const std::string& url, const SeriesQuery& q) {
  std::unique_ptr<ResultsStore> db;
  std::vector<SeriesPoint> pts;
  try {
    db = open_results(url, /*must_exist=*/true);
    pts = db->series(q);
  } catch (const ResultsError& e) {
    throw UsageError(e.what());
  }
  std::map<SeriesKey, std::vector<SeriesPoint>> by;
  for (auto& p : pts) by[{p.machine, p.cell_key}].push_back(std::move(p));
  return by;
}

// CSV, one row per point: time,commit,machine,cell,<metric>,valid (report_common's csv_field
// quoting). Apache Otava's CSV source reads it as one series: filter to one cell and machine with
// --where.

std::string history_csv(const std::string& metric, const std::map<SeriesKey, std::vector<SeriesPoint>>& series) {
  std::string o = "time,commit,machine,cell," + csv_field(metric) + ",valid\n";
  for (const auto& [k, pts] : series)
    for (const auto& p : pts)
      o += fmt::format("{},{},{},{},{},{}\n", csv_field(p.created), csv_field(p.git_revision), csv_field(k.first),
                       csv_field(k.second), fmt::format("{:.17g}", p.value), p.valid ? 1 : 0);
  return o;
}

std::vector<std::string> csv_row(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      f.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      f.emplace_back();
    } else if (c != '\r') {
      f.back() += c;
    }
  }
  return f;
}

// `metric`'s series from a CSV with a header row (history --csv's, or any with a time column and
// the metric's column; machine and cell columns, when present, split it into series). Rows keep
// the file's order (oldest first).
std::map<SeriesKey, std::vector<SeriesPoint>> csv_series(const std::string& path, const std::string& metric) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read '{}'", path));
  std::string line;
  if (!std::getline(in, line)) throw UsageError(fmt::format("{}: empty, expected a header row", path));
  const auto head = csv_row(line);
  auto col = [&](const std::string& name) {
    const auto it = std::find(head.begin(), head.end(), name);
    return it == head.end() ? -1 : int(it - head.begin());
  };
  const int t = col("time"), c = col("commit"), m = col("machine"), k = col("cell"), v = col("valid"), x = col(metric);
  if (t < 0) throw UsageError(fmt::format("{}: line 1: no 'time' column in the header", path));
  std::map<SeriesKey, std::vector<SeriesPoint>> by;
  if (x < 0) return by;  // this metric is not in the file
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const auto f = csv_row(line);
    if (f.size() != head.size())
      throw UsageError(fmt::format("{}: line {}: {} fields, the header has {}", path, n, f.size(), head.size()));
    SeriesPoint p;
    p.created = f[size_t(t)];
    if (c >= 0) p.git_revision = f[size_t(c)];
    p.machine = m >= 0 ? f[size_t(m)] : "-";
    p.cell_key = k >= 0 ? f[size_t(k)] : "-";
    p.valid = v < 0 || f[size_t(v)] != "0";
    char* end = nullptr;
    p.value = std::strtod(f[size_t(x)].c_str(), &end);
    if (f[size_t(x)].empty() || *end)
      throw UsageError(fmt::format("{}: line {}: column '{}': '{}' is not a number", path, n, metric, f[size_t(x)]));
    by[{p.machine, p.cell_key}].push_back(p);
  }
  return by;
}

std::string history_html(const std::string& metric, const std::map<SeriesKey, std::vector<SeriesPoint>>& series) {
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& [k, pts] : series) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& p : pts) data.push_back({{"x", p.created}, {"y", p.value}, {"rev", p.git_revision}});
    sets.push_back({{"label", k.first + " " + k.second}, {"data", data}});
  }
  const std::string chartjs = load_chartjs();
  std::string o = "<!doctype html><meta charset=utf-8><title>qbench history: " + html_escape(metric) + "</title>\n";
  o += "<h1>" + html_escape(metric) + " (" + html_escape(metric_unit(metric)) + ") over runs</h1>\n";
  if (chartjs.empty()) {
    o += "<p>Chart.js not found (Debian package libjs-chart.js): the data are below.</p>\n";
  } else {
    o += "<div style='height:420px;max-width:1100px'><canvas id=h></canvas></div>\n<script>" + chartjs + "</script>\n";
    o += "<script>const sets=" + script_json(sets) +
         ";new Chart(document.getElementById('h'),{type:'line',data:{labels:[...new Set(sets.flatMap(s=>s.data.map("
         "p=>p.x)))].sort(),datasets:sets.map(s=>({label:s.label,data:s.data,parsing:{xAxisKey:'x',yAxisKey:'y'}}))},"
         "options:{maintainAspectRatio:false,plugins:{tooltip:{callbacks:{afterLabel:c=>'rev '+c.raw.rev}}}}});"
         "</script>\n";
  }
  o += "<table border=1 cellpadding=3><tr><th>series<th>run<th>revision<th>value<th>valid</tr>\n";
  for (const auto& s : sets)
    for (const auto& p : s["data"])
      o += fmt::format("<tr><td>{}<td>{}<td>{}<td>{}<td></tr>\n", html_escape(s["label"].get<std::string>()),
                       html_escape(p["x"].get<std::string>()), html_escape(p["rev"].get<std::string>()),
                       fmt_num(p["y"].get<double>()));
  return o + "</table>\n";
}

void add_history(CLI::App& app) {
  struct Args {
    std::string results = kDefaultHistoryUrl, metric, where, since, html, csv;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("history", "A metric over runs (commits, dates) per machine and cell, from --results");
  cmd->add_option("--results", a->results,
                  fmt::format("Results database: sqlite:PATH or postgresql://... (default: {}, where `run` "
                              "stores by default)",
                              kDefaultHistoryUrl));
  cmd->add_option("--metric", a->metric, "Metric name, e.g. gb_per_s (see reports/schema)")->required();
  cmd->add_option("--where", a->where,
                  "Cell filter FIELD=VALUE,... (suite, format, backend, workload, threads, "
                  "placement, machine)");
  cmd->add_option("--since", a->since, "Only runs created at or after this ISO date/time (e.g. 2026-11-01)");
  cmd->add_option("--html", a->html, "Also write an HTML line plot (Chart.js) to this file");
  cmd->add_option("--csv", a->csv,
                  "Also write the points as CSV (time,commit,machine,cell,METRIC,valid; one series per file "
                  "for Apache Otava: filter with --where)");
  cmd->callback([a] {
    if (!find_metric(a->metric)) throw UsageError(fmt::format("unknown metric '{}' (see reports/schema)", a->metric));
    const auto series = query_series(a->results, {a->metric, parse_where(a->where), a->since});
    if (!globals().quiet) {
      for (const auto& [k, pts] : series) {
        std::printf("%s  %s  (%s, %s)\n", k.first.c_str(), k.second.c_str(), a->metric.c_str(),
                    metric_unit(a->metric).c_str());
        for (const auto& p : pts)
          std::printf("  %-20s %-12s %12s%s\n", p.created.c_str(), p.git_revision.substr(0, 12).c_str(),
                      fmt_num(p.value).c_str(), p.valid ? "" : "  (invalid)");
      }
      if (series.empty()) std::printf("no %s values match\n", a->metric.c_str());
    }
    if (!a->html.empty()) write_file_atomic(a->html, history_html(a->metric, series));
    if (!a->csv.empty()) write_file_atomic(a->csv, history_csv(a->metric, series));
    set_exit_code(kExitOk);
  });
}

void add_regressions(CLI::App& app) {
  struct Args {
    std::string results = kDefaultHistoryUrl, metrics = "tokens_per_s,gb_per_s,gflop_per_s", where, since,
                max_regression = "5%", csv;
    double significance = 0.01;
    int min_size = 5;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "regressions", "Change points per series (E-divisive means); exit 1 when the newest segment regressed");
  cmd->add_option("--results", a->results,
                  fmt::format("Results database: sqlite:PATH or postgresql://... (default: {}, where `run` "
                              "stores by default)",
                              kDefaultHistoryUrl));
  cmd->add_option("--metric", a->metrics, "Comma-separated metrics (default tokens_per_s,gb_per_s,gflop_per_s)");
  cmd->add_option("--where", a->where, "Cell filter FIELD=VALUE,... as for history");
  cmd->add_option("--since", a->since, "Only runs created at or after this ISO date/time");
  auto* csv = cmd->add_option("--csv", a->csv,
                              "Read the series from this CSV instead of a database (history --csv's columns; any "
                              "CSV with a time column and the metric's column)");
  cmd->add_option("--max-regression", a->max_regression,
                  "Largest tolerated shift at the change point that starts the newest segment (default 5%)");
  cmd->add_option("--significance", a->significance, "Permutation-test p-value to accept a change point (0.01)")
      ->check(CLI::Range(0.001, 0.5));
  cmd->add_option("--min-size", a->min_size, "Fewest runs on each side of a change point (default 5)")
      ->check(CLI::Range(2, 1000));
  csv->excludes("--where")->excludes("--since");
  cmd->callback([a] {
    const double max_pct = parse_percent(a->max_regression, "--max-regression");
    ChangePointOptions opt;
    opt.significance = a->significance;
    opt.min_size = a->min_size;
    int flagged = 0, series_n = 0;
    std::stringstream ms(a->metrics);
    for (std::string metric; std::getline(ms, metric, ',');) {
      if (!find_metric(metric)) throw UsageError(fmt::format("unknown metric '{}' (see reports/schema)", metric));
      const bool up = higher_is_better(metric);
      const auto series = a->csv.empty() ? query_series(a->results, {metric, parse_where(a->where), a->since})
                                         : csv_series(a->csv, metric);
      for (const auto& [k, pts] : series) {
        ++series_n;
        std::vector<double> x;
        for (const auto& p : pts) x.push_back(p.value);
        const auto cps = e_divisive(x, opt);
        std::vector<int> bounds{0};
        for (const auto& c : cps) bounds.push_back(c.index);
        bounds.push_back(int(x.size()));
        auto mean = [&](int b, int e) {
          double s = 0;
          for (int i = b; i < e; ++i) s += x[size_t(i)];
          return s / (e - b);
        };
        for (size_t i = 0; i < cps.size(); ++i) {
          const double before = mean(bounds[i], bounds[i + 1]), after = mean(bounds[i + 1], bounds[i + 2]);
          const double change = before != 0 ? 100 * (after - before) / before : 0;
          const double regression = up ? -change : change;  // > 0: worse
          const bool newest = i + 1 == cps.size();
          const bool bad = newest && regression > max_pct;
          flagged += bad;
          if (!globals().quiet)
            std::printf("%s %s  %s  %s: change point at run %d (%s, rev %s): %+.2f%% (mean %s -> %s, p=%.3f)%s\n",
                        bad ? "REGRESSION" : "change", k.first.c_str(), k.second.c_str(), metric.c_str(), cps[i].index,
                        pts[size_t(cps[i].index)].created.c_str(),
                        pts[size_t(cps[i].index)].git_revision.substr(0, 12).c_str(), change, fmt_num(before).c_str(),
                        fmt_num(after).c_str(), cps[i].p,
                        bad ? fmt::format(" beyond {}%, in the newest segment", fmt_num(max_pct)).c_str() : "");
        }
      }
    }
    if (!globals().quiet)
      std::printf("%d series checked (E-divisive means, alpha 1, %d permutations, p <= %g, min size %d): %s\n",
                  series_n, opt.permutations, opt.significance, opt.min_size,
                  flagged ? fmt::format("{} newest-segment regression(s) beyond {}%", flagged, fmt_num(max_pct)).c_str()
                          : "no newest-segment regression");
    set_exit_code(flagged ? kExitVerdict : kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(history, "history", 63, add_history);
QB_REGISTER_COMMAND(regressions, "regressions", 64, add_regressions);
}  // namespace qb::rep
