#include "typed_report.h"

#include <algorithm>
#include <set>
#include <utility>

#include "qb/command.h"
#include "qb/metrics.h"
#include "qb/report.h"

namespace qb::rep {

namespace {
Report build(const nlohmann::json& doc, std::vector<CellResult> results, const DecisionOptions& opt) {
  Report r;
  r.created = json_field(doc, "created");
  r.schema_version = json_field(doc, "schema_version");
  r.machine = doc.value("machine", nlohmann::json::object());
  r.topology = r.machine.value("topology", nlohmann::json::object());
  r.config = doc.value("config", nlohmann::json::object());
  r.run = doc.value("run", nlohmann::json::object());
  if (doc.contains("qbench")) r.qbench = doc["qbench"];
  r.results = std::move(results);
  for (const auto& c : r.results)
    if (std::find(r.suites.begin(), r.suites.end(), c.cell.suite) == r.suites.end()) r.suites.push_back(c.cell.suite);
  r.kinds = backend_kinds(doc);
  r.decision = decide(r.results, opt, r.kinds);
  return r;
}
}  // namespace

Report read_report(const LoadedReport& loaded, const DecisionOptions& opt) {
  return build(loaded.doc, loaded.results, opt);
}

Report read_report(const nlohmann::json& doc, const DecisionOptions& opt) {
  return build(doc, report_results(doc), opt);
}

std::vector<std::string> suite_metrics(const Report& report, const std::string& suite, size_t max) {
  std::set<std::string> present;
  for (const auto& r : report.results)
    if (r.cell.suite == suite && r.metrics.is_object())
      for (const auto& [k, v] : r.metrics.items())
        if (v.is_number()) present.insert(k);
  std::vector<std::string> out;
  for (const auto& m : all_metrics())
    for (std::string name : {std::string(m.name), "est_" + std::string(m.name)})
      if (present.count(name) && out.size() < max && m.name != metric::cv) out.push_back(name);
  return out;
}

}  // namespace qb::rep
