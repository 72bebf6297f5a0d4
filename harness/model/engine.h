// Engines the model-level suites time: qbench's own runtime (model.h) and llama.cpp (libllama from
// the llama-cpp-python wheel), behind one interface so both go through the same measurement loop
// on the same GGUF, prompt, generated length and threads.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/phase_times.h"

namespace qb::model {

struct EngineOptions {
  std::string path;  // GGUF file
  int threads = 1;
  int64_t n_ctx = 1024;         // KV cache length: prompt + generated tokens must fit
  std::string backend;          // qbench: own backend name ("" = best per format); ignored by llama.cpp
  std::string format;           // qbench: requantize linear weights to this format at load ("" = as stored)
  std::string kv_type = "f16";  // KV cache element type: f16, f32 or q8_0 (both engines)
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Empties the KV cache: the next append starts at position 0.
  virtual void reset() = 0;
  // Appends tokens at the current position (one batch) and returns the greedy next token: the
  // argmax of the logits after the last one. Only the last position's logits are computed.
  virtual int32_t append(std::span<const int32_t> tokens) = 0;
  virtual int32_t n_vocab() const = 0;
  virtual std::vector<int32_t> tokenize(const std::string& text) const = 0;  // with BOS when the model adds it
  virtual uint64_t weight_bytes() const = 0;                                 // weights as loaded
  virtual uint64_t kv_bytes() const = 0;               // KV cache as allocated for n_ctx; 0: not known
  virtual std::string describe() const = 0;            // kernels or library version, for the report
  virtual double repack_seconds() const { return 0; }  // load-time weight repacking (part of the load)
  // Where the appends since reset_phase_times() spent their time; nullopt when the engine cannot
  // say (llama.cpp).
  virtual std::optional<PhaseTimes> phase_times() const { return std::nullopt; }
  virtual void reset_phase_times() {}
};

std::unique_ptr<Engine> open_qbench_engine(const EngineOptions& opt);

// "" when this build has llama.cpp; otherwise why not (the backend is then unavailable).
std::string llamacpp_unavailable();
// Throws qb::UsageError when llama.cpp is unavailable or cannot load the file.
std::unique_ptr<Engine> open_llamacpp_engine(const EngineOptions& opt);

}  // namespace qb::model
