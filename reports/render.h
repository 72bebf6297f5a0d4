// The report renderers from report.json to text: read_report (typed_report.h), then the Reporter
// of that format (reporter.h). Registered for `qbench run`; tests call them on synthetic reports.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace qb::rep {

std::string render_csv(const nlohmann::json& report);
std::string render_markdown(const nlohmann::json& report);
// chartjs: the Chart.js UMD source to inline; "" = tables only, with a visible note.
std::string render_html(const nlohmann::json& report, const std::string& chartjs);
// Finds Debian's Chart.js UMD build (env QB_CHARTJS overrides: a path, or "none"); "" if absent.
std::string find_chartjs_path();
std::string load_chartjs();

}  // namespace qb::rep
