#include "model/variants.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "gguf/presets.h"
#include "gguf/quantize_file.h"
#include "qb/errors.h"
#include "qb/formats.h"

namespace qb::model {
namespace fs = std::filesystem;
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

uint64_t hash_string(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = mix(h, c);
  return mix(h, s.size());
}

}  // namespace

std::string variant_cache_dir(const std::string& cache_dir, const std::string& out_dir) {
  return cache_dir.empty() ? (std::filesystem::path(out_dir) / "variants").string() : cache_dir;
}

std::vector<std::string> default_variant_names() {
  return {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K", "IQ4_XS"};
}

std::vector<std::string> requested_variants(const std::vector<std::string>& formats) {
  std::vector<std::string> out;
  for (const auto& f : formats)
    if (is_variant_name(f)) out.push_back(f);
  return formats.empty() ? default_variant_names() : out;
}

bool is_variant_name(std::string_view name) {
  return name == kSourceVariant || gguf::find_preset(name) || find_format(std::string(name));
}

std::string file_identity(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::string> memo;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw UsageError(fmt::format("cannot read model '{}': {}", path, ec.message()));
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  const std::string memo_key = fmt::format("{}|{}|{}", fs::absolute(path).string(), size, mtime);
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = memo.find(memo_key); it != memo.end()) return it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read model '{}'", path));
  std::vector<char> buf(size_t(4) << 20);
  uint64_t h = 0x243f6a8885a308d3ull;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const size_t n = size_t(in.gcount());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, buf.data() + i, 8);
      h = mix(h, v);
    }
    for (; i < n; ++i) h = mix(h, uint8_t(buf[i]));
  }
  const std::string id = fmt::format("{}-{:016x}", size, h);
  memo[memo_key] = id;
  return id;
}

Variant make_variant(const std::string& source, const std::string& name, const std::string& cache_dir, int threads,
                     bool quiet) {
  Variant v;
  v.name = name;
  v.path = source;
  if (name == kSourceVariant) {
    v.is_source = true;
    return v;
  }
  const gguf::Preset* preset = gguf::find_preset(name);
  if (!preset) {
    if (!find_format(name))
      throw UsageError(
          fmt::format("'{}' is neither a preset ({}), a format nor '{}'", name, gguf::preset_names(), kSourceVariant));
    v.load_format = name;
    return v;
  }
  uint64_t h = hash_string(0x13198a2e03707344ull, file_identity(source));
  h = hash_string(h, preset->name);
  h = mix(h, uint64_t(gguf::kQuantizerVersion));
  v.key = fmt::format("{:016x}", h);
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create the variant cache '{}': {}", cache_dir, ec.message()));
  const std::string stem = fs::path(source).stem().string();
  v.path = (fs::path(cache_dir) / fmt::format("{}.{}.{}.gguf", stem, preset->name, v.key)).string();
  if (fs::exists(v.path)) {
    v.reused = true;
    return v;
  }
  if (!quiet)
    std::fprintf(stderr, "perplexity: quantizing %s to %s -> %s\n", source.c_str(), std::string(preset->name).c_str(),
                 v.path.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  gguf::QuantizeOptions opt;
  opt.preset = std::string(preset->name);
  opt.threads = threads;
  opt.warn_requantize = false;  // the suite says so in each cell's params (kld_base_quantized)
  gguf::quantize_file(source, v.path, opt);
  v.make_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v;
}

KldBaseInfo kld_base_of(const std::string& source) {
  auto f = gguf::File::open(source);
  KldBaseInfo b;
  const gguf::TensorInfo* largest = nullptr;
  for (const auto& t : f->tensors()) {
    if (t.n_dims_effective() < 2) continue;
    if (!t.format || t.format->family != Family::Float) b.quantized = true;
    if (!largest || t.nbytes > largest->nbytes) largest = &t;
  }
  const int64_t ft = f->get_int("general.file_type", -1);
  b.type = std::string(ft >= 0 ? gguf::ftype_name(ft) : "");
  if (b.type.empty() && largest) b.type = std::string(largest->type->name);
  return b;
}

double file_bits_per_weight(const std::string& path) {
  auto f = gguf::File::open(path);
  uint64_t bytes = 0;
  int64_t elements = 0;
  for (const auto& t : f->tensors()) {
    bytes += t.nbytes;
    elements += t.n_elements();
  }
  return elements ? 8.0 * double(bytes) / double(elements) : 0.0;
}

}  // namespace qb::model
