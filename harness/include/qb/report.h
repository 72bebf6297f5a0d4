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

// The renderings of a report (HTML, Markdown, CSV), registered by reports/ so `qbench run` can
// write them all. reports/ reads the JSON into its typed Report once per report and returns one
// closure per output file, each rendering from that one reading.
struct Rendering {
  std::string name;       // "html"
  std::string file_name;  // "report.html"
  std::function<std::string()> render;
};
using RenderingSet = std::function<std::vector<Rendering>(const nlohmann::json& report)>;
void register_renderings(RenderingSet set);
// Every registered output of `report`; empty when nothing is registered.
std::vector<Rendering> renderings_of(const nlohmann::json& report);
// DIR/report.json and every registered rendering beside it; returns the report's path. A renderer
// that throws is a warning (report.json is complete); a full disk is IoError.
std::string write_report_files(const std::string& dir, const nlohmann::json& report);

}  // namespace qb
