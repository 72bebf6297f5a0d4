// Converting a whole GGUF file to a quantization preset: the work behind `qbench quantize`, callable
// from the perplexity suite's model variants (harness/model/variants.h) without a subprocess.
// Per-tensor types follow gguf/presets.h; each converted tensor is decoded to F32, encoded to its
// new type, and measured (RMSE / SNR of the result against the F32 source). The output is written
// to a temporary file and renamed on success only.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/presets.h"

namespace qb::gguf {

// Bumped whenever a change to the quantizers or the presets can change the bytes written: model
// variants cached on disk carry it in their key, so a new quantizer never reuses an old file.
constexpr int kQuantizerVersion = 1;

struct QuantizeOptions {
  std::string preset;                     // preset name (find_preset)
  std::vector<std::string> tensor_types;  // "REGEX=TYPE" overrides, first match wins
  int threads = 0;                        // 0: every hardware thread
  bool warn_requantize = true;            // warn on stderr when quantized tensors are quantized again
};

struct QuantizedTensor {
  std::string name, shape, from, to;
  bool converted = false;
  uint64_t bytes_before = 0, bytes_after = 0;
  int64_t elements = 0;
  double rmse = 0, snr_db = 0, max_abs_err = 0;
  std::string note;
  bool fallback = false;
};

struct QuantizeSummary {
  const Preset* preset = nullptr;
  int threads = 0;
  std::vector<QuantizedTensor> tensors;  // input order
  std::vector<std::string> requantized_types;
  uint64_t bytes_before = 0, bytes_after = 0, file_size_before = 0, file_size_after = 0;
  int64_t elements = 0;
  int converted = 0, fallbacks = 0;
  double bits_per_weight_before() const { return elements ? 8.0 * double(bytes_before) / double(elements) : 0; }
  double bits_per_weight_after() const { return elements ? 8.0 * double(bytes_after) / double(elements) : 0; }
};

// Called after each tensor is written: (index, count, result).
using QuantizeProgress = std::function<void(size_t, size_t, const QuantizedTensor&)>;

// Throws qb::UsageError (unknown preset, bad override, undecodable tensor, NaN in the source...)
// before or while writing; nothing is left at `out` on failure.
QuantizeSummary quantize_file(const std::string& in, const std::string& out, const QuantizeOptions& opt,
                              const QuantizeProgress& progress = {});

}  // namespace qb::gguf
