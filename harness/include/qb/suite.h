// A suite turns a cell into metrics. Suites register themselves (QB_REGISTER_SUITE) and the
// runner plans and executes them in registration order of `order()`.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/measure.h"
#include "qb/peaks.h"
#include "qb/result.h"
#include "qb/shard.h"
#include "qb/topology.h"

namespace qb {

class ThreadPool;

// A linear-layer shape: y(m) = W(m×k) x(k), with n activation vectors.
struct Shape {
  std::string name;  // "4096x14336" or a catalogue name like "llama3-8b.ffn_down"
  int64_t m = 0, k = 0;
  std::string model;  // catalogue model it belongs to, "" for custom shapes
  int count = 1;      // how many times per model forward (layers × occurrences)
};

struct RunConfig {
  std::vector<std::string> suites, formats, backends, placements;  // empty = all that apply
  std::vector<int> threads;                                        // empty = 1..cores
  std::vector<Shape> shapes;                                       // empty = suite default
  std::vector<int64_t> batch;                                      // n values for gemm (default {1, 512})
  std::string model;                                               // --model FILE
  // Model suites (perplexity): tokens per chunk, chunks (-1: all), text file ("" : the default
  // dataset), where model variants and KLD bases are cached ("" : <out_dir>/variants).
  int64_t ctx = 512;
  int64_t chunks = -1;
  std::string dataset, cache_dir;
  bool quick = false;
  std::string out_dir;
  MeasureOptions measure;
  // Model suites (prefill, decode): llama-bench's pp<prompt_len> and tg<gen_len> after `depth`
  // tokens of context.
  int64_t prompt_len = 512, gen_len = 128, depth = 0;
  std::string kv_type = "f16";  // model suites: KV cache type of both engines (f16, f32, q8_0)
  ShardSpec shard;              // --shard I/N: measure only this shard's cells of the plan
};

// Shared state of one run, visible to every suite.
struct RunContext {
  const Topology& topo;
  const RunConfig& cfg;
  // Results measured so far in this run (and resumed ones), e.g. bandwidth for rooflines.
  const std::vector<CellResult>& done;
  // A pool for (threads, placement); cached by the runner. nullptr when placement impossible.
  std::function<ThreadPool*(int threads, const std::string& placement)> pool;
  // Machine peaks published so far by the suites that probe them (Suite::publish_peaks), resumed
  // cells included; none when a plan is made without a run.
  const MachinePeaks& peaks = MachinePeaks::none();
};

class Suite {
 public:
  virtual ~Suite() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual int order() const { return 100; }  // lower runs first (bandwidth = 0)
  // Model suites take quantization preset names (gguf/presets.h) in --formats with --model: each
  // names a model variant. Other suites skip names that are not formats (resolve_formats).
  virtual bool takes_presets() const { return false; }
  // The cells this suite would measure under cfg (formats/backends/threads already resolved).
  virtual std::vector<Cell> plan(const RunContext& ctx) const = 0;
  // Measure one cell. Throwing is allowed: the runner records the cell as failed with the message.
  virtual CellResult measure(const Cell& cell, RunContext& ctx) = 0;
  // A suite that probes a machine peak (bandwidth, compute) publishes it from each of its finished
  // cells, measured or resumed; the runner calls this before the next cell is measured.
  virtual void publish_peaks(const CellResult& r, MachinePeaks& peaks) const {
    (void)r;
    (void)peaks;
  }
  // Cells with the same non-empty group name are measured in interleaved rounds (runner.cpp):
  // the ones a report compares side by side, so drift of the machine hits them alike.
  virtual std::string interleave_group(const Cell& cell) const {
    (void)cell;
    return "";
  }
  // Called on a cell merged from interleaved rounds (runner.cpp): recompute the verdicts that
  // depend on the cell's figures, which now come from the merged median, not from any one round.
  virtual void rejudge(CellResult& merged, const RunContext& ctx) const {
    (void)merged;
    (void)ctx;
  }
};

void register_suite(std::unique_ptr<Suite> s);
std::vector<Suite*> all_suites();  // sorted by order()
Suite* find_suite(const std::string& name);

#define QB_REGISTER_SUITE(Type)                       \
  static const bool qb_suite_registered_##Type = [] { \
    ::qb::register_suite(std::make_unique<Type>());   \
    return true;                                      \
  }()

// Helpers shared by suites.
std::vector<int> resolve_threads(const RunContext& ctx);  // cfg.threads or 1..cores
std::vector<std::string> resolve_placements(const RunContext& ctx);
// The requested placements whose PU sets differ for this thread count (on a machine where two
// plans bind the same PUs, measuring both would only measure the same thing twice); placements
// that cannot place `threads` are dropped. The first of each equal group is kept.
std::vector<std::string> distinct_placements(const RunContext& ctx, int threads);
// cfg.formats that are format names (preset names are for model suites), or every format.
std::vector<std::string> resolve_formats(const RunContext& ctx);
// Parse "4096x14336" into a Shape; throws std::invalid_argument with a clear message.
Shape parse_shape(const std::string& s);

}  // namespace qb
