// The `quant-error` suite: how much each format distorts weights. For every format it quantizes
// and dequantizes synthetic weight matrices shaped like LLM weights (gaussian, laplace, heavy-
// tailed student-t with nu=3, gaussian rows with a few large outliers; fixed seeds) with the
// reference codecs, and reports RMSE, max |error|, SNR, cosine similarity, relative Frobenius
// error and bits per weight. No timing: a cell is valid once computed.
// With --model FILE.gguf it adds one cell per format (workload "model") over the model's real
// weight matrices: each 2-D tensor is decoded from its stored type to f32 (up to kModelRowsPerTensor
// evenly spaced rows), re-quantized to the target format, and compared with the decoded weights.
// A framework with format variants of its own named in --backends (onnxruntime, openvino, mlx)
// adds one cell per variant x distribution (backend "framework:variant"): the same weights
// quantized by the framework's own quantizer, compared with the weights as the framework decodes
// them, and bits per weight as it stores them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernel_bench.h"
#include "qb/formats.h"
#include "qb/metrics.h"
#include "qb/suite.h"

namespace qb {
namespace {

constexpr double kSigma = 0.02;  // typical std of LLM linear weights
// Rows sampled per model tensor: bounds the cost (a 270M-parameter model x 26 formats would
// otherwise take minutes) while covering every tensor of every layer.
constexpr int64_t kModelRowsPerTensor = 32;

struct Sums {
  double se = 0, sx = 0, sy = 0, sxy = 0, emax = 0;
  size_t n = 0;
  void add(const float* x, const float* y, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const double a = x[i], b = y[i], e = b - a;
      se += e * e;
      sx += a * a;
      sy += b * b;
      sxy += a * b;
      emax = std::max(emax, std::fabs(e));
    }
    n += count;
  }
  void write(nlohmann::json& m) const {
    m[metric::rmse] = n ? std::sqrt(se / double(n)) : 0.0;
    m[metric::max_abs_err] = emax;
    if (se > 0) m[metric::snr_db] = 10 * std::log10(sx / se);  // omitted when lossless (F32)
    m[metric::cosine] = sx > 0 && sy > 0 ? sxy / std::sqrt(sx * sy) : 1.0;
    m[metric::rel_frobenius] = sx > 0 ? std::sqrt(se / sx) : 0.0;
  }
};

// Quantize + dequantize rows x k with format t; adds to sums.
void roundtrip(const FormatTraits& t, const float* x, int64_t rows, int64_t k, const std::string& what, Sums& sums) {
  std::vector<uint8_t> q(t.row_bytes(k) * size_t(rows));
  quantize(t.id, x, q.data(), rows, k, what);
  std::vector<float> y(size_t(rows * k));
  dequantize(t.id, q.data(), y.data(), rows, k);
  sums.add(x, y.data(), y.size());
}

// Weight rows sampled from a GGUF model, decoded to f32 once per run.
struct ModelSample {
  struct Tensor {
    std::string name;
    int64_t k = 0, rows = 0;
    std::vector<float> w;
  };
  std::vector<Tensor> tensors;
  int skipped_1d = 0;           // norms, biases: not weight matrices
  int skipped_undecodable = 0;  // stored in a type qbench has no codec for
  std::string arch;
};

ModelSample load_model_sample(const std::string& path) {
  auto f = gguf::File::open(path);
  ModelSample s;
  s.arch = f->architecture();
  for (const auto& ti : f->tensors()) {
    if (ti.n_dims_effective() < 2) {
      ++s.skipped_1d;
      continue;
    }
    if (!ti.format || !ti.format->dequantize_row || ti.format->row_header_bytes) {
      ++s.skipped_undecodable;
      continue;
    }
    const int64_t k = ti.row_length(), nrows = ti.n_rows();
    if (k <= 0 || nrows <= 0) continue;
    const int64_t take = std::min(nrows, kModelRowsPerTensor);
    const size_t rb = ti.format->row_bytes(k);
    ModelSample::Tensor t;
    t.name = ti.name;
    t.k = k;
    t.rows = take;
    t.w.resize(size_t(take * k));
    for (int64_t i = 0; i < take; ++i) {
      const int64_t r = i * nrows / take;  // evenly spaced rows
      ti.format->dequantize_row(ti.data + size_t(r) * rb, t.w.data() + size_t(i * k), k);
    }
    s.tensors.push_back(std::move(t));
  }
  return s;
}

// A small, portable generator (splitmix64 + Box-Muller) so the data is the same with every
// standard library, and results can be compared across machines.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double((next() >> 11) + 1) * 0x1p-53; }  // (0, 1]
  double normal() {
    if (have_) {
      have_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform())), th = 2.0 * M_PI * uniform();
    spare_ = r * std::sin(th);
    have_ = true;
    return r * std::cos(th);
  }

 private:
  uint64_t s_;
  double spare_ = 0;
  bool have_ = false;
};

