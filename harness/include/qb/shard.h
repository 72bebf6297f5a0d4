// `qbench run --shard I/N`: a deterministic split of one plan over N machines or device slots.
// Every shard plans the whole study the same way, fingerprints it, and keeps only its own cells;
// `qbench merge` joins shards only when their fingerprints and builds agree (docs/fleet.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/measure.h"
#include "qb/result.h"

namespace qb {

struct ShardSpec {
  int index = 0;  // 0-based, like a GitHub Actions matrix index or a Kubernetes completion index
  int count = 1;  // 1: not sharded
};

// "I/N" with 0 <= I < N; throws UsageError with the expected form.
ShardSpec parse_shard(const std::string& s);

// Expected seconds of one cell, the weight the split balances. A simple model, not a measurement:
// the measurement loop runs max(min_time_s, min_samples calls at ~1 GFLOP/s per thread), plus
// quantizing the F32 weights at ~0.2 GB/s for cells with m x k params; model suites (perplexity,
// prefill, decode) weigh 60 s each.
double expected_cell_s(const Cell& c, const MeasureOptions& mo);

// The shard (0..count-1) of each cell: longest expected time first (ties by key), each to the
// shard with the least expected time so far (ties: lowest index). Depends only on the cells, so
// every machine computes the same split.
std::vector<int> assign_shards(const std::vector<Cell>& plan, int count, const MeasureOptions& mo);

// FNV-1a 64 (hex) over the parts, each followed by a separator: a short, stable content id.
std::string fingerprint_hex(const std::vector<std::string>& parts);

// Fingerprint of a plan: FNV-1a 64 (hex) over the run config without its shard and every cell's
// key and params, in plan order. Equal on two machines iff they planned the same study.
std::string plan_fingerprint(const nlohmann::json& config, const std::vector<Cell>& plan);

}  // namespace qb
