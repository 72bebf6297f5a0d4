// The plan stage: which cells a run measures (every selected suite's Suite::plan()), the study's
// fingerprint and this shard's part of it, and which cells are measured in interleaved rounds.
// What a suite's cells are (formats x backends x shapes x threads: kernel_plan() for the kernel
// suites) stays with the suite; this file only gathers, splits and groups them.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/suite.h"

namespace qb {

// Cells of the run, each with the suite that measures it, in suite order (Suite::order()).
using Plan = std::vector<std::pair<Suite*, Cell>>;

// The suites cfg.suites selects (all when empty), in run order.
std::vector<Suite*> selected_suites(const RunConfig& cfg);
// Every selected suite's cells under ctx.
Plan make_plan(const RunContext& ctx);

// Fingerprints the whole plan into header.run.plan_fingerprint (the study a results database files
// the run under) and, with --shard, keeps this shard's cells and records the split in
// header.shard. A resumed run (header already fingerprinted) must plan the same study: UsageError.
void record_plan(const RunConfig& cfg, Plan& plan, nlohmann::json& header);

// Cells measured in interleaved rounds: per Suite::interleave_group() name, the plan indices of
// its cells not yet finished; groups of one cell, or any group when rounds < 2, are left out.
std::map<std::string, std::vector<size_t>> interleave_groups(const Plan& plan, const std::set<std::string>& finished,
                                                             int rounds);

}  // namespace qb
