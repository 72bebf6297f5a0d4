// The qbench binary end to end: exit codes for bad arguments, journal resume after a kill,
// report written from the journal.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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

// A journal without its header (the run stopped before writing it, e.g. on a full disk) has no
// plan to continue: --resume says so instead of starting the default plan there.
TEST(Cli, ResumeOfAJournalWithoutHeaderIsRefused) {
  const std::string dir = tmpdir("noheader");
  fs::create_directories(dir);
  { std::ofstream(dir + "/journal.jsonl"); }
  auto r = run("--quiet run --resume " + dir + " --results none");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("has no journal header"), std::string::npos) << r.out;
  EXPECT_EQ(fs::file_size(dir + "/journal.jsonl"), 0u) << "nothing was measured into it";
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
    keys.insert(c["suite"].get<std::string>() + c["workload"].get<std::string>() +
                std::to_string(c["threads"].get<int>()) + c["placement"].get<std::string>());
  EXPECT_EQ(int(keys.size()), total);
  EXPECT_LE(count_lines(journal) - 1, total + 1);
  // The header lists every backend with its kind (the decision's framework of a cell).
  std::map<std::string, std::string> kinds;
  for (auto& b : rep["machine"]["backends"]) kinds[b["name"].get<std::string>()] = b["kind"].get<std::string>();
  EXPECT_EQ(kinds["scalar"], "qbench");
  EXPECT_EQ(kinds["ggml"], "framework");
  EXPECT_EQ(kinds["llama.cpp"], "framework");
  fs::remove_all(dir);
}

// ---- issue 11: bad model refused up front, full disk, interleaving, interference ----

