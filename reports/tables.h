// The performance tables shared by the HTML and Markdown reports: one table per (suite, kind of
// work), each in its own metric. A table entry aggregates only the cells that count (valid, ok);
// invalid cells are left out and said so, and an entry with nothing but invalid cells shows their
// value greyed, never mixed into a mean.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "qb/result.h"
#include "report_common.h"

namespace qb::rep {

struct TableEntry {
  double value = 0;           // see PerfTable: geometric mean / best of the cells that count
  bool invalid_only = false;  // no valid cell: value is from invalid cells (greyed, not aggregated)
  bool estimate = false;      // the value is an estimate
  int cells = 0;              // cells aggregated
  int invalid_left_out = 0;   // invalid cells not aggregated
  std::string reasons;        // their reasons
};

struct PerfTable {
  std::string suite;
  WorkKind kind;  // kind.key empty: a suite without kinds (e.g. bandwidth)
  std::string metric;
  bool estimate = false;  // every number in the table is an estimate
  bool by_format = true;  // rows formats, columns backends; else rows workloads (or OP of OP_LEVEL)
  std::string row_header, aggregation;
  std::vector<std::string> rows, cols;
  std::map<std::string, std::map<std::string, TableEntry>> at;  // row -> column -> entry
  const TableEntry* find(const std::string& row, const std::string& col) const;
  std::string title() const;  // "throughput — GEMV (n=1) — gb_per_s (GB/s)[, estimate]"
};

// Tables in suite order, then kind order. A format x backend entry is, over thread counts and
// placements, the best geometric mean over the kind's workloads.
std::vector<PerfTable> perf_tables(const std::vector<CellResult>& results);

}  // namespace qb::rep