struct Distribution {
  const char* name;
  uint64_t seed;
  const char* what;
};
const Distribution kDistributions[] = {
    {"gaussian", 1001, "N(0, 0.02^2)"},
    {"laplace", 1002, "Laplace, std 0.02"},
    {"student_t", 1003, "Student-t nu=3 scaled by 0.02 (heavy tails)"},
    {"outliers", 1004, "N(0, 0.02^2) with 8 outliers per row of 20-60 sigma"},
};

std::vector<float> generate(const Distribution& d, int64_t rows, int64_t k) {
  Rng rng(d.seed);
  std::vector<float> w(size_t(rows * k));
  const std::string name = d.name;
  for (auto& v : w) {
    if (name == "laplace") {
      const double u = rng.uniform() - 0.5;  // inverse CDF; b = sigma / sqrt(2)
      v = float(-kSigma / std::sqrt(2.0) * (u < 0 ? -1 : 1) * std::log(1 - 2 * std::fabs(u) + 1e-300));
    } else if (name == "student_t") {
      const double z = rng.normal();
      double chi2 = 0;
      for (int i = 0; i < 3; ++i) {
        const double n = rng.normal();
        chi2 += n * n;
      }
      v = float(kSigma * z / std::sqrt(chi2 / 3));
    } else {
      v = float(kSigma * rng.normal());
    }
  }
  if (name == "outliers")
    for (int64_t r = 0; r < rows; ++r)
      for (int i = 0; i < 8; ++i) {
        const int64_t c = int64_t(rng.next() % uint64_t(k));
        const double mag = kSigma * (20 + 40 * rng.uniform());
        w[size_t(r * k + c)] = float(rng.uniform() < 0.5 ? -mag : mag);
      }
  return w;
}

class QuantErrorSuite : public Suite {
 public:
  std::string name() const override { return "quant-error"; }
  std::string description() const override {
    return "quantization error (RMSE, max error, SNR, cosine, relative Frobenius) of every format "
           "on synthetic LLM-like weight distributions";
  }
  int order() const override { return 5; }  // cheap, no timing: run early

