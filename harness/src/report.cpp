// Journal (append-only JSONL, one cell per line, fsynced at once unless --no-fsync) and the report built from it.
#include "qb/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
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

namespace {
std::string iso_now() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}
}  // namespace

namespace {
// Writes all of [data, data+size) to fd; returns 0 or the errno of the first failure.
int write_all(int fd, const char* data, size_t size, size_t* written) {
  *written = 0;
  while (*written < size) {
    const ssize_t n = ::write(fd, data + *written, size - *written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    *written += size_t(n);
  }
  return 0;
}
}  // namespace

Journal::Journal(const std::string& dir, const nlohmann::json& header, bool fsync) : fsync_(fsync) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  dir_ = dir;
  path_ = (fs::path(dir) / "journal.jsonl").string();
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError(fmt::format("cannot write '{}': {}", path_, std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  off_t size = S_ISREG(st.st_mode) ? st.st_size : 0;
  if (size > 0) {
    // Count complete lines and cut a partial last one (killed mid-write): a line appended after
    // it would make the journal unreadable.
    std::string text(size_t(size), '\0');
    if (::pread(fd, text.data(), text.size(), 0) != ssize_t(text.size())) {
      const int err = errno;
      ::close(fd);
      throw IoError(fmt::format("cannot read journal '{}': {}", path_, std::strerror(err)));
    }
    const size_t last_nl = text.rfind('\n');
    const off_t keep = last_nl == std::string::npos ? 0 : off_t(last_nl + 1);
    lines_ = int(std::count(text.begin(), text.begin() + keep, '\n'));
    if (keep != size && ::ftruncate(fd, keep) != 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(fmt::format("cannot cut the partial last line of journal '{}': {}", path_, std::strerror(err)));
    }
    size = keep;
  }
  ::close(fd);
  if (size == 0) {
    nlohmann::json h = header;
    if (!h.contains("created")) h["created"] = iso_now();
    write_line(nlohmann::json{{"journal", h}}.dump() + "\n");
    if (fsync_) {
      // The new file's directory entry must be durable too.
      const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
    }
  }
}

void Journal::append(const CellResult& r) {
  write_line(nlohmann::json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void Journal::write_line(const std::string& line) {
  // Open, write, fsync, close per line: the line is complete on disk when this returns, or the
  // file is exactly as it was before (cut back to the previous size) and IoError says why.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("cannot append to journal '{}': {}", path_, std::strerror(errno)));
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const off_t before = regular ? st.st_size : 0;
  size_t written = 0;
  int err = write_all(fd, line.data(), line.size(), &written);
  if (!err && fsync_ && regular && ::fsync(fd) != 0) err = errno;
  if (err) {
    if (regular) (void)!::ftruncate(fd, before);
    ::close(fd);
  } else if (::close(fd) != 0) {
    err = errno;
    if (regular) (void)!::truncate(path_.c_str(), before);
  }
  if (err)
    throw IoError(
        fmt::format("cannot write journal '{}': {} ({} of a {}-byte line written, removed again; the journal "
                    "keeps its {} complete lines: free space, then run `qbench run --resume {}`)",
                    path_, std::strerror(err), written, line.size(), lines_, dir_));
  ++lines_;
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
  if (header.contains("shard")) rep["shard"] = header["shard"];
  int failed = 0, unsupported = 0, invalid = 0;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : results) {
    if (r.status == "failed")
      ++failed;
    else if (r.status == "unsupported")
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
  for (const auto& rd : all_renderers()) {
    try {
      write_file_atomic((fs::path(dir) / rd.file_name).string(), rd.render(report));
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
