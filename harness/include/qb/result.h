// One measured cell of a run: the unit of the journal and the report.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/stats.h"

namespace qb {

// What is measured: suite × format × backend × workload × threads × placement.
// The format, backend or placement of a cell whose suite has none: "-" in every report. A char,
// not "-": GCC 12 warns a false -Wrestrict on assigning a one-character literal to a std::string
// (GCC bug 105329).
inline constexpr char kNoField = '-';

struct Cell {
  std::string suite;
  std::string format;    // format name, or "-" when the suite has none (bandwidth)
  std::string backend;   // backend name, or "-"
  std::string workload;  // e.g. "gemv_4096x14336", "read_L2", "gaussian"
  int threads = 1;
  std::string placement;                             // "compact", "spread", "one-per-core", or "-"
  nlohmann::json params = nlohmann::json::object();  // suite-specific inputs (m, k, n, bytes...)

  std::string key() const;  // unique id: suite/format/backend/workload/threads/placement
};

// What became of a cell. The report and the journal carry its name (status_name): "ok", "failed",
// "unsupported", the schema's enum.
enum class CellStatus { Ok, Failed, Unsupported };
std::string_view status_name(CellStatus s);
// The status named s; std::invalid_argument naming the valid names when it is none.
CellStatus parse_status(std::string_view s);

struct CellResult {
  Cell cell;
  CellStatus status = CellStatus::Ok;
  std::string error;                                  // reason when not ok
  nlohmann::json metrics = nlohmann::json::object();  // vocabulary names (qb/metrics.h) → numbers
  bool has_stats = false;
  Stats stats;                  // of the timing samples, seconds
  std::vector<double> samples;  // raw samples, seconds (journal keeps them)
  nlohmann::json counters = nlohmann::json::object();
  bool valid = false;
  std::vector<std::string> reasons;  // why not valid
  double wall_s = 0;                 // time spent on the cell, harness included
};

void to_json(nlohmann::json& j, const Cell& c);
void from_json(const nlohmann::json& j, Cell& c);
void to_json(nlohmann::json& j, const CellResult& r);
void from_json(const nlohmann::json& j, CellResult& r);

}  // namespace qb
