// Joining the shards of one plan (harness/commands/merge.cpp, `qbench merge`).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb {

struct ShardRun {
  std::string dir;
  nlohmann::json header;  // the journal header (qbench, machine, config, run, shard)
  std::vector<CellResult> results;
};

// Reads DIR/journal.jsonl (else DIR/report.json); UsageError when DIR is not a shard.
ShardRun read_shard(const std::string& dir);
// The merged report; UsageError naming the shard directory when shards are of different plans or
// builds, duplicated, missing, unfinished or overlapping.
nlohmann::json merge_shards(const std::vector<ShardRun>& shards);

}  // namespace qb
