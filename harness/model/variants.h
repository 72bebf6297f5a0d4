// Model variants for the perplexity suite: one GGUF file per requested format, made from the
// --model file by the same code as `qbench quantize` (gguf::quantize_file) and cached on disk under
// a content-addressed name: hash(source size + content, preset, gguf::kQuantizerVersion). A variant
// already in the cache is reused, so a second run (or another run given the same --cache) does not
// quantize again.
//   "source"      the model file as stored (also the KLD base: see kld_base_of)
//   preset name   Q8_0, Q4_K_M, IQ4_XS, ... (gguf/presets.h): a quantized file in the cache
//   format name   a qbench format that is no preset (e.g. Q4_K, F16): the linear weights are
//                 requantized in memory when the model loads (ModelOptions::format)
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qb::model {

inline constexpr std::string_view kSourceVariant = "source";

struct Variant {
  std::string name;         // as requested
  std::string path;         // the GGUF file to load
  std::string load_format;  // ModelOptions::format ("" : as stored)
  bool is_source = false;
  bool reused = false;      // found in the cache
  double make_seconds = 0;  // time to quantize it (0 when reused)
  std::string key;          // content-addressed key, "" for the source
};

// "source", a preset or a format name.
bool is_variant_name(std::string_view name);
// Where variants are cached: --cache DIR, else <out>/variants.
std::string variant_cache_dir(const std::string& cache_dir, const std::string& out_dir);
// The model suites' default --formats: the presets most shipped for edge CPUs, 8.5 down to 2.6
// bits per weight.
std::vector<std::string> default_variant_names();
// cfg --formats entries that name variants, or the defaults when none is given.
std::vector<std::string> requested_variants(const std::vector<std::string>& formats);
// "<size>-<16 hex digits>": the source's size and a 64-bit hash of its bytes (memoized per path,
// size and modification time within the process).
std::string file_identity(const std::string& path);
// Returns the variant, quantizing into cache_dir (created) when it is not there yet.
Variant make_variant(const std::string& source, const std::string& name, const std::string& cache_dir, int threads,
                     bool quiet);

// The KLD base of a source file: the file itself (the highest precision there is). `quantized`
// when any of its 2-D weight tensors is stored in a non-float type; `type` is its file type
// ("MOSTLY_Q4_K_M") or, when it has none, the type of its largest tensor.
struct KldBaseInfo {
  bool quantized = false;
  std::string type;
};
KldBaseInfo kld_base_of(const std::string& source);

// Bits per weight of a whole GGUF file: 8 x tensor bytes / tensor elements (as llama.cpp prints).
double file_bits_per_weight(const std::string& path);

}  // namespace qb::model
