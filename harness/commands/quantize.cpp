// `qbench quantize IN.gguf OUT.gguf --type PRESET [--tensor-type REGEX=TYPE]... [--threads N]`:
// converts a GGUF model to another quantization mix, with llama.cpp's per-tensor rules
// (gguf/presets.cpp), progress per tensor, and a summary of size, bits/weight and the error of
// every converted tensor (RMSE / SNR of the dequantized result against the F32 source).
// The output is written to a temporary file and renamed on success only.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "gguf/presets.h"
#include "qb/command.h"
#include "qb/formats.h"
#include "qb/thread_pool.h"

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

// Runs fn(task) for every task on the pool; the first exception is rethrown here.
void run_tasks(ThreadPool& pool, int64_t ntasks, const std::function<void(int64_t)>& fn) {
  std::exception_ptr err;
  std::mutex mu;
  std::atomic<bool> failed{false};
  pool.parallel_for(ntasks, [&](int64_t t) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      fn(t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!err) err = std::current_exception();
      failed = true;
    }
  });
  if (err) std::rethrow_exception(err);
}

struct TensorResult {
  std::string name, shape, from, to;
  bool converted = false;
  uint64_t bytes_before = 0, bytes_after = 0;
  int64_t elements = 0;
  double rmse = 0, snr_db = 0, max_abs_err = 0;
  std::string note;
};

