// The one vocabulary of metric names: snake_case with the unit as suffix. The JSON schema
// (reports/schema/report.schema.json) lists the same names; tests/schema_test checks both agree.
#pragma once
#include <span>
#include <string_view>

namespace qb {

struct MetricDef {
  std::string_view name;
  std::string_view unit;
  bool higher_is_better;
  std::string_view description;
};

// One constant per metric name: code names a metric only through these, so a misspelt name does
// not compile. The table in metrics.cpp gives each its unit, direction and meaning.
namespace metric {
inline constexpr char gb_per_s[] = "gb_per_s";
inline constexpr char gflop_per_s[] = "gflop_per_s";
inline constexpr char roofline_pct[] = "roofline_pct";
inline constexpr char bandwidth_pct[] = "bandwidth_pct";
inline constexpr char in_cache_gb_per_s[] = "in_cache_gb_per_s";
inline constexpr char time_s[] = "time_s";
inline constexpr char p50_us[] = "p50_us";
inline constexpr char p90_us[] = "p90_us";
inline constexpr char p99_us[] = "p99_us";
inline constexpr char max_us[] = "max_us";
inline constexpr char cv[] = "cv";
inline constexpr char decode_ms[] = "decode_ms";
inline constexpr char tokens_per_s[] = "tokens_per_s";
inline constexpr char ttft_ms[] = "ttft_ms";
inline constexpr char weight_bytes[] = "weight_bytes";
inline constexpr char kv_cache_bytes[] = "kv_cache_bytes";
inline constexpr char time_share_matmul[] = "time_share_matmul";
inline constexpr char time_share_attention[] = "time_share_attention";
inline constexpr char time_share_other[] = "time_share_other";
inline constexpr char est_decode_ms[] = "est_decode_ms";
inline constexpr char est_tokens_per_s[] = "est_tokens_per_s";
inline constexpr char est_gb_per_s[] = "est_gb_per_s";
inline constexpr char bits_per_weight[] = "bits_per_weight";
inline constexpr char bytes[] = "bytes";
inline constexpr char model_bytes[] = "model_bytes";
inline constexpr char bytes_per_token[] = "bytes_per_token";
inline constexpr char working_set_bytes[] = "working_set_bytes";
inline constexpr char peak_rss_bytes[] = "peak_rss_bytes";
inline constexpr char rmse[] = "rmse";
inline constexpr char max_abs_err[] = "max_abs_err";
inline constexpr char snr_db[] = "snr_db";
inline constexpr char cosine[] = "cosine";
inline constexpr char rel_frobenius[] = "rel_frobenius";
inline constexpr char rel_err[] = "rel_err";
inline constexpr char ppl[] = "ppl";
inline constexpr char kld[] = "kld";
inline constexpr char ppl_stderr[] = "ppl_stderr";
inline constexpr char ppl_ratio[] = "ppl_ratio";
inline constexpr char ln_ppl_correlation[] = "ln_ppl_correlation";
inline constexpr char kld_mean[] = "kld_mean";
inline constexpr char kld_stderr[] = "kld_stderr";
inline constexpr char kld_median[] = "kld_median";
inline constexpr char kld_p90[] = "kld_p90";
inline constexpr char kld_p95[] = "kld_p95";
inline constexpr char kld_p99[] = "kld_p99";
inline constexpr char kld_p999[] = "kld_p999";
inline constexpr char kld_max[] = "kld_max";
inline constexpr char top1_agreement[] = "top1_agreement";
inline constexpr char delta_p_mean[] = "delta_p_mean";
inline constexpr char delta_p_rms[] = "delta_p_rms";
inline constexpr char delta_p_p01[] = "delta_p_p01";
inline constexpr char delta_p_median[] = "delta_p_median";
inline constexpr char delta_p_p99[] = "delta_p_p99";
inline constexpr char overhead_pct[] = "overhead_pct";
inline constexpr char ns_per_call[] = "ns_per_call";
inline constexpr char ipc[] = "ipc";
}  // namespace metric

std::span<const MetricDef> all_metrics();
const MetricDef* find_metric(std::string_view name);  // nullptr when not in the vocabulary

}  // namespace qb
