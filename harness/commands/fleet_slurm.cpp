// `qbench fleet slurm --shards N --out DIR [--submit] -- RUN-OPTIONS...`: the `--shard I/N` contract
// as Slurm jobs (docs/fleet.md). Writes DIR/shards.sbatch (a job array, one whole node per shard:
// task I runs `qbench run RUN-OPTIONS --shard I/N --out DIR/sI`, or resumes DIR/sI when requeued),
// DIR/merge.sbatch (`qbench merge DIR/s0 ... --out DIR/merged`) and DIR/submit.sh, which submits
// the array and the merge as a job that starts only when every shard succeeded (afterok).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/report.h"

namespace qb {
namespace {

namespace fs = std::filesystem;

std::string sh_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

std::string this_binary() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("qbench") : p.string();
}

struct SlurmArgs {
  int shards = 0;
  std::string out, results, partition, time, qbench;
  bool submit = false;
  std::vector<std::string> run_args;
};

void write_scripts(const SlurmArgs& a) {
  for (const auto& r : a.run_args)
    for (const char* own : {"--shard", "--out", "--resume", "--results"})
      if (r == own || r.rfind(std::string(own) + "=", 0) == 0)
        throw UsageError(fmt::format("fleet slurm: give {} to fleet slurm, not among the run options", own));
  const fs::path dir = fs::absolute(a.out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", dir.string(), ec.message()));
  const std::string qb = sh_quote(a.qbench.empty() ? this_binary() : a.qbench);
  // Without --results the merge stores into its default database (DIR/qbench-results.sqlite) and
  // the shards store nothing: one SQLite file written from many nodes over a shared file system
  // would rely on that file system's locking.
  const std::string results = a.results.empty() ? "" : " --results " + sh_quote(a.results);
  const std::string shard_results = a.results.empty() ? " --results none" : results;
  std::string head;
  if (!a.partition.empty()) head += "#SBATCH --partition=" + a.partition + "\n";
  if (!a.time.empty()) head += "#SBATCH --time=" + a.time + "\n";
  std::string run;
  for (const auto& r : a.run_args) run += " " + sh_quote(r);

  const std::string shard_dir = sh_quote((dir / "s").string()) + "\"$i\"";
  write_file_atomic(
      (dir / "shards.sbatch").string(),
      fmt::format("#!/bin/bash\n"
                  "# qbench fleet slurm: shard $SLURM_ARRAY_TASK_ID of {n}, one whole node each.\n"
                  "#SBATCH --job-name=qbench-shards\n"
                  "#SBATCH --array=0-{last}\n"
                  "#SBATCH --nodes=1\n"
                  "#SBATCH --exclusive\n"
                  "#SBATCH --output={log}\n{head}"
                  "set -eu\n"
                  "i=${{SLURM_ARRAY_TASK_ID:?run by sbatch --array}}\n"
                  "# A requeued task continues its journal.\n"
                  "if [ -f {d}/journal.jsonl ]; then exec {qb} run --resume {d}{res}; fi\n"
                  "exec {qb} run{run} --shard \"$i/{n}\" --out {d}{res}\n",
                  fmt::arg("n", a.shards), fmt::arg("last", a.shards - 1),
                  fmt::arg("log", (dir / "slurm-shard-%a.out").string()), fmt::arg("head", head),
                  fmt::arg("d", shard_dir), fmt::arg("qb", qb), fmt::arg("res", shard_results), fmt::arg("run", run)));
  std::string dirs;
  for (int i = 0; i < a.shards; ++i) dirs += " " + sh_quote((dir / ("s" + std::to_string(i))).string());
  write_file_atomic((dir / "merge.sbatch").string(),
                    fmt::format("#!/bin/bash\n"
                                "# qbench fleet slurm: joins the {n} shards once all have succeeded.\n"
                                "#SBATCH --job-name=qbench-merge\n"
                                "#SBATCH --nodes=1\n"
                                "#SBATCH --output={log}\n{head}"
                                "exec {qb} merge{dirs} --out {out}{res}\n",
                                fmt::arg("n", a.shards), fmt::arg("log", (dir / "slurm-merge.out").string()),
                                fmt::arg("head", head), fmt::arg("qb", qb), fmt::arg("dirs", dirs),
                                fmt::arg("out", sh_quote((dir / "merged").string())), fmt::arg("res", results)));
  write_file_atomic((dir / "submit.sh").string(),
                    fmt::format("#!/bin/sh\n"
                                "set -eu\n"
                                "cd {d}\n"
                                "jid=$(sbatch --parsable shards.sbatch)\n"
                                "mid=$(sbatch --parsable --dependency=afterok:\"${{jid%%;*}}\" merge.sbatch)\n"
                                "echo \"shards: job ${{jid%%;*}} (array 0-{last}); merge: job ${{mid%%;*}} "
                                "(after every shard succeeded)\"\n",
                                fmt::arg("d", sh_quote(dir.string())), fmt::arg("last", a.shards - 1)));
  for (const char* f : {"shards.sbatch", "merge.sbatch", "submit.sh"})
    fs::permissions(dir / f, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  if (!globals().quiet)
    std::printf("wrote %s/{shards.sbatch,merge.sbatch,submit.sh}: %d shards, merged into %s/merged\n", dir.c_str(),
                a.shards, dir.c_str());
}

void add_fleet(CLI::App& app) {
  auto a = std::make_shared<SlurmArgs>();
  auto* fleet = app.add_subcommand("fleet", "Run one study's shards under a scheduler (docs/fleet.md)");
  fleet->require_subcommand(1);
  auto* cmd = fleet->add_subcommand(
      "slurm", "Write (and --submit) a Slurm job array of `run --shard I/N` and a dependent merge job");
  cmd->add_option("--shards", a->shards, "Number of shards N (array tasks, one whole node each)")
      ->required()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--out", a->out, "Directory for the scripts, the shard outputs sI and merged/")->required();
  cmd->add_option("--results", a->results,
                  "Results database every shard and the merge store into (URL; default: the merge stores into "
                  "DIR/qbench-results.sqlite)");
  cmd->add_option("--partition", a->partition, "Slurm partition (#SBATCH --partition)");
  cmd->add_option("--time", a->time, "Time limit per shard (#SBATCH --time, e.g. 02:00:00)");
  cmd->add_option("--qbench", a->qbench, "qbench binary the jobs run (default: this one; same path on every node)");
  cmd->add_flag("--submit", a->submit, "Also submit: run DIR/submit.sh (needs sbatch)");
  cmd->add_option("run_args", a->run_args, "Options of `qbench run` after --, e.g. -- --quick --threads 4");
  cmd->callback([a] {
    write_scripts(*a);
    if (a->submit) {
      const std::string submit = sh_quote((fs::absolute(a->out) / "submit.sh").string());
      if (std::system("command -v sbatch >/dev/null 2>&1") != 0)
        throw UsageError("fleet slurm --submit: sbatch not found (Debian slurm-client, or a Slurm login node)");
      if (std::system(("/bin/sh " + submit).c_str()) != 0) {
        std::fprintf(stderr, "qbench: fleet slurm: %s failed (sbatch's message above)\n", submit.c_str());
        set_exit_code(kExitIoError);
        return;
      }
    }
    set_exit_code(kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(fleet, "fleet", 46, add_fleet);
}  // namespace qb
