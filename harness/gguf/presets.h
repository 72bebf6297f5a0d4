// Quantization presets (`qbench quantize --type`): which ggml type each tensor of a model gets.
// The per-tensor rules follow llama.cpp's published mixtures (src/llama-quant.cpp): token
// embedding and output tensor choices, attn_v / ffn_down bumps for the _M / _L / _S mixes, tensors
// that are never quantized (1-D, norms, MoE routers, ...), the fallback when a row length does not
// divide the block size, and the general.file_type (llama_ftype) written to the output.
#pragma once
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"

namespace qb::gguf {

struct Preset {
  std::string_view name;  // "Q4_K_M"
  int ftype;              // llama_ftype written as general.file_type
  int default_type;       // ggml type of the bulk of the weights
};
std::span<const Preset> presets();
const Preset* find_preset(std::string_view name);  // case-insensitive
std::string preset_names();
// llama_ftype name for general.file_type ("MOSTLY_Q4_K_M"), "" if unknown.
std::string_view ftype_name(int64_t ftype);

// Model facts the rules depend on (read from the GGUF metadata).
struct ModelFacts {
  std::string arch;
  int n_layer = 0;    // {arch}.block_count
  int n_head = 0;     // {arch}.attention.head_count
  int n_head_kv = 0;  // {arch}.attention.head_count_kv
  int n_expert = 0;   // {arch}.expert_count
  int n_gqa() const { return n_head > 0 && n_head_kv > 0 ? n_head / n_head_kv : 1; }
};
ModelFacts model_facts(const File& f);

struct TensorOverride {
  std::string pattern;  // ECMAScript regex, searched in the tensor name
  std::regex re;
  int type;  // ggml type id
};
// Parses "REGEX=TYPE"; throws UsageError.
TensorOverride parse_override(const std::string& spec);

struct PlanInput {
  std::string name;
  std::vector<int64_t> dims;
  int type;  // current ggml type
};
struct PlanEntry {
  int type;               // chosen ggml type
  bool quantizable;       // false: never converted (kept as is)
  bool manual = false;    // chosen by --tensor-type
  bool fallback = false;  // row length forced a fallback type
  std::string note;       // e.g. "ncols 640 not divisible by 256 -> Q5_0"
};
// One entry per input tensor, in input order.
std::vector<PlanEntry> plan_tensor_types(std::span<const PlanInput> tensors, const Preset& preset,
                                         const ModelFacts& facts, std::span<const TensorOverride> overrides);

}  // namespace qb::gguf
