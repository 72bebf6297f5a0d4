// The model suites (with --model FILE.gguf): what a user of the model feels, measured end to end
// on the real forward pass, for every format x backend x threads.
//   prefill  llama-bench's pp<prompt_len>: one batch of --prompt-len tokens (default 512) appended
//            to an empty cache (or to --depth tokens of context); tokens_per_s = prompt_len /
//            median time. The call also samples the next token, so its time is the time to first
//            token (ttft_ms). Memory: weight bytes as loaded, KV-cache bytes for the context, and
//            the peak RSS of the process during the cell (VmHWM after clear_refs: measured).
//   decode   llama-bench's tg<gen_len>: --gen-len tokens (default 128) generated one at a time,
//            greedy, after a BOS (or --depth tokens). Each token step is a sample: tokens_per_s =
//            1 / mean step (gen_len over the whole generation, as llama-bench's tg), the validity
//            gate is the CI of the median step, and the per-token latency distribution
//            (nearest-rank p50/p90/p99/max) covers every step of every pass.
// Formats: every --formats entry names a model variant (model/variants.h: `source` = the file as
// stored, or a quantize preset made and cached like the perplexity suite's), default the same
// presets as the perplexity suite; both engines load the same variant file.
// Prompts are fixed-seed random token ids after BOS, like llama-bench's, so every engine gets the
// same input whatever its tokenizer. Backends: qbench's own (the best for each format, or the
// --backends given) and `llama.cpp` (libllama, model/engine_llamacpp.cpp) on the same GGUF; a
// missing llama.cpp leaves its cells unsupported with the reason. The cells of each suite are
// interleaved across rounds (Suite::interleave_group), so qbench and llama.cpp are compared ABAB.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <string>

#include <fmt/format.h>

#include "model/engine.h"
#include "model/variants.h"
#include "qb/command.h"
#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/measure.h"
#include "qb/metrics.h"
#include "qb/suite.h"

