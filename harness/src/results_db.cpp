// What is common to every results database: the URL, the study a report belongs to, and storing
// a report's cells (the engines are results_<engine>.cpp).
#include "qb/results_db.h"

#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/report.h"
#include "qb/shard.h"

namespace qb {

namespace fs = std::filesystem;

std::unique_ptr<ResultsStore> open_results(const std::string& url, bool must_exist) {
  if (url.rfind("sqlite:", 0) == 0 && url.size() > 7) {
    const fs::path path = url.substr(7);
    if (must_exist && !fs::exists(path)) throw UsageError(fmt::format("no results database at '{}'", path.string()));
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    return open_sqlite_results(path.string());
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return open_postgres_results(url);
  throw UsageError(
      fmt::format("bad --results '{}': expected sqlite:PATH or postgresql://[HOST][:PORT][/DB][?...]", url));
}

RunRecord run_record(const nlohmann::json& rep) {
  RunRecord r;
  const nlohmann::json none = nlohmann::json::object();
  const nlohmann::json& run = rep.contains("run") && rep["run"].is_object() ? rep["run"] : none;
  r.build = rep.value("qbench", none);
  r.config = rep.value("config", none);
  r.created = rep.value("created", "");
  if (r.created.empty()) r.created = utc_now_iso();  // a run's header before its journal stamped it
  r.plan_fingerprint = run.value("plan_fingerprint", "");
  if (r.plan_fingerprint.empty()) {
    // Reports without a planned study (import-gbench): the study is the config and the cells.
    std::vector<std::string> parts{r.config.dump()};
    for (const auto& c : rep.value("results", nlohmann::json::array())) parts.push_back(c.get<CellResult>().cell.key());
    r.plan_fingerprint = fingerprint_hex(parts);
  }
  // Shards of one plan and build are one study wherever they ran; an unsharded run is its
  // machine's own.
  std::vector<std::string> parts{r.plan_fingerprint, r.build.dump()};
  if (!rep.contains("shard") && !rep.contains("merged")) parts.push_back(rep.value("machine", none).dump());
  r.run_key = fingerprint_hex(parts);
  return r;
}

size_t store_report(ResultsStore& db, const nlohmann::json& rep) {
  const int64_t run_id = db.put_run(run_record(rep));
  const nlohmann::json none = nlohmann::json::object();
  const int own_shard = rep.contains("shard") ? rep["shard"].value("index", -1) : -1;
  size_t n = 0;
  for (const auto& j : rep.at("results")) {
    const int shard = j.value("shard", own_shard);
    const nlohmann::json* machine = rep.contains("machine") ? &rep["machine"] : &none;
    if (rep.contains("shards") && shard >= 0)
      for (const auto& s : rep["shards"])
        if (s.value("index", -1) == shard) machine = &s["machine"];
    db.put_cell(run_id, *machine, j.get<CellResult>(), shard);
    ++n;
  }
  return n;
}

ResultsTarget results_target(const std::string& option, const std::string& output) {
  if (option == "none") return {};
  if (!option.empty()) return {option, false};
  fs::path out = fs::absolute(output).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();  // "dir/" -> "dir"
  return {"sqlite:" + (out.parent_path() / kResultsFileName).string(), true};
}

int store_results(const ResultsTarget& target, const nlohmann::json& report) {
  if (target.url.empty()) return kExitOk;
  try {
    const auto db = open_results(target.url);
    const size_t n = store_report(*db, report);
    if (!globals().quiet) std::printf("stored %zu cells in %s\n", n, target.url.c_str());
    return kExitOk;
  } catch (const ResultsError& e) {
    std::fprintf(stderr, "qbench: %sresults database: %s (the report on disk is complete)\n",
                 target.by_default ? "warning: default " : "", e.what());
    return target.by_default ? kExitOk : kExitIoError;
  }
}

}  // namespace qb
