#include "model/kld.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "qb/errors.h"

namespace qb::model {
namespace {

struct MaxSum {
  float mx;
  int64_t argmax;
  double log_s;  // log sum exp(x - mx)
};

MaxSum max_sum(const float* x, int64_t n) {
  MaxSum r{x[0], 0, 0};
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > r.mx) r.mx = x[i], r.argmax = i;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - double(r.mx));
  r.log_s = std::log(s);
  return r;
}

// Sum of exp(x - mx) over the indices not in `ids` (k ids, any order, -1 = unused).
double rest_sum(const float* x, int64_t n, const int32_t* ids, int k, float mx) {
  int32_t sorted[kKldTopK];
  int m = 0;
  for (int i = 0; i < k; ++i)
    if (ids[i] >= 0) sorted[m++] = ids[i];
  std::sort(sorted, sorted + m);
  double s = 0;
  int j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (j < m && sorted[j] == i) {
      ++j;
      continue;
    }
    s += std::exp(double(x[i]) - double(mx));
  }
  return s;
}

}  // namespace

double log_sum_exp(const float* logits, int64_t n_vocab) {
  const MaxSum m = max_sum(logits, n_vocab);
  return double(m.mx) + m.log_s;
}

BaseToken make_base_token(const float* x, int64_t n_vocab, int32_t true_tok) {
  BaseToken b;
  const MaxSum m = max_sum(x, n_vocab);
  const int k = int(std::min<int64_t>(kKldTopK, n_vocab));
  // Top k by a bounded insertion list: most tokens fail the first comparison with the k-th.
  // Order: higher logit first, lower id first among equal logits.
  int n = 0;
  auto better = [&](int32_t a, int32_t c) { return x[a] > x[c] || (x[a] == x[c] && a < c); };
  for (int64_t i = 0; i < n_vocab; ++i) {
    const int32_t id = int32_t(i);
    if (n == k && !better(id, b.ids[k - 1])) continue;
    int pos = n < k ? n++ : k - 1;
    while (pos > 0 && better(id, b.ids[pos - 1])) {
      b.ids[pos] = b.ids[pos - 1];
      --pos;
    }
    b.ids[pos] = id;
  }
  for (int i = 0; i < kKldTopK; ++i) {
    if (i < k) {
      b.logp[i] = double(x[b.ids[i]]) - double(m.mx) - m.log_s;
    } else {
      b.ids[i] = -1;
      b.logp[i] = -std::numeric_limits<double>::infinity();
    }
  }
  b.logp_true = double(x[true_tok]) - double(m.mx) - m.log_s;
  const double rest = rest_sum(x, n_vocab, b.ids, k, m.mx);
  b.logp_rest = rest > 0 ? std::log(rest) - m.log_s : -std::numeric_limits<double>::infinity();
  return b;
}

TokenComparison compare_token(const BaseToken& b, const float* x, int64_t n_vocab, int32_t true_tok) {
  TokenComparison c;
  const MaxSum m = max_sum(x, n_vocab);
  double kld = 0;
  for (int i = 0; i < kKldTopK && b.ids[i] >= 0; ++i) {
    const double lq = double(x[b.ids[i]]) - double(m.mx) - m.log_s;
    kld += std::exp(b.logp[i]) * (b.logp[i] - lq);
  }
  if (std::isfinite(b.logp_rest)) {
    const double rest = rest_sum(x, n_vocab, b.ids, kKldTopK, m.mx);
    const double lq_rest = rest > 0 ? std::log(rest) - m.log_s : -std::numeric_limits<double>::infinity();
    kld += std::exp(b.logp_rest) * (b.logp_rest - lq_rest);  // +inf when the model gives the rest no mass
  }
  c.kld = kld;
  c.top1_same = b.ids[0] == int32_t(m.argmax);
  const double lq_true = double(x[true_tok]) - double(m.mx) - m.log_s;
  c.p_base = std::exp(b.logp_true);
  c.p_model = std::exp(lq_true);
  c.nll = -lq_true;
  return c;
}

double kld_full(const float* p, const float* q, int64_t n) {
  const MaxSum mp = max_sum(p, n), mq = max_sum(q, n);
  double kld = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double lp = double(p[i]) - double(mp.mx) - mp.log_s;
    const double lq = double(q[i]) - double(mq.mx) - mq.log_s;
    const double pi = std::exp(lp);
    if (pi > 0) kld += pi * (lp - lq);
  }
  return kld;
}

double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return std::nan("");
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double f = pos - double(lo);
  return f == 0 ? v[lo] : v[lo] + (v[hi] - v[lo]) * f;
}

void KldAccumulator::add(const TokenComparison& c, double base_nll) {
  kld_.push_back(c.kld);
  dp_.push_back(c.p_model - c.p_base);
  same_ += c.top1_same;
  chunk_model_ += c.nll;
  chunk_base_ += base_nll;
  ++chunk_n_;
}

void KldAccumulator::end_chunk() {
  if (!chunk_n_) return;
  chunk_ln_model_.push_back(chunk_model_ / double(chunk_n_));
  chunk_ln_base_.push_back(chunk_base_ / double(chunk_n_));
  nll_model_ += chunk_model_;
  nll_base_ += chunk_base_;
  chunk_model_ = chunk_base_ = 0;
  chunk_n_ = 0;
}

