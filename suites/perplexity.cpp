// The `perplexity` suite: how much each quantization of a real model changes what it predicts.
// With --model M.gguf, every --formats entry names a model variant (model/variants.h: a preset made
// by `qbench quantize`'s code and cached under <out>/variants or --cache, `source` for the file as
// stored, or a format the linear weights are requantized to on load). Each cell (format x backend x
// threads, workload "model") runs llama-perplexity's method on --dataset with --ctx / --chunks and
// compares every scored token with the KLD base: the source file, evaluated once per (dataset, ctx,
// chunks) and kept as top-k log-probabilities (model/kld.h). Metrics: ppl +/- stderr, KLD mean +/-
// stderr and percentiles, top-1 agreement, delta-p of the true token, PPL ratio and ln-PPL
// correlation against the base, bits per weight, evaluation tokens/s.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "model/kld.h"
#include "model/model.h"
#include "model/perplexity.h"
#include "model/variants.h"
#include "qb/command.h"
#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/metrics.h"
#include "qb/suite.h"

namespace qb {
namespace {

namespace fs = std::filesystem;

// Below this many scored tokens the PPL's standard error is too large to rank formats by.
constexpr int64_t kMinScoredTokens = 100;

class PerplexitySuite : public Suite {
 public:
  std::string name() const override { return "perplexity"; }
  std::string description() const override {
    return "Model variants per format (with --model): perplexity, KL divergence and top-1 agreement against the "
           "source model";
  }
  int order() const override { return 62; }  // after prefill / decode
  bool takes_presets() const override { return true; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    const RunConfig& cfg = ctx.cfg;
    std::vector<Cell> cells;
    if (cfg.model.empty()) {
      if (std::find(cfg.suites.begin(), cfg.suites.end(), name()) != cfg.suites.end())
        throw UsageError("the perplexity suite needs a model: give --model FILE.gguf");
      return cells;
    }
    const std::vector<std::string> formats = model::requested_variants(cfg.formats);
    std::vector<std::string> backends;  // own backends only; "best": each tensor's best kernel
    for (const auto& b : cfg.backends)
      if (find_backend(b)) backends.push_back(b);
    if (backends.empty()) backends.push_back("best");
    // Quality does not depend on the thread count (each output row and attention head is summed
    // by one thread, in the same order, whatever the split: PPL is bit-identical at 1 and 2
    // threads), so one cell per format x backend, at the largest requested count, the fastest.
    const int t =
        cfg.threads.empty() ? std::max(1, ctx.topo.pus) : *std::max_element(cfg.threads.begin(), cfg.threads.end());
    for (const auto& f : formats)
      for (const auto& b : backends) {
        Cell c;
        c.suite = name();
        c.format = f;
        c.backend = b;
        c.workload = "model";
        c.threads = t;
        c.placement = kNoField;
        c.params = {{"model", cfg.model},
                    {"dataset", cfg.dataset.empty() ? model::default_dataset() : cfg.dataset},
                    {"ctx", cfg.ctx},
                    {"chunks", cfg.chunks},
                    {"cache", model::variant_cache_dir(cfg.cache_dir, cfg.out_dir)}};
        cells.push_back(std::move(c));
      }
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    const bool quiet = globals().quiet;
    const std::string source = cell.params.at("model").get<std::string>();
    const std::string dataset = cell.params.at("dataset").get<std::string>();
    const std::string cache = cell.params.at("cache").get<std::string>();
    const int64_t n_ctx = cell.params.at("ctx").get<int64_t>();
    const int64_t chunks = cell.params.at("chunks").get<int64_t>();

    const model::Variant v = model::make_variant(source, cell.format, cache, cell.threads, quiet);
    const model::KldBaseInfo bi = model::kld_base_of(source);
    const std::string text = model::read_text_file(dataset);
    const std::string base_path = ensure_base(source, dataset, text, cache, n_ctx, chunks, cell.threads, quiet);

    model::ModelOptions mo;
    mo.backend = cell.backend == "best" ? "" : cell.backend;
    mo.threads = cell.threads;
    mo.n_ctx = n_ctx;
    mo.format = v.load_format;
    std::unique_ptr<model::Model> m;
    try {
      m = model::Model::load(v.path, mo);
    } catch (const UsageError& e) {
      if (mo.backend.empty()) throw;
      CellResult u;  // e.g. a tensor format without a kernel on this backend
      u.cell = cell;
      u.status = CellStatus::Unsupported;
      u.error = e.what();
      return u;
    }
    const std::vector<int32_t> tokens = m->tokenizer().tokenize(text, true);
    if (!quiet)
      std::fprintf(stderr, "perplexity: %s (%s) on %s backend, %d threads\n", cell.format.c_str(), v.path.c_str(),
                   cell.backend.c_str(), m->threads());
    const auto run =
        model::perplexity_kld(*m, tokens, n_ctx, chunks, base_path, "", progress_printer(cell.format, quiet));
    const model::KldStats& k = run.kld;

    CellResult r;
    r.cell = cell;
    auto& mt = r.metrics;
    mt[metric::ppl] = run.ppl.ppl;
    mt[metric::ppl_stderr] = run.ppl.ppl_stderr;
    mt[metric::kld_mean] = k.kld_mean;
    mt[metric::kld_stderr] = k.kld_stderr;
    mt[metric::kld_median] = k.kld_median;
    mt[metric::kld_p90] = k.kld_p90;
    mt[metric::kld_p95] = k.kld_p95;
    mt[metric::kld_p99] = k.kld_p99;
    mt[metric::kld_p999] = k.kld_p999;
    mt[metric::kld_max] = k.kld_max;
    mt[metric::top1_agreement] = k.top1_agreement;
    mt[metric::delta_p_mean] = k.delta_p_mean;
    mt[metric::delta_p_rms] = k.delta_p_rms;
    mt[metric::delta_p_p01] = k.delta_p_p01;
    mt[metric::delta_p_median] = k.delta_p_median;
    mt[metric::delta_p_p99] = k.delta_p_p99;
    mt[metric::ppl_ratio] = k.ppl_ratio;
    if (std::isfinite(k.ln_ppl_correlation)) mt[metric::ln_ppl_correlation] = k.ln_ppl_correlation;
    mt[metric::tokens_per_s] = run.ppl.tokens_per_s;
    if (v.load_format.empty()) {
      mt[metric::bits_per_weight] = model::file_bits_per_weight(v.path);
    } else if (const FormatTraits* f = find_format(v.load_format)) {
      mt[metric::bits_per_weight] = f->bits_per_weight(m->config().n_embd);  // linear weights only
      r.cell.params["bits_per_weight_basis"] = "linear weights requantized on load, nominal for rows of n_embd";
    }
    auto& p = r.cell.params;
    p["variant"] = v.path;
    p["variant_reused"] = v.reused;
    if (v.make_seconds > 0) p["variant_seconds"] = v.make_seconds;
    if (!v.key.empty()) p["variant_key"] = v.key;
    p["kld_base"] = source;
    p["kld_base_type"] = bi.type;
    p["kld_base_quantized"] = bi.quantized;
    p["kld_base_file"] = base_path;
    p["kld_top_k"] = model::kKldTopK;
    p["kld_method"] = "top-k of the base + one remainder bucket (a lower bound of the full-vocabulary KLD)";
    p["ppl_base"] = k.ppl_base;
    p["text_tokens"] = run.ppl.n_text_tokens;
    p["chunks_run"] = run.ppl.n_chunks;
    p["scored_tokens"] = run.ppl.n_scored;
    p["eval_seconds"] = run.ppl.seconds;
    p["kernels"] = m->kernel_summary();
    p["repack_s"] = m->repack_seconds();
    r.wall_s = run.ppl.seconds;
    r.valid = true;
    if (run.ppl.n_scored < kMinScoredTokens) {
      r.valid = false;
      r.reasons.push_back(fmt::format("only {} scored tokens (at least {}: raise --chunks or use a longer --dataset)",
                                      run.ppl.n_scored, kMinScoredTokens));
    }
    if (!std::isfinite(k.kld_mean)) {
      r.valid = false;
      r.reasons.push_back("KLD is not finite: the model gives no probability to tokens the base predicts");
    }
    (void)ctx;
    return r;
  }

