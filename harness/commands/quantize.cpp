// `qbench quantize IN.gguf OUT.gguf --type PRESET [--tensor-type REGEX=TYPE]... [--threads N]`:
// converts a GGUF model to another quantization mix, with llama.cpp's per-tensor rules
// (gguf/presets.cpp), progress per tensor, and a summary of size, bits/weight and the error of
// every converted tensor (RMSE / SNR of the dequantized result against the F32 source). The work is
// gguf::quantize_file (gguf/quantize_file.h); this file is the command line and the printing.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "gguf/presets.h"
#include "gguf/quantize_file.h"
#include "qb/command.h"
#include "qb/formats.h"

namespace qb {
namespace {

using ojson = nlohmann::ordered_json;

struct Args {
  std::string in, out, type;
  std::vector<std::string> tensor_types;
  int threads = 0;
  bool json = false;
};

std::string mib(uint64_t b) { return fmt::format("{:.2f} MiB", double(b) / (1024.0 * 1024.0)); }

void quantize_model(const Args& a) {
  const bool quiet = globals().quiet;
  gguf::QuantizeOptions opt;
  opt.preset = a.type;
  opt.tensor_types = a.tensor_types;
  opt.threads = a.threads;
  const auto s = gguf::quantize_file(a.in, a.out, opt, [&](size_t i, size_t n, const gguf::QuantizedTensor& r) {
    if (quiet) return;
    std::string err =
        r.converted ? (std::isinf(r.snr_db) ? "  exact" : fmt::format("  rmse {:.3e} snr {:6.2f} dB", r.rmse, r.snr_db))
                    : "";
    std::fprintf(stderr, "[%4zu/%4zu] %-40s %-18s %7s -> %-7s %10s -> %10s%s%s\n", i + 1, n, r.name.c_str(),
                 r.shape.c_str(), r.from.c_str(), r.to.c_str(), mib(r.bytes_before).c_str(), mib(r.bytes_after).c_str(),
                 r.converted ? err.c_str() : "  (copied)", r.note.empty() ? "" : ("  [" + r.note + "]").c_str());
  });
  const gguf::Preset* preset = s.preset;
  const auto& results = s.tensors;
  const int nthreads = s.threads;
  const std::vector<std::string>& requant_types = s.requantized_types;

  // Summary.
  const uint64_t before = s.bytes_before, after = s.bytes_after;
  const int converted = s.converted, fallbacks = s.fallbacks;
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (const auto& r : results) {
    auto& bt = by_type[r.to];
    bt.first++;
    bt.second += r.bytes_after;
  }
  const double bpw_before = s.bits_per_weight_before(), bpw_after = s.bits_per_weight_after();
  if (a.json) {
    ojson j;
    j["input"] = a.in;
    j["output"] = a.out;
    j["preset"] = preset->name;
    j["file_type"] = preset->ftype;
    j["threads"] = nthreads;
    j["tensor_bytes_before"] = before;
    j["tensor_bytes_after"] = after;
    j["file_size_before"] = s.file_size_before;
    j["file_size_after"] = s.file_size_after;
    j["bits_per_weight_before"] = bpw_before;
    j["bits_per_weight_after"] = bpw_after;
    j["converted"] = converted;
    j["copied"] = int(results.size()) - converted;
    j["fallbacks"] = fallbacks;
    j["requantized_types"] = requant_types;
    ojson ts = ojson::array();
    for (const auto& r : results) {
      ojson e = {{"name", r.name},
                 {"shape", r.shape},
                 {"from", r.from},
                 {"to", r.to},
                 {"converted", r.converted},
                 {"bytes_before", r.bytes_before},
                 {"bytes_after", r.bytes_after}};
      if (r.converted) {
        e["rmse"] = r.rmse;
        e["snr_db"] = std::isinf(r.snr_db) ? ojson(nullptr) : ojson(r.snr_db);
        e["max_abs_err"] = r.max_abs_err;
      }
      if (!r.note.empty()) e["note"] = r.note;
      ts.push_back(e);
    }
    j["tensors"] = ts;
    std::printf("%s\n", j.dump(1).c_str());
  }
  if (!quiet) {
    std::fprintf(stderr, "\n%s -> %s (%s, general.file_type %d)\n", a.in.c_str(), a.out.c_str(),
                 std::string(preset->name).c_str(), preset->ftype);
    std::fprintf(stderr, "  tensors: %zu (%d converted, %zu copied, %d fallbacks), %d threads\n", results.size(),
                 converted, results.size() - size_t(converted), fallbacks, nthreads);
    std::fprintf(stderr, "  size:    %s -> %s (file %s -> %s)\n", mib(before).c_str(), mib(after).c_str(),
                 mib(s.file_size_before).c_str(), mib(s.file_size_after).c_str());
    std::fprintf(stderr, "  bits/weight: %.4f -> %.4f\n", bpw_before, bpw_after);
    for (const auto& [name, bt] : by_type)
      std::fprintf(stderr, "  %-8s %5d tensors %12s\n", name.c_str(), bt.first, mib(bt.second).c_str());
    // The least accurate tensors.
    std::vector<const gguf::QuantizedTensor*> conv;
    for (const auto& r : results)
      if (r.converted && !std::isinf(r.snr_db)) conv.push_back(&r);
    std::sort(conv.begin(), conv.end(), [](auto* x, auto* y) { return x->snr_db < y->snr_db; });
    if (!conv.empty()) {
      double mean = 0;
      for (auto* r : conv) mean += r->snr_db;
      std::fprintf(stderr, "  SNR: mean %.2f dB over %zu converted tensors; lowest:\n", mean / double(conv.size()),
                   conv.size());
      for (size_t k = 0; k < conv.size() && k < 5; ++k)
        std::fprintf(stderr, "    %-40s %-7s rmse %.3e snr %.2f dB\n", conv[k]->name.c_str(), conv[k]->to.c_str(),
                     conv[k]->rmse, conv[k]->snr_db);
    }
  }
}

void add_quantize(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("quantize", "Convert a GGUF model to a quantization preset (llama.cpp per-tensor rules)");
  cmd->add_option("input", a->in, "Input GGUF file")->required();
  cmd->add_option("output", a->out, "Output GGUF file (written atomically)")->required();
  cmd->add_option("--type", a->type, "Preset: " + gguf::preset_names())->required();
  cmd->add_option("--tensor-type", a->tensor_types, "Override: REGEX=TYPE (first match wins), repeatable");
  cmd->add_option("--threads", a->threads, "Worker threads (default: all PUs)")->check(CLI::Range(1, 4096));
  cmd->add_flag("--json", a->json, "Print a JSON summary on stdout");
  cmd->callback([a] { quantize_model(*a); });
}

}  // namespace
QB_REGISTER_COMMAND(quantize, "quantize", 61, add_quantize);
}  // namespace qb
