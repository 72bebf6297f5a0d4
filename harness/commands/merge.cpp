// `qbench merge DIR... --out DIR`: one report from the shards of one plan (`qbench run --shard I/N`).
// Refuses shards of different plans (plan fingerprint), of different builds, duplicates, missing
// or unfinished shards and overlapping cells. Each result keeps its shard index; the report's
// `shards` table holds each shard's machine fingerprint (docs/fleet.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/merge.h"
#include "qb/report.h"
#include "qb/results_db.h"

namespace qb {

namespace fs = std::filesystem;

ShardRun read_shard(const std::string& dir) {
  ShardRun s;
  s.dir = dir;
  const std::string jpath = (fs::path(dir) / "journal.jsonl").string();
  const std::string rpath = (fs::path(dir) / "report.json").string();
  if (fs::exists(jpath)) {
    s.results = read_journal(jpath, &s.header);
  } else if (fs::exists(rpath)) {
    const auto rep = load_report(rpath);
    for (const char* k : {"qbench", "created", "machine", "config", "run", "shard"})
      if (rep.contains(k)) s.header[k] = rep[k];
    s.results = report_results(rep);
  } else {
    throw UsageError(fmt::format("{}: neither journal.jsonl nor report.json: not a qbench run directory", dir));
  }
  if (!s.header.contains("shard") || !s.header["shard"].is_object())
    throw UsageError(fmt::format("{}: field 'shard' missing: not a shard (run it with `qbench run --shard I/N`)", dir));
  return s;
}

nlohmann::json merge_shards(const std::vector<ShardRun>& shards) {
  if (shards.empty()) throw UsageError("merge: give at least one shard directory");
  const ShardRun& first = shards.front();
  const auto& fsh = first.header["shard"];
  const std::string fp = fsh.value("plan_fingerprint", "");
  const int count = fsh.value("count", 0);
  const nlohmann::json build = first.header.value("qbench", nlohmann::json::object());
  std::map<int, const ShardRun*> by_index;
  std::map<std::string, int> owner;  // cell key -> shard index
  for (const auto& s : shards) {
    const auto& sh = s.header["shard"];
    if (sh.value("plan_fingerprint", "") != fp)
      throw UsageError(
          fmt::format("{}: plan fingerprint {} differs from {}'s {}: shards of different plans (same "
                      "options, same qbench and the same planned cells are needed)",
                      s.dir, sh.value("plan_fingerprint", ""), first.dir, fp));
    if (sh.value("count", 0) != count)
      throw UsageError(
          fmt::format("{}: shard count {} differs from {}'s {}", s.dir, sh.value("count", 0), first.dir, count));
    const nlohmann::json b = s.header.value("qbench", nlohmann::json::object());
    if (b != build)
      throw UsageError(fmt::format("{}: built by qbench {} differs from {}'s {}: shards of different builds", s.dir,
                                   b.dump(), first.dir, build.dump()));
    const int idx = sh.value("index", -1);
    if (auto it = by_index.find(idx); it != by_index.end())
      throw UsageError(fmt::format("{} and {} are both shard {}/{}", it->second->dir, s.dir, idx, count));
    by_index[idx] = &s;
    const int want = sh.value("cells", -1);
    if (int(s.results.size()) != want)
      throw UsageError(fmt::format("{}: shard {}/{} has {} of its {} cells: finish it with `qbench run --resume {}`",
                                   s.dir, idx, count, s.results.size(), want, s.dir));
    for (const auto& r : s.results) {
      const auto [it, fresh] = owner.emplace(r.cell.key(), idx);
      if (!fresh)
        throw UsageError(
            fmt::format("{}: cell {} is also in shard {}: shards overlap", s.dir, r.cell.key(), it->second));
    }
  }
  std::vector<int> missing;
  for (int i = 0; i < count; ++i)
    if (!by_index.count(i)) missing.push_back(i);
  if (!missing.empty())
    throw UsageError(fmt::format("merge: shard(s) {} of {} missing", fmt::join(missing, ", "), count));

  // Header: the plan and build shared by all shards; the machine of shard 0 (each shard's own is
  // in `shards`). Results in shard order, then each shard's journal order.
  nlohmann::json header = first.header;
  header.erase("shard");
  if (header["config"].is_object()) header["config"].erase("shard");
  nlohmann::json table = nlohmann::json::array();
  std::vector<CellResult> results;
  double wall = 0;
  for (const auto& [idx, s] : by_index) {
    const auto& run = s->header.value("run", nlohmann::json::object());
    wall = std::max(wall, run.value("wall_s", 0.0));
    table.push_back({{"index", idx},
                     {"dir", s->dir},
                     {"created", s->header.value("created", "")},
                     {"cells", s->results.size()},
                     {"wall_s", run.value("wall_s", 0.0)},
                     {"machine", s->header.value("machine", nlohmann::json::object())}});
    results.insert(results.end(), s->results.begin(), s->results.end());
  }
  header["machine"] = by_index.begin()->second->header.value("machine", nlohmann::json::object());
  header["run"] = {{"wall_s", wall}, {"merged_from", count}, {"plan_fingerprint", fp}};
  nlohmann::json rep = build_report(header, results);
  rep["merged"] = {{"plan_fingerprint", fp},
                   {"shard_count", count},
                   {"plan_cells", fsh.value("plan_cells", 0)},
                   {"note", "run.wall_s is the longest shard's; each result's `shard` indexes `shards`"}};
  rep["shards"] = table;
  for (auto& r : rep["results"]) r["shard"] = owner.at(r.get<CellResult>().cell.key());
  return rep;
}

namespace {

void add_merge(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto results = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("merge", "Join the shard directories of one plan (`run --shard I/N`) into one report");
  cmd->add_option("dirs", *dirs, "Shard output directories (each with journal.jsonl or report.json)")->required();
  cmd->add_option("--out", *out, "Directory for the merged report.json and its renderings")->required();
  cmd->add_option("--results", *results,
                  "Results database for the merged cells: sqlite:PATH or postgresql://... (default: "
                  "qbench-results.sqlite beside --out; none: do not store)");
  cmd->callback([dirs, out, results] {
    std::vector<ShardRun> shards;
    for (const auto& d : *dirs) shards.push_back(read_shard(d));
    const nlohmann::json rep = merge_shards(shards);
    std::error_code ec;
    fs::create_directories(*out, ec);
    if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", *out, ec.message()));
    const std::string path = write_report_files(*out, rep);
    if (!globals().quiet)
      std::printf("merged %zu shards, %zu cells (plan %s): %s\n", shards.size(), rep["results"].size(),
                  rep["merged"]["plan_fingerprint"].get<std::string>().c_str(), path.c_str());
    set_exit_code(store_results(results_target(*results, *out), rep));
  });
}

}  // namespace
QB_REGISTER_COMMAND(merge, "merge", 45, add_merge);
}  // namespace qb