void quantize_model(const Args& a) {
  const gguf::Preset* preset = gguf::find_preset(a.type);
  if (!preset) throw UsageError("--type '" + a.type + "': unknown preset, expected one of: " + gguf::preset_names());
  std::vector<gguf::TensorOverride> overrides;
  for (const auto& s : a.tensor_types) overrides.push_back(gguf::parse_override(s));
  if (a.in == a.out) throw UsageError("input and output are the same file '" + a.in + "'");
  const bool quiet = globals().quiet;

  auto in = gguf::File::open(a.in);
  const auto& tensors = in->tensors();
  std::vector<gguf::PlanInput> pin;
  pin.reserve(tensors.size());
  for (const auto& t : tensors) pin.push_back({t.name, t.dims, t.ggml_type});
  const gguf::ModelFacts facts = gguf::model_facts(*in);
  const auto plan = gguf::plan_tensor_types(pin, *preset, facts, overrides);

  // Refuse before writing anything: every tensor to convert needs a qbench decoder and encoder.
  std::vector<std::string> requant_types;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (plan[i].type == t.ggml_type) continue;
    if (!t.format || !t.format->dequantize_row)
      throw UsageError(fmt::format("{}: tensor '{}' (tensor info at byte {}) has type {} which qbench cannot decode; "
                                   "cannot convert it to {}", a.in, t.name, t.info_offset, t.type->name,
                                   gguf::ggml_type(plan[i].type)->name));
    const FormatTraits* to = find_format_by_gguf_type(plan[i].type);
    if (!to || !to->quantize)
      throw UsageError(fmt::format("tensor '{}': qbench has no encoder for {}", t.name, gguf::ggml_type(plan[i].type)->name));
    if (t.format->family != Family::Float &&
        std::find(requant_types.begin(), requant_types.end(), std::string(t.type->name)) == requant_types.end())
      requant_types.emplace_back(t.type->name);
  }
  if (!requant_types.empty())
    std::fprintf(stderr,
                 "qbench: warning: %s holds already-quantized tensors (%s); they are dequantized to F32 and "
                 "quantized again, which compounds the quantization error\n",
                 a.in.c_str(), fmt::format("{}", fmt::join(requant_types, ", ")).c_str());

  // Output: metadata of the input with the new file type.
  gguf::Writer w(3);
  w.copy_metadata(*in);
  w.set("general.quantization_version", gguf::Value::u32(2));
  w.set("general.file_type", gguf::Value::u32(uint32_t(preset->ftype)));
  for (const char* k : {"split.no", "split.count", "split.tensors.count"}) w.remove(k);
  for (size_t i = 0; i < tensors.size(); ++i) w.add_tensor(tensors[i].name, plan[i].type, tensors[i].dims);

  int nthreads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool({}, nthreads);

  std::vector<TensorResult> results;
  std::vector<float> src_f32;
  std::vector<uint8_t> dst;
  w.begin(a.out);  // the Writer removes its temporary if anything below throws
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const int to_id = plan[i].type;
    TensorResult r;
    r.name = t.name;
    r.shape = t.shape_string();
    r.from = std::string(t.type->name);
    r.to = std::string(gguf::ggml_type(to_id)->name);
    r.bytes_before = t.nbytes;
    r.bytes_after = w.tensor_nbytes(i);
    r.elements = t.n_elements();
    r.note = plan[i].note;
    if (plan[i].manual) r.note = r.note.empty() ? "--tensor-type" : "--tensor-type; " + r.note;
    if (to_id == t.ggml_type) {
      w.write_tensor(i, t.data, t.nbytes);
    } else try {
      r.converted = true;
      const int64_t k = t.row_length(), nrows = t.n_rows();
      const FormatTraits& from = *t.format;
      const FormatTraits& to = *find_format_by_gguf_type(to_id);
      // Source as F32 (no copy when it already is).
      const float* src = reinterpret_cast<const float*>(t.data);
      const int64_t rows_per_task = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(k, 1));
      const int64_t ntasks = (nrows + rows_per_task - 1) / rows_per_task;
      const bool aligned_f32 = from.id == FormatId::F32 && (reinterpret_cast<uintptr_t>(t.data) % alignof(float)) == 0;
      if (!aligned_f32) {
        src_f32.resize(size_t(t.n_elements()));
        const size_t in_row = t.nbytes / size_t(std::max<int64_t>(nrows, 1));
        run_tasks(pool, ntasks, [&](int64_t task) {
          int64_t r0 = task * rows_per_task, r1 = std::min(nrows, r0 + rows_per_task);
          dequantize(from.id, t.data + size_t(r0) * in_row, src_f32.data() + r0 * k, r1 - r0, k);
        });
        src = src_f32.data();
      }
      dst.resize(size_t(r.bytes_after));
      const size_t out_row = to.row_bytes(k);
      const size_t nt = static_cast<size_t>(ntasks);
      std::vector<double> err2(nt), sig2(nt), maxe(nt);
      run_tasks(pool, ntasks, [&](int64_t task) {
        int64_t r0 = task * rows_per_task, r1 = std::min(nrows, r0 + rows_per_task);
        const float* x = src + r0 * k;
        uint8_t* q = dst.data() + size_t(r0) * out_row;
        quantize(to.id, x, q, r1 - r0, k, t.name);
        std::vector<float> y(static_cast<size_t>(k));
        double e2 = 0, s2 = 0, me = 0;
        for (int64_t row = 0; row < r1 - r0; ++row) {
          dequantize(to.id, q + size_t(row) * out_row, y.data(), 1, k);
          const float* xr = x + row * k;
          for (int64_t c = 0; c < k; ++c) {
            double d = double(xr[c]) - double(y[size_t(c)]);
            e2 += d * d;
            s2 += double(xr[c]) * double(xr[c]);
            me = std::max(me, std::fabs(d));
          }
        }
        err2[size_t(task)] = e2;
        sig2[size_t(task)] = s2;
        maxe[size_t(task)] = me;
      });
      double e2 = 0, s2 = 0;
      for (int64_t task = 0; task < ntasks; ++task) {
        e2 += err2[size_t(task)];
        s2 += sig2[size_t(task)];
        r.max_abs_err = std::max(r.max_abs_err, maxe[size_t(task)]);
      }
      r.rmse = r.elements ? std::sqrt(e2 / double(r.elements)) : 0.0;
      r.snr_db = e2 > 0 ? 10.0 * std::log10(s2 / e2) : INFINITY;
      w.write_tensor(i, dst.data(), r.bytes_after);
    } catch (const FormatError& e) {
      // e.g. NaN/Inf in the source: name the file and where the tensor's data starts.
      throw UsageError(fmt::format("{}: tensor '{}' (data at byte {}): {}", a.in, t.name, t.file_offset, e.what()));
    }
    if (!quiet) {
      std::string err = r.converted ? (std::isinf(r.snr_db) ? "  exact" : fmt::format("  rmse {:.3e} snr {:6.2f} dB", r.rmse, r.snr_db)) : "";
      std::fprintf(stderr, "[%4zu/%4zu] %-40s %-18s %7s -> %-7s %10s -> %10s%s%s\n", i + 1, tensors.size(), t.name.c_str(),
                   r.shape.c_str(), r.from.c_str(), r.to.c_str(), mib(r.bytes_before).c_str(), mib(r.bytes_after).c_str(),
                   r.converted ? err.c_str() : "  (copied)", r.note.empty() ? "" : ("  [" + r.note + "]").c_str());
    }
    results.push_back(std::move(r));
  }
  w.commit();

  // Summary.
  uint64_t before = 0, after = 0;
  int64_t elements = 0;
  int converted = 0, fallbacks = 0;
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    before += r.bytes_before;
    after += r.bytes_after;
    elements += r.elements;
    converted += r.converted;
    fallbacks += plan[i].fallback;
    auto& bt = by_type[r.to];
    bt.first++;
    bt.second += r.bytes_after;
  }
  auto out_file = gguf::File::open(a.out);  // re-read: the output must parse
  const double bpw_before = elements ? 8.0 * double(before) / double(elements) : 0;
  const double bpw_after = elements ? 8.0 * double(after) / double(elements) : 0;
  if (a.json) {
    ojson j;
    j["input"] = a.in;
    j["output"] = a.out;
    j["preset"] = preset->name;
    j["file_type"] = preset->ftype;
    j["threads"] = nthreads;
    j["tensor_bytes_before"] = before;
    j["tensor_bytes_after"] = after;
    j["file_size_before"] = in->file_size();
    j["file_size_after"] = out_file->file_size();
    j["bits_per_weight_before"] = bpw_before;
    j["bits_per_weight_after"] = bpw_after;
    j["converted"] = converted;
    j["copied"] = int(results.size()) - converted;
    j["fallbacks"] = fallbacks;
    j["requantized_types"] = requant_types;
    ojson ts = ojson::array();
    for (const auto& r : results) {
      ojson e = {{"name", r.name}, {"shape", r.shape}, {"from", r.from}, {"to", r.to}, {"converted", r.converted},
                 {"bytes_before", r.bytes_before}, {"bytes_after", r.bytes_after}};
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
    std::fprintf(stderr, "\n%s -> %s (%s, general.file_type %d)\n", a.in.c_str(), a.out.c_str(), std::string(preset->name).c_str(),
                 preset->ftype);
    std::fprintf(stderr, "  tensors: %zu (%d converted, %zu copied, %d fallbacks), %d threads\n", results.size(), converted,
                 results.size() - size_t(converted), fallbacks, nthreads);
    std::fprintf(stderr, "  size:    %s -> %s (file %s -> %s)\n", mib(before).c_str(), mib(after).c_str(), mib(in->file_size()).c_str(),
                 mib(out_file->file_size()).c_str());
    std::fprintf(stderr, "  bits/weight: %.4f -> %.4f\n", bpw_before, bpw_after);
    for (const auto& [name, bt] : by_type)
      std::fprintf(stderr, "  %-8s %5d tensors %12s\n", name.c_str(), bt.first, mib(bt.second).c_str());
    // The least accurate tensors.
    std::vector<const TensorResult*> conv;
    for (const auto& r : results)
      if (r.converted && !std::isinf(r.snr_db)) conv.push_back(&r);
    std::sort(conv.begin(), conv.end(), [](auto* x, auto* y) { return x->snr_db < y->snr_db; });
    if (!conv.empty()) {
      double mean = 0;
      for (auto* r : conv) mean += r->snr_db;
      std::fprintf(stderr, "  SNR: mean %.2f dB over %zu converted tensors; lowest:\n", mean / double(conv.size()), conv.size());
      for (size_t k = 0; k < conv.size() && k < 5; ++k)
        std::fprintf(stderr, "    %-40s %-7s rmse %.3e snr %.2f dB\n", conv[k]->name.c_str(), conv[k]->to.c_str(), conv[k]->rmse,
                     conv[k]->snr_db);
    }
  }
}

void add_quantize(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("quantize", "Convert a GGUF model to a quantization preset (llama.cpp per-tensor rules)");
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
