#include "gguf/quantize_file.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "qb/errors.h"
#include "qb/formats.h"
#include "qb/thread_pool.h"

namespace qb::gguf {
namespace {

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

// Decodes tensor t to F32, encodes it as `to` into dst and measures the error into r.
void convert_tensor(ThreadPool& pool, const TensorInfo& t, const FormatTraits& to, std::vector<float>& src_f32,
                    std::vector<uint8_t>& dst, QuantizedTensor& r) {
  const int64_t k = t.row_length(), nrows = t.n_rows();
  const FormatTraits& from = *t.format;
  const float* src = reinterpret_cast<const float*>(t.data);  // no copy when it already is F32
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
  for (size_t task = 0; task < nt; ++task) {
    e2 += err2[task];
    s2 += sig2[task];
    r.max_abs_err = std::max(r.max_abs_err, maxe[task]);
  }
  r.rmse = r.elements ? std::sqrt(e2 / double(r.elements)) : 0.0;
  r.snr_db = e2 > 0 ? 10.0 * std::log10(s2 / e2) : INFINITY;
}

}  // namespace

QuantizeSummary quantize_file(const std::string& in_path, const std::string& out, const QuantizeOptions& opt,
                              const QuantizeProgress& progress) {
  const Preset* preset = find_preset(opt.preset);
  if (!preset) throw UsageError("--type '" + opt.preset + "': unknown preset, expected one of: " + preset_names());
  std::vector<TensorOverride> overrides;
  for (const auto& s : opt.tensor_types) overrides.push_back(parse_override(s));
  if (in_path == out) throw UsageError("input and output are the same file '" + in_path + "'");

  auto in = File::open(in_path);
  const auto& tensors = in->tensors();
  std::vector<PlanInput> pin;
  pin.reserve(tensors.size());
  for (const auto& t : tensors) pin.push_back({t.name, t.dims, t.ggml_type});
  const auto plan = plan_tensor_types(pin, *preset, model_facts(*in), overrides);

  QuantizeSummary s;
  s.preset = preset;
  // Refuse before writing anything: every tensor to convert needs a qbench decoder and encoder.
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (plan[i].type == t.ggml_type) continue;
    if (!t.format || !t.format->dequantize_row)
      throw UsageError(
          fmt::format("{}: tensor '{}' (tensor info at byte {}) has type {} which qbench cannot decode; "
                      "cannot convert it to {}",
                      in_path, t.name, t.info_offset, t.type->name, ggml_type(plan[i].type)->name));
    const FormatTraits* to = find_format_by_gguf_type(plan[i].type);
    if (!to || !to->quantize)
      throw UsageError(fmt::format("tensor '{}': qbench has no encoder for {}", t.name, ggml_type(plan[i].type)->name));
    if (t.format->family != Family::Float && std::find(s.requantized_types.begin(), s.requantized_types.end(),
                                                       std::string(t.type->name)) == s.requantized_types.end())
      s.requantized_types.emplace_back(t.type->name);
  }
  if (!s.requantized_types.empty() && opt.warn_requantize)
    std::fprintf(stderr,
                 "qbench: warning: %s holds already-quantized tensors (%s); they are dequantized to F32 and "
                 "quantized again, which compounds the quantization error\n",
                 in_path.c_str(), fmt::format("{}", fmt::join(s.requantized_types, ", ")).c_str());

  // Output: metadata of the input with the new file type.
  Writer w(3);
  w.copy_metadata(*in);
  w.set("general.quantization_version", Value::u32(2));
  w.set("general.file_type", Value::u32(uint32_t(preset->ftype)));
  for (const char* key : {"split.no", "split.count", "split.tensors.count"}) w.remove(key);
  for (size_t i = 0; i < tensors.size(); ++i) w.add_tensor(tensors[i].name, plan[i].type, tensors[i].dims);

  s.threads = opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool({}, s.threads);
  std::vector<float> src_f32;
  std::vector<uint8_t> dst;
  w.begin(out);  // the Writer removes its temporary if anything below throws
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const int to_id = plan[i].type;
    QuantizedTensor r;
    r.name = t.name;
    r.shape = t.shape_string();
    r.from = std::string(t.type->name);
    r.to = std::string(ggml_type(to_id)->name);
    r.bytes_before = t.nbytes;
    r.bytes_after = w.tensor_nbytes(i);
    r.elements = t.n_elements();
    r.note = plan[i].note;
    r.fallback = plan[i].fallback;
    if (plan[i].manual) r.note = r.note.empty() ? "--tensor-type" : "--tensor-type; " + r.note;
    if (to_id == t.ggml_type) {
      w.write_tensor(i, t.data, t.nbytes);
    } else {
      r.converted = true;
      try {
        convert_tensor(pool, t, *find_format_by_gguf_type(to_id), src_f32, dst, r);
      } catch (const FormatError& e) {
        // e.g. NaN/Inf in the source: name the file and where the tensor's data starts.
        throw UsageError(
            fmt::format("{}: tensor '{}' (data at byte {}): {}", in_path, t.name, t.file_offset, e.what()));
      }
      w.write_tensor(i, dst.data(), r.bytes_after);
    }
    s.bytes_before += r.bytes_before;
    s.bytes_after += r.bytes_after;
    s.elements += r.elements;
    s.converted += r.converted;
    s.fallbacks += r.fallback;
    s.tensors.push_back(std::move(r));
    if (progress) progress(i, tensors.size(), s.tensors.back());
  }
  w.commit();
  s.file_size_before = in->file_size();
  s.file_size_after = File::open(out)->file_size();  // re-read: the output must parse
  return s;
}

}  // namespace qb::gguf
