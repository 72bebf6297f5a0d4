#include "decide.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "device_class.h"
#include "frameworks.h"
#include "qb/command.h"
#include "qb/formats.h"
#include "report_common.h"

namespace qb::rep {

std::string Candidate::id() const {
  if (backend == "-" && threads == 0) return format;
  return fmt::format("{} / {} / {}t / {}", format, backend, threads, placement);
}

void apply_device_class(DecisionOptions& o, const std::string& cls, bool weights_given, bool phase_given) {
  o.device_class = cls;
  if (cls.empty()) return;
  const DeviceClass* dc = find_device_class(cls);
  if (!dc) throw UsageError(fmt::format("--device-class: unknown class '{}': use {}", cls, device_class_names()));
  o.device_class = dc->name;
  if (!o.max_threads) o.max_threads = dc->max_threads;
  if (!weights_given) o.w_quality = dc->w_quality, o.w_speed = dc->w_speed, o.w_memory = dc->w_memory;
  if (!phase_given) o.model_phase = dc->phase;
  if (!o.memory_budget_bytes) {
    o.memory_budget_bytes = dc->memory_budget_gib * double(1ull << 30);
    o.memory_budget_explicit = false;
  }
}

void parse_weights(DecisionOptions& o, const std::string& s) {
  std::stringstream ss(s);
  for (std::string kv; std::getline(ss, kv, ',');) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("--weights: '{}' is not name=value", kv));
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    double w = 0;  // read only when stod succeeded (pos > 0); set for -Wmaybe-uninitialized under ASan
    size_t pos = 0;
    try {
      w = std::stod(v, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != v.size() || !(w >= 0) || !std::isfinite(w))
      throw UsageError(fmt::format("--weights: bad weight '{}' for '{}': expected a number >= 0", v, k));
    if (k == "quality")
      o.w_quality = w;
    else if (k == "speed")
      o.w_speed = w;
    else if (k == "memory")
      o.w_memory = w;
    else
      throw UsageError(fmt::format("--weights: unknown name '{}': use quality, speed, memory", k));
  }
  if (o.w_quality + o.w_speed + o.w_memory <= 0) throw UsageError("--weights: all weights are zero");
}

void parse_min_throughput(DecisionOptions& o, const std::string& s) {
  std::string t;
  for (char c : s)
    if (c != ' ') t += char(std::tolower(static_cast<unsigned char>(c)));
  std::string num = t;
  o.throughput_metric = metric::gb_per_s;
  for (const char* suf : {"gb/s", "gbps"})
    if (t.size() > strlen(suf) && t.ends_with(suf)) num = t.substr(0, t.size() - strlen(suf));
  for (const char* suf : {"tokens/s", "tok/s", "t/s"})
    if (t.size() > strlen(suf) && t.ends_with(suf)) {
      num = t.substr(0, t.size() - strlen(suf));
      o.throughput_metric = metric::tokens_per_s;
      break;
    }
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(num, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != num.size() || !(v >= 0))
    throw UsageError(fmt::format("--min-throughput: bad value '{}': expected e.g. 20GB/s or 15tokens/s", s));
  o.min_throughput = v;
}

void parse_quality_loss(DecisionOptions& o, const std::string& s) {
  std::string t;
  for (char c : s)
    if (c != ' ') t += char(std::tolower(static_cast<unsigned char>(c)));
  if (t.size() > 2 && t.ends_with("db")) {
    o.quality_loss_db = true;
    t = t.substr(0, t.size() - 2);
  } else if (t.size() > 1 && t.ends_with("%")) {
    t = t.substr(0, t.size() - 1);
  } else {
    throw UsageError(fmt::format("--max-quality-loss: bad value '{}': expected e.g. 1dB or 3%", s));
  }
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(t, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != t.size() || !(v >= 0))
    throw UsageError(fmt::format("--max-quality-loss: bad value '{}': expected e.g. 1dB or 3%", s));
  o.max_quality_loss = v;
}

