// The decision as JSON (`qbench recommend --json`): every candidate with its numbers and checks.
#include <cmath>

#include "decision_render.h"
#include "reporter.h"

namespace qb::rep {

namespace {
nlohmann::json opt_json(std::optional<double> v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
nlohmann::json checks_json(const std::vector<Check>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& k : v)
    a.push_back({{"name", k.name},
                 {"evaluated", k.evaluated},
                 {"pass", k.pass},
                 {"detail", k.detail},
                 {"value", opt_json(k.value)},
                 {"limit", opt_json(k.limit)},
                 {"bound", k.upper ? "upper" : "lower"},
                 {"unit", k.unit}});
  return a;
}
}  // namespace

nlohmann::json decision_json(const Decision& d) {
  nlohmann::json j;
  j["baseline_format"] = d.baseline_format;
  j["distribution"] = d.distribution;
  j["quality_basis"] = d.quality_basis;
  j["speed_basis"] = d.speed_basis;
  j["weights"] = {{"quality", d.opt.w_quality}, {"speed", d.opt.w_speed}, {"memory", d.opt.w_memory}};
  j["device_class"] = d.opt.device_class;
  j["model"] = d.model;
  j["gates"] = gates_line(d);
  j["notes"] = d.notes;
  j["include_invalid"] = d.opt.include_invalid;
  j["invalid_cells"] = d.invalid_cells;
  auto& arr = j["candidates"] = nlohmann::json::array();
  for (const auto& c : d.candidates) {
    arr.push_back({{"id", c.id()},
                   {"format", c.format},
                   {"backend", c.backend},
                   {"framework", c.framework},
                   {"threads", c.threads},
                   {"placement", c.placement},
                   {"rank", c.rank},
                   {"eligible", c.eligible},
                   {"pareto", c.pareto},
                   {"dominated_by", c.dominated_by},
                   {"score", c.score},
                   {"gates_pass", c.gates_pass},
                   {"snr_db", opt_json(c.snr_db)},
                   {"cosine", opt_json(c.cosine)},
                   {"ppl", opt_json(c.ppl)},
                   {"kld", opt_json(c.kld)},
                   {"ppl_ratio", opt_json(c.ppl_ratio)},
                   {"lossless", c.lossless},
                   {"quality_ratio", opt_json(c.quality_ratio)},
                   {"quality_loss_pct", opt_json(c.quality_loss_pct)},
                   {"bits_per_weight", opt_json(c.bits_per_weight)},
                   {"model_bytes", opt_json(c.model_bytes)},
                   {"memory_reduction_pct", opt_json(c.memory_reduction_pct)},
                   {"gb_per_s", opt_json(c.gb_per_s)},
                   {"tokens_per_s", opt_json(c.tokens_per_s)},
                   {"p99_us", opt_json(c.p99_us)},
                   {"decode_ms", opt_json(c.decode_ms)},
                   {"speedup", opt_json(c.speedup)},
                   {"failed_cells", c.failed_cells},
                   {"invalid_cells", c.invalid_cells},
                   {"includes_invalid", c.includes_invalid},
                   {"invalid_reasons", c.invalid_reasons},
                   {"estimated", c.estimated},
                   {"speed_estimated", c.speed_estimated},
                   {"constraints", checks_json(c.constraints)},
                   {"gates", checks_json(c.gates)},
                   {"why", c.why}});
  }
  j["recommendations"] = nlohmann::json::array();
  for (auto* c : d.top(3)) j["recommendations"].push_back(c->id());
  auto miss_json = [](const std::optional<NearestMiss>& m) {
    return m ? nlohmann::json{{"message", m->message()},
                              {"checks", m->checks},
                              {"nearest", m->candidate},
                              {"misses", m->misses}}
             : nlohmann::json(nullptr);
  };
  j["unsatisfied"] = miss_json(d.unsatisfied);
  j["no_gate_pass"] = miss_json(d.no_gate_pass);
  return j;
}

std::string DecisionJsonReporter::render(const Report& report) const {
  return decision_json(report.decision).dump(2) + "\n";
}

}  // namespace qb::rep