  std::vector<Cell> plan(const RunContext& ctx) const override {
    const int64_t rows = ctx.cfg.quick ? 64 : 256, k = 4096;
    std::vector<Cell> cells;
    for (const auto& f : resolve_formats(ctx))
      for (const auto& d : kDistributions) {
        Cell c;
        c.suite = name();
        c.format = f;
        c.backend = std::string("-");
        c.workload = d.name;
        c.threads = 1;
        c.placement = std::string("-");
        c.params = {{"rows", rows}, {"k", k}, {"seed", d.seed}, {"distribution", d.what}};
        cells.push_back(std::move(c));
      }
    if (kb::backends_explicit(ctx))
      for (const auto& b : kb::requested_backends(ctx))
        for (const auto& f : resolve_formats(ctx)) {
          const FormatTraits* ft = find_format(f);
          if (!ft) continue;
          for (const auto& v : kb::variant_refs(b, ft->id))
            for (const auto& d : kDistributions) {
              Cell c;
              c.suite = name();
              c.format = f;
              c.backend = v.name;
              c.workload = d.name;
              c.threads = 1;
              c.placement = std::string("-");
              c.params = {{"rows", rows}, {"k", k}, {"seed", d.seed}, {"distribution", d.what}};
              if (!v.variant.empty()) c.params.update({{"framework", b.name}, {"variant", v.variant}});
              cells.push_back(std::move(c));
            }
        }
    if (!ctx.cfg.model.empty())
      for (const auto& f : resolve_formats(ctx)) {
        Cell c;
        c.suite = name();
        c.format = f;
        c.backend = std::string("-");
        c.workload = std::string("model");
        c.threads = 1;
        c.placement = std::string("-");
        c.params = {{"model", ctx.cfg.model}, {"rows_per_tensor", kModelRowsPerTensor}};
        cells.push_back(std::move(c));
      }
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext&) override {
    const FormatTraits* t = find_format(cell.format);
    if (!t) throw std::invalid_argument("unknown format '" + cell.format + "'; known: " + format_names());
    CellResult r;
    r.cell = cell;
    if (cell.workload == "model") {
      const std::string path = cell.params.value("model", std::string());
      const ModelSample& ms = model(path);
      Sums sums;
      int used = 0, not_multiple = 0, refused = 0;
      std::string first_refusal;
      for (const auto& tw : ms.tensors) {
        if (tw.k % t->block_size) {  // this format cannot hold rows of that length
          ++not_multiple;
          continue;
        }
        try {
          Sums one;
          roundtrip(*t, tw.w.data(), tw.rows, tw.k, tw.name, one);
          sums.se += one.se;
          sums.sx += one.sx;
          sums.sy += one.sy;
          sums.sxy += one.sxy;
          sums.emax = std::max(sums.emax, one.emax);
          sums.n += one.n;
          ++used;
        } catch (const FormatError& e) {
          if (first_refusal.empty()) first_refusal = e.what();
          ++refused;
        }
      }
      if (!used)
        throw std::runtime_error("quant-error: no tensor of " + path + " can be stored as " + cell.format +
                                 (first_refusal.empty() ? " (row lengths are not multiples of its block size " +
                                                              std::to_string(t->block_size) + ")"
                                                        : ": " + first_refusal));
      sums.write(r.metrics);
      r.metrics[metric::bits_per_weight] = t->bits_per_weight(4096);
      r.cell.params["architecture"] = ms.arch;
      r.cell.params["tensors_used"] = used;
      r.cell.params["weights_compared"] = sums.n;
      r.cell.params["tensors_skipped_row_length"] = not_multiple;
      r.cell.params["tensors_skipped_1d"] = ms.skipped_1d;
      r.cell.params["tensors_skipped_undecodable"] = ms.skipped_undecodable;
      if (refused) {
        r.cell.params["tensors_refused"] = refused;
        r.cell.params["first_refusal"] = first_refusal;
      }
      r.valid = true;
      return r;
    }
    const Distribution* dist = nullptr;
    for (const auto& d : kDistributions)
      if (cell.workload == d.name) dist = &d;
    if (!dist) throw std::invalid_argument("quant-error: unknown workload '" + cell.workload + "'");
    const int64_t rows = cell.params.value("rows", int64_t(256)), k = cell.params.value("k", int64_t(4096));

    const std::vector<float>& x = data(*dist, rows, k);
    Sums sums;
    if (cell.backend != "-") {  // a framework's variant: its quantizer, its decoding, its storage
      const kb::BackendRef b = kb::backend_ref(cell.backend);
      if (!b.available) return kb::unsupported(cell, "backend " + b.name + " unavailable: " + b.missing);
      if (b.variant.empty() || !b.peer_info->create_variant)
        return kb::unsupported(cell, "backend " + b.name + " has no format variants of its own");
      auto mm = b.peer_info->create_variant(b.variant, x.data(), rows, k, 1, 1);
      std::vector<float> w_hat;
      if (!mm->dequantized(w_hat) || w_hat.size() != x.size())
        throw std::runtime_error(b.name + " gave no dequantized weights of " + std::to_string(rows) + "x" +
                                 std::to_string(k));
      sums.add(x.data(), w_hat.data(), w_hat.size());
      sums.write(r.metrics);
      r.metrics[metric::bits_per_weight] = 8.0 * double(mm->weight_bytes()) / double(rows * k);
      r.cell.params["dequantized_by"] = b.peer_info->name + " (the framework's own decoding of its stored weights)";
      r.valid = true;
      return r;
    }
    roundtrip(*t, x.data(), rows, k, cell.workload, sums);
    sums.write(r.metrics);
    r.metrics[metric::bits_per_weight] = t->bits_per_weight(k);
    r.valid = true;  // no timing involved: computed = valid
    return r;
  }

 private:
  // Each distribution is generated once per run and shared by all formats.
  const std::vector<float>& data(const Distribution& d, int64_t rows, int64_t k) {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::string(d.name) + "/" + std::to_string(rows) + "x" + std::to_string(k);
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, generate(d, rows, k)).first;
    return it->second;
  }
  const ModelSample& model(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!model_ || model_path_ != path) {
      model_ = std::make_unique<ModelSample>(load_model_sample(path));
      model_path_ = path;
    }
    return *model_;
  }
  std::mutex mu_;
  std::map<std::string, std::vector<float>> cache_;
  std::unique_ptr<ModelSample> model_;
  std::string model_path_;
};

}  // namespace

QB_REGISTER_SUITE(QuantErrorSuite);

}  // namespace qb