namespace {

std::optional<double> metric(const CellResult& r, const char* name) {
  auto v = metric_value(r, name);
  return v ? std::optional<double>(v->value) : std::nullopt;
}

std::string model_of(const std::string& workload) {
  for (const char* p : {"model_", "decode_"})
    if (workload.rfind(p, 0) == 0) return workload.substr(strlen(p));
  return workload;
}

bool is_speed_suite(const std::string& s) { return s == "throughput" || s == "latency"; }
bool is_quality_suite(const std::string& s) { return s == "quant-error" || s == "perplexity"; }

// Time of one cell for speed-up ratios, seconds (lower is better), and whether it is an estimate.
std::optional<MetricValue> cell_time(const CellResult& r) {
  const std::pair<const char*, double> kTimes[] = {
      {metric::time_s, 1}, {metric::decode_ms, 1e-3}, {metric::p50_us, 1e-6}};
  for (auto [name, scale] : kTimes)
    if (auto t = metric_value(r, name); t && t->value > 0) return MetricValue{t->value * scale, t->estimate};
  if (auto t = metric_value(r, metric::tokens_per_s); t && t->value > 0)
    return MetricValue{1.0 / t->value, t->estimate};
  if (r.has_stats && r.stats.median > 0) return MetricValue{r.stats.median, is_estimate(r)};
  return std::nullopt;
}

double geomean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

// A cell's speed on a scale that compares across its class: GFLOP/s (weights processed per
// second) for kernel cells, grouped by GEMV (n=1) or GEMM, so a candidate measured on another
// shape still compares; otherwise 1/time on the same workload. The speed-up baseline is the best
// the baseline format reaches in that class on any backend, thread count and placement: a
// candidate is judged against the best F16 deployment, never against a slow scalar F16.
struct SpeedPoint {
  std::string key;  // class: suite|kind of work, or suite|workload
  double v = 0;
  bool estimate = false;
};
SpeedPoint speed_point(const CellResult& r) {
  if (auto g = metric_value(r, metric::gflop_per_s); g && g->value > 0) {
    std::string kind = work_kind(r).key;
    if (kind.empty()) kind = r.cell.params.value("n", int64_t(1)) == 1 ? "gemv" : "gemm";
    return {fmt::format("{}|{}", r.cell.suite, kind), g->value, g->estimate};
  }
  if (auto t = cell_time(r)) return {fmt::format("{}|{}", r.cell.suite, r.cell.workload), 1.0 / t->value, t->estimate};
  return {};
}

// The values of one metric over a candidate's cells. A measured value always outranks an
// estimated one: estimates are used only where no cell measured the metric.
struct Gathered {
  std::vector<double> measured, estimated;
  void add(double v, bool estimate) { (estimate ? estimated : measured).push_back(v); }
  const std::vector<double>& used() const { return measured.empty() ? estimated : measured; }
  bool is_estimate() const { return measured.empty() && !estimated.empty(); }
};

bool top_is_empty(const Decision& d) {
  return std::none_of(d.candidates.begin(), d.candidates.end(), [](const Candidate& c) { return c.eligible; });
}

// ---- The steps of decide(), in the order it runs them.

// Quality, size and bits of one format, from its quant-error, perplexity and memory cells.
struct FormatQuality {
  std::optional<double> snr, cosine, ppl, kld, ppl_ratio, bpw, model_bytes;
  bool lossless = false;
};
using QualityByFormat = std::map<std::string, FormatQuality>;

// --frameworks: the cells of those frameworks and the format-level ones (none copied without it).
std::vector<CellResult> restrict_frameworks(const std::vector<CellResult>& results, const DecisionOptions& opt,
                                            const BackendKinds& kinds, Decision& d) {
  if (opt.frameworks.empty()) return {};
  const auto names = parse_frameworks(fmt::format("{}", fmt::join(opt.frameworks, ",")), kinds);  // checks them
  d.notes.push_back(fmt::format("candidates of {} only (--frameworks)", fmt::join(names, ", ")));
  return select_frameworks(results, names, kinds);
}

// The quant-error distribution quality is read on: the one asked for, else gaussian, else the first.
std::string choose_distribution(const std::vector<CellResult>& results, const std::string& asked) {
  std::set<std::string> dists;
  for (const auto& r : results)
    if (r.cell.suite == "quant-error" && r.status == CellStatus::Ok) dists.insert(r.cell.workload);
  if (asked.empty()) return dists.count("gaussian") ? "gaussian" : (dists.empty() ? "" : *dists.begin());
  if (!dists.empty() && !dists.count(asked))
    throw UsageError(fmt::format("--distribution: '{}' not in the report's quant-error workloads ({})", asked,
                                 fmt::join(dists, ", ")));
  return asked;
}

// The model whose size is checked against the memory budget: --model, else the model of the
// latency suite's decode cells, else the largest measured (conservative). Sets each format's
// model_bytes and d.model.
void choose_model_size(const std::vector<CellResult>& results, const DecisionOptions& opt,
                       std::map<std::string, std::map<std::string, double>>& model_bytes, QualityByFormat& qual,
                       Decision& d) {
  d.model = opt.model;
  if (d.model.empty())
    for (const auto& r : results)
      if (r.cell.suite == "latency" && r.cell.workload.rfind("decode_", 0) == 0 && r.status == CellStatus::Ok) {
        d.model = model_of(r.cell.workload);
        break;
      }
  std::set<std::string> models;
  for (auto& [f, m] : model_bytes)
    for (auto& [name, b] : m) models.insert(name);
  if (!opt.model.empty() && !models.empty() && !models.count(opt.model))
    throw UsageError(
        fmt::format("--model: '{}' not in the report's memory cells ({})", opt.model, fmt::join(models, ", ")));
  if (!models.count(d.model)) d.model.clear();
  for (auto& [f, m] : model_bytes) {
    if (!d.model.empty()) {
      if (m.count(d.model)) qual[f].model_bytes = m[d.model];
    } else {
      for (auto& [name, b] : m) qual[f].model_bytes = std::max(qual[f].model_bytes.value_or(0), b);
    }
  }
  if (!models.empty())
    d.notes.push_back(d.model.empty() ? "model size: the largest model measured by the memory suite"
                                      : "model size: " + d.model + " (memory suite)");
}

// Quality by format: quant-error on one distribution, perplexity when present, bits/weight and
// model size from the memory suite.
QualityByFormat collect_quality(const std::vector<CellResult>& results, const DecisionOptions& opt, Decision& d) {
  d.distribution = choose_distribution(results, opt.distribution);
  QualityByFormat qual;
  std::map<std::string, std::map<std::string, double>> model_bytes;  // format -> model -> bytes
  for (const auto& r : results) {
    if (!counts(r, opt.include_invalid) || r.cell.format == "-") continue;
    FormatQuality& q = qual[r.cell.format];
    if (r.cell.suite == "quant-error" && r.cell.workload == d.distribution) {
      q.snr = metric(r, metric::snr_db);
      q.cosine = metric(r, metric::cosine);
      if (!q.snr && metric(r, metric::rmse).value_or(1) == 0) q.lossless = true;
      if (auto b = metric(r, metric::bits_per_weight)) q.bpw = b;
    } else if (r.cell.suite == "perplexity") {
      // Several backends or thread counts may score one format: keep the worst.
      if (auto p = metric(r, metric::ppl)) q.ppl = q.ppl ? std::max(*q.ppl, *p) : *p;
      if (auto k = metric(r, metric::kld_mean) ? metric(r, metric::kld_mean) : metric(r, metric::kld))
        q.kld = q.kld ? std::max(*q.kld, *k) : *k;
      if (auto x = metric(r, metric::ppl_ratio)) q.ppl_ratio = q.ppl_ratio ? std::max(*q.ppl_ratio, *x) : *x;
      if (auto b = metric(r, metric::bits_per_weight)) q.bpw = b;
    } else if (r.cell.suite == "memory") {
      if (auto b = metric(r, metric::bits_per_weight); b && !q.bpw) q.bpw = b;
    }
    if (auto mb = metric(r, metric::model_bytes)) model_bytes[r.cell.format][model_of(r.cell.workload)] = *mb;
  }
  choose_model_size(results, opt, model_bytes, qual, d);
  return qual;
}

// Which cells carry speed. With model cells (prefill/decode) in the report, speed is the model's
// measured tokens/s in the chosen phase; kernel cells then stay in the report but do not rank.
struct SpeedScope {
  std::string phase;
  bool model_speed = false;  // the report has ok cells of the model phase
  bool any = false;          // some cell of a format carries speed; else candidates are formats only
  bool is_speed_cell(const CellResult& r) const {
    return model_speed ? r.cell.suite == phase : is_speed_suite(r.cell.suite);
  }
  // A candidate without a speed cell (all failed or invalid) when others have one is unsupported.
  bool supported(const Candidate& c) const { return !(any && c.speed_cells == 0); }
};

SpeedScope speed_scope(const std::vector<CellResult>& results, const DecisionOptions& opt, Decision& d) {
  SpeedScope s;
  s.phase = opt.model_phase;
  for (const auto& r : results)
    if (r.cell.suite == opt.model_phase && r.status == CellStatus::Ok) s.model_speed = true;
  for (const auto& r : results)
    if (s.is_speed_cell(r) && r.cell.format != "-") s.any = true;
  if (s.model_speed)
    d.notes.push_back(
        fmt::format("speed: measured model {} tokens/s (--model cells); kernel cells not ranked", opt.model_phase));
  return s;
}

// Candidates and the cells each is measured by.
struct CandidateSet {
  std::map<std::string, Candidate> by_id;
  std::map<std::string, std::vector<const CellResult*>> cells;
};

// Speed cells grouped by (format, backend, threads, placement); without speed cells, the formats
// of the quality and memory cells. Counts each candidate's invalid and failed cells, and lists
// the report's invalid cells.
CandidateSet collect_candidates(const std::vector<CellResult>& results, const DecisionOptions& opt,
                                const SpeedScope& scope, const BackendKinds& kinds, Decision& d) {
  CandidateSet set;
  for (const auto& r : results) {
    if (r.cell.format == "-") continue;
    if (scope.any ? !scope.is_speed_cell(r) : !(is_quality_suite(r.cell.suite) || r.cell.suite == "memory")) continue;
    Candidate c;
    c.format = r.cell.format;
    c.backend = scope.any ? r.cell.backend : "-";
    c.threads = scope.any ? r.cell.threads : 0;
    c.placement = scope.any ? r.cell.placement : "-";
    c.framework = framework_of(c.backend, kinds);
    auto [it, fresh] = set.by_id.emplace(c.id(), c);
    set.cells[c.id()].push_back(&r);
    if (is_invalid(r)) {
      ++it->second.invalid_cells;
      it->second.includes_invalid = opt.include_invalid;
      if (it->second.invalid_reasons.size() < 3)
        it->second.invalid_reasons.push_back(
            fmt::format("{} {}: {}", r.cell.suite, r.cell.workload, invalid_reason(r)));
    }
    if (r.status != CellStatus::Ok) {
      ++it->second.failed_cells;
      if (it->second.failures.size() < 3)
        it->second.failures.push_back(fmt::format("{} {}: {}", r.cell.suite, r.cell.workload,
                                                  r.error.empty() ? std::string(status_name(r.status)) : r.error));
    }
  }
  if (!scope.any) d.notes.push_back("no throughput or latency cells: candidates are formats only, speed not ranked");
  for (const auto& r : results)
    if (is_invalid(r) && r.cell.format != "-") d.invalid_cells.push_back(cell_name(r) + ": " + invalid_reason(r));
  if (!d.invalid_cells.empty())
    d.notes.push_back(
        opt.include_invalid
            ? fmt::format("{} invalid cell(s) included in ranking, Pareto front and gates (--include-invalid), marked",
                          d.invalid_cells.size())
            : fmt::format("{} invalid cell(s) left out of ranking, Pareto front and gates (listed; --include-invalid "
                          "counts them)",
                          d.invalid_cells.size()));
  return set;
}

// The speed and memory baseline: F16, else F32, else BF16 (among the candidates).
void choose_baseline(const CandidateSet& set, Decision& d) {
  for (const char* b : {"F16", "F32", "BF16"}) {
    bool found = false;
    for (auto& [id, c] : set.by_id) found |= c.format == b;
    if (found) {
      d.baseline_format = b;
      break;
    }
  }
  if (d.baseline_format.empty())
    d.notes.push_back("no F16/F32 baseline in the report: speed-up and memory gates are not evaluated");
}

// The best speed of the baseline format per class of work (see speed_point).
std::map<std::string, double> best_baseline_speed(const std::vector<CellResult>& results, const DecisionOptions& opt,
                                                  const SpeedScope& scope, const std::string& baseline) {
  std::map<std::string, double> best;
  for (const auto& r : results)
    if (counts(r, opt.include_invalid) && r.cell.format == baseline && scope.is_speed_cell(r))
      if (auto p = speed_point(r); p.v > 0) best[p.key] = std::max(best[p.key], p.v);
  return best;
}

// What quality is measured against: perplexity ratios to the KLD base (model cells), the
// full-precision perplexity, or the cosine/SNR of quant-error; and the memory baseline's bits.
struct QualityRefs {
  std::optional<double> base_ppl, ref_snr;
  bool model_quality = false;  // measured PPL ratio / KLD against the perplexity suite's KLD base
  double base_bpw = 0;
  bool perplexity_based() const { return base_ppl || model_quality; }
};

QualityRefs quality_refs(const QualityByFormat& qual, Decision& d) {
  QualityRefs q;
  auto get = [&](const char* f) { return qual.count(f) ? &qual.at(f) : nullptr; };
  for (const char* b : {"F32", "F16", "BF16"})
    if (auto* x = get(b); x && x->ppl && !q.base_ppl) q.base_ppl = x->ppl;
  for (const char* b : {"F16", "BF16"})
    if (auto* x = get(b); x && x->snr && !q.ref_snr) q.ref_snr = x->snr;
  q.model_quality =
      std::any_of(qual.begin(), qual.end(), [](const auto& kv) { return kv.second.ppl_ratio.has_value(); });
  if (q.model_quality) q.base_ppl.reset();
  d.quality_basis =
      q.model_quality ? "measured perplexity and KL divergence against the KLD base (perplexity suite)"
      : q.base_ppl
          ? "perplexity (baseline ppl / ppl)"
          : (qual.empty() ? "none" : "cosine similarity of dequantized weights (quant-error, " + d.distribution + ")");
  if (!d.baseline_format.empty()) {
    if (auto* x = get(d.baseline_format.c_str()); x && x->bpw)
      q.base_bpw = *x->bpw;
    else if (auto* t = find_format(d.baseline_format))
      q.base_bpw = t->bits_per_weight();
  }
  return q;
}

// A candidate's quality, bits/weight, model size and memory reduction from its format's cells.
void fill_quality(Candidate& c, const QualityByFormat& qual, const QualityRefs& refs) {
  FormatQuality q = qual.count(c.format) ? qual.at(c.format) : FormatQuality{};
  c.snr_db = q.snr;
  c.cosine = q.cosine;
  c.ppl = q.ppl;
  c.kld = q.kld;
  c.lossless = q.lossless || (c.format == "F32" && !q.snr);
  if (c.cosine && !c.snr_db && !q.lossless && *c.cosine >= 1.0) c.lossless = true;
  c.bits_per_weight = q.bpw;
  if (!c.bits_per_weight)
    if (auto* t = find_format(c.format)) c.bits_per_weight = t->bits_per_weight();
  c.model_bytes = q.model_bytes;
  c.ppl_ratio = q.ppl_ratio;
  if (refs.model_quality) {
    if (q.ppl_ratio) {
      c.quality_ratio = 1.0 / *q.ppl_ratio;
      c.quality_loss_pct = (*q.ppl_ratio - 1) * 100;
    }
  } else if (refs.base_ppl && c.ppl) {
    c.quality_ratio = *refs.base_ppl / *c.ppl;
    c.quality_loss_pct = (*c.ppl / *refs.base_ppl - 1) * 100;
  } else if (!refs.base_ppl) {
    if (c.cosine)
      c.quality_ratio = *c.cosine;
    else if (c.snr_db)
      c.quality_ratio = 1.0 / std::sqrt(1.0 + std::pow(10.0, -*c.snr_db / 10));
    else if (c.lossless)
      c.quality_ratio = 1.0;
    if (c.quality_ratio) c.quality_loss_pct = (1 - *c.quality_ratio) * 100;
  }
  if (c.bits_per_weight && refs.base_bpw > 0) c.memory_reduction_pct = (1 - *c.bits_per_weight / refs.base_bpw) * 100;
}

// A candidate's speed from its cells: GB/s (GEMV), tokens/s, p99, decode time, model bytes and
// the speed-up over the best baseline; measured values outrank estimates.
void fill_speed(Candidate& c, const std::vector<const CellResult*>& cells, const DecisionOptions& opt,
                const SpeedScope& scope, const std::map<std::string, double>& base_speed) {
  Gathered gbs, tps, ratios, p99, decode;
  std::optional<double> wbytes, kvbytes;
  for (const CellResult* r : cells) {
    if (!counts(*r, opt.include_invalid) || !scope.is_speed_cell(*r)) continue;
    ++c.speed_cells;
    // GB/s of weights is the decode (GEMV) figure; GEMM cells reuse weights and would drag it down.
    if (auto v = metric_value(*r, metric::gb_per_s); v && v->value > 0 && work_kind(*r).key == "gemv")
      gbs.add(v->value, v->estimate);
    if (auto v = metric_value(*r, metric::tokens_per_s); v && v->value > 0) tps.add(v->value, v->estimate);
    if (auto v = metric_value(*r, metric::p99_us)) p99.add(v->value, v->estimate);
    if (auto v = metric_value(*r, metric::decode_ms)) decode.add(v->value, v->estimate);
    if (auto v = metric(*r, metric::weight_bytes)) wbytes = std::max(wbytes.value_or(0), *v);
    if (auto v = metric(*r, metric::kv_cache_bytes)) kvbytes = std::max(kvbytes.value_or(0), *v);
    auto p = speed_point(*r);
    if (auto b = base_speed.find(p.key); p.v > 0 && b != base_speed.end()) ratios.add(p.v / b->second, p.estimate);
  }
  auto take = [&](const char* name, const Gathered& g, bool worst, std::optional<double>& out) {
    if (g.used().empty()) return;
    out = worst ? *std::max_element(g.used().begin(), g.used().end()) : geomean(g.used());
    if (g.is_estimate()) c.estimated.insert(name);
  };
  take(metric::gb_per_s, gbs, false, c.gb_per_s);
  take(metric::tokens_per_s, tps, false, c.tokens_per_s);
  take(metric::p99_us, p99, true, c.p99_us);
  take(metric::decode_ms, decode, true, c.decode_ms);
  take("speedup", ratios, false, c.speedup);
  c.weight_bytes = wbytes;
  c.kv_cache_bytes = kvbytes;
}

// A candidate with no counted speed cell, when others have one, is excluded and says why.
void exclude_unsupported(Candidate& c, const SpeedScope& scope) {
  if (scope.supported(c)) return;
  c.eligible = false;
  if (c.invalid_cells > 0)
    c.constraints.push_back({"valid",
                             true,
                             false,
                             fmt::format("no valid cell: {} invalid ({}){}; --include-invalid ranks them",
                                         c.invalid_cells, fmt::join(c.invalid_reasons, "; "),
                                         c.failed_cells ? fmt::format(", {} failed", c.failed_cells) : ""),
                             {},
                             {},
                             true,
                             ""});
  else
    c.constraints.push_back({"supported",
                             true,
                             false,
                             fmt::format("all {} cells failed: {}", c.failed_cells, fmt::join(c.failures, "; ")),
                             {},
                             {},
                             true,
                             ""});
}

// The user's constraints: a failed one excludes the candidate; one without data excludes it
// unless it is a device class's default memory budget.
void apply_constraints(Candidate& c, const DecisionOptions& opt, const Decision& d, const QualityRefs& refs) {
  auto add = [&](const std::string& name, bool evaluated, bool pass, const std::string& detail, bool exclude_if_missing,
                 std::optional<double> value = {}, std::optional<double> limit = {}, bool upper = true,
                 std::string unit = "") {
    Check k{name, evaluated, evaluated ? pass : !exclude_if_missing, detail, value, limit, upper, std::move(unit)};
    c.constraints.push_back(k);
    if (!k.pass) c.eligible = false;
  };
  if (opt.memory_budget_bytes) {
    std::string name = "memory <= " + fmt_bytes(*opt.memory_budget_bytes);
    // A model cell's weights and KV cache as loaded are what the device must hold; the memory
    // suite's linear-layer bytes stand in when the report has no model cells.
    if (c.weight_bytes) {
      double need = *c.weight_bytes + c.kv_cache_bytes.value_or(0);
      add(name, true, need <= *opt.memory_budget_bytes,
          fmt::format("weights {} + KV cache {}", fmt_bytes(*c.weight_bytes), fmt_bytes(c.kv_cache_bytes.value_or(0))),
          true, need, *opt.memory_budget_bytes, true, "bytes");
    } else if (c.model_bytes) {
      add(name, true, *c.model_bytes <= *opt.memory_budget_bytes, "model " + fmt_bytes(*c.model_bytes), true,
          c.model_bytes, *opt.memory_budget_bytes, true, "bytes");
    } else {
      add(name, false, false,
          d.model.empty() ? "no model size measured (memory suite)"
                          : "no size of " + d.model + " measured (memory suite cell absent or failed)",
          opt.memory_budget_explicit);
    }
  }
  if (opt.max_threads > 0 && c.threads > 0)
    add(fmt::format("threads <= {}", opt.max_threads), true, c.threads <= opt.max_threads,
        fmt::format("{} threads", c.threads), true, double(c.threads), double(opt.max_threads), true, "threads");
  if (opt.min_throughput) {
    bool tok = opt.throughput_metric == metric::tokens_per_s;
    std::string name = fmt::format("throughput >= {} {}", fmt_num(*opt.min_throughput), tok ? "tokens/s" : "GB/s");
    auto v = tok ? c.tokens_per_s : c.gb_per_s;
    if (v)
      add(name, true, *v >= *opt.min_throughput,
          fmt::format("{} {}{}", fmt_num(*v), tok ? "tokens/s" : "GB/s",
                      c.is_estimate(opt.throughput_metric) ? " (estimate)" : ""),
          true, v, opt.min_throughput, false, tok ? "tokens/s" : "GB/s");
    else
      add(name, false, false, tok ? "no tokens/s measured (latency suite)" : "no GB/s measured (throughput suite)",
          true);
  }
  if (opt.max_p99_us) {
    std::string name = fmt::format("p99 latency <= {} us", fmt_num(*opt.max_p99_us));
    if (c.p99_us)
      add(name, true, *c.p99_us <= *opt.max_p99_us,
          fmt::format("p99 {} us{}", fmt_num(*c.p99_us), c.is_estimate(metric::p99_us) ? " (estimate)" : ""), true,
          c.p99_us, opt.max_p99_us, true, "us");
    else
      add(name, false, false, "no p99 latency measured (latency suite)", true);
  }
  if (opt.max_quality_loss) {
    if (opt.quality_loss_db) {
      std::string name = fmt::format("SNR loss <= {} dB vs full precision", fmt_num(*opt.max_quality_loss));
      if (c.lossless)
        add(name, true, true, "lossless", true);
      else if (c.snr_db && refs.ref_snr)
        add(name, true, *refs.ref_snr - *c.snr_db <= *opt.max_quality_loss,
            fmt::format("SNR {} dB vs {} dB", fmt_num(*c.snr_db), fmt_num(*refs.ref_snr)), true,
            *refs.ref_snr - *c.snr_db, opt.max_quality_loss, true, "dB");
      else
        add(name, false, false, refs.ref_snr ? "no SNR measured" : "no F16/BF16 SNR reference in the report", true);
    } else {
      std::string name = fmt::format("quality loss <= {}%", fmt_num(*opt.max_quality_loss));
      if (c.quality_loss_pct)
        add(name, true, *c.quality_loss_pct <= *opt.max_quality_loss,
            fmt::format("loss {}%", fmt_num(*c.quality_loss_pct, 3)), true, c.quality_loss_pct, opt.max_quality_loss,
            true, "%");
      else
        add(name, false, false, "no quality measured", true);
    }
  }
}

// The default gates versus the baseline, each with its measured value and margin. They do not
// exclude; failures order the ranking.
void apply_gates(Candidate& c, const DecisionOptions& opt, const Decision& d, const QualityRefs& refs) {
  auto gate = [&](const std::string& name, std::optional<double> v, bool pass, const std::string& detail, double limit,
                  bool upper, const char* unit) {
    c.gates.push_back({name, v.has_value(), v.has_value() && pass, v ? detail : "not measured", v, limit, upper, unit});
  };
  if (refs.model_quality) {
    gate(fmt::format("PPL increase <= {}%", fmt_num(opt.gate_max_ppl_increase_pct)), c.quality_loss_pct,
         c.quality_loss_pct && *c.quality_loss_pct <= opt.gate_max_ppl_increase_pct,
         c.quality_loss_pct ? fmt::format("{:+.2f}% (margin {:+.2f} points)", *c.quality_loss_pct,
                                          opt.gate_max_ppl_increase_pct - *c.quality_loss_pct)
                            : "",
         opt.gate_max_ppl_increase_pct, true, "%");
    gate(fmt::format("KLD <= {}", fmt_num(opt.gate_max_kld)), c.kld, c.kld && *c.kld <= opt.gate_max_kld,
         c.kld ? fmt::format("{:.4f} (margin {:+.4f})", *c.kld, opt.gate_max_kld - *c.kld) : "", opt.gate_max_kld, true,
         "nats");
  } else {
    gate(fmt::format("quality >= {}% of full precision", fmt_num(opt.gate_quality_ratio * 100)), c.quality_ratio,
         c.quality_ratio && *c.quality_ratio >= opt.gate_quality_ratio,
         c.quality_ratio ? fmt::format("{:.2f}% (margin {:+.2f} points)", *c.quality_ratio * 100,
                                       (*c.quality_ratio - opt.gate_quality_ratio) * 100)
                         : "",
         opt.gate_quality_ratio, false, "");
  }
  const std::string base = d.baseline_format.empty() ? "F16/F32" : d.baseline_format;
  gate(fmt::format(">= {}x speed-up vs {}", fmt_num(opt.gate_speedup), base), c.speedup,
       c.speedup && *c.speedup >= opt.gate_speedup,
       c.speedup ? fmt::format("{:.2f}x{} (margin {:+.2f}x)", *c.speedup, c.is_estimate("speedup") ? " (estimate)" : "",
                               *c.speedup - opt.gate_speedup)
                 : "",
       opt.gate_speedup, false, "x");
  gate(fmt::format(">= {}% memory reduction vs {}", fmt_num(opt.gate_memory_reduction_pct), base),
       c.memory_reduction_pct, c.memory_reduction_pct && *c.memory_reduction_pct >= opt.gate_memory_reduction_pct,
       c.memory_reduction_pct ? fmt::format("{:.1f}% (margin {:+.1f} points)", *c.memory_reduction_pct,
                                            *c.memory_reduction_pct - opt.gate_memory_reduction_pct)
                              : "",
       opt.gate_memory_reduction_pct, false, "%");
  c.gate_failures =
      int(std::count_if(c.gates.begin(), c.gates.end(), [](const Check& g) { return g.evaluated && !g.pass; }));
  c.gates_evaluated = int(std::count_if(c.gates.begin(), c.gates.end(), [](const Check& g) { return g.evaluated; }));
  c.gates_pass = c.gate_failures == 0 && c.gates_evaluated > 0;
}

// The three objectives (higher is better) the Pareto front and the score compare; an axis no
// candidate has a value on does not count.
struct Objectives {
  bool ppl_quality = false;  // quality is a perplexity ratio
  bool use_speedup = false;  // some candidate has a speed-up; else tokens/s or GB/s
  bool dq = false, ds = false, dm = false;

