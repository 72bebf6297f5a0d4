// `qbench perplexity --model M.gguf [--dataset FILE] [--ctx N] [--chunks N] [--format F]
//  [--backend B] [--threads N] [--kv-type f16|f32|q8_0] [--kld-base FILE] [--json]`: perplexity of a GGUF model on
// a text by llama-perplexity's method (harness/model/perplexity.h), the forward pass on qbench's
// kernels; with --kld-base, KL divergence against a base model's log-probabilities (model/kld.h).
// Progress (chunks, tokens/s, ETA) on stderr. Debug outputs for cross-checks against llama.cpp:
// --tokenize-only (token ids as JSON on stdout), --logits-out FILE (float32 logits of every
// position of every evaluated chunk, [chunk][position][vocab]).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/model.h"
#include "model/perplexity.h"
#include "model/tokenizer.h"
#include "model/variants.h"
#include "qb/command.h"

namespace qb {
namespace {

struct Args {
  std::string model, dataset, backend, format, kv = "f16", logits_out, kld_base;
  int64_t ctx = 512, chunks = -1;
  int threads = 0;
  bool json = false, tokenize_only = false;
};

void run_perplexity(const Args& a) {
  const bool quiet = globals().quiet;
  model::ModelOptions mo;
  mo.backend = a.backend;
  mo.format = a.format;
  mo.threads = a.threads;
  mo.n_ctx = a.ctx;
  mo.kv = model::parse_kv_type(a.kv);
  const std::string dataset = a.dataset.empty() ? model::default_dataset() : a.dataset;
  const std::string text = model::read_text_file(dataset);

  if (a.tokenize_only) {
    // The tokenizer alone: vocabulary-only GGUFs (no weights, any architecture) tokenize too.
    const auto file = gguf::File::open(a.model);
    const std::vector<int32_t> tokens = model::load_tokenizer(*file)->tokenize(text, true);
    nlohmann::json j;
    j["model"] = a.model;
    j["dataset"] = dataset;
    j["n_tokens"] = tokens.size();
    j["tokens"] = tokens;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  auto m = model::Model::load(a.model, mo);
  const auto& tok = m->tokenizer();
  const std::vector<int32_t> tokens = tok.tokenize(text, true);
  if (!quiet)
    std::fprintf(
        stderr,
        "qbench perplexity: %s (%s, %lld layers), %zu tokens of %s, ctx %lld, %d threads, KV %s\n  kernels: %s\n",
        a.model.c_str(), m->config().arch.c_str(), (long long)m->config().n_layer, tokens.size(), dataset.c_str(),
        (long long)a.ctx, m->threads(), a.kv.c_str(), m->kernel_summary().c_str());

  std::unique_ptr<std::ofstream> logits_out;
  if (!a.logits_out.empty()) {
    logits_out = std::make_unique<std::ofstream>(a.logits_out, std::ios::binary);
    if (!*logits_out) throw UsageError(fmt::format("cannot write '{}'", a.logits_out));
  }
  model::PerplexityResult r;
  model::KldRunResult kr;
  if (!a.kld_base.empty() && logits_out) throw UsageError("--kld-base and --logits-out cannot be combined");
  auto progress = [&](const model::PerplexityProgress& p) {
    if (quiet) return;
    const double eta = p.seconds / double(p.chunk) * double(p.n_chunks - p.chunk);
    std::fprintf(stderr, "  [%lld/%lld] PPL %.4f  %.1f tokens/s  ETA %.0f s\n", (long long)p.chunk,
                 (long long)p.n_chunks, p.ppl, p.tokens_per_s, eta);
  };
  if (logits_out) {
    // Same method, every position's logits kept: evaluate chunk by chunk here.
    const int64_t n_ctx = a.ctx, n_vocab = m->config().n_vocab;
    if (int64_t(tokens.size()) < 2 * n_ctx)
      throw UsageError(fmt::format("the text tokenizes to {} tokens; a context of {} needs at least {}", tokens.size(),
                                   n_ctx, 2 * n_ctx));
    const int64_t n_max = int64_t(tokens.size()) / n_ctx;
    const int64_t n_chunks = a.chunks < 0 ? n_max : std::min(a.chunks, n_max);
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    for (int64_t c = 0; c < n_chunks; ++c) {
      std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
      if (tok.add_bos()) chunk[0] = tok.bos();
      m->reset();
      m->eval(chunk, 0, [&](int64_t i0, int64_t rows, const float* logits) {
        logits_out->write(reinterpret_cast<const char*>(logits), std::streamsize(rows * n_vocab * sizeof(float)));
        for (int64_t i = i0; i < i0 + rows; ++i) {
          if (i < n_ctx / 2 || i >= n_ctx - 1) continue;
          const double v = model::token_nll(logits + (i - i0) * n_vocab, n_vocab, tokens[size_t(c * n_ctx + i + 1)]);
          nll += v;
          nll2 += v * v;
          ++count;
        }
      });
    }
    r.n_text_tokens = int64_t(tokens.size());
    r.n_ctx = n_ctx;
    r.n_chunks = n_chunks;
    r.n_scored = count;
    r.nll_mean = nll / double(count);
    r.ppl = std::exp(r.nll_mean);
    const double var = nll2 / double(count) - r.nll_mean * r.nll_mean;
    r.ppl_stderr = var > 0 && count > 1 ? std::sqrt(var / double(count - 1)) * r.ppl : 0.0;
  } else {
    const std::string id = a.kld_base.empty()
                               ? ""
                               : fmt::format("{} ({}, format {})", a.model, model::file_identity(a.model),
                                             a.format.empty() ? "as stored" : a.format);
    kr = model::perplexity_kld(*m, tokens, a.ctx, a.chunks, a.kld_base, id, progress);
    r = kr.ppl;
    if (kr.wrote_base && !quiet) std::fprintf(stderr, "  KLD base written to %s\n", a.kld_base.c_str());
  }
  const model::KldStats& k = kr.kld;

  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = a.model;
    j["architecture"] = m->config().arch;
    j["dataset"] = dataset;
    j["ctx"] = r.n_ctx;
    j["chunks"] = r.n_chunks;
    j["text_tokens"] = r.n_text_tokens;
    j["scored_tokens"] = r.n_scored;
    j["ppl"] = r.ppl;
    j["ppl_stderr"] = r.ppl_stderr;
    j["nll_mean"] = r.nll_mean;
    j["seconds"] = r.seconds;
    j["tokens_per_s"] = r.tokens_per_s;
    j["threads"] = m->threads();
    j["kv"] = std::string(model::kv_type_name(mo.kv));
    j["format"] = a.format.empty() ? "as stored" : a.format;
    j["backend"] = a.backend.empty() ? "best" : a.backend;
    j["kernels"] = m->kernel_summary();
    j["chunk_ppl"] = r.chunk_ppl;
    if (!a.kld_base.empty()) {
      j["kld_base"] = a.kld_base;
      j["kld_base_model"] = kr.base_model_id;
      j["kld_base_written"] = kr.wrote_base;
    }
    if (kr.compared) {
      auto num = [](double x) {
        return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
      };
      j["kld"] = {{"top_k", model::kKldTopK},       {"mean", num(k.kld_mean)},
                  {"stderr", num(k.kld_stderr)},    {"median", num(k.kld_median)},
                  {"p90", num(k.kld_p90)},          {"p95", num(k.kld_p95)},
                  {"p99", num(k.kld_p99)},          {"p99_9", num(k.kld_p999)},
                  {"max", num(k.kld_max)},          {"top1_agreement", k.top1_agreement},
                  {"delta_p_mean", k.delta_p_mean}, {"delta_p_rms", k.delta_p_rms},
                  {"delta_p_p01", k.delta_p_p01},   {"delta_p_median", k.delta_p_median},
                  {"delta_p_p99", k.delta_p_p99},   {"ppl_base", k.ppl_base},
                  {"ppl_ratio", k.ppl_ratio},       {"ln_ppl_correlation", num(k.ln_ppl_correlation)}};
    }
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    std::printf("PPL = %.4f +/- %.5f  (%lld chunks of %lld tokens, %lld scored; %.1f tokens/s)\n", r.ppl, r.ppl_stderr,
                (long long)r.n_chunks, (long long)r.n_ctx, (long long)r.n_scored, r.tokens_per_s);
    if (kr.compared) {
      std::printf("KLD vs base %s (top-%d + remainder, a lower bound):\n", kr.base_model_id.c_str(), model::kKldTopK);
      std::printf("  mean %.6f +/- %.6f  median %.6f  p90 %.6f  p95 %.6f  p99 %.6f  p99.9 %.6f  max %.6f\n", k.kld_mean,
                  k.kld_stderr, k.kld_median, k.kld_p90, k.kld_p95, k.kld_p99, k.kld_p999, k.kld_max);
      std::printf("  same top p %.3f %%   delta-p mean %.3f %%  rms %.3f %%  p1 %.3f %%  median %.3f %%  p99 %.3f %%\n",
                  100 * k.top1_agreement, 100 * k.delta_p_mean, 100 * k.delta_p_rms, 100 * k.delta_p_p01,
                  100 * k.delta_p_median, 100 * k.delta_p_p99);
      std::printf("  PPL(base) %.4f  PPL ratio %.6f  corr(ln PPL) %.4f\n", k.ppl_base, k.ppl_ratio,
                  k.ln_ppl_correlation);
    }
  }
}

void add_perplexity(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a GGUF model on a text (llama-perplexity's method)");
  cmd->add_option("--model", a->model, "GGUF model file")->required();
  cmd->add_option("--dataset", a->dataset,
                  "Text file (plain or wikitext-2 raw); default: datasets/text/us-public-domain.txt");
  cmd->add_option("--ctx", a->ctx, "Tokens per chunk (default 512)")->check(CLI::Range(int64_t(4), int64_t(1) << 20));
  cmd->add_option("--chunks", a->chunks, "Chunks to evaluate (default: all)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--format", a->format, "Requantize linear weights to this format (default: as stored)");
  cmd->add_option("--backend", a->backend, "Own backend (scalar, avx2, avx512, neon; default: best per format)");
  cmd->add_option("--threads", a->threads, "Worker threads (default: all PUs)")->check(CLI::Range(1, 4096));
  cmd->add_option("--kv-type,--kv", a->kv, "KV cache type: f16 (default), f32 or q8_0");
  cmd->add_option(
      "--kld-base", a->kld_base,
      "KL divergence: write this model's top-k log-probabilities to FILE when it does not exist, else compare "
      "with them (like llama-perplexity --kl-divergence-base)");
  cmd->add_flag("--json", a->json, "Print a JSON result on stdout");
  cmd->add_flag("--tokenize-only", a->tokenize_only,
                "Print the text's token ids as JSON and stop (reads only the tokenizer: vocabulary-only GGUFs work)");
  cmd->add_option("--logits-out", a->logits_out, "Write float32 logits of every position of every chunk to FILE");
  cmd->callback([a] { run_perplexity(*a); });
}

}  // namespace
QB_REGISTER_COMMAND(perplexity, "perplexity", 45, add_perplexity);
}  // namespace qb
