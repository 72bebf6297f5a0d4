// `qbench fleet slurm`: the generated job array and merge job, run here task by task as Slurm would
// (SLURM_ARRAY_TASK_ID = 0..N-1, then the merge): the shards cover the plan once and merge into one
// report and one study in the results database. The same scripts under a live single-node Slurm
// cluster: tests/fleet_slurm_live_test.sh.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "qb/results_db.h"
#include "report_synthetic.h"

namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
int sh(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

TEST(FleetSlurm, ArrayTasksCoverThePlanOnceAndTheMergeJoinsThem) {
  const fs::path d = fs::temp_directory_path() / ("qbench-slurm-" + std::to_string(getpid()));
  fs::remove_all(d);
  const std::string db = "sqlite:" + (d / "results.sqlite").string();
  const char* bin = std::getenv("QBENCH");
  const std::string qb = bin ? bin : std::string(QB_BINARY_DIR) + "/qbench";
  std::string out;
  ASSERT_EQ(qbt::run_qbench("fleet slurm --shards 4 --out " + d.string() + " --results " + db + " --qbench " + qb +
                                " --time 00:10:00 -- --suites quant-error --formats Q8_0 --quick --no-fsync",
                            &out),
            0)
      << out;
  const std::string array = slurp(d / "shards.sbatch");
  for (const char* want : {"#SBATCH --array=0-3\n", "#SBATCH --exclusive\n", "#SBATCH --nodes=1\n",
                           "#SBATCH --time=00:10:00\n", "--shard \"$i/4\""})
    EXPECT_NE(array.find(want), std::string::npos) << want << " in\n" << array;
  EXPECT_NE(slurp(d / "submit.sh").find("--dependency=afterok:"), std::string::npos);

  // Slurm's part: each array task with its index, then the merge.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(
        sh("SLURM_ARRAY_TASK_ID=" + std::to_string(i) + " bash " + (d / "shards.sbatch").string() + " >/dev/null 2>&1"),
        0)
        << "task " << i;
  // A requeued task resumes its journal (nothing left to measure) instead of starting over.
  ASSERT_EQ(sh("SLURM_ARRAY_TASK_ID=2 bash " + (d / "shards.sbatch").string() + " >/dev/null 2>&1"), 0);
  ASSERT_EQ(sh("bash " + (d / "merge.sbatch").string() + " >/dev/null 2>&1"), 0);
  std::ifstream in(d / "merged" / "report.json");
  ASSERT_TRUE(in.good());
  const auto rep = nlohmann::json::parse(in);
  std::set<std::string> keys;
  std::set<int> shards;
  for (const auto& r : rep["results"]) {
    keys.insert(r["format"].get<std::string>() + "/" + r["workload"].get<std::string>());
    shards.insert(r["shard"].get<int>());
  }
  EXPECT_EQ(rep["results"].size(), 4u) << "Q8_0 x 4 distributions";
  EXPECT_EQ(keys.size(), 4u) << "each cell once";
  EXPECT_EQ(shards, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(rep["merged"]["shard_count"].get<int>(), 4);
  auto store = qb::open_results(db, /*must_exist=*/true);
  EXPECT_EQ(store->count_rows("runs"), 1);
  EXPECT_EQ(store->count_rows("cells"), 4);

  // The generator owns --shard, --out and --results; a task index outside the array is refused.
  EXPECT_EQ(qbt::run_qbench("fleet slurm --shards 2 --out " + d.string() + " -- --quick --shard 0/2", &out), 2);
  EXPECT_NE(out.find("give --shard to fleet slurm"), std::string::npos) << out;
  EXPECT_NE(sh("bash " + (d / "shards.sbatch").string() + " >/dev/null 2>&1"), 0) << "no SLURM_ARRAY_TASK_ID";
  // Without --results only the merge stores (into its default database beside DIR/merged): the
  // shards on many nodes must not share one SQLite file.
  ASSERT_EQ(qbt::run_qbench("fleet slurm --shards 2 --out " + (d / "nodb").string() + " -- --quick", &out), 0) << out;
  EXPECT_NE(slurp(d / "nodb" / "shards.sbatch").find(" --results none"), std::string::npos);
  EXPECT_EQ(slurp(d / "nodb" / "merge.sbatch").find("--results"), std::string::npos);
  fs::remove_all(d);
}
