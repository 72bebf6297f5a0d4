#include "model/perplexity.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "qb/command.h"

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
                            const std::function<void(const PerplexityProgress&)>& progress) {
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
        if (i0 + r < n_ctx - 1)  // the last position predicts past the chunk
          v[size_t(r)] = token_nll(logits + r * n_vocab, n_vocab, tokens[size_t(start + i0 + r + 1)]);
      });
      for (int64_t r = 0; r < rows && i0 + r < n_ctx - 1; ++r) {  // in order: deterministic sums
        nll += v[size_t(r)];
        nll2 += v[size_t(r)] * v[size_t(r)];
        ++count;
      }
    });
    r.chunk_ppl.push_back(std::exp(nll / double(count)));
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

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read dataset '{}'", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace qb::model
