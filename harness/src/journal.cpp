// The journal: journal.jsonl, append-only, one cell per line, each fsynced as soon as it is written
// (unless --no-fsync), so a killed run keeps every finished cell and `--resume` continues it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/journal.h"
#include "write_all.h"

namespace qb {

namespace fs = std::filesystem;

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

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
    if (!h.contains("created")) h["created"] = utc_now_iso();
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

}  // namespace qb