 private:
  static std::function<void(const model::PerplexityProgress&)> progress_printer(const std::string& what, bool quiet) {
    if (quiet) return {};
    return [what](const model::PerplexityProgress& p) {
      const double eta = p.seconds / double(p.chunk) * double(p.n_chunks - p.chunk);
      std::fprintf(stderr, "  %s [%lld/%lld] PPL %.4f  %.1f tokens/s  ETA %.0f s\n", what.c_str(), (long long)p.chunk,
                   (long long)p.n_chunks, p.ppl, p.tokens_per_s, eta);
    };
  }

  // The base log-probabilities for (source, text, ctx, chunks): made once, kept in the cache.
  std::string ensure_base(const std::string& source, const std::string& dataset, const std::string& text,
                          const std::string& cache, int64_t n_ctx, int64_t chunks, int threads, bool quiet) {
    const uint64_t text_hash = model::hash_tokens(std::vector<int32_t>(text.begin(), text.end()));
    const std::string id = model::file_identity(source);
    const std::string key = fmt::format("{}|{:016x}|{}|{}|top{}", id, text_hash, n_ctx, chunks, model::kKldTopK);
    const uint64_t h = model::hash_tokens(std::vector<int32_t>(key.begin(), key.end()));
    std::error_code ec;
    fs::create_directories(cache, ec);
    if (ec) throw UsageError(fmt::format("cannot create the cache '{}': {}", cache, ec.message()));
    const std::string path =
        (fs::path(cache) / fmt::format("{}.kld-base.ctx{}.{:016x}.bin", fs::path(source).stem().string(), n_ctx, h))
            .string();
    if (fs::exists(path)) return path;
    model::ModelOptions mo;
    mo.threads = threads;
    mo.n_ctx = n_ctx;
    auto m = model::Model::load(source, mo);
    const std::vector<int32_t> tokens = m->tokenizer().tokenize(text, true);
    if (!quiet)
      std::fprintf(stderr, "perplexity: KLD base %s on %s (%zu tokens, ctx %lld) -> %s\n", source.c_str(),
                   dataset.c_str(), tokens.size(), (long long)n_ctx, path.c_str());
    model::perplexity_kld(*m, tokens, n_ctx, chunks, path, fmt::format("{} ({})", source, id),
                          progress_printer("base", quiet));
    return path;
  }
};

}  // namespace

QB_REGISTER_SUITE(PerplexitySuite);

}  // namespace qb
