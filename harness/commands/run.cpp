// `qbench run`: the selection contract used by every suite and by CI scripts.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "kernel_bench.h"
#include "model/attention.h"
#include "qb/catalogue.h"
#include "qb/command.h"
#include "qb/metrics.h"
#include "qb/plan.h"
#include "qb/report.h"
#include "qb/results_db.h"
#include "qb/runner.h"
#include "qb/shard.h"

namespace qb {
namespace {

struct RunArgs {
  std::string suites, formats, backends, threads, placements, shapes, batch, model, out, resume, residency;
  std::string dataset, cache;
  int64_t ctx = 512, chunks = -1;
  std::vector<std::string> shape;
  bool quick = false;
  bool no_fsync = false;
  double ci_target_pct = 0;
  int64_t prompt_len = 512, gen_len = 128, depth = 0;
  std::string kv_type = "f16";
  std::string shard, results;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    x.erase(0, x.find_first_not_of(" \t"));
    x.erase(x.find_last_not_of(" \t") + 1);
    if (!x.empty()) v.push_back(x);
  }
  return v;
}

template <class T>
std::vector<T> split_numbers(const std::string& s, const char* what) {
  std::vector<T> v;
  for (const auto& x : split(s)) {
    size_t pos = 0;
    long long n = 0;
    try {
      n = std::stoll(x, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != x.size())
      throw UsageError(fmt::format("bad {} '{}': expected a comma-separated list of positive integers", what, x));
    v.push_back(T(n));
  }
  return v;
}

void print_summary(const std::string& report_path) {
  auto rep = load_report(report_path);
  std::printf("%-12s %-10s %-9s %-34s %3s %-12s %14s %s\n", "suite", "format", "backend", "workload", "thr",
              "placement", "value", "valid");
  for (const auto& r : rep["results"]) {
    std::string val;
    const auto& m = r["metrics"];
    for (const char* key : {metric::tokens_per_s, metric::gb_per_s, metric::snr_db, metric::p50_us, metric::decode_ms,
                            metric::ppl, metric::bits_per_weight, metric::bytes})
      if (m.contains(key)) {
        val = fmt::format("{:.4g} {}", m[key].get<double>(), key);
        break;
      }
    if (r["status"] != "ok") val = r["status"].get<std::string>();
    std::printf("%-12s %-10s %-9s %-34s %3d %-12s %14s %s\n", r["suite"].get<std::string>().c_str(),
                r["format"].get<std::string>().c_str(), r["backend"].get<std::string>().c_str(),
                r["workload"].get<std::string>().substr(0, 34).c_str(), r["threads"].get<int>(),
                r["placement"].get<std::string>().c_str(), val.c_str(),
                r["status"] != "ok"      ? r.value("error", "").substr(0, 60).c_str()
                : r["valid"].get<bool>() ? "yes"
                                         : "NO");
  }
}

// Refuses, before anything is measured, a plan with a cell that cannot fit in memory.
void check_memory(const RunConfig& cfg) {
  validate_config(cfg);  // names first: plans assume them valid
  const Topology& topo = machine_topology();
  const std::vector<CellResult> none;
  const RunContext ctx{topo, cfg, none, [](int, const std::string&) -> ThreadPool* { return nullptr; }};
  std::vector<Cell> cells;
  for (auto& sc : make_plan(ctx)) cells.push_back(std::move(sc.second));
  if (const std::string why = kb::memory_refusal(cells, topo); !why.empty()) throw UsageError(why);
}

void add_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd =
      app.add_subcommand("run", "Measure formats x backends x suites x threads x placements; write report and journal");
  cmd->add_option("--suites", args->suites, "Comma-separated suites (default: all; see `qbench list suites`)");
  cmd->add_option("--formats", args->formats, "Comma-separated formats (default: all; see `qbench list formats`)");
  cmd->add_option("--backends", args->backends, "Comma-separated backends (default: all available)");
  cmd->add_option("--threads", args->threads, "Comma-separated thread counts (default: 1..PUs)");
  cmd->add_option("--placements", args->placements, "Comma-separated placements: compact, spread, one-per-core");
  cmd->add_option("--shapes", args->shapes, "Comma-separated MxK shapes, catalogue model names, or a JSON shape file");
  cmd->add_option("--shape", args->shape, "Add one custom MxK shape (repeatable)");
  cmd->add_option("--batch", args->batch, "Comma-separated n (activation vectors) for GEMM cells (default 1,512)");
  cmd->add_option("--model", args->model, "A GGUF model file for model-based suites");
  auto* ctx_opt = cmd->add_option("--ctx", args->ctx, "Model suites: tokens per perplexity chunk (default 512)")
                      ->check(CLI::Range(int64_t(4), int64_t(1) << 20));
  auto* chunks_opt = cmd->add_option("--chunks", args->chunks, "Model suites: chunks to evaluate (default: all)")
                         ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--dataset", args->dataset, "Model suites: text file (default: datasets/text/us-public-domain.txt)");
  cmd->add_option("--cache", args->cache,
                  "Model suites: directory of cached model variants and KLD bases (default: <out>/variants)");
  cmd->add_option("--residency", args->residency,
                  "Where timed weights come from: dram (rotate copies past 4x the LLC; default for GEMV and "
                  "n <= 16) or llc (one warm copy; default for larger GEMMs)");
  cmd->add_option("--prompt-len", args->prompt_len, "Model prefill: prompt tokens (default 512, llama-bench pp512)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--gen-len", args->gen_len, "Model decode: generated tokens (default 128, llama-bench tg128)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--depth", args->depth,
                  "Model prefill/decode after this many tokens of context (default 0, llama-bench -d)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  cmd->add_option("--kv-type", args->kv_type, "Model prefill/decode: KV cache type f16 (default), f32 or q8_0");
  cmd->add_option("--shard", args->shard,
                  "Measure only shard I of N (0-based) of the plan, split by expected cell time; join the shards "
                  "with `qbench merge` (docs/fleet.md)");
  cmd->add_option("--results", args->results,
                  "Results database every cell is stored into: sqlite:PATH or postgresql://... (default: "
                  "qbench-results.sqlite beside --out; none: do not store; history, regressions: docs/fleet.md)");
  cmd->add_flag("--quick", args->quick, "Fewer shapes, shorter minimum times (still valid statistics)");
  cmd->add_option("--out", args->out,
                  "Output directory for report.json, journal.jsonl and renderings (default: qbench-out/<time>)");
  cmd->add_option("--resume", args->resume, "Continue the run in DIR, skipping cells already in its journal");
  cmd->add_flag("--no-fsync", args->no_fsync,
                "Do not fsync the journal after each cell (a crash still keeps it; power loss may not)");
  auto* ci_target = cmd->add_option("--ci-target", args->ci_target_pct,
                                    "Validity: relative half-width of the median's 95% CI, in percent (default 2); "
                                    "sampling goes on until it is reached or capped");
  cmd->callback([args, ci_target, ctx_opt, chunks_opt] {
    RunConfig cfg;
    cfg.suites = split(args->suites);
    cfg.formats = split(args->formats);
    cfg.backends = split(args->backends);
    cfg.placements = split(args->placements);
    cfg.threads = split_numbers<int>(args->threads, "thread count");
    cfg.batch = split_numbers<int64_t>(args->batch, "batch size");
    for (const auto& tok : split(args->shapes))
      for (auto& s : resolve_shape_token(tok)) cfg.shapes.push_back(s);
    for (const auto& s : args->shape) cfg.shapes.push_back(parse_shape(s));
    cfg.model = args->model;
    cfg.prompt_len = args->prompt_len;
    cfg.gen_len = args->gen_len;
    cfg.depth = args->depth;
    cfg.kv_type = std::string(model::kv_type_name(model::parse_kv_type(args->kv_type)));
    cfg.ctx = args->ctx;
    cfg.chunks = args->chunks;
    cfg.dataset = args->dataset;
    cfg.cache_dir = args->cache;
    if (!args->residency.empty() && args->residency != "dram" && args->residency != "llc")
      throw UsageError(fmt::format("bad --residency '{}': expected dram or llc", args->residency));
    kb::set_residency_option(args->residency);
    cfg.quick = args->quick;
    if (!args->shard.empty()) cfg.shard = parse_shard(args->shard);
    cfg.measure = args->quick ? quick_options() : default_options();
    if (ci_target->count()) {
      if (!(args->ci_target_pct > 0 && args->ci_target_pct < 100))
        throw UsageError(
            fmt::format("bad --ci-target {}: expected a percentage in (0, 100), e.g. 2", args->ci_target_pct));
      cfg.measure.max_ci_rel = args->ci_target_pct / 100;
    }
    const bool resume = !args->resume.empty();
    if (resume && (!cfg.suites.empty() || !cfg.formats.empty() || !cfg.backends.empty() || !cfg.threads.empty() ||
                   !cfg.placements.empty() || !cfg.shapes.empty() || !cfg.batch.empty() || !cfg.model.empty() ||
                   args->quick || ctx_opt->count() || chunks_opt->count() || !cfg.dataset.empty() ||
                   !cfg.cache_dir.empty() || !args->residency.empty() || !args->shard.empty()))
      throw UsageError("--resume DIR continues the plan journaled in DIR: give no selection options with it");
    if (resume && !args->out.empty() && args->out != args->resume)
      throw UsageError("--resume DIR continues DIR: do not give a different --out");
    cfg.out_dir = resume ? args->resume : args->out;
    if (cfg.out_dir.empty()) {
      std::time_t now = std::time(nullptr);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&now));
      cfg.out_dir = std::string("qbench-out/") + buf;
    }
    if (!resume) check_memory(cfg);
    const ResultsTarget target = results_target(args->results, cfg.out_dir);
    std::unique_ptr<ResultsStore> db;
    if (!target.url.empty()) {
      try {
        db = open_results(target.url);
      } catch (const ResultsError& e) {
        if (!target.by_default) throw UsageError(e.what());
        std::fprintf(stderr, "qbench: warning: default results database not used: %s\n", e.what());
      }
    }
    RunSummary sum;
    try {
      sum = run_benchmarks(cfg, resume, RunOptions{.fsync = !args->no_fsync, .results = db.get()});
    } catch (const IoError& e) {
      // Disk full or I/O error: the journal holds every complete cell (see Journal::append).
      std::fprintf(stderr, "qbench: %s\n", e.what());
      set_exit_code(kExitIoError);
      return;
    }
    if (!globals().quiet) {
      print_summary(sum.report_path);
      std::printf("\n%d cells (%d measured, %d resumed, %d failed, %d invalid) in %.1f s\nreport: %s\njournal: %s\n",
                  sum.cells, sum.measured, sum.skipped, sum.failed, sum.invalid, sum.wall_s, sum.report_path.c_str(),
                  sum.journal_path.c_str());
      if (db && sum.results_error.empty()) std::printf("results: %s\n", target.url.c_str());
    }
    if (!sum.results_error.empty()) {
      std::fprintf(stderr,
                   "qbench: %sresults database: %s; the journal keeps every cell: `qbench run --resume %s "
                   "--results %s` stores them\n",
                   target.by_default ? "warning: default " : "", sum.results_error.c_str(), cfg.out_dir.c_str(),
                   target.url.c_str());
      if (!target.by_default) {
        set_exit_code(kExitIoError);
        return;
      }
    }
    set_exit_code(kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(run, "run", 10, add_run);
}  // namespace qb
