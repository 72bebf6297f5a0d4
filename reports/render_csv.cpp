// The CSV report: one row per cell, every metric a column.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qb/metrics.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {

std::string render_csv(const nlohmann::json& report) { return CsvReporter().render(read_report(report)); }

std::string CsvReporter::render(const Report& report) const {
  std::set<std::string> present;
  for (const auto& r : report.results)
    if (r.metrics.is_object())
      for (const auto& [k, v] : r.metrics.items()) present.insert(k);
  std::vector<std::string> metrics;
  for (const auto& m : all_metrics())
    if (present.count(std::string(m.name))) metrics.push_back(std::string(m.name)), present.erase(std::string(m.name));
  for (const auto& m : present) metrics.push_back(m);  // unknown names last, sorted
  // valid/reasons say which rows left every ranking and mean; estimate lists the metrics of the row
  // that are estimates, not measurements; kind is the kind of work (rows of different kinds never
  // average together).
  std::string o = "suite,format,backend,workload,threads,placement,status,valid,error,reasons,estimate,kind";
  for (const auto& m : metrics) o += "," + csv_field(m);
  o += ",n,median_s,mean_s,p99_s,cv,median_ci95_lo_s,median_ci95_hi_s,params\n";
  for (const CellResult& r : report.results) {
    std::vector<std::string> est;
    for (const auto& m : metrics)
      if (r.metrics.contains(m) && is_estimate(r, m)) est.push_back(m);
    const std::vector<std::string> f = {r.cell.suite,
                                        r.cell.format,
                                        r.cell.backend,
                                        r.cell.workload,
                                        std::to_string(r.cell.threads),
                                        r.cell.placement,
                                        std::string(status_name(r.status)),
                                        r.valid ? "true" : "false",
                                        r.error,
                                        fmt::format("{}", fmt::join(r.reasons, "; ")),
                                        fmt::format("{}", fmt::join(est, ";")),
                                        work_kind(r).key};
    std::string line;
    for (size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + csv_field(f[i]);
    for (const auto& m : metrics) {
      line += ",";
      auto it = r.metrics.find(m);
      if (it != r.metrics.end() && it->is_number()) line += fmt::format("{}", it->get<double>());
    }
    // The statistics as numbers (n too, as the report's JSON reader gives them); empty without stats.
    auto num = [&](double v) { return r.has_stats ? fmt::format("{}", v) : std::string(); };
    const Stats& s = r.stats;
    line += fmt::format(",{},{},{},{},{},{},{},{}", num(double(s.n)), num(s.median), num(s.mean), num(s.p99), num(s.cv),
                        num(s.median_ci_lo), num(s.median_ci_hi), csv_field(r.cell.params.dump()));
    o += line + "\n";
  }
  return o;
}

}  // namespace qb::rep
