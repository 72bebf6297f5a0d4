#include "qb/plan.h"

#include <algorithm>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/runner.h"
#include "qb/shard.h"

namespace qb {

std::vector<Suite*> selected_suites(const RunConfig& cfg) {
  std::vector<Suite*> suites;
  for (Suite* s : all_suites())
    if (cfg.suites.empty() || std::find(cfg.suites.begin(), cfg.suites.end(), s->name()) != cfg.suites.end())
      suites.push_back(s);
  return suites;
}

Plan make_plan(const RunContext& ctx) {
  Plan plan;
  for (Suite* s : selected_suites(ctx.cfg))
    for (auto& c : s->plan(ctx)) plan.emplace_back(s, std::move(c));
  return plan;
}

void record_plan(const RunConfig& cfg, Plan& plan, nlohmann::json& header) {
  std::vector<Cell> cells;
  for (const auto& sc : plan) cells.push_back(sc.second);
  const std::string fp = plan_fingerprint(config_to_json(cfg), cells);
  if (!header["run"].is_object()) header["run"] = nlohmann::json::object();
  const std::string journaled = header["run"].value("plan_fingerprint", fp);
  if (journaled != fp)
    throw UsageError(
        fmt::format("--resume: this machine plans a different study (fingerprint {}) than the one "
                    "journaled (fingerprint {}); resume the run where it was started",
                    fp, journaled));
  header["run"]["plan_fingerprint"] = fp;
  if (cfg.shard.count <= 1) return;
  const std::vector<int> owner = assign_shards(cells, cfg.shard.count, cfg.measure);
  Plan mine;
  double expected = 0, expected_all = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const double e = expected_cell_s(plan[i].second, cfg.measure);
    expected_all += e;
    if (owner[i] != cfg.shard.index) continue;
    expected += e;
    mine.push_back(std::move(plan[i]));
  }
  header["shard"] = {{"index", cfg.shard.index},       {"count", cfg.shard.count}, {"plan_fingerprint", fp},
                     {"plan_cells", cells.size()},     {"cells", mine.size()},     {"expected_s", expected},
                     {"plan_expected_s", expected_all}};
  plan = std::move(mine);
}

std::map<std::string, std::vector<size_t>> interleave_groups(const Plan& plan, const std::set<std::string>& finished,
                                                             int rounds) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t j = 0; j < plan.size(); ++j) {
    const std::string g = plan[j].first->interleave_group(plan[j].second);
    if (!g.empty() && !finished.count(plan[j].second.key())) groups[g].push_back(j);
  }
  std::erase_if(groups, [&](const auto& kv) { return rounds < 2 || kv.second.size() < 2; });
  return groups;
}

}  // namespace qb
