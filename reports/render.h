// The report renderers (registered for `qbench run`, used by `qbench report`).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qb::rep {

std::string render_csv(const nlohmann::json& report);
std::string render_markdown(const nlohmann::json& report);
// chartjs: the Chart.js UMD source to inline; "" = tables only, with a visible note.
std::string render_html(const nlohmann::json& report, const std::string& chartjs);
// Finds Debian's Chart.js UMD build (env QB_CHARTJS overrides: a path, or "none"); "" if absent.
std::string find_chartjs_path();
std::string load_chartjs();

// Metric columns shown for a suite: the vocabulary names present in its ok cells, in vocabulary
// order (at most `max`).
std::vector<std::string> suite_metrics(const nlohmann::json& report, const std::string& suite, size_t max = 6);
std::vector<std::string> suites_of(const nlohmann::json& report);

}  // namespace qb::rep
