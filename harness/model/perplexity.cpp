#include "model/perplexity.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "qb/errors.h"

namespace qb::model {

double token_nll(const float* logits, int64_t n_vocab, int32_t tok) {
  float mx = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    const float d = logits[i] - mx;
    if (d > -87.0f) sum += std::exp(d);  // below, expf is denormal or 0: < 1e-38 of the sum, and slow
  }
  return -(double(logits[tok] - mx) - std::log(sum));
}

PerplexityResult perplexity(Model& m, const std::vector<int32_t>& tokens, int64_t n_ctx, int64_t max_chunks,
                            const std::function<void(const PerplexityProgress&)>& progress, const ScoredRowFn& on_row,
                            const std::function<void(int64_t)>& on_chunk) {
  if (n_ctx < 4) throw UsageError(fmt::format("--ctx {} is too small (at least 4)", n_ctx));
  if (int64_t(tokens.size()) < 2 * n_ctx)
    throw UsageError(fmt::format("the text tokenizes to {} tokens; a context of {} needs at least {}", tokens.size(),
                                 n_ctx, 2 * n_ctx));
  const int64_t n_max = int64_t(tokens.size()) / n_ctx;
  const int64_t n_chunks = max_chunks < 0 ? n_max : std::min(max_chunks, n_max);
  const int64_t first = n_ctx / 2;
  const int64_t n_vocab = m.config().n_vocab;
  const bool add_bos = m.tokenizer().add_bos();

  PerplexityResult r;
  r.n_text_tokens = int64_t(tokens.size());
  r.n_ctx = n_ctx;
  r.n_chunks = n_chunks;
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t start = c * n_ctx;
    std::copy(tokens.begin() + start, tokens.begin() + start + n_ctx, chunk.begin());
    if (add_bos) chunk[0] = m.tokenizer().bos();
    m.reset();
    std::vector<double> v;
    m.eval(chunk, first, [&](int64_t i0, int64_t rows, const float* logits) {
      v.assign(size_t(rows), 0.0);
      m.parallel_for(rows, [&](int64_t r) {
        if (i0 + r >= n_ctx - 1) return;  // the last position predicts past the chunk
        const int32_t next = tokens[size_t(start + i0 + r + 1)];
        v[size_t(r)] = token_nll(logits + r * n_vocab, n_vocab, next);
        if (on_row) on_row(c, i0 + r - first, logits + r * n_vocab, next);
      });
      for (int64_t r = 0; r < rows && i0 + r < n_ctx - 1; ++r) {  // in order: deterministic sums
        nll += v[size_t(r)];
        nll2 += v[size_t(r)] * v[size_t(r)];
        ++count;
      }
    });
    r.chunk_ppl.push_back(std::exp(nll / double(count)));
    if (on_chunk) on_chunk(c);
    if (progress) {
      PerplexityProgress p;
      p.chunk = c + 1;
      p.n_chunks = n_chunks;
      p.ppl = r.chunk_ppl.back();
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      p.tokens_per_s = double((c + 1) * n_ctx) / p.seconds;
      progress(p);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_s = double(n_chunks * n_ctx) / r.seconds;
  r.n_scored = count;
  const double mean = nll / double(count);
  double var = nll2 / double(count) - mean * mean;
  r.nll_mean = mean;
  r.ppl = std::exp(mean);
  r.ppl_stderr = var > 0 && count > 1 ? std::sqrt(var / double(count - 1)) * r.ppl : 0.0;
  return r;
}

KldRunResult perplexity_kld(Model& m, const std::vector<int32_t>& tokens, int64_t n_ctx, int64_t max_chunks,
                            const std::string& base_path, const std::string& model_id,
                            const std::function<void(const PerplexityProgress&)>& progress) {
  KldRunResult out;
  if (base_path.empty()) {
    out.ppl = perplexity(m, tokens, n_ctx, max_chunks, progress);
    return out;
  }
  const int64_t per_chunk = scored_per_chunk(n_ctx);
  const int64_t n_vocab = m.config().n_vocab;
  const uint64_t th = hash_tokens(tokens);
  if (!std::filesystem::exists(base_path)) {
    KldBase b;
    b.model_id = model_id;
    b.tokens_hash = th;
    b.n_vocab = n_vocab;
    b.n_ctx = n_ctx;
    const int64_t n_max = n_ctx > 0 ? int64_t(tokens.size()) / n_ctx : 0;
    b.n_chunks = max_chunks < 0 ? n_max : std::min(max_chunks, n_max);
    b.per_chunk = per_chunk;
    b.tokens.resize(size_t(std::max<int64_t>(b.n_chunks, 0) * per_chunk));
    out.ppl = perplexity(m, tokens, n_ctx, max_chunks, progress,
                         [&](int64_t c, int64_t j, const float* logits, int32_t next) {
                           b.tokens[size_t(c * per_chunk + j)] = make_base_token(logits, n_vocab, next);
                         });
    write_kld_base(base_path, b);
    out.wrote_base = true;
    out.base_model_id = model_id;
    return out;
  }
  const KldBase b = read_kld_base(base_path);
  const int64_t n_max = int64_t(tokens.size()) / std::max<int64_t>(n_ctx, 1);
  const int64_t n_chunks = max_chunks < 0 ? n_max : std::min(max_chunks, n_max);
  if (b.tokens_hash != th || b.n_ctx != n_ctx || b.n_vocab != n_vocab)
    throw UsageError(
        fmt::format("KLD base '{}' was made from another text, tokenizer or context (its ctx {}, vocab {}; "
                    "here ctx {}, vocab {}): give the same --dataset and --ctx, or a new base file",
                    base_path, b.n_ctx, b.n_vocab, n_ctx, n_vocab));
  if (n_chunks > b.n_chunks)
    throw UsageError(fmt::format("KLD base '{}' holds {} chunks; {} requested: give --chunks {} or make a new base",
                                 base_path, b.n_chunks, n_chunks, b.n_chunks));
  std::vector<TokenComparison> cmp(static_cast<size_t>(per_chunk));
  KldAccumulator acc;
  out.ppl = perplexity(
      m, tokens, n_ctx, n_chunks, progress,
      [&](int64_t c, int64_t j, const float* logits, int32_t next) {
        cmp[size_t(j)] = compare_token(b.tokens[size_t(c * per_chunk + j)], logits, n_vocab, next);
      },
      [&](int64_t c) {  // in order, so the statistics do not depend on the thread count
        for (int64_t j = 0; j < per_chunk; ++j) acc.add(cmp[size_t(j)], -b.tokens[size_t(c * per_chunk + j)].logp_true);
        acc.end_chunk();
      });
  out.compared = true;
  out.kld = acc.stats();
  out.base_model_id = b.model_id;
  return out;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read dataset '{}'", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace qb::model

namespace qb::model {

std::string default_dataset() {
  namespace fs = std::filesystem;
  const char* name = "datasets/text/us-public-domain.txt";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> roots;
  if (!ec) roots = {exe.parent_path(), exe.parent_path().parent_path()};
#ifdef QB_MODEL_SOURCE_DIR
  roots.push_back(QB_MODEL_SOURCE_DIR);
#endif
  for (const auto& r : roots)
    if (fs::exists(r / name)) return (r / name).string();
  throw UsageError(fmt::format(
      "the default dataset {} was not found next to qbench or in the source tree; pass --dataset FILE", name));
}

}  // namespace qb::model
