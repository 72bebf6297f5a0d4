// The journal on a failing disk: every write checked, a failed line removed again, the journal
// readable and resumable afterwards (issue 11, point 5).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "qb/report.h"

namespace fs = std::filesystem;

namespace {

std::string tmpdir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("qbench-journal-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

qb::CellResult cell(int i, size_t samples) {
  qb::CellResult r;
  r.cell.suite = "bandwidth";
  r.cell.format = "-";
  r.cell.backend = "-";
  r.cell.workload = "read_L" + std::to_string(i);
  r.cell.placement = "compact";
  r.samples.assign(samples, 1e-3);
  r.has_stats = true;
  r.stats = qb::compute_stats(r.samples, 10);
  r.valid = true;
  return r;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// /dev/full: every write fails with ENOSPC. The error names the file and the cause.
TEST(Journal, WriteToFullDeviceThrowsIoErrorNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const std::string dir = tmpdir("devfull");
  fs::create_symlink("/dev/full", fs::path(dir) / "journal.jsonl");
  try {
    qb::Journal j(dir, nlohmann::json{{"test", true}});
    FAIL() << "the header write to /dev/full did not fail";
  } catch (const qb::IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir + "/journal.jsonl"), std::string::npos) << what;
    EXPECT_NE(what.find("No space left on device"), std::string::npos) << what;
  }
  // A journal that was fine, then its disk fills up: append() throws, it does not lose the error.
  fs::remove(fs::path(dir) / "journal.jsonl");
  qb::Journal j(dir, nlohmann::json{{"test", true}}, /*fsync=*/false);
  j.append(cell(1, 10));
  fs::rename(fs::path(dir) / "journal.jsonl", fs::path(dir) / "saved.jsonl");
  fs::create_symlink("/dev/full", fs::path(dir) / "journal.jsonl");
  EXPECT_THROW(j.append(cell(2, 10)), qb::IoError);
  fs::remove_all(dir);
}

// A line that fits only in part (RLIMIT_FSIZE: the write stops short, then fails with EFBIG, as a
// full disk does) is removed again: the journal ends on its last complete line, reads back, and
// takes more lines once there is room.
TEST(Journal, PartialLineIsCutBackAndJournalStaysResumable) {
  const std::string dir = tmpdir("partial");
  const std::string path = dir + "/journal.jsonl";
  {
    qb::Journal j(dir, nlohmann::json{{"test", true}});
    j.append(cell(1, 10));
    j.append(cell(2, 10));
    EXPECT_EQ(j.lines(), 3);
    const auto size = fs::file_size(path);
    rlimit old{};
    getrlimit(RLIMIT_FSIZE, &old);
    auto* prev = signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old;
    lim.rlim_cur = size + 100;  // room for 100 bytes of a line of several KB
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    std::string what;
    try {
      j.append(cell(3, 5000));
    } catch (const qb::IoError& e) {
      what = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    ASSERT_FALSE(what.empty()) << "the write over the file size limit did not fail";
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("100 of a"), std::string::npos) << what;  // the partial write is reported
    EXPECT_NE(what.find("--resume " + dir), std::string::npos) << what;
    EXPECT_EQ(fs::file_size(path), size) << "the partial line was not removed";
    j.append(cell(3, 10));  // room again: appending goes on
  }
  const std::string text = slurp(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto cells = qb::read_journal(path);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[2].cell.workload, "read_L3");
  fs::remove_all(dir);
}

// A run killed mid-write leaves a partial last line; reopening the journal cuts it, so the next
// line does not follow a broken one (which would make the whole journal unreadable).
TEST(Journal, ReopeningCutsAPartialLastLine) {
  const std::string dir = tmpdir("reopen");
  const std::string path = dir + "/journal.jsonl";
  {
    qb::Journal j(dir, nlohmann::json{{"test", true}}, false);
    j.append(cell(1, 10));
  }
  { std::ofstream(path, std::ios::app) << "{\"suite\":\"bandw"; }
  qb::Journal j(dir, nlohmann::json{{"test", true}}, false);
  EXPECT_EQ(j.lines(), 2);
  j.append(cell(2, 10));
  auto cells = qb::read_journal(path);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[1].cell.workload, "read_L2");
  fs::remove_all(dir);
}

TEST(Journal, WriteFileAtomicReportsAFullDisk) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const std::string dir = tmpdir("atomic");
  // The temporary is path + ".tmp.<pid>": make it /dev/full.
  const std::string path = dir + "/report.json";
  fs::create_symlink("/dev/full", path + ".tmp." + std::to_string(getpid()));
  EXPECT_THROW(qb::write_file_atomic(path, std::string(10000, 'x')), qb::IoError);
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(dir);
}

// Cell statuses travel as the schema's names; a line with another status is refused with its line
// number and the status, not read as "ok".
TEST(Journal, StatusNamesRoundTripAndAnUnknownOneIsRefused) {
  for (auto s : {qb::CellStatus::Ok, qb::CellStatus::Failed, qb::CellStatus::Unsupported}) {
    qb::CellResult r = cell(1, 3);
    r.status = s;
    const nlohmann::json j = r;
    EXPECT_EQ(j["status"], std::string(qb::status_name(s)));
    EXPECT_EQ(j.get<qb::CellResult>().status, s);
  }
  EXPECT_EQ(qb::status_name(qb::CellStatus::Unsupported), "unsupported");
  const std::string dir = tmpdir("status");
  const std::string path = dir + "/journal.jsonl";
  {
    qb::Journal j(dir, nlohmann::json{{"test", true}}, false);
    j.append(cell(1, 3));
  }
  nlohmann::json bad = cell(2, 3);
  bad["status"] = "skipped";
  std::ofstream(path, std::ios::app) << bad.dump() << "\n" << nlohmann::json(cell(3, 3)).dump() << "\n";
  try {
    qb::read_journal(path);
    ADD_FAILURE() << "a status outside the schema was accepted";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'skipped'"), std::string::npos) << msg;
  }
  fs::remove_all(dir);
}
