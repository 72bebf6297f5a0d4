// Journal (append-only JSONL, one cell per line, flushed at once) and the report built from it.
#include "qb/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/counters.h"
#include "qb/topology.h"

namespace qb {

namespace fs = std::filesystem;

nlohmann::json qbench_build_info() {
  return {{"version", QB_VERSION},
          {"git_revision", QB_GIT_REV},
          {"compiler", QB_COMPILER},
          {"build_type", QB_BUILD_TYPE},
          {"cxx_flags", QB_CXX_FLAGS}};
}

nlohmann::json machine_fingerprint() {
  const Topology& t = machine_topology();
  const auto& papi = papi_availability();
  nlohmann::json counters = {{"available", papi.available}, {"hw_counters", papi.hw_counters},
                             {"events", papi.events}};
  if (!papi.available) counters["reason"] = papi.reason;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return {{"hostname", host},
          {"topology", t},
          {"counters", counters},
          {"energy", energy_probe()},
          {"build", qbench_build_info()}};
}

namespace {
std::string iso_now() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}
}  // namespace

Journal::Journal(const std::string& dir, const nlohmann::json& header) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  path_ = (fs::path(dir) / "journal.jsonl").string();
  const bool fresh = !fs::exists(path_) || fs::file_size(path_) == 0;
  std::ofstream out(path_, std::ios::app);
  if (!out) throw UsageError(fmt::format("cannot write '{}': {}", path_, std::strerror(errno)));
  if (fresh) {
    nlohmann::json h = header;
    if (!h.contains("created")) h["created"] = iso_now();
    out << nlohmann::json{{"journal", h}}.dump() << "\n";
  }
}

void Journal::append(const CellResult& r) {
  // One write per line, flushed at once: once fwrite+fflush return, the line is in the kernel and
  // survives a killed process. (No fsync: it cost ~4 ms per cell here, which is only needed
  // against power loss, and would be a visible share of a --quick run.)
  std::string line = nlohmann::json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  FILE* f = std::fopen(path_.c_str(), "a");
  if (!f) throw std::runtime_error(fmt::format("cannot append to journal '{}': {}", path_, std::strerror(errno)));
  std::fwrite(line.data(), 1, line.size(), f);
  std::fflush(f);
  std::fclose(f);
}

std::vector<CellResult> read_journal(const std::string& path, nlohmann::json* header) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read journal '{}'", path));
  std::vector<CellResult> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      // A run killed while writing leaves a partial last line: skip it, keep the rest.
      if (in.peek() == EOF) break;
      throw UsageError(fmt::format("{}: line {}: not valid JSON", path, lineno));
    }
    if (j.contains("journal")) {
      if (header) *header = j["journal"];
      continue;
    }
    try {
      out.push_back(j.get<CellResult>());
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("{}: line {}: not a cell result: {}", path, lineno, e.what()));
    }
  }
  // Later lines win: a resumed run may re-measure a cell that failed before.
  std::vector<CellResult> dedup;
  std::map<std::string, size_t> pos;
  for (auto& r : out) {
    auto k = r.cell.key();
    auto it = pos.find(k);
    if (it == pos.end()) {
      pos[k] = dedup.size();
      dedup.push_back(std::move(r));
    } else {
      dedup[it->second] = std::move(r);
    }
  }
  return dedup;
}

nlohmann::json build_report(const nlohmann::json& header, const std::vector<CellResult>& results) {
  nlohmann::json rep;
  rep["schema_version"] = kSchemaVersion;
  rep["qbench"] = header.value("qbench", qbench_build_info());
  rep["created"] = header.value("created", iso_now());
  rep["machine"] = header.value("machine", nlohmann::json::object());
  rep["config"] = header.value("config", nlohmann::json::object());
  rep["run"] = header.value("run", nlohmann::json::object());
  int failed = 0, unsupported = 0, invalid = 0;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : results) {
    if (r.status == "failed") ++failed;
    else if (r.status == "unsupported") ++unsupported;
    else if (!r.valid) ++invalid;
    arr.push_back(r);
  }
  rep["run"]["cells"] = results.size();
  rep["run"]["cells_failed"] = failed;
  rep["run"]["cells_unsupported"] = unsupported;
  rep["run"]["cells_invalid"] = invalid;
  rep["results"] = arr;
  return rep;
}

nlohmann::json load_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read report '{}'", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(fmt::format("{}: byte {}: not valid JSON ({})", path, e.byte, e.what()));
  }
  if (!j.is_object() || !j.contains("schema_version"))
    throw UsageError(fmt::format("{}: field 'schema_version' missing: not a qbench report", path));
  if (!j.contains("results") || !j["results"].is_array())
    throw UsageError(fmt::format("{}: field 'results' missing or not an array", path));
  return j;
}

std::vector<CellResult> report_results(const nlohmann::json& report) {
  std::vector<CellResult> v;
  size_t i = 0;
  for (const auto& r : report.at("results")) {
    try {
      v.push_back(r.get<CellResult>());
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("results[{}]: {}", i, e.what()));
    }
    ++i;
  }
  return v;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    out << text;
    if (!out) throw UsageError(fmt::format("cannot write '{}'", path));
  }
  fs::rename(tmp, path);
}

}  // namespace qb
