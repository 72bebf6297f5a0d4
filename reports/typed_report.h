// A report.json parsed once into what every Reporter (reporter.h) renders: the cells as CellResults,
// the run's metadata, and the Decision, computed once here rather than by each renderer.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decide.h"
#include "frameworks.h"
#include "qb/result.h"
#include "report_common.h"

namespace qb::rep {

struct Report {
  std::string created, schema_version;
  // Shown as stored (the schema lets them grow): machine (topology, counters, energy, backends),
  // the run's configuration and its summary (cells, wall_s, ...).
  nlohmann::json machine = nlohmann::json::object(), topology = nlohmann::json::object();
  nlohmann::json config = nlohmann::json::object(), run = nlohmann::json::object();
  std::optional<nlohmann::json> qbench;  // the build that ran it (version, git revision, compiler)
  std::vector<CellResult> results;       // in the report's order
  std::vector<std::string> suites;       // in order of their first cell
  BackendKinds kinds;                    // machine.backends
  Decision decision;                     // decide(results, the options given, kinds)
};

// The typed report of a loaded report.json; the decision under `opt` (the renderers use the defaults).
Report read_report(const LoadedReport& loaded, const DecisionOptions& opt = {});
// The same from a report document; a result that does not parse is a UsageError naming its index.
Report read_report(const nlohmann::json& doc, const DecisionOptions& opt = {});

// Metric columns shown for a suite: the vocabulary names present (as numbers) in its cells, in
// vocabulary order, est_NAME beside NAME, cv left out (at most `max`).
std::vector<std::string> suite_metrics(const Report& report, const std::string& suite, size_t max = 6);

}  // namespace qb::rep
