// The runner: plan every suite's cells, measure each, journal it at once, build the report.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/results_db.h"
#include "qb/suite.h"

namespace qb {

// Checks names and numbers in cfg; throws UsageError naming the valid choices.
void validate_config(const RunConfig& cfg);
nlohmann::json config_to_json(const RunConfig& cfg);
RunConfig config_from_json(const nlohmann::json& j);

struct RunSummary {
  std::string report_path, journal_path;
  int cells = 0, measured = 0, skipped = 0, failed = 0, invalid = 0;
  double wall_s = 0;
  std::string results_error;  // --results: why the database missed cells ("" when all stored)
};

// How the run is carried out, not what it measures (so not journaled as config).
struct RunOptions {
  bool fsync = true;  // fsync the journal after every cell (--no-fsync turns it off)
  // --results: each cell is stored as soon as it is journaled, and the whole journal again at
  // the end (idempotent), so cells missed by a lost connection are synced by the end or by a
  // later --resume. A database error never stops the run: the journal is the source of truth.
  ResultsStore* results = nullptr;
};

// Runs the plan into cfg.out_dir. With resume, cells already in the journal (status ok or
// unsupported) are skipped; failed ones are measured again. A journal or report that cannot be
// written (disk full) throws IoError (qb/report.h) after cutting the journal back to its last
// complete line.
RunSummary run_benchmarks(const RunConfig& cfg, bool resume, const RunOptions& opts = {});

// Cost of one empty parallel_for on a pool of n threads (median, microseconds).
double empty_parallel_for_us(int threads, const std::string& placement);

// Every backend a cell may carry, with its kind: "qbench" (own kernels), "peer" (a BLAS-like
// library) or "framework" (an inference framework's kernels or runtime), and the library's version.
struct BackendKind {
  std::string name, kind, version;
};
std::vector<BackendKind> all_backend_kinds();
std::vector<std::string> all_backend_names();  // the names of all_backend_kinds()
// The report's machine.backends: [{name, kind, version?}].
nlohmann::json backends_json();

}  // namespace qb
