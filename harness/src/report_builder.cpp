// The report stage: report.json built from the journal's header and cells, read back, and written
// with every registered rendering beside it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/counters.h"
#include "qb/report.h"
#include "qb/topology.h"
#include "write_all.h"

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
  nlohmann::json counters = {{"available", papi.available}, {"hw_counters", papi.hw_counters}, {"events", papi.events}};
  if (!papi.available) counters["reason"] = papi.reason;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return {{"hostname", host},
          {"topology", t},
          {"counters", counters},
          {"energy", energy_probe()},
          {"build", qbench_build_info()}};
}

nlohmann::json build_report(const nlohmann::json& header, const std::vector<CellResult>& results) {
  nlohmann::json rep;
  rep["schema_version"] = kSchemaVersion;
  rep["qbench"] = header.value("qbench", qbench_build_info());
  rep["created"] = header.value("created", utc_now_iso());
  rep["machine"] = header.value("machine", nlohmann::json::object());
  rep["config"] = header.value("config", nlohmann::json::object());
  rep["run"] = header.value("run", nlohmann::json::object());
  if (header.contains("shard")) rep["shard"] = header["shard"];
  int failed = 0, unsupported = 0, invalid = 0;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : results) {
    if (r.status == CellStatus::Failed)
      ++failed;
    else if (r.status == CellStatus::Unsupported)
      ++unsupported;
    else if (!r.valid)
      ++invalid;
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
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOSPC || err == EDQUOT || err == EIO)
      throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  size_t written = 0;
  int err = write_all(fd, text.data(), text.size(), &written);
  if (::close(fd) != 0 && !err) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("cannot write '{}': {} ({} of {} bytes written; the partial file was removed)", path,
                              std::strerror(err), written, text.size()));
  }
  fs::rename(tmp, path);
}

std::string write_report_files(const std::string& dir, const nlohmann::json& report) {
  const std::string path = (fs::path(dir) / "report.json").string();
  write_file_atomic(path, report.dump(1));
  std::vector<Rendering> outputs;
  try {
    outputs = renderings_of(report);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qbench: warning: the renderers cannot read the report: %s (report.json is complete)\n",
                 e.what());
  }
  for (const Rendering& rd : outputs) {
    try {
      write_file_atomic((fs::path(dir) / rd.file_name).string(), rd.render());
    } catch (const IoError&) {
      throw;  // a full disk is not a renderer's fault: exit 3 like the journal
    } catch (const std::exception& e) {
      std::fprintf(stderr, "qbench: warning: %s renderer failed: %s (report.json is complete)\n", rd.name.c_str(),
                   e.what());
    }
  }
  return path;
}

}  // namespace qb
