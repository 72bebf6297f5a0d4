// The metric vocabulary: every suite writes only these names.
#include "qb/metrics.h"

#include <algorithm>

namespace qb {

namespace {
const MetricDef kMetrics[] = {
    {"gb_per_s", "GB/s", true, "bytes read (weights, or the working set) per second, 1e9"},
    {"gflop_per_s", "GFLOP/s", true, "floating-point or integer multiply-adds ×2 per second, 1e9"},
    {"roofline_pct", "%", true, "share of this machine's measured bound (bandwidth or compute)"},
    {"bandwidth_pct", "%", true, "share of the measured DRAM read bandwidth"},
    {"time_s", "s", false, "median time of one call"},
    {"p50_us", "us", false, "median latency of one call"},
    {"p90_us", "us", false, "90th percentile latency"},
    {"p99_us", "us", false, "99th percentile latency"},
    {"max_us", "us", false, "maximum latency"},
    {"cv", "ratio", false, "coefficient of variation of the samples"},
    {"decode_ms", "ms", false, "measured decode-step time of a model"},
    {"tokens_per_s", "tokens/s", true, "measured tokens per second"},
    {"ttft_ms", "ms", false, "time to first token: the prompt's prefill and the first sampled token"},
    {"weight_bytes", "bytes", false, "model weights as loaded by the engine"},
    {"kv_cache_bytes", "bytes", false, "KV cache as allocated for the cell's context"},
    // Estimates carry the est_ prefix so no report or decision can take them for measurements.
    {"est_decode_ms", "ms", false, "estimated decode-step time of a model (sum of its streamed GEMVs)"},
    {"est_tokens_per_s", "tokens/s", true, "estimated tokens per second (1 / est_decode_ms)"},
    {"est_gb_per_s", "GB/s", true, "model bytes per estimated decode step"},
    {"bits_per_weight", "bits", false, "storage bits per weight, scales included"},
    {"bytes", "bytes", false, "bytes of the object measured (weights of a layer, working set)"},
    {"model_bytes", "bytes", false, "bytes of all linear-layer weights of a model"},
    {"bytes_per_token", "bytes", false, "bytes moved per generated token (estimate)"},
    {"working_set_bytes", "bytes", false, "bytes touched by one call"},
    {"peak_rss_bytes", "bytes", false, "process peak (memory/process) or the resident footprint of a cell's buffers (memory/layer_*)"},
    {"rmse", "", false, "root mean square quantization error"},
    {"max_abs_err", "", false, "maximum absolute quantization error"},
    {"snr_db", "dB", true, "signal-to-noise ratio of the quantized weights"},
    {"cosine", "", true, "cosine similarity between original and dequantized weights"},
    {"rel_frobenius", "", false, "relative Frobenius norm of the error"},
    {"ppl", "", false, "perplexity"},
    {"kld", "nats", false, "KL divergence against the full-precision model"},
    {"overhead_pct", "%", false, "harness overhead as a share of measured time"},
    {"ns_per_call", "ns", false, "time of one call in nanoseconds"},
    {"ipc", "", true, "instructions per cycle"},
};
}  // namespace

std::span<const MetricDef> all_metrics() { return kMetrics; }

const MetricDef* find_metric(std::string_view name) {
  auto it = std::find_if(std::begin(kMetrics), std::end(kMetrics),
                         [&](const MetricDef& m) { return m.name == name; });
  return it == std::end(kMetrics) ? nullptr : it;
}

}  // namespace qb
