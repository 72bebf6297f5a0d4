// Report JSON (schema-versioned, reports/schema/report.schema.json) and the append-only journal.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb {

constexpr const char* kSchemaVersion = "1.0";

// Machine fingerprint: topology, ISA, compiler, flags, git revision, governor.
nlohmann::json machine_fingerprint();
nlohmann::json qbench_build_info();  // version, git revision, compiler, build type, flags

// journal.jsonl: line 1 is {"journal": header}, each later line one CellResult.
class Journal {
 public:
  // Opens DIR/journal.jsonl for append (creating DIR); throws UsageError if not writable.
  explicit Journal(const std::string& dir, const nlohmann::json& header);
  void append(const CellResult& r);  // written and flushed at once
  const std::string& path() const { return path_; }
 private:
  std::string path_;
};

// Reads a journal; a truncated last line (killed run) is skipped, not an error.
std::vector<CellResult> read_journal(const std::string& path, nlohmann::json* header = nullptr);

// Builds the report document from a header and results.
nlohmann::json build_report(const nlohmann::json& header, const std::vector<CellResult>& results);
// Reads and minimally checks a report.json; throws UsageError naming the file and field.
nlohmann::json load_report(const std::string& path);
std::vector<CellResult> report_results(const nlohmann::json& report);

// Atomically writes text to path (temp + rename).
void write_file_atomic(const std::string& path, const std::string& text);

// Renderers registered by reports/ (HTML, Markdown, CSV) so `qbench run` can write them all.
struct Renderer {
  std::string name;       // "html"
  std::string file_name;  // "report.html"
  std::function<std::string(const nlohmann::json& report)> render;
};
void register_renderer(Renderer r);
const std::vector<Renderer>& all_renderers();

}  // namespace qb
