// The results database (sqlite:PATH): schema and migrations, idempotent per-cell writes, shards of
// one study from several machines, concurrent and killed writers, and the history/regressions
// commands on a synthetic history with a known shift.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "qb/results_db.h"
#include "report_synthetic.h"

namespace fs = std::filesystem;

namespace {

std::string db_path(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("qb_results_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  const fs::path p = d / (name + ".sqlite");
  for (const char* ext : {"", "-wal", "-shm"}) fs::remove(p.string() + ext);
  return p.string();
}

// A report of `n` throughput cells (5 samples each) made on `host` at build `rev`.
nlohmann::json report(const std::string& host, const std::string& rev, const std::string& created, int n,
                      double gb_per_s = 100) {
  std::vector<qb::CellResult> rs;
  for (int i = 0; i < n; ++i)
    rs.push_back(qbt::cell("throughput", "Q4_0", "avx2", "gemv_" + std::to_string(i), 1, "compact",
                           {{"gb_per_s", gb_per_s}}, {1e-3, 1.1e-3, 0.9e-3, 1e-3, 1e-3}));
  auto rep = qbt::make_report(rs);
  rep["created"] = created;
  rep["machine"]["hostname"] = host;
  rep["qbench"]["git_revision"] = rev;
  rep["run"]["plan_fingerprint"] = "00000000000000aa";
  return rep;
}

// `count` cells with keys gemv_<first>.. stored one transaction each, as a shard writer does.
void write_cells(const std::string& path, const nlohmann::json& rep, int first, int count) {
  auto db = qb::open_results("sqlite:" + path);
  const int64_t run = db->put_run(qb::run_record(rep));
  for (int i = first; i < first + count; ++i) {
    auto r = qbt::cell("throughput", "Q4_0", "avx2", "gemv_" + std::to_string(i), 1, "compact", {{"gb_per_s", 1.0}},
                       {1e-3, 1.1e-3, 0.9e-3, 1e-3, 1e-3});
    db->put_cell(run, rep["machine"], r, rep["shard"].value("index", -1));
  }
}

}  // namespace

TEST(ResultsDb, StoringTwiceAddsNothingAndReopeningKeepsTheSchema) {
  const std::string p = db_path("idem");
  {
    auto db = qb::open_results("sqlite:" + p);
    EXPECT_EQ(qb::store_report(*db, report("m1", "abc", "2026-01-01T00:00:00Z", 4)), 4u);
    EXPECT_EQ(qb::store_report(*db, report("m1", "abc", "2026-01-01T00:00:00Z", 4)), 4u);
    EXPECT_EQ(db->count_rows("runs"), 1);
    EXPECT_EQ(db->count_rows("cells"), 4);
    EXPECT_EQ(db->count_rows("samples"), 20);
    EXPECT_EQ(db->count_rows("machines"), 1);
    EXPECT_EQ(db->count_rows("builds"), 1);
  }
  auto db = qb::open_results("sqlite:" + p);  // migrations already applied: nothing to do, data kept
  EXPECT_EQ(db->count_rows("cells"), 4);
  // Another machine's unsharded run of the same plan and build is a study of its own.
  qb::store_report(*db, report("m2", "abc", "2026-01-01T00:00:00Z", 4));
  EXPECT_EQ(db->count_rows("runs"), 2);
  EXPECT_EQ(db->count_rows("cells"), 8);
  EXPECT_THROW(qb::open_results("mysql://x"), qb::UsageError);
  EXPECT_THROW(qb::open_results("sqlite:/proc/no/such/dir/x.sqlite"), qb::ResultsError);
}

TEST(ResultsDb, SeriesFilterByCellFieldsAndMachineInRunOrder) {
  auto db = qb::open_results("sqlite:" + db_path("series"));
  qb::store_report(*db, report("m1", "r2", "2026-01-02T00:00:00Z", 2, 110));
  qb::store_report(*db, report("m1", "r1", "2026-01-01T00:00:00Z", 2, 100));
  qb::store_report(*db, report("m2", "r1", "2026-01-01T00:00:00Z", 2, 50));
  const auto pts = db->series({"gb_per_s", {{"workload", "gemv_1"}, {"machine", "m1"}}, ""});
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].git_revision, "r1");
  EXPECT_DOUBLE_EQ(pts[0].value, 100);
  EXPECT_DOUBLE_EQ(pts[1].value, 110);
  EXPECT_EQ(db->series({"gb_per_s", {{"format", "Q4_0"}}, "2026-01-02"}).size(), 2u);
  EXPECT_TRUE(db->series({"snr_db", {}, ""}).empty());
  EXPECT_THROW(db->series({"gb_per_s", {{"colour", "red"}}, ""}), qb::ResultsError);
}

