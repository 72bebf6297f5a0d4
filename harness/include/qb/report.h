// The report stage: report.json (schema-versioned, reports/schema/report.schema.json) built from the
// journal (qb/journal.h), read back, and written with its renderings.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/journal.h"
#include "qb/result.h"

namespace qb {

constexpr const char* kSchemaVersion = "1.0";

// Machine fingerprint: topology, ISA, compiler, flags, git revision, governor.
nlohmann::json machine_fingerprint();
nlohmann::json qbench_build_info();  // version, git revision, compiler, build type, flags

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
