// The metric vocabulary: every suite writes only these names.
#include "qb/metrics.h"

#include <algorithm>

namespace qb {

namespace {
const MetricDef kMetrics[] = {
    {metric::gb_per_s, "GB/s", true, "bytes read (weights, or the working set) per second, 1e9"},
    {metric::gflop_per_s, "GFLOP/s", true, "floating-point or integer multiply-adds ×2 per second, 1e9"},
    {metric::roofline_pct, "%", true, "share of this machine's measured bound (bandwidth or compute)"},
    {metric::bandwidth_pct, "%", true, "share of the measured DRAM read bandwidth"},
    {metric::in_cache_gb_per_s, "GB/s", true,
     "the same kernel and threads with its weights in L2: the compute ceiling of a weight-streaming cell"},
    {metric::time_s, "s", false, "median time of one call"},
    {metric::p50_us, "us", false, "median latency of one call"},
    {metric::p90_us, "us", false, "90th percentile latency"},
    {metric::p99_us, "us", false, "99th percentile latency"},
    {metric::max_us, "us", false, "maximum latency"},
    {metric::cv, "ratio", false, "coefficient of variation of the samples"},
    {metric::decode_ms, "ms", false, "measured decode-step time of a model"},
    {metric::tokens_per_s, "tokens/s", true, "measured tokens per second"},
    {metric::ttft_ms, "ms", false, "time to first token: the prompt's prefill and the first sampled token"},
    {metric::weight_bytes, "bytes", false, "model weights as loaded by the engine"},
    {metric::kv_cache_bytes, "bytes", false, "KV cache as allocated for the cell's context"},
    // Model suites, qbench's runtime: where the measured forward passes spent their time.
    {metric::time_share_matmul, "ratio", false,
     "share of the model's time in matmuls (activation quantization included)"},
    {metric::time_share_attention, "ratio", false, "share of the model's time in attention (scores, softmax, V sum)"},
    {metric::time_share_other, "ratio", false,
     "share of the model's time outside matmuls and attention (norms, RoPE, activations, logits)"},
    // Estimates carry the est_ prefix so no report or decision can take them for measurements.
    {metric::est_decode_ms, "ms", false, "estimated decode-step time of a model (sum of its streamed GEMVs)"},
    {metric::est_tokens_per_s, "tokens/s", true, "estimated tokens per second (1 / est_decode_ms)"},
    {metric::est_gb_per_s, "GB/s", true, "model bytes per estimated decode step"},
    {metric::bits_per_weight, "bits", false, "storage bits per weight, scales included"},
    {metric::bytes, "bytes", false, "bytes of the object measured (weights of a layer, working set)"},
    {metric::model_bytes, "bytes", false, "bytes of all linear-layer weights of a model"},
    {metric::bytes_per_token, "bytes", false, "bytes moved per generated token (estimate)"},
    {metric::working_set_bytes, "bytes", false, "bytes touched by one call"},
    {metric::peak_rss_bytes, "bytes", false,
     "process peak (memory/process) or the resident footprint of a cell's buffers (memory/layer_*)"},
    {metric::rmse, "", false, "root mean square quantization error"},
    {metric::max_abs_err, "", false, "maximum absolute quantization error"},
    {metric::snr_db, "dB", true, "signal-to-noise ratio of the quantized weights"},
    {metric::cosine, "", true, "cosine similarity between original and dequantized weights"},
    {metric::rel_frobenius, "", false, "relative Frobenius norm of the error"},
    {metric::rel_err, "", false,
     "matmul output error vs the original F32 weights: max |y - y_f32| / rms(y_f32) on the checked rows"},
    {metric::ppl, "", false, "perplexity"},
    {metric::kld, "nats", false, "KL divergence against the full-precision model"},
    // perplexity suite: the model against its KLD base (the source file), per scored token.
    {metric::ppl_stderr, "", false, "standard error of the perplexity"},
    {metric::ppl_ratio, "ratio", false, "perplexity / the KLD base's perplexity on the same tokens"},
    {metric::ln_ppl_correlation, "", true, "Pearson correlation of per-chunk ln PPL with the KLD base's"},
    {metric::kld_mean, "nats", false, "mean KL divergence from the KLD base (top-k + remainder: a lower bound)"},
    {metric::kld_stderr, "nats", false, "standard error of kld_mean"},
    {metric::kld_median, "nats", false, "median per-token KL divergence"},
    {metric::kld_p90, "nats", false, "90th percentile per-token KL divergence"},
    {metric::kld_p95, "nats", false, "95th percentile per-token KL divergence"},
    {metric::kld_p99, "nats", false, "99th percentile per-token KL divergence"},
    {metric::kld_p999, "nats", false, "99.9th percentile per-token KL divergence"},
    {metric::kld_max, "nats", false, "largest per-token KL divergence"},
    {metric::top1_agreement, "ratio", true, "share of tokens whose most probable next token is the KLD base's"},
    {metric::delta_p_mean, "", false, "mean of p(true token) - the KLD base's p(true token)"},
    {metric::delta_p_rms, "", false, "root mean square of the delta-p of the true token"},
    {metric::delta_p_p01, "", false, "1st percentile of the delta-p of the true token"},
    {metric::delta_p_median, "", false, "median delta-p of the true token"},
    {metric::delta_p_p99, "", false, "99th percentile of the delta-p of the true token"},
    {metric::overhead_pct, "%", false, "harness overhead as a share of measured time"},
    {metric::ns_per_call, "ns", false, "time of one call in nanoseconds"},
    {metric::ipc, "", true, "instructions per cycle"},
};
}  // namespace

std::span<const MetricDef> all_metrics() { return kMetrics; }

const MetricDef* find_metric(std::string_view name) {
  auto it = std::find_if(std::begin(kMetrics), std::end(kMetrics), [&](const MetricDef& m) { return m.name == name; });
  return it == std::end(kMetrics) ? nullptr : it;
}

}  // namespace qb