namespace qb {
namespace {

constexpr const char* kLlamaCpp = "llama.cpp";

// Peak RSS of this process since the last reset (Linux: writing 5 to clear_refs resets VmHWM).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  return 0;
}

// The phase split of an engine that times its phases: the shares as metrics (time_share_*), and
// per token, in ms, the matmuls by weight role, attention, the rest and the total as a parameter.
void record_time_split(CellResult& r, const model::PhaseTimes& t) {
  const auto shares = model::time_shares(t);
  if (!shares || t.tokens <= 0) return;
  r.metrics[metric::time_share_matmul] = shares->matmul;
  r.metrics[metric::time_share_attention] = shares->attention;
  r.metrics[metric::time_share_other] = shares->other;
  const double per_token_ms = 1e3 / double(t.tokens);
  nlohmann::json split;
  for (size_t i = 0; i < t.matmul_s.size(); ++i)
    split["matmul_" + std::string(model::role_name(model::LinearRole(i)))] = t.matmul_s[i] * per_token_ms;
  split["attention"] = t.attention_s * per_token_ms;
  split["other"] = (t.total_s - t.matmul_total_s() - t.attention_s) * per_token_ms;
  split["total"] = t.total_s * per_token_ms;
  r.cell.params["time_split_ms_per_token"] = split;
}

// Nearest-rank percentile of sorted samples: the smallest value with at least p of them at or below.
double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = size_t(std::ceil(p * double(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

class ModelSpeedSuite : public Suite {
 public:
  explicit ModelSpeedSuite(bool prefill) : prefill_(prefill) {}
  std::string name() const override { return prefill_ ? "prefill" : "decode"; }
  std::string description() const override {
    return prefill_
               ? "Model prefill tokens/s (pp<prompt-len>) and time to first token, per format x backend x threads "
                 "(--model)"
               : "Model decode tokens/s (tg<gen-len>) and per-token latency, per format x backend x threads (--model)";
  }
  int order() const override { return prefill_ ? 60 : 61; }
  std::string interleave_group(const Cell&) const override { return name(); }
  bool takes_presets() const override { return true; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    std::vector<Cell> cells;
    const RunConfig& cfg = ctx.cfg;
    if (cfg.model.empty()) return cells;
    std::vector<std::string> backends = cfg.backends;
    if (backends.empty()) backends = {"", kLlamaCpp};  // "": qbench's best own backend per tensor
    const int64_t len = prefill_ ? cfg.prompt_len : cfg.gen_len;
    for (const auto& fmt_name : model::requested_variants(cfg.formats))
      for (const auto& b : backends) {
        if (b != kLlamaCpp && !b.empty() && !find_backend(b)) continue;  // peers have no model runtime
        for (int th : resolve_threads(ctx)) {
          Cell c;
          c.suite = name();
          c.format = fmt_name;
          c.backend = b.empty() ? "qbench" : b;
          c.workload =
              fmt::format("{}{}{}", prefill_ ? "pp" : "tg", len, cfg.depth ? fmt::format("@d{}", cfg.depth) : "");
          c.threads = th;
          c.placement = kNoField;
          c.params = {{"model", cfg.model},
                      {"cache", model::variant_cache_dir(cfg.cache_dir, cfg.out_dir)},
                      {"prompt_len", cfg.prompt_len},
                      {"gen_len", cfg.gen_len},
                      {"depth", cfg.depth},
                      {"kv_type", cfg.kv_type},
                      {"tokens", len},
                      {"own_backend", b == kLlamaCpp ? "" : b}};
          cells.push_back(std::move(c));
        }
      }
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    CellResult r;
    r.cell = cell;
    const bool llama = cell.backend == kLlamaCpp;
    if (llama && !model::llamacpp_unavailable().empty()) {
      r.status = CellStatus::Unsupported;
      r.error = "llama.cpp unavailable: " + model::llamacpp_unavailable();
      return r;
    }
    const auto& p = cell.params;
    const int64_t prompt_len = p["prompt_len"], gen_len = p["gen_len"], depth = p["depth"];
    const model::Variant v = model::make_variant(p["model"], cell.format, p["cache"], cell.threads, globals().quiet);
    if (!v.load_format.empty() && llama) {
      r.status = CellStatus::Unsupported;
      r.error = fmt::format("{} is a qbench format, not a GGUF file type: llama.cpp cannot load it", cell.format);
      return r;
    }
    model::EngineOptions eo;
    eo.path = v.path;
    eo.format = v.load_format;
    eo.threads = cell.threads;
    eo.backend = p.value("own_backend", "");
    eo.kv_type = p.value("kv_type", "f16");
    eo.n_ctx = depth + (prefill_ ? prompt_len : gen_len + 1) + 1;
    reset_peak_rss();
    const auto t_load = std::chrono::steady_clock::now();
    auto engine = llama ? model::open_llamacpp_engine(eo) : model::open_qbench_engine(eo);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

    // Fixed-seed random ids after BOS (never id 0..2, the usual pad/eos/bos ids).
    const std::vector<int32_t> bos = engine->tokenize("");
    const int32_t n_vocab = engine->n_vocab();
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(3, n_vocab - 1);
    std::vector<int32_t> context(bos);
    while (int64_t(context.size()) < std::max<int64_t>(depth, 1)) context.push_back(pick(rng));
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
    for (auto& t : prompt) t = pick(rng);

    // Sampling (one round of the interleaved plan; the runner merges the rounds). After the load, a
    // warm-up touches every weight once at a fraction of a pass's cost: kWarmupPrompt tokens of
    // prefill, or kWarmupTokens decode steps. Then timed passes: a prefill sample is one pass of
    // the prompt; a decode sample is one generated token (a pass of gen_len tokens gives gen_len
    // samples, so the per-token median is known precisely from a single tg128 pass). Passes go on
    // until the per-round minimum (kMinPrefillPasses, or one decode pass) and the median's CI
    // target are met, or the round's time cap (once the minimum is in). This keeps a tg128 cell at about one pass per
    // round instead of five, which is what fits a 6-format x 3-backend x 2-thread study in 20 minutes.
    const MeasureOptions& mo = ctx.cfg.measure;
    Measurement m;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    auto start = [&] {
      engine->reset();
      if (depth > 0 || !prefill_)
        engine->append(depth > 0 ? std::span<const int32_t>(context) : std::span<const int32_t>(bos));
    };
    start();
    if (prefill_)
      engine->append(std::span<const int32_t>(prompt).first(size_t(std::min<int64_t>(prompt_len, kWarmupPrompt))));
    else
      for (int32_t next = pick(rng), g = 0; g < std::min<int64_t>(gen_len, kWarmupTokens); ++g)
        next = engine->append(std::span<const int32_t>(&next, 1));
    const MeasureOptions round_opt = round_options(mo, gen_len);
    model::PhaseTimes phases;  // over the timed passes (qbench only)
    int passes = 0;
    for (;;) {
      start();
      engine->reset_phase_times();
      if (prefill_) {
        const auto a = std::chrono::steady_clock::now();
        engine->append(prompt);
        m.samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
      } else {
        int32_t next = pick(rng);
        for (int64_t g = 0; g < gen_len; ++g) {
          const auto a = std::chrono::steady_clock::now();
          next = engine->append(std::span<const int32_t>(&next, 1));
          m.samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
        }
      }
      ++passes;
      if (const auto pt = engine->phase_times(); pt) phases += *pt;
      // The time cap only cuts passes beyond the round's minimum: a round cut short of it would
      // leave the merged cell below the minimum scaled to the rounds run (rejudge), i.e. invalid.
      const bool minimum = int(m.samples.size()) >= round_opt.min_samples;
      if (passes >= kMaxPasses || (minimum && elapsed() > mo.max_time_s)) break;
      if (!minimum || elapsed() < mo.min_time_s) continue;
      judge(m, round_opt, false);
      if (m.stats.median_ci_rel <= 0.9 * mo.max_ci_rel) break;
    }
    m.total_time_s = elapsed();
    judge(m, round_opt, elapsed() > mo.max_time_s);
    r.has_stats = true;
    r.samples = m.samples;
    r.stats = m.stats;
    r.valid = m.valid;
    r.reasons = m.reasons;
    r.counters["stop"] = {{"time_s", m.total_time_s}, {"passes", passes}, {"cap_hit", m.cap_hit}};
    r.metrics[metric::peak_rss_bytes] = peak_rss_bytes();
    r.metrics[metric::weight_bytes] = double(engine->weight_bytes());
    if (engine->kv_bytes() > 0) r.metrics[metric::kv_cache_bytes] = double(engine->kv_bytes());
    record_time_split(r, phases);
    r.cell.params["engine"] = engine->describe();
    r.cell.params["variant"] = v.path;
    r.metrics[metric::bits_per_weight] = model::file_bits_per_weight(v.path);
    r.cell.params["load_s"] = load_s;
    r.cell.params["repack_s"] = engine->repack_seconds();  // included in load_s
    r.cell.params["prompt"] = "fixed-seed random token ids after BOS (llama-bench style)";
    r.cell.params["peak_rss_method"] = "VmHWM of the process after resetting it (clear_refs 5) before this cell's load";
    rates(r);
    return r;
  }

  // Merged rounds: the sampling verdict again, with the minimum scaled to the rounds run (the
  // runner judged them against the kernel suites' minimum), then the rates.
  void rejudge(CellResult& r, const RunContext& ctx) const override {
    const auto rounds = r.counters.value("rounds", nlohmann::json::array());
    MeasureOptions opt = round_options(ctx.cfg.measure, r.cell.params["gen_len"].get<int64_t>());
    opt.min_samples *= std::max<int>(1, int(rounds.size()));
    Measurement m;
    m.samples = r.samples;
    m.total_time_s = r.counters.value("stop", nlohmann::json::object()).value("time_s", 0.0);
    judge(m, opt, false);
    std::erase_if(r.reasons, [](const std::string& why) { return is_sampling_reason(why); });
    r.reasons.insert(r.reasons.end(), m.reasons.begin(), m.reasons.end());
    r.stats = m.stats;
    r.valid = r.reasons.empty();
    rates(r);
  }

 private:
  // Kept small so that a 20-minute study fits (see measure()); the time caps are the runner's.
  static constexpr int64_t kWarmupPrompt = 32, kWarmupTokens = 4;
  static constexpr int kMinPrefillPasses = 2, kMaxPasses = 40;
  // A round's sampling options: the minimum is counted in passes (prefill) or generated tokens.
  MeasureOptions round_options(const MeasureOptions& mo, int64_t gen_len) const {
    MeasureOptions o = mo;
    o.min_samples = prefill_ ? kMinPrefillPasses : int(gen_len);
    return o;
  }
  // Prefill: a sample is one pass of the prompt: tokens/s = prompt_len / median, and the time to
  // first token is the median pass. Decode: a sample is one token step: tokens/s = 1 / mean step
  // (gen_len tokens over the whole generation, as llama-bench's tg), time_s the mean generation,
  // and the per-token latency percentiles (nearest rank) over every step of every pass.
  void rates(CellResult& r) const {
    if (!r.has_stats || r.stats.median <= 0 || r.samples.empty()) return;
    const double tokens = r.cell.params["tokens"].get<double>();
    if (prefill_) {
      r.metrics[metric::time_s] = r.stats.median;
      r.metrics[metric::tokens_per_s] = tokens / r.stats.median;
      r.metrics[metric::ttft_ms] = 1e3 * r.stats.median;
      return;
    }
    std::vector<double> steps = r.samples;
    std::sort(steps.begin(), steps.end());
    const double mean = std::accumulate(steps.begin(), steps.end(), 0.0) / double(steps.size());
    r.metrics[metric::time_s] = tokens * mean;
    r.metrics[metric::tokens_per_s] = 1.0 / mean;
    r.metrics[metric::p50_us] = 1e6 * nearest_rank(steps, 0.50);
    r.metrics[metric::p90_us] = 1e6 * nearest_rank(steps, 0.90);
    r.metrics[metric::p99_us] = 1e6 * nearest_rank(steps, 0.99);
    r.metrics[metric::max_us] = 1e6 * steps.back();
    r.cell.params["latency_samples"] = steps.size();
  }
  bool prefill_;
};

struct PrefillSuite : ModelSpeedSuite {
  PrefillSuite() : ModelSpeedSuite(true) {}
};
struct DecodeSuite : ModelSpeedSuite {
  DecodeSuite() : ModelSpeedSuite(false) {}
};
QB_REGISTER_SUITE(PrefillSuite);
QB_REGISTER_SUITE(DecodeSuite);

}  // namespace
}  // namespace qb