// Three shard writers at once into one file, then one killed mid-run and re-run: every cell once,
// each with all its samples (a cell is one transaction).
TEST(ResultsDb, ConcurrentShardWritersAndAKilledWriterLoseAndDuplicateNothing) {
  const std::string p = db_path("shards");
  qb::open_results("sqlite:" + p);  // create and migrate once
  auto shard = [](int i, const std::string& host) {
    auto rep = report(host, "abc", "2026-01-01T00:00:00Z", 0);
    rep["shard"] = {{"index", i}, {"count", 4}, {"plan_fingerprint", "00000000000000aa"}};
    return rep;
  };
  std::vector<pid_t> kids;
  for (int i = 0; i < 3; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        write_cells(p, shard(i, "host" + std::to_string(i)), i * 1000, 60);
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  // Shard 3 is killed without warning while writing, then re-run in full.
  const pid_t victim = fork();
  ASSERT_GE(victim, 0);
  if (victim == 0) {
    try {
      write_cells(p, shard(3, "host3"), 3000, 1000000);
    } catch (...) {}
    _exit(0);
  }
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  auto db = qb::open_results("sqlite:" + p);
  const int64_t before = db->count_rows("cells");
  EXPECT_GT(before, 180) << "the killed writer stored some cells first";
  EXPECT_EQ(db->count_rows("samples"), 5 * before) << "no cell without all its samples";
  write_cells(p, shard(3, "host3"), 3000, 60);  // the re-run shard 3 (its first 60 cells)
  const int64_t after = db->count_rows("cells");
  EXPECT_EQ(after, std::max<int64_t>(before, 240)) << "re-run cells replace, never duplicate";
  EXPECT_EQ(db->count_rows("samples"), 5 * after);
  EXPECT_EQ(db->count_rows("runs"), 1) << "shards of one plan and build are one study";
  EXPECT_EQ(db->count_rows("machines"), 4);
  std::printf("3 writers x 60 cells + killed writer: %lld cells before the re-run, %lld after, %lld samples\n",
              (long long)before, (long long)after, (long long)db->count_rows("samples"));
}

// 40 runs of one cell, gb_per_s 100 +- 1%, -8% from run 30 on: `regressions` finds the change at
// run 30 (+-1) and exits 1; without the drop it exits 0. `history` prints every run.
TEST(ResultsDb, RegressionsCommandFlagsANewestSegmentDrop) {
  const std::string bad = db_path("hist_bad"), good = db_path("hist_good");
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  {
    auto b = qb::open_results("sqlite:" + bad);
    auto g = qb::open_results("sqlite:" + good);
    for (int i = 0; i < 40; ++i) {
      const std::string rev = fmt::format("rev{:02d}", i);
      const std::string created = fmt::format("2026-{:02d}-{:02d}T00:00:00Z", 1 + i / 28, i % 28 + 1);
      const double v = 100 + noise(rng);
      qb::store_report(*b, report("m1", rev, created, 1, i >= 30 ? v * 0.92 : v));
      qb::store_report(*g, report("m1", rev, created, 1, v));
    }
  }
  std::string out;
  EXPECT_EQ(qbt::run_qbench("regressions --results sqlite:" + bad + " --metric gb_per_s", &out), 1) << out;
  EXPECT_NE(out.find("REGRESSION m1"), std::string::npos) << out;
  const bool at30 = out.find("change point at run 30 ") != std::string::npos ||
                    out.find("change point at run 29 ") != std::string::npos ||
                    out.find("change point at run 31 ") != std::string::npos;
  EXPECT_TRUE(at30) << out;
  EXPECT_EQ(qbt::run_qbench("regressions --results sqlite:" + good + " --metric gb_per_s", &out), 0) << out;
  EXPECT_NE(out.find("no newest-segment regression"), std::string::npos) << out;
  EXPECT_EQ(qbt::run_qbench("history --results sqlite:" + bad + " --metric gb_per_s --where format=Q4_0", &out), 0);
  EXPECT_NE(out.find("rev39"), std::string::npos) << out;
  EXPECT_EQ(qbt::run_qbench("history --results sqlite:" + bad + " --metric no_such_metric", &out), 2) << out;

  // The CSV export carries the same series: regressions on it finds the same change point.
  const std::string csv = bad + ".csv";
  ASSERT_EQ(qbt::run_qbench("history --results sqlite:" + bad + " --metric gb_per_s --csv " + csv, &out), 0) << out;
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header, "time,commit,machine,cell,gb_per_s,valid");
  int rows = 0;
  while (std::getline(in, line)) rows += !line.empty();
  EXPECT_EQ(rows, 40);
  std::string from_db;
  qbt::run_qbench("regressions --results sqlite:" + bad + " --metric gb_per_s", &from_db);
  EXPECT_EQ(qbt::run_qbench("regressions --csv " + csv + " --metric gb_per_s", &out), 1) << out;
  const auto point = [](const std::string& o) { return o.substr(o.find("change point at run"), 30); };
  EXPECT_EQ(point(out), point(from_db)) << out << "\nvs the database:\n" << from_db;
  // A malformed value is one error naming the file, line and column.
  { std::ofstream(csv, std::ios::app) << "2026-03-01T00:00:00Z,rev40,m1,x,fast,1\n"; }
  EXPECT_EQ(qbt::run_qbench("regressions --csv " + csv + " --metric gb_per_s", &out), 2) << out;
  EXPECT_NE(out.find("line 42: column 'gb_per_s': 'fast' is not a number"), std::string::npos) << out;
}

