// Perplexity by llama-perplexity's method (llama.cpp tools/perplexity, perplexity()):
// the whole text is tokenized once (with BOS when the model adds one), split into non-overlapping
// chunks of n_ctx tokens (tokens.size() / n_ctx of them, at least 2 * n_ctx tokens needed); each
// chunk is evaluated from an empty KV cache with its first token replaced by BOS; only the second
// half is scored: the logits at positions first = n_ctx/2 .. n_ctx-2 predict the next token.
// PPL = exp(mean NLL); its error = PPL * sqrt((mean(NLL^2) - mean(NLL)^2) / (count - 1)).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/kld.h"
#include "model/model.h"

namespace qb::model {

struct PerplexityProgress {
  int64_t chunk = 0, n_chunks = 0;  // chunks done / total
  double ppl = 0;                   // running estimate
  double seconds = 0;               // elapsed
  double tokens_per_s = 0;          // evaluated tokens per second
};

struct PerplexityResult {
  double ppl = 0, ppl_stderr = 0, nll_mean = 0;
  int64_t n_text_tokens = 0, n_ctx = 0, n_chunks = 0, n_scored = 0;
  double seconds = 0, tokens_per_s = 0;
  std::vector<double> chunk_ppl;  // running PPL after each chunk, as llama-perplexity prints it
};

// -log softmax(logits)[tok] as llama-perplexity computes it (float max, double sum of expf).
double token_nll(const float* logits, int64_t n_vocab, int32_t tok);

// Sees every scored row: chunk c, j = position - n_ctx/2 (0 .. n_ctx - n_ctx/2 - 2), its logits and the
// true next token. Called from the model's threads, concurrently for different rows.
using ScoredRowFn = std::function<void(int64_t chunk, int64_t j, const float* logits, int32_t next_tok)>;
// Scored rows per chunk.
inline int64_t scored_per_chunk(int64_t n_ctx) { return n_ctx - 1 - n_ctx / 2; }

// Throws qb::UsageError when the text is shorter than 2 * n_ctx tokens or n_ctx exceeds the cache.
// on_chunk(c) runs after chunk c is scored, before its progress report.
PerplexityResult perplexity(Model& m, const std::vector<int32_t>& tokens, int64_t n_ctx, int64_t max_chunks,
                            const std::function<void(const PerplexityProgress&)>& progress = {},
                            const ScoredRowFn& on_row = {}, const std::function<void(int64_t)>& on_chunk = {});

// Perplexity and, with a base file, KL divergence against a base model (llama-perplexity's
// --kl-divergence-base): when `base_path` does not exist, this model is the base and its top-k
// log-probabilities are written there (model_id says what it is); when it exists, this model is
// compared with it (same text, ctx and chunks, else qb::UsageError). See model/kld.h.
struct KldRunResult {
  PerplexityResult ppl;
  bool wrote_base = false;
  bool compared = false;
  KldStats kld;               // when compared
  std::string base_model_id;  // of the base file
};
KldRunResult perplexity_kld(Model& m, const std::vector<int32_t>& tokens, int64_t n_ctx, int64_t max_chunks,
                            const std::string& base_path, const std::string& model_id,
                            const std::function<void(const PerplexityProgress&)>& progress = {});

// Reads a dataset file as bytes (plain text or wikitext-2 raw, used as-is like llama-perplexity -f).
std::string read_text_file(const std::string& path);
// datasets/text/us-public-domain.txt next to the binary or in the source tree; UsageError if absent.
std::string default_dataset();

}  // namespace qb::model
