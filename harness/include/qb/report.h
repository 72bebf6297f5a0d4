// Report JSON (schema-versioned, reports/schema/report.schema.json) and the append-only journal.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb {

constexpr const char* kSchemaVersion = "1.0";

// Machine fingerprint: topology, ISA, compiler, flags, git revision, governor.
nlohmann::json machine_fingerprint();
nlohmann::json qbench_build_info();  // version, git revision, compiler, build type, flags

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

// Builds the report document from a header and results.
nlohmann::json build_report(const nlohmann::json& header, const std::vector<CellResult>& results);
// Reads and minimally checks a report.json; throws UsageError naming the file and field.
nlohmann::json load_report(const std::string& path);
std::vector<CellResult> report_results(const nlohmann::json& report);

// Atomically writes text to path (temp + rename); IoError (naming path) when it does not fit.
void write_file_atomic(const std::string& path, const std::string& text);

// Renderers registered by reports/ (HTML, Markdown, CSV) so `qbench run` can write them all.
struct Renderer {
  std::string name;       // "html"
  std::string file_name;  // "report.html"
  std::function<std::string(const nlohmann::json& report)> render;
};
void register_renderer(Renderer r);
const std::vector<Renderer>& all_renderers();
// DIR/report.json and every registered rendering beside it; returns the report's path. A renderer
// that throws is a warning (report.json is complete); a full disk is IoError.
std::string write_report_files(const std::string& dir, const nlohmann::json& report);

}  // namespace qb