// A PostgreSQL URL never carries the password (it would show on command lines and in logs), and
// the refusal does not echo it; an unreachable server is one ResultsError. A build without libpq
// refuses every PostgreSQL URL with the package to install. (tests/results_pg_test.sh runs a server.)
TEST(ResultsDb, PostgresUrlWithoutPasswordAndUnreachableServer) {
  std::string msg;
  try {
    qb::open_results("postgresql://qbench:s3cret@localhost/qbench");
  } catch (const qb::UsageError& e) {
    msg = e.what();
  }
  EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
  const bool built_without = msg.find("apt-get install libpq-dev") != std::string::npos;
  EXPECT_TRUE(built_without || msg.find("PGPASSWORD") != std::string::npos) << msg;
  const std::string nowhere = "postgres:///qbench?host=/proc/no/such/dir&connect_timeout=2";
  if (built_without)
    EXPECT_THROW(qb::open_results(nowhere), qb::UsageError);
  else
    EXPECT_THROW(qb::open_results(nowhere), qb::ResultsError);
}

// Without --results, `run` stores into qbench-results.sqlite beside its output (qbench-out/ for the
// default output), which is where `history` reads by default; `--results none` stores nothing.
TEST(ResultsDb, DefaultDatabaseBesideTheOutputAndNone) {
  const fs::path d = fs::temp_directory_path() / ("qb_results_default_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  std::string out;
  auto qb_in_d = [&](const std::string& args) { return qbt::run_qbench(args, &out, d.string()); };
  ASSERT_EQ(qb_in_d("run --suites quant-error --formats Q8_0 --quick --no-fsync"), 0) << out;
  const fs::path db = d / "qbench-out" / "qbench-results.sqlite";
  ASSERT_TRUE(fs::exists(db)) << out;
  EXPECT_EQ(qb::open_results("sqlite:" + db.string(), true)->count_rows("cells"), 4) << "Q8_0 x 4 distributions";
  // history with no --results reads that database: one series per cell.
  ASSERT_EQ(qb_in_d("history --metric snr_db"), 0) << out;
  size_t series = 0;
  for (size_t p = out.find("quant-error/Q8_0"); p != std::string::npos; p = out.find("quant-error/Q8_0", p + 1))
    ++series;
  EXPECT_EQ(series, 4u) << out;
  // --results none: the same study elsewhere leaves no database beside its output.
  ASSERT_EQ(qb_in_d("run --suites quant-error --formats Q8_0 --quick --no-fsync --out other/r --results none"), 0)
      << out;
  EXPECT_TRUE(fs::exists(d / "other" / "r" / "journal.jsonl"));
  EXPECT_FALSE(fs::exists(d / "other" / "qbench-results.sqlite"));
  fs::remove_all(d);
}
