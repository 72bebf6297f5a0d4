#include "qb/result.h"

#include <stdexcept>

#include <fmt/format.h>

namespace qb {

namespace {
struct StatusName {
  CellStatus status;
  std::string_view name;
};
// The one table between cell statuses and their names in the journal and the report.
constexpr StatusName kStatusNames[] = {
    {CellStatus::Ok, "ok"}, {CellStatus::Failed, "failed"}, {CellStatus::Unsupported, "unsupported"}};
}  // namespace

std::string_view status_name(CellStatus s) {
  for (const auto& n : kStatusNames)
    if (n.status == s) return n.name;
  return "?";
}

CellStatus parse_status(std::string_view s) {
  for (const auto& n : kStatusNames)
    if (n.name == s) return n.status;
  throw std::invalid_argument(fmt::format("unknown status '{}': expected ok, failed or unsupported", s));
}

std::string Cell::key() const {
  return fmt::format("{}/{}/{}/{}/{}/{}", suite, format, backend, workload, threads, placement);
}

void to_json(nlohmann::json& j, const Cell& c) {
  j = {{"suite", c.suite},     {"format", c.format},       {"backend", c.backend}, {"workload", c.workload},
       {"threads", c.threads}, {"placement", c.placement}, {"params", c.params}};
}

void from_json(const nlohmann::json& j, Cell& c) {
  c.suite = j.at("suite").get<std::string>();
  c.format = j.at("format").get<std::string>();
  c.backend = j.at("backend").get<std::string>();
  c.workload = j.at("workload").get<std::string>();
  c.threads = j.at("threads").get<int>();
  c.placement = j.at("placement").get<std::string>();
  c.params = j.value("params", nlohmann::json::object());
}

void to_json(nlohmann::json& j, const CellResult& r) {
  j = r.cell;
  j["status"] = status_name(r.status);
  if (!r.error.empty()) j["error"] = r.error;
  j["metrics"] = r.metrics;
  j["stats"] = r.has_stats ? nlohmann::json(r.stats) : nlohmann::json(nullptr);
  j["samples"] = r.samples;
  j["counters"] = r.counters;
  j["valid"] = r.valid;
  j["reasons"] = r.reasons;
  j["wall_s"] = r.wall_s;
}

void from_json(const nlohmann::json& j, CellResult& r) {
  r.cell = j.get<Cell>();
  r.status = parse_status(j.value("status", "ok"));
  r.error = j.value("error", "");
  r.metrics = j.value("metrics", nlohmann::json::object());
  r.has_stats = j.contains("stats") && j["stats"].is_object();
  if (r.has_stats) r.stats = j["stats"].get<Stats>();
  r.samples = j.value("samples", std::vector<double>{});
  r.counters = j.value("counters", nlohmann::json::object());
  r.valid = j.value("valid", false);
  r.reasons = j.value("reasons", std::vector<std::string>{});
  r.wall_s = j.value("wall_s", 0.0);
}

}  // namespace qb
