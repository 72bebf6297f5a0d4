// The qbench binary end to end: exit codes for bad arguments, journal resume after a kill,
// report written from the journal.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

std::string qbench() {
  const char* q = std::getenv("QBENCH");
  return q ? q : std::string(QB_BINARY_DIR) + "/qbench";
}

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = qbench() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string tmpdir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("qbench-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  return d.string();
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string l; std::getline(in, l);) n += !l.empty();
  return n;
}

}  // namespace

TEST(Cli, BadArgumentsExitTwoWithOneClearLine) {
  struct Case {
    const char* args;
    const char* expect;
  } cases[] = {
      {"run --suites nosuch", "unknown suite 'nosuch'; valid suites: "},
      {"run --formats Q9_9", "unknown format 'Q9_9'; valid formats: "},
      {"run --backends gpu9000", "unknown backend 'gpu9000'; valid backends: scalar"},
      {"run --placements everywhere", "unknown placement 'everywhere'"},
      {"run --threads two", "bad thread count 'two'"},
      {"run --threads 0", "bad thread count 0"},
      {"run --shapes 12xq", "bad shape '12xq'"},
      {"run --shape 0x5", "bad shape '0x5'"},
      {"run --suites bandwidth --out /proc/qbench-cannot-write", "cannot create output directory"},
      {"list widgets", "widgets"},
      {"nosuchcommand", "nosuchcommand"},
  };
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST(Cli, HelpAndInfoCommandsSucceed) {
  for (const char* a : {"--help", "run --help", "topology", "topology --json", "list formats", "list formats --json",
                        "list backends", "list suites --json", "version", "version --json"}) {
    auto r = run(a);
    EXPECT_EQ(r.code, 0) << a << "\n" << r.out;
  }
  auto topo = nlohmann::json::parse(run("topology --json").out);
  EXPECT_GE(topo["cores"].get<int>(), 1);
  EXPECT_FALSE(topo["caches"].empty());
  EXPECT_TRUE(topo["counters"].contains("available"));
}

TEST(Cli, RefusesToOverwriteAJournal) {
  const std::string dir = tmpdir("overwrite");
  auto r = run("--quiet run --suites bandwidth --threads 1 --quick --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  auto again = run("--quiet run --suites bandwidth --threads 1 --quick --out " + dir);
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.out.find("--resume"), std::string::npos) << again.out;
  fs::remove_all(dir);
}

// Kill a run half-way: every finished cell stays in the journal, and --resume measures only the
// rest.
TEST(Cli, ResumeAfterKillKeepsFinishedCells) {
  const std::string dir = tmpdir("resume");
  const std::string journal = dir + "/journal.jsonl";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string q = qbench();
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(q.c_str(), q.c_str(), "run", "--suites", "bandwidth", "--threads", "1", "--quick", "--out", dir.c_str(),
          (char*)nullptr);
    _exit(127);
  }
  // Wait for the header + at least 3 cells, then kill without warning.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && (!fs::exists(journal) || count_lines(journal) < 4))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
  const int before = count_lines(journal) - 1;  // minus the header
  ASSERT_GE(before, 3);
  EXPECT_FALSE(fs::exists(dir + "/report.json")) << "killed before the end";

  auto r = run("--quiet run --resume " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(dir + "/report.json");
  auto rep = nlohmann::json::parse(in);
  const int total = int(rep["results"].size());
  EXPECT_GT(total, before);
  // Each cell once in the report; the journal gained exactly the missing cells
  // (a half-written last line is dropped and that cell re-measured).
  std::set<std::string> keys;
  for (auto& c : rep["results"])
    keys.insert(c["suite"].get<std::string>() + c["workload"].get<std::string>() + std::to_string(c["threads"].get<int>()) +
                c["placement"].get<std::string>());
  EXPECT_EQ(int(keys.size()), total);
  EXPECT_LE(count_lines(journal) - 1, total + 1);
  fs::remove_all(dir);
}