namespace {
// Mean and standard error of the mean, two passes.
std::pair<double, double> mean_stderr(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  const double se = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1) / double(v.size())) : 0.0;
  return {m, se};
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return std::nan("");
  const double ma = mean_stderr(a).first, mb = mean_stderr(b).first;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 && sbb == 0) return 1.0;  // identical constant series
  if (saa == 0 || sbb == 0) return std::nan("");
  return sab / std::sqrt(saa * sbb);
}
}  // namespace

KldStats KldAccumulator::stats() const {
  KldStats s;
  s.n = int64_t(kld_.size());
  if (!s.n) return s;
  auto [km, ks] = mean_stderr(kld_);
  s.kld_mean = km;
  s.kld_stderr = ks;
  std::vector<double> k = kld_;
  std::sort(k.begin(), k.end());
  s.kld_median = percentile_sorted(k, 0.5);
  s.kld_p90 = percentile_sorted(k, 0.90);
  s.kld_p95 = percentile_sorted(k, 0.95);
  s.kld_p99 = percentile_sorted(k, 0.99);
  s.kld_p999 = percentile_sorted(k, 0.999);
  s.kld_max = k.back();
  s.top1_agreement = double(same_) / double(s.n);
  s.delta_p_mean = mean_stderr(dp_).first;
  double sq = 0;
  for (double d : dp_) sq += d * d;
  s.delta_p_rms = std::sqrt(sq / double(s.n));
  std::vector<double> d = dp_;
  std::sort(d.begin(), d.end());
  s.delta_p_p01 = percentile_sorted(d, 0.01);
  s.delta_p_median = percentile_sorted(d, 0.5);
  s.delta_p_p99 = percentile_sorted(d, 0.99);
  // Whole chunks only (end_chunk): the PPL of each is exp(mean NLL over the tokens of all chunks).
  int64_t n_chunked = s.n - chunk_n_;
  if (n_chunked > 0) {
    s.ppl_model = std::exp(nll_model_ / double(n_chunked));
    s.ppl_base = std::exp(nll_base_ / double(n_chunked));
    s.ppl_ratio = std::exp((nll_model_ - nll_base_) / double(n_chunked));
  }
  s.ln_ppl_correlation = pearson(chunk_ln_base_, chunk_ln_model_);
  return s;
}

uint64_t hash_tokens(const std::vector<int32_t>& tokens) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the little-endian bytes
  for (int32_t t : tokens)
    for (int i = 0; i < 4; ++i) h = (h ^ ((uint32_t(t) >> (8 * i)) & 0xff)) * 1099511628211ull;
  return h;
}

namespace {
constexpr char kMagic[8] = {'Q', 'B', 'K', 'L', 'D', 'B', '0', '1'};
struct Header {
  char magic[8];
  uint32_t k, record_bytes;
  int64_t n_vocab, n_ctx, n_chunks, per_chunk;
  uint64_t tokens_hash;
  uint64_t model_id_len;
};
}  // namespace

void write_kld_base(const std::string& path, const KldBase& b) {
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.k = kKldTopK;
  h.record_bytes = sizeof(BaseToken);
  h.n_vocab = b.n_vocab;
  h.n_ctx = b.n_ctx;
  h.n_chunks = b.n_chunks;
  h.per_chunk = b.per_chunk;
  h.tokens_hash = b.tokens_hash;
  h.model_id_len = b.model_id.size();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(fmt::format("cannot write the KLD base '{}'", path));
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(b.model_id.data(), std::streamsize(b.model_id.size()));
    out.write(reinterpret_cast<const char*>(b.tokens.data()), std::streamsize(b.tokens.size() * sizeof(BaseToken)));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw UsageError(fmt::format("cannot write the KLD base '{}' (disk full?)", path));
    }
  }
  std::filesystem::rename(tmp, path);
}

KldBase read_kld_base(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read the KLD base '{}'", path));
  Header h{};
  in.read(reinterpret_cast<char*>(&h), sizeof h);
  if (!in || std::memcmp(h.magic, kMagic, 8) != 0)
    throw UsageError(fmt::format("'{}' is not a qbench KLD base file (magic QBKLDB01 expected)", path));
  if (h.k != kKldTopK || h.record_bytes != sizeof(BaseToken))
    throw UsageError(fmt::format("'{}' holds top-{} records of {} bytes; this qbench writes top-{} of {} bytes", path,
                                 h.k, h.record_bytes, kKldTopK, sizeof(BaseToken)));
  if (h.n_chunks < 0 || h.per_chunk < 0 || h.model_id_len > 4096 || h.n_chunks > (int64_t(1) << 32) ||
      h.per_chunk > (int64_t(1) << 32))
    throw UsageError(fmt::format("'{}': corrupt header", path));
  KldBase b;
  b.model_id.resize(h.model_id_len);
  in.read(b.model_id.data(), std::streamsize(h.model_id_len));
  b.tokens_hash = h.tokens_hash;
  b.n_vocab = h.n_vocab;
  b.n_ctx = h.n_ctx;
  b.n_chunks = h.n_chunks;
  b.per_chunk = h.per_chunk;
  b.tokens.resize(size_t(h.n_chunks * h.per_chunk));
  in.read(reinterpret_cast<char*>(b.tokens.data()), std::streamsize(b.tokens.size() * sizeof(BaseToken)));
  if (!in) throw UsageError(fmt::format("'{}' is truncated ({} records expected)", path, b.tokens.size()));
  for (const auto& t : b.tokens)
    for (int i = 0; i < kKldTopK; ++i)
      if (t.ids[i] < -1 || t.ids[i] >= b.n_vocab)
        throw UsageError(fmt::format("'{}': token id {} out of range", path, t.ids[i]));
  return b;
}

}  // namespace qb::model
