// The journal: journal.jsonl, append-only, one measured cell per line, the run's source of truth.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb {

// Now as "2026-12-04T22:09:30Z": when a journal (and so its report) was created.
std::string utc_now_iso();

// A write that did not reach the disk (full disk, I/O error): `qbench run` prints the message
// (which names the file) and exits with kExitIoError.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
constexpr int kExitIoError = 3;

// journal.jsonl: line 1 is {"journal": header}, each later line one CellResult.
class Journal {
 public:
  // Opens DIR/journal.jsonl for append (creating DIR); throws UsageError if DIR cannot be created,
  // IoError if the header cannot be written. A partial last line (a run killed mid-write) is cut
  // off first, so appended lines never follow a broken one.
  // fsync: every line is fsynced before append() returns (survives power loss, not just a crash).
  explicit Journal(const std::string& dir, const nlohmann::json& header, bool fsync = true);
  // Writes one line; every write, the fsync and the close are checked. On failure the file is cut
  // back to its last complete line and IoError names the file and the cause.
  void append(const CellResult& r);
  const std::string& path() const { return path_; }
  int lines() const { return lines_; }  // complete lines, header included
 private:
  void write_line(const std::string& line);
  std::string dir_, path_;
  bool fsync_ = true;
  int lines_ = 0;
};

// Reads a journal; a truncated last line (killed run) is skipped, not an error.
std::vector<CellResult> read_journal(const std::string& path, nlohmann::json* header = nullptr);

}  // namespace qb
