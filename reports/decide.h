// The decision engine behind `qbench recommend` and the decision matrix of the HTML/Markdown
// reports: candidates (framework, format, backend, threads, placement) joined with quality, memory and speed,
// Pareto front, constraints, default gates, ranking with reasons.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frameworks.h"
#include "qb/metrics.h"
#include "qb/result.h"

namespace qb::rep {

struct DecisionOptions {
  std::optional<double> memory_budget_bytes;         // model bytes must fit
  bool memory_budget_explicit = false;               // false: a device-class default (skipped without data)
  std::optional<double> min_throughput;              // in throughput_metric units
  std::string throughput_metric = metric::gb_per_s;  // or "tokens_per_s"
  std::optional<double> max_p99_us;
  std::optional<double> max_quality_loss;  // in % (quality_loss_db false) or dB
  bool quality_loss_db = false;
  int max_threads = 0;       // 0 = no limit (device classes set one)
  std::string device_class;  // "" or a device_class.h name (aliases resolved)
  double w_quality = 1, w_speed = 1, w_memory = 1;
  std::string distribution;      // quant-error workload; "" = gaussian or first
  std::string model;             // memory-suite model for the budget; "" = latency's or largest
  bool include_invalid = false;  // rank cells whose valid is false too (marked)
  // Default gates versus the full-precision baseline.
  double gate_quality_ratio = 0.95, gate_speedup = 2.0, gate_memory_reduction_pct = 50.0;
  // Quality gates in llama.cpp's terms, used instead of gate_quality_ratio when the report has
  // measured perplexity cells: PPL increase over the KLD base, and mean KL divergence (nats).
  double gate_max_ppl_increase_pct = 5.0, gate_max_kld = 0.10;
  // Speed axis when the report has model cells: "decode" (interactive) or "prefill" (batch).
  std::string model_phase = "decode";
  // --frameworks: rank only these frameworks' candidates (frameworks.h names); empty = all.
  std::vector<std::string> frameworks;
};

// Applies a device class's defaults (device_class.h) only where the option was not given: memory
// budget, thread cap, weights (unless weights_given), speed phase (unless phase_given).
void apply_device_class(DecisionOptions& o, const std::string& cls, bool weights_given, bool phase_given = false);
// "quality=1,speed=2,memory=0.5"; throws UsageError.
void parse_weights(DecisionOptions& o, const std::string& s);
// "20GB/s" or "15tokens/s" (or plain number = GB/s); throws UsageError.
void parse_min_throughput(DecisionOptions& o, const std::string& s);
// "1dB" or "3%"; throws UsageError.
void parse_quality_loss(DecisionOptions& o, const std::string& s);

struct Check {
  std::string name;
  bool evaluated = true;  // false: no data (does not exclude, shown as n/a)
  bool pass = true;
  std::string detail;
  // The measured value and the bound it is held to (value <= limit when upper, else >=), in
  // `unit` ("bytes", "threads", "%", ...): how far a miss is, for the nearest-miss message.
  std::optional<double> value, limit;
  bool upper = true;
  std::string unit;
  // Distance past the bound relative to it (> 0: a miss), or nullopt without numbers.
  std::optional<double> relative_miss() const;
  std::string miss_text() const;  // "by 120 MiB (12%)"
};

// A constraint (or default gate) that no candidate meets: which candidate comes nearest, and by
// how much it misses each check it fails.
struct NearestMiss {
  std::string what;                 // "constraints" | "default gates"
  std::string checks;               // the failed checks of all candidates, "; "-joined names
  std::string candidate;            // the nearest miss's id ("" when no candidate has numbers)
  std::vector<std::string> misses;  // "memory <= 1.00 GiB by 120 MiB (12%)"
  std::string message() const;      // "no candidate satisfies ...; nearest miss: ..."
};

struct Candidate {
  std::string format, backend, placement;
  std::string framework;  // of the backend (frameworks.h); "" for format-only candidates
  int threads = 0;
  std::string id() const;

  std::optional<double> snr_db, cosine, ppl, kld;  // quality (kld: mean, nats)
  std::optional<double> ppl_ratio;                 // measured PPL / the KLD base's PPL
  bool lossless = false;                           // quant-error saw no error (F32)
  std::optional<double> quality_ratio;             // 1.0 = full precision (ppl_base/ppl or cosine)
  std::optional<double> quality_loss_pct;          // ppl increase %, or (1 - cosine) * 100
  std::optional<double> bits_per_weight, model_bytes;
  std::optional<double> memory_reduction_pct;                       // vs baseline bits/weight
  std::optional<double> gb_per_s, tokens_per_s, p99_us, decode_ms;  // speed
  std::optional<double> weight_bytes, kv_cache_bytes;               // model cells (max over them)
  std::optional<double> speedup;  // geomean baseline time / time over shared workloads
  int speed_cells = 0, failed_cells = 0;
  std::vector<std::string> failures;
  // Cells whose valid is false: left out of every number above, or (include_invalid) counted.
  int invalid_cells = 0;
  bool includes_invalid = false;
  std::vector<std::string> invalid_reasons;
  // Metrics (gb_per_s, tokens_per_s, p99_us, decode_ms, speedup) whose value is an estimate: no
  // cell of the candidate measured them. A measured value always replaces an estimated one.
  std::set<std::string> estimated;
  bool is_estimate(const std::string& metric) const { return estimated.count(metric) > 0; }
  bool speed_estimated = false;  // the speed it is ranked on is an estimate (ranks after measured)

  std::vector<Check> constraints, gates;
  bool eligible = true;
  bool gates_pass = false;  // every evaluated gate passes (and at least one was evaluated)
  int gate_failures = 0, gates_evaluated = 0;
  bool pareto = false;
  std::string dominated_by;
  double score = 0, q_norm = 0, s_norm = 0, m_norm = 0;
  int rank = 0;  // 1-based among eligible; 0 = excluded
  std::string why;
};

struct Decision {
  DecisionOptions opt;
  std::string baseline_format;        // F16 or F32 (speed and memory baseline)
  std::string distribution;           // quant-error distribution used
  std::string model;                  // model whose size is checked ("" = largest)
  std::string quality_basis;          // "perplexity" | "cosine (quant-error)" | "none"
  std::string speed_basis;            // description
  std::vector<Candidate> candidates;  // eligible in rank order, then excluded
  std::vector<std::string> notes;
  // Invalid cells ("cell: reasons"): left out of ranking, Pareto front and gates (listed here),
  // or counted and marked when opt.include_invalid.
  std::vector<std::string> invalid_cells;
  // Set when candidates exist but none meets the user's constraints (no recommendation), or
  // when none passes every evaluated default gate (a warning: candidates still rank).
  std::optional<NearestMiss> unsatisfied, no_gate_pass;
  bool has_model_cells = false;  // perplexity, prefill or decode cells in the report
  // Per format family, the fastest and the most accurate framework (frameworks.h).
  FrameworkComparison comparison;

  // The first n eligible candidates. Renderings: decision_render.h.
  std::vector<const Candidate*> top(int n) const;
};

// kinds: the report's backend kinds (backend_kinds()); without them this build's backends say.
Decision decide(const std::vector<CellResult>& results, const DecisionOptions& opt, const BackendKinds& kinds = {});

// Named steps of decide() kept apart (nearest_miss.cpp).
std::optional<NearestMiss> find_nearest_miss(const std::vector<Candidate>& cands, bool gates);

}  // namespace qb::rep