  std::optional<double> quality(const Candidate& c) const {
    if (ppl_quality) return c.quality_ratio;
    if (c.lossless) return 400.0;  // lossless ranks above any finite SNR
    if (c.snr_db) return c.snr_db;
    return c.quality_ratio ? std::optional<double>(-10 * std::log10(std::max(1e-12, 1 - *c.quality_ratio)))
                           : std::nullopt;
  }
  std::optional<double> speed(const Candidate& c) const {
    if (use_speedup) return c.speedup;
    return c.tokens_per_s ? c.tokens_per_s : c.gb_per_s;
  }
  static std::optional<double> memory(const Candidate& c) {
    return c.bits_per_weight ? std::optional<double>(-*c.bits_per_weight) : std::nullopt;
  }
  // Quality on the score's scale: with perplexity, baseline ppl / ppl; with SNR, 1 - relative RMS
  // error (1 - 10^(-SNR/20)), which saturates near full precision instead of letting F16's 70+ dB
  // squash the differences between the quantized formats.
  std::optional<double> quality_score(const Candidate& c) const {
    if (ppl_quality) return c.quality_ratio;
    if (c.lossless) return 1.0;
    if (c.snr_db) return 1.0 - std::pow(10.0, -*c.snr_db / 20);
    return c.quality_ratio;
  }
};

Objectives objectives(const std::vector<Candidate*>& all, const QualityRefs& refs) {
  Objectives o;
  o.ppl_quality = refs.perplexity_based();
  o.use_speedup = std::any_of(all.begin(), all.end(), [](auto* c) { return c->speedup.has_value(); });
  o.dq = std::any_of(all.begin(), all.end(), [&](auto* c) { return o.quality(*c).has_value(); });
  o.ds = std::any_of(all.begin(), all.end(), [&](auto* c) { return o.speed(*c).has_value(); });
  o.dm = std::any_of(all.begin(), all.end(), [&](auto* c) { return Objectives::memory(*c).has_value(); });
  return o;
}

// Whether the speed a candidate ranks on is an estimate (it then ranks after measured ones).
void mark_speed_estimates(const std::vector<Candidate*>& all, const Objectives& obj) {
  for (auto* c : all)
    c->speed_estimated = obj.speed(*c) && c->is_estimate(obj.use_speedup   ? "speedup"
                                                         : c->tokens_per_s ? metric::tokens_per_s
                                                                           : metric::gb_per_s);
}

// The Pareto front among supported candidates; a dominated one names who dominates it and where.
void mark_pareto(const std::vector<Candidate*>& all, const Objectives& obj, const SpeedScope& scope) {
  auto val = [](std::optional<double> v) { return v ? *v : -INFINITY; };
  for (auto* a : all) {
    if (!scope.supported(*a)) continue;
    a->pareto = true;
    for (auto* b : all) {
      if (a == b || !scope.supported(*b)) continue;
      double aq = val(obj.quality(*a)), bq = val(obj.quality(*b)), as = val(obj.speed(*a)), bs = val(obj.speed(*b)),
             am = val(Objectives::memory(*a)), bm = val(Objectives::memory(*b));
      bool ge = (!obj.dq || bq >= aq) && (!obj.ds || bs >= as) && (!obj.dm || bm >= am);
      bool gt = (obj.dq && bq > aq) || (obj.ds && bs > as) || (obj.dm && bm > am);
      if (ge && gt) {
        a->pareto = false;
        std::vector<std::string> better;
        if (obj.dq && bq > aq) better.push_back("quality");
        if (obj.ds && bs > as) better.push_back("speed");
        if (obj.dm && bm > am) better.push_back("memory");
        a->dominated_by = fmt::format("{} (better {})", b->id(), fmt::join(better, ", "));
        break;
      }
    }
  }
}

// The weights the score used: an axis without data for any candidate is dropped.
struct ScoreWeights {
  double q = 0, s = 0, m = 0;
  double sum() const { return q + s + m > 0 ? q + s + m : 1; }
};

// Normalised score (0..1) over supported candidates, log scale for speed and memory.
ScoreWeights score(const std::vector<Candidate*>& all, const Objectives& obj, const SpeedScope& scope,
                   const DecisionOptions& opt) {
  auto range = [&](auto f, bool logscale) {
    double lo = INFINITY, hi = -INFINITY;
    for (auto* c : all)
      if (auto v = f(*c); v && scope.supported(*c)) {
        double x = logscale ? std::log(std::fabs(*v)) : *v;
        lo = std::min(lo, x), hi = std::max(hi, x);
      }
    return std::pair<double, double>(lo, hi);
  };
  auto norm = [](std::optional<double> v, std::pair<double, double> r, bool logscale, bool invert) {
    if (!v) return 0.0;
    double x = logscale ? std::log(std::fabs(*v)) : *v;
    if (!(r.second > r.first)) return 1.0;
    double n = (x - r.first) / (r.second - r.first);
    return invert ? 1 - n : n;
  };
  auto rq = range([&](const Candidate& c) { return obj.quality_score(c); }, false);
  auto rs = range([&](const Candidate& c) { return obj.speed(c); }, true);
  auto rm = range([](const Candidate& c) { return c.bits_per_weight; }, true);
  ScoreWeights w{obj.dq ? opt.w_quality : 0, obj.ds ? opt.w_speed : 0, obj.dm ? opt.w_memory : 0};
  for (auto* c : all) {
    c->q_norm = norm(obj.quality_score(*c), rq, false, false);
    c->s_norm = norm(obj.speed(*c), rs, true, false);
    c->m_norm = norm(c->bits_per_weight, rm, true, true);
    c->score = (w.q * c->q_norm + w.s * c->s_norm + w.m * c->m_norm) / w.sum();
  }
  return w;
}

// Rank: eligible first; among them measured speed before estimated, fewest gate failures,
// Pareto-optimal, then score. Ranks are 1-based among the eligible.
std::vector<Candidate> rank(const std::vector<Candidate*>& all) {
  std::vector<Candidate> v;
  for (auto* c : all) v.push_back(*c);
  std::stable_sort(v.begin(), v.end(), [](const Candidate& a, const Candidate& b) {
    if (a.eligible != b.eligible) return a.eligible;
    // A measured speed always outranks an estimated one.
    if (a.speed_estimated != b.speed_estimated) return !a.speed_estimated;
    if (a.gate_failures != b.gate_failures) return a.gate_failures < b.gate_failures;
    if (a.pareto != b.pareto) return a.pareto;
    if (a.score != b.score) return a.score > b.score;
    return a.id() < b.id();
  });
  int n = 0;
  for (auto& c : v)
    if (c.eligible) c.rank = ++n;
  return v;
}

// One line saying why a candidate ranks where it does (or why it is excluded).
std::string explain(const Candidate& c, const ScoreWeights& w, const std::string& baseline) {
  std::vector<std::string> parts;
  if (!c.eligible) {
    std::vector<std::string> fails;
    for (auto& k : c.constraints)
      if (!k.pass) fails.push_back(k.name + " (" + k.detail + ")");
    parts.push_back("excluded: fails " + fmt::format("{}", fmt::join(fails, "; ")));
    return fmt::format("{}", fmt::join(parts, "; "));
  }
  int passed = 0;
  for (auto& g : c.gates) passed += g.pass;
  if (c.gates_evaluated == 0)
    parts.push_back("default gates not evaluated (no baseline data)");
  else if (c.gates_pass)
    parts.push_back(c.gates_evaluated == int(c.gates.size())
                        ? "passes all default gates"
                        : fmt::format("passes the {} evaluated default gates", c.gates_evaluated));
  else {
    std::vector<std::string> failed;
    for (auto& g : c.gates)
      if (g.evaluated && !g.pass) failed.push_back(g.name + " (" + g.detail + ")");
    parts.push_back(fmt::format("passes {}/{} evaluated default gates, fails {}", passed, c.gates_evaluated,
                                fmt::join(failed, ", ")));
  }
  parts.push_back(c.pareto ? "Pareto-optimal" : "dominated by " + c.dominated_by);
  std::vector<std::string> terms;
  if (w.q > 0) terms.push_back(fmt::format("quality {:.2f}×{}", c.q_norm, fmt_num(w.q)));
  if (w.s > 0) terms.push_back(fmt::format("speed {:.2f}×{}", c.s_norm, fmt_num(w.s)));
  if (w.m > 0) terms.push_back(fmt::format("memory {:.2f}×{}", c.m_norm, fmt_num(w.m)));
  parts.push_back(fmt::format("score {:.2f} = ({}) / {}", c.score, fmt::join(terms, " + "), fmt_num(w.sum())));
  if (c.speedup && c.format != baseline) parts.push_back(fmt::format("{:.2f}x the speed of {}", *c.speedup, baseline));
  if (c.speed_estimated) parts.push_back("speed is an estimate (no measured cell): ranked after measured candidates");
  if (c.invalid_cells && c.includes_invalid)
    parts.push_back(
        fmt::format("INCLUDES {} INVALID cell(s): {}", c.invalid_cells, fmt::join(c.invalid_reasons, "; ")));
  else if (c.invalid_cells)
    parts.push_back(
        fmt::format("{} invalid cell(s) left out: {}", c.invalid_cells, fmt::join(c.invalid_reasons, "; ")));
  if (c.memory_reduction_pct && c.format != baseline)
    parts.push_back(*c.memory_reduction_pct >= 0
                        ? fmt::format("{} smaller than {}", fmt_pct(*c.memory_reduction_pct), baseline)
                        : fmt::format("{} larger than {}", fmt_pct(-*c.memory_reduction_pct), baseline));
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

// The pipeline: quality by format, candidates from the speed cells, baseline, each candidate's
// numbers, constraints and gates, Pareto front, score, rank, reasons, nearest miss.
Decision decide(const std::vector<CellResult>& all_results, const DecisionOptions& opt, const BackendKinds& kinds) {
  Decision d;
  d.opt = opt;
  const std::vector<CellResult> selected = restrict_frameworks(all_results, opt, kinds, d);
  const std::vector<CellResult>& results = opt.frameworks.empty() ? all_results : selected;
  QualityByFormat qual = collect_quality(results, opt, d);
  const SpeedScope scope = speed_scope(results, opt, d);
  CandidateSet set = collect_candidates(results, opt, scope, kinds, d);
  choose_baseline(set, d);
  const auto base_speed = best_baseline_speed(results, opt, scope, d.baseline_format);
  const QualityRefs refs = quality_refs(qual, d);

  bool any_quality = false;
  for (auto& [id, c] : set.by_id) {
    fill_quality(c, qual, refs);
    any_quality |= c.quality_ratio.has_value();
    fill_speed(c, set.cells[id], opt, scope, base_speed);
    exclude_unsupported(c, scope);
  }
  d.speed_basis =
      scope.any ? fmt::format(
                      "speed-up = geometric mean over the candidate's cells of its GFLOP/s (or 1/time) / the best {} "
                      "reaches in that class (GEMV, GEMM, per latency workload) on any backend, threads, placement",
                      d.baseline_format.empty() ? "baseline" : d.baseline_format)
                : "none";
  if (!any_quality && !qual.empty()) d.notes.push_back("no quality metric for the candidates");
  if (qual.empty())
    d.notes.push_back("no quant-error or perplexity cells: quality not ranked (run --suites quant-error)");

  std::vector<Candidate*> all;
  for (auto& [id, c] : set.by_id) {
    apply_constraints(c, opt, d, refs);
    apply_gates(c, opt, d, refs);
    all.push_back(&c);
  }
  const Objectives obj = objectives(all, refs);
  mark_speed_estimates(all, obj);
  mark_pareto(all, obj, scope);
  const ScoreWeights w = score(all, obj, scope, opt);
  d.candidates = rank(all);
  for (auto& c : d.candidates) c.why = explain(c, w, d.baseline_format);
  d.comparison = compare_frameworks(results, kinds);
  d.has_model_cells = std::any_of(results.begin(), results.end(), [](const CellResult& r) {
    return r.status == CellStatus::Ok &&
           (r.cell.suite == "perplexity" || r.cell.suite == "prefill" || r.cell.suite == "decode");
  });
  // Nothing satisfies the constraints (or the gates): say which candidate comes nearest.
  if (!d.candidates.empty() && top_is_empty(d))
    d.unsatisfied = find_nearest_miss(d.candidates, false);
  else if (!d.candidates.empty())
    d.no_gate_pass = find_nearest_miss(d.candidates, true);
  return d;
}

std::vector<const Candidate*> Decision::top(int n) const {
  std::vector<const Candidate*> t;
  for (const auto& c : candidates)
    if (c.eligible && int(t.size()) < n) t.push_back(&c);
  return t;
}

}  // namespace qb::rep