// A file that is not GGUF is refused before the first cell: exit 2, one line naming the file, the
// byte offset and what was expected there; nothing is measured or journaled.
TEST(Cli, NotAGgufModelIsRefusedBeforeTheFirstCell) {
  const std::string dir = tmpdir("badmodel");
  fs::create_directories(dir);
  const std::string model = dir + "/NOT_A_GGUF";
  { std::ofstream(model) << "this is a text file, not a model\n"; }
  auto r = run("run --suites quant-error --model " + model + " --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(model), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("byte 0 (0x0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected 'GGUF'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("magic"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/out/journal.jsonl"));
  auto bad_ci = run("run --suites bandwidth --ci-target 0 --out " + dir + "/out2");
  EXPECT_EQ(bad_ci.code, 2) << bad_ci.out;
  fs::remove_all(dir);
}

namespace {
// Every line of a journal file parses, and the file ends on a newline.
void expect_journal_intact(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream ls(text);
  int n = 0;
  for (std::string l; std::getline(ls, l); ++n) EXPECT_TRUE(nlohmann::json::accept(l)) << "line " << n + 1;
}
}  // namespace

// A 200 KiB tmpfs as --out: the run stops with one error naming the journal, exit 3; every line
// already written parses; after making room, --resume finishes the run.
TEST(Cli, FullDiskExitsThreeAndStaysResumable) {
  const std::string dir = tmpdir("fulldisk");
  fs::create_directories(dir);
  const std::string mnt = "mount -t tmpfs -o size=200k qbench-test " + dir + " 2>&1";
  if (std::system(mnt.c_str()) != 0) {
    fs::remove_all(dir);
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): " << mnt;
  }
  // Ballast leaves ~30 KiB: room for the header and a few cells, so the journal itself (not the
  // report written at the end, which is also checked) is what runs out of space.
  { std::ofstream(dir + "/ballast", std::ios::binary) << std::string(170 * 1024, 'b'); }
  const std::string out = dir + "/run";
  // No results database: its default place (beside --out) is on this tmpfs and would take the room.
  auto r = run("--quiet run --suites bandwidth --threads 1 --quick --results none --out " + out);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("cannot write journal '" + out + "/journal.jsonl': No space left on device"), std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  expect_journal_intact(out + "/journal.jsonl");
  const int before = count_lines(out + "/journal.jsonl") - 1;
  EXPECT_GE(before, 1) << "no cell fitted: the test shows nothing about lines written before the error";

  ASSERT_EQ(std::system(("mount -o remount,size=64m " + dir).c_str()), 0);
  auto resumed = run("--quiet run --resume " + out + " --results none");
  EXPECT_EQ(resumed.code, 0) << resumed.out;
  expect_journal_intact(out + "/journal.jsonl");
  std::ifstream in(out + "/report.json");
  auto rep = nlohmann::json::parse(in);
  EXPECT_GT(int(rep["results"].size()), before);
  // Something else on the machine (a file indexer, another test's scan of /tmp) can hold the
  // mount for a moment: retry, then detach it lazily.
  bool unmounted = false;
  for (int i = 0; i < 10 && !unmounted; ++i) {
    unmounted = std::system(("umount " + dir + " 2>/dev/null").c_str()) == 0;
    if (!unmounted) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (!unmounted) std::system(("umount -l " + dir).c_str());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Throughput GEMV cells are measured in rounds, each in a seeded shuffled order; the report says
// which order, and each cell its positions. The same seed gives the same order.
TEST(Cli, GemvCellsAreInterleavedInASeededOrder) {
  const std::string a = tmpdir("interleave-a"), b = tmpdir("interleave-b");
  const std::string sel =
      "--quiet run --suites throughput --formats Q4_0,Q8_0,F16 --backends scalar --threads 1 "
      "--batch 1 --shapes 64x256 --quick --no-fsync --out ";
  for (const auto& d : {a, b}) ASSERT_EQ(run(sel + d).code, 0);
  std::ifstream ia(a + "/report.json"), ib(b + "/report.json");
  auto ra = nlohmann::json::parse(ia), rb = nlohmann::json::parse(ib);
  const auto& il = ra["run"]["interleave"];
  EXPECT_EQ(il["rounds"], 2);  // --quick
  ASSERT_EQ(il["order"].size(), 2u);
  EXPECT_EQ(il["order"][0].size(), 3u);
  EXPECT_EQ(il["order"], rb["run"]["interleave"]["order"]);
  EXPECT_EQ(ra["run"]["journal"]["fsync"], false);
  int gemv = 0;
  for (const auto& c : ra["results"]) {
    if (c["workload"] == "harness_overhead" || c["status"] != "ok") continue;
    ++gemv;
    EXPECT_EQ(c["counters"]["interleave"]["positions"].size(), 2u) << c["workload"];
    EXPECT_EQ(c["counters"]["rounds"].size(), 2u);
    size_t per_round = 0;
    for (const auto& rr : c["counters"]["rounds"]) per_round += rr["samples"].get<size_t>();
    EXPECT_EQ(per_round, c["samples"].size()) << "samples of all rounds are merged";
    EXPECT_TRUE(c["counters"]["interference"].contains("other_cpu_pct"));
    EXPECT_TRUE(c["stats"].contains("median_ci_rel"));
    EXPECT_TRUE(c["stats"].contains("outliers"));
  }
  EXPECT_EQ(gemv, 3);
  fs::remove_all(a);
  fs::remove_all(b);
}

// A cell measured while other processes keep every CPU busy is retried (2 retries, back-off) and
// then marked invalid with the reason; the numbers are in the cell.
TEST(Cli, CellUnderInterferenceIsRetriedThenInvalid) {
  const std::string dir = tmpdir("interference");
  const long ncpu = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<pid_t> hogs;
  for (long i = 0; i < ncpu; ++i) {
    pid_t p = fork();
    ASSERT_GE(p, 0);
    if (p == 0) {
      volatile unsigned long x = 0;
      for (;;) x = x + 1;
    }
    hogs.push_back(p);
  }
  auto r = run("--quiet run --suites compute --threads 1 --quick --no-fsync --out " + dir);
  for (pid_t p : hogs) kill(p, SIGKILL);
  for (pid_t p : hogs) waitpid(p, nullptr, 0);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(dir + "/report.json");
  auto rep = nlohmann::json::parse(in);
  int disturbed = 0;
  for (const auto& c : rep["results"]) {
    const auto& inter = c["counters"]["interference"];
    ASSERT_TRUE(inter.contains("other_cpu_pct")) << c;
    if (!inter.value("disturbed", false)) continue;
    ++disturbed;
    EXPECT_EQ(inter["attempts"], 3);
    EXPECT_EQ(inter["retried_for"].size(), 2u);
    EXPECT_FALSE(c["valid"].get<bool>());
    bool reason = false;
    for (const auto& why : c["reasons"]) reason = reason || why.get<std::string>().find("interference: ") == 0;
    EXPECT_TRUE(reason) << c["reasons"];
  }
  EXPECT_GE(disturbed, 1) << "no cell saw the " << ncpu << " busy processes";
  fs::remove_all(dir);
}
