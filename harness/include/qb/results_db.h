// The results database: history of runs across commits and machines, beside the journal (which
// stays the source of truth of one run). One schema (runs, machines, builds, cells, samples, with
// a schema_version table and migrations) behind a small interface, so a second engine
// (PostgreSQL) is one more implementation of ResultsStore. URLs: `sqlite:PATH`, `postgresql://...`.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb {

// A database that cannot be opened, migrated or written: names the URL and the cause.
struct ResultsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One study: a plan at one build. Shards of one plan share it (whatever machine runs them); an
// unsharded run is one study per machine. Storing the same study again replaces cells, never
// duplicates them.
struct RunRecord {
  std::string run_key, plan_fingerprint, created;
  nlohmann::json build;   // qbench_build_info() of the run
  nlohmann::json config;  // the run config
};

// One value of a metric: a cell of a run on a machine.
struct SeriesPoint {
  std::string created, git_revision, machine, cell_key;
  double value = 0;
  bool valid = false;
};

struct SeriesQuery {
  std::string metric;
  std::map<std::string, std::string> where;  // cell fields (suite, format, backend, workload, threads,
                                             // placement) or machine (hostname) = value
  std::string since;                         // ISO date or time; "" = all
};

class ResultsStore {
 public:
  virtual ~ResultsStore() = default;
  virtual const std::string& url() const = 0;
  // Inserts the run (or finds it by run_key) and returns its id.
  virtual int64_t put_run(const RunRecord& run) = 0;
  // One transaction: the cell with its metrics, result JSON and samples, and its machine. A cell
  // already stored for the run (same key) is replaced, so a retried or re-run shard adds nothing.
  virtual void put_cell(int64_t run_id, const nlohmann::json& machine, const CellResult& r, int shard) = 0;
  // Points of `metric` (ok cells that have it), oldest run first.
  virtual std::vector<SeriesPoint> series(const SeriesQuery& q) = 0;
  virtual int64_t count_rows(const std::string& table) = 0;  // runs, machines, builds, cells, samples
};

// "sqlite:PATH" (the file and its directory are created unless must_exist, then migrated) or
// "postgresql://..." / "postgres://..." (a libpq URI without a password; the database must exist,
// its schema is migrated); anything else, or a missing SQLite file that must exist, is a UsageError
// naming the URLs this build accepts.
std::unique_ptr<ResultsStore> open_results(const std::string& url, bool must_exist = false);
std::unique_ptr<ResultsStore> open_sqlite_results(const std::string& path);   // results_sqlite.cpp
std::unique_ptr<ResultsStore> open_postgres_results(const std::string& url);  // results_pg.cpp

// The study a report (or journal header) belongs to: see RunRecord.
RunRecord run_record(const nlohmann::json& report_or_header);

// Every result of a report, each with its machine (a merged report's per-shard machines);
// returns the number of cells written.
size_t store_report(ResultsStore& db, const nlohmann::json& report);
// Where a command's results go. Without --results, into qbench-results.sqlite beside its output
// (the directory of `run` and `merge`, the report file of `import-gbench`), so the runs written
// under one folder (`run`'s default qbench-out/<time>) build one history there; `--results none` stores nothing. A
// default database that cannot be opened or written is a warning (nobody asked for it); a named one is an error.
inline constexpr const char* kResultsFileName = "qbench-results.sqlite";
inline constexpr const char* kDefaultHistoryUrl = "sqlite:qbench-out/qbench-results.sqlite";  // `run`'s default
struct ResultsTarget {
  std::string url;  // "" = none
  bool by_default = false;
};
ResultsTarget results_target(const std::string& option, const std::string& output);
// For commands with --results: stores the report into the target; the exit code (0, or
// kExitIoError after printing the error for a named database: the report on disk is complete
// either way).
int store_results(const ResultsTarget& target, const nlohmann::json& report);

}  // namespace qb
