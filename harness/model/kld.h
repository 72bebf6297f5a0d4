// KL divergence of a model's next-token distributions against a base model's, as llama-perplexity's
// --kl-divergence does, but with a compact base: per scored token the base keeps its top-k
// log-probabilities (k = kKldTopK), the log-probability of the true next token and the log of the
// remaining mass (every token outside the top k, summed in double). The log-sum-exp is folded into
// those normalized log-probabilities. The KLD of a token is then computed over k + 1 outcomes (the
// top k and one remainder bucket): by the log-sum inequality this is a lower bound of the full-vocab
// KLD; docs/perplexity.md says how close it is on Gemma 3 270M.
// Everything here is double precision with the maximum subtracted before exp (no overflow for any
// finite logits).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qb::model {

constexpr int kKldTopK = 32;

// The base's view of one scored token.
struct BaseToken {
  int32_t ids[kKldTopK];  // top-k token ids, most probable first (ties: lower id first)
  double logp[kKldTopK];  // their log-probabilities (double: a model compared with itself gives 0 exactly)
  double logp_true = 0;   // log-probability of the true next token
  double logp_rest = 0;   // log of the probability mass outside the top k (-inf when none)
};

// Log-sum-exp of logits in double (max subtracted).
double log_sum_exp(const float* logits, int64_t n_vocab);
// The base record of one position; k = min(kKldTopK, n_vocab), unused slots get id -1.
BaseToken make_base_token(const float* logits, int64_t n_vocab, int32_t true_tok);

// One token of a model compared with the base.
struct TokenComparison {
  double kld = 0;                  // top-k + remainder KLD(base || model), nats, >= 0
  bool top1_same = false;          // the model's argmax is the base's
  double p_base = 0, p_model = 0;  // probability of the true token
  double nll = 0;                  // -log p_model(true token)
};
TokenComparison compare_token(const BaseToken& base, const float* logits, int64_t n_vocab, int32_t true_tok);

// Full-vocabulary KLD(softmax(p_logits) || softmax(q_logits)) in double: the quantity the top-k
// form bounds from below (used by tests and the measurement of how tight the bound is).
double kld_full(const float* p_logits, const float* q_logits, int64_t n_vocab);

// Statistics over all scored tokens of one model against the base.
struct KldStats {
  int64_t n = 0;
  double kld_mean = 0, kld_stderr = 0;
  double kld_median = 0, kld_p90 = 0, kld_p95 = 0, kld_p99 = 0, kld_p999 = 0, kld_max = 0;
  double top1_agreement = 0;                 // fraction of tokens with the same argmax
  double delta_p_mean = 0, delta_p_rms = 0;  // p_model - p_base of the true token
  double delta_p_p01 = 0, delta_p_median = 0, delta_p_p99 = 0;
  double ppl_base = 0, ppl_model = 0, ppl_ratio = 0;  // exp(mean NLL) of each, model / base
  double ln_ppl_correlation = 0;                      // Pearson r of per-chunk ln PPL (NaN with fewer than 2 chunks)
};

// Accumulates comparisons; chunk boundaries give the per-chunk ln PPL.
class KldAccumulator {
 public:
  void add(const TokenComparison& c, double base_nll);
  void end_chunk();
  KldStats stats() const;

 private:
  std::vector<double> kld_, dp_;
  int64_t same_ = 0;
  double nll_model_ = 0, nll_base_ = 0;
  double chunk_model_ = 0, chunk_base_ = 0;
  int64_t chunk_n_ = 0;
  std::vector<double> chunk_ln_model_, chunk_ln_base_;
};

// Percentile of sorted values by linear interpolation between closest ranks (q in [0, 1]).
double percentile_sorted(const std::vector<double>& sorted, double q);

// The base log-probabilities of a whole run, kept in a file: the base runs once per
// (model, dataset, ctx, chunks) and every format is compared with it.
struct KldBase {
  std::string model_id;      // what the base is (path + content hash), checked on reuse
  uint64_t tokens_hash = 0;  // of the tokenized text: a different dataset or tokenizer is refused
  int64_t n_vocab = 0, n_ctx = 0, n_chunks = 0, per_chunk = 0;  // per_chunk scored tokens per chunk
  std::vector<BaseToken> tokens;                                // n_chunks * per_chunk, chunk-major
};
void write_kld_base(const std::string& path, const KldBase& b);  // atomic (temporary + rename)
KldBase read_kld_base(const std::string& path);                  // throws UsageError naming the problem
uint64_t hash_tokens(const std::vector<int32_t>& tokens);

}  // namespace qb::model
