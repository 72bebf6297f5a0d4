// `qbench inspect FILE.gguf [--json] [--metadata]`: what a GGUF model file holds: header, model
// metadata, tensor table (type, shape, bytes, bits/weight), totals per type.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "gguf/presets.h"
#include "qb/command.h"

namespace qb {
namespace {

using ojson = nlohmann::ordered_json;

ojson value_json(const gguf::Value& v) {
  using gguf::ValueType;
  switch (v.type) {
    case ValueType::STRING:
      return v.s;
    case ValueType::BOOL:
      return v.u != 0;
    case ValueType::F32:
    case ValueType::F64:
      if (!std::isfinite(v.f)) return nullptr;  // JSON has no NaN/Inf
      return v.f;
    case ValueType::ARRAY: {
      ojson a = ojson::array();
      for (const auto& it : v.items) a.push_back(value_json(it));
      return a;
    }
    case ValueType::I8:
    case ValueType::I16:
    case ValueType::I32:
    case ValueType::I64:
      return v.i;
    default:
      return v.u;
  }
}

std::string value_type_string(const gguf::Value& v) {
  std::string t(gguf::value_type_name(v.type));
  if (v.is_array()) {
    t += "[";
    t += v.items.empty() || !v.items[0].is_array() ? std::string(gguf::value_type_name(v.elem))
                                                   : value_type_string(v.items[0]);
    t += "]";
  }
  return t;
}

struct TypeTotal {
  int tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
};

ojson inspect_json(const gguf::File& f) {
  ojson j;
  j["file"] = f.path();
  j["version"] = f.version();
  j["file_size"] = f.file_size();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["tensor_count"] = f.tensors().size();
  j["metadata_count"] = f.metadata().size();

  const std::string arch = f.architecture();
  auto num = [&](const std::string& key) -> ojson {
    const gguf::Value* v = f.find(key);
    if (!v) return nullptr;
    if (v->is_array()) return value_json(*v);
    if (v->is_integer()) return v->as_int();
    if (v->is_float()) return v->f;
    return nullptr;
  };
  ojson s;
  s["architecture"] = arch.empty() ? ojson(nullptr) : ojson(arch);
  s["name"] = f.find("general.name") ? ojson(f.get_string("general.name")) : ojson(nullptr);
  s["context_length"] = num(arch + ".context_length");
  s["embedding_length"] = num(arch + ".embedding_length");
  s["block_count"] = num(arch + ".block_count");
  s["feed_forward_length"] = num(arch + ".feed_forward_length");
  s["head_count"] = num(arch + ".attention.head_count");
  s["head_count_kv"] = num(arch + ".attention.head_count_kv");
  s["expert_count"] = num(arch + ".expert_count");
  ojson vocab = num(arch + ".vocab_size");
  if (vocab.is_null())
    if (const gguf::Value* t = f.find("tokenizer.ggml.tokens"); t && t->is_array()) vocab = t->items.size();
  s["vocab_size"] = vocab;
  s["tokenizer_model"] = f.find("tokenizer.ggml.model") ? ojson(f.get_string("tokenizer.ggml.model")) : ojson(nullptr);
  s["quantization_version"] = num("general.quantization_version");
  ojson ft = num("general.file_type");
  s["file_type"] = ft;
  s["file_type_name"] = ft.is_number_integer() && !gguf::ftype_name(ft.get<int64_t>()).empty()
                            ? ojson(std::string(gguf::ftype_name(ft.get<int64_t>())))
                            : ojson(nullptr);
  j["summary"] = s;

  ojson md = ojson::object();
  for (const auto& [k, v] : f.metadata()) md[k] = {{"type", value_type_string(v)}, {"value", value_json(v)}};
  j["metadata"] = md;

  ojson ts = ojson::array();
  std::map<std::string, TypeTotal> by_type;
  TypeTotal all;
  std::vector<std::string> unsupported;
  for (const auto& t : f.tensors()) {
    bool supported = t.format && t.format->dequantize_row;
    ts.push_back({{"name", t.name},
                  {"type", t.type->name},
                  {"type_id", t.ggml_type},
                  {"supported", supported},
                  {"shape", t.dims},
                  {"elements", t.n_elements()},
                  {"bytes", t.nbytes},
                  {"offset", t.offset},
                  {"bits_per_weight", t.bits_per_weight()}});
    auto& tt = by_type[std::string(t.type->name)];
    tt.tensors++;
    tt.elements += t.n_elements();
    tt.bytes += t.nbytes;
    all.tensors++;
    all.elements += t.n_elements();
    all.bytes += t.nbytes;
    if (!supported && std::find(unsupported.begin(), unsupported.end(), std::string(t.type->name)) == unsupported.end())
      unsupported.emplace_back(t.type->name);
  }
  j["tensors"] = ts;
  ojson bt = ojson::object();
  for (const auto& [name, tt] : by_type)
    bt[name] = {{"tensors", tt.tensors},
                {"elements", tt.elements},
                {"bytes", tt.bytes},
                {"bits_per_weight", tt.elements ? 8.0 * double(tt.bytes) / double(tt.elements) : 0.0}};
  j["totals_by_type"] = bt;
  j["total"] = {{"tensors", all.tensors},
                {"elements", all.elements},
                {"bytes", all.bytes},
                {"bits_per_weight", all.elements ? 8.0 * double(all.bytes) / double(all.elements) : 0.0}};
  j["unsupported_types"] = unsupported;
  return j;
}

std::string human_bytes(double b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024 && i < 4) b /= 1024, ++i;
  return i ? fmt::format("{:.2f} {}", b, u[i]) : fmt::format("{:.0f} {}", b, u[i]);
}

void print_text(const gguf::File& f, const ojson& j, bool all_metadata) {
  std::printf("%s: GGUF v%u, %s, %zu tensors, %zu metadata keys, alignment %u, data at byte %llu\n", f.path().c_str(),
              f.version(), human_bytes(double(f.file_size())).c_str(), f.tensors().size(), f.metadata().size(),
              f.alignment(), (unsigned long long)f.data_offset());
  std::printf("\nModel\n");
  for (const auto& [k, v] : j["summary"].items()) {
    if (v.is_null()) continue;
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.size() > 100) s = s.substr(0, 100) + "...";
    std::printf("  %-22s %s\n", k.c_str(), s.c_str());
  }
  if (all_metadata) {
    std::printf("\nMetadata\n");
    for (const auto& [k, v] : f.metadata())
      std::printf("  %-44s %-12s %s\n", k.c_str(), value_type_string(v).c_str(), v.to_string(6).substr(0, 160).c_str());
  }
  std::printf("\n%-48s %-8s %-24s %12s %8s\n", "tensor", "type", "shape", "bytes", "bits/w");
  for (const auto& t : f.tensors()) {
    bool supported = t.format && t.format->dequantize_row;
    std::printf("%-48s %-8s %-24s %12llu %8.4f%s\n", t.name.c_str(), std::string(t.type->name).c_str(),
                t.shape_string().c_str(), (unsigned long long)t.nbytes, t.bits_per_weight(),
                supported ? "" : "  (unsupported type)");
  }
  std::printf("\n%-10s %8s %14s %12s %8s\n", "type", "tensors", "elements", "size", "bits/w");
  for (const auto& [name, tt] : j["totals_by_type"].items())
    std::printf("%-10s %8d %14lld %12s %8.4f\n", name.c_str(), tt["tensors"].get<int>(),
                (long long)tt["elements"].get<int64_t>(), human_bytes(double(tt["bytes"].get<uint64_t>())).c_str(),
                tt["bits_per_weight"].get<double>());
  const auto& tot = j["total"];
  std::printf("%-10s %8d %14lld %12s %8.4f  (average bits/weight)\n", "total", tot["tensors"].get<int>(),
              (long long)tot["elements"].get<int64_t>(), human_bytes(double(tot["bytes"].get<uint64_t>())).c_str(),
              tot["bits_per_weight"].get<double>());
  if (!j["unsupported_types"].empty())
    std::printf("\nTypes qbench has no codec for: %s (inspect only; quantize refuses them as input)\n",
                fmt::format("{}", fmt::join(j["unsupported_types"].get<std::vector<std::string>>(), ", ")).c_str());
}

void add_inspect(CLI::App& app) {
  struct Args {
    std::string file;
    bool json = false, metadata = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("inspect", "Show a GGUF model file: metadata, tensors, types, bits/weight");
  cmd->add_option("file", a->file, "GGUF file")->required();
  cmd->add_flag("--json", a->json, "Print JSON (all metadata values in full)");
  cmd->add_flag("--metadata", a->metadata, "Text output: list every metadata key");
  cmd->callback([a] {
    auto f = gguf::File::open(a->file);
    ojson j = inspect_json(*f);
    if (a->json) {
      std::printf("%s\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      return;
    }
    print_text(*f, j, a->metadata);
  });
}

}  // namespace
QB_REGISTER_COMMAND(inspect, "inspect", 60, add_inspect);
}  // namespace qb
