// The `memory` suite (no timing; computed from the format table, the topology and this run's
// other cells):
//   model_NAME   per format × catalogue model: bits_per_weight, bytes (per transformer layer),
//                model_bytes (all linear layers, LM head included), working_set_bytes (largest
//                matrix), which cache level a layer / the model fits in, bytes_per_token (every
//                weight read once per decoded token at batch 1: an estimate that leaves out the KV
//                cache and activations), bandwidth_pct achieved by this format's GEMV cells in
//                this run's throughput suite. The bandwidth-bound token rate that implies is a
//                param (bandwidth_bound_tokens_per_s), not the tokens_per_s metric: that name
//                belongs to the latency suite's decode figure.
//   layer_MxK    per format × custom shape: bytes, bits_per_weight, fit level, and
//                peak_rss_bytes: the resident memory this cell's buffers (weights, one activation
//                vector, one output vector) add when first touched, measured from VmRSS.
//   process      peak RSS of the whole qbench process so far (every suite's buffers included).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "kernel_bench.h"
#include "qb/catalogue.h"
#include "qb/counters.h"
#include "qb/metrics.h"

namespace qb {
namespace {

std::vector<ModelShapes> memory_models(const RunContext& ctx) {
  std::vector<std::string> names;
  for (const auto& s : ctx.cfg.shapes)
    if (!s.model.empty() && std::find(names.begin(), names.end(), s.model) == names.end()) names.push_back(s.model);
  std::vector<ModelShapes> out;
  for (const auto& m : default_catalogue())
    if (ctx.cfg.shapes.empty() || std::find(names.begin(), names.end(), m.name) != names.end()) out.push_back(m);
  return out;
}

// Best achieved GB/s and bandwidth_pct over this run's throughput GEMV cells of a format.
struct Achieved {
  double gb_per_s = 0, pct = 0;
  std::string key;
};
Achieved achieved(const RunContext& ctx, const std::string& format) {
  Achieved a;
  for (const auto& r : ctx.done)
    if (r.cell.suite == "throughput" && r.cell.format == format && r.status == CellStatus::Ok &&
        r.cell.workload.rfind("gemv_", 0) == 0) {
      const double g = r.metrics.value(metric::gb_per_s, 0.0);
      if (g > a.gb_per_s) {
        a.gb_per_s = g;
        a.pct = r.metrics.value(metric::bandwidth_pct, 0.0);
        a.key = r.cell.key();
      }
    }
  return a;
}

// Current resident set of this process in bytes (/proc/self/statm), 0 if unreadable.
uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * uint64_t(sysconf(_SC_PAGESIZE)) : 0;
}

// Resident bytes that `bytes` of fresh buffers add once every page is written: the footprint a
// cell's data really costs (page rounding, huge pages where the kernel gives them).
uint64_t touched_footprint(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(fmt::format("cannot map {} bytes for the footprint", bytes));
  const uint64_t before = resident_bytes();
  std::memset(p, 1, bytes);
  const uint64_t after = resident_bytes();
  munmap(p, bytes);
  return after > before ? after - before : 0;
}

class MemorySuite : public Suite {
 public:
  std::string name() const override { return "memory"; }
  std::string description() const override {
    return "Bits/weight, bytes per layer and model, cache fit, bytes per token, achieved bandwidth, peak RSS";
  }
  int order() const override { return 90; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    std::vector<Cell> cells;
    auto base = [&](const std::string& f, const std::string& w) {
      Cell c;
      c.suite = name();
      c.format = f;
      c.backend = kNoField;
      c.workload = w;
      c.threads = 1;
      c.placement = kNoField;
      return c;
    };
    std::vector<Shape> custom;
    for (const auto& s : kb::dedupe(ctx.cfg.shapes))
      if (s.model.empty()) custom.push_back(s);
    const auto models = memory_models(ctx);
    for (const auto& fname : resolve_formats(ctx)) {
      const FormatTraits* ft = find_format(fname);
      if (!ft) continue;
      for (const auto& m : models) {
        Cell c = base(std::string(ft->name), "model_" + m.name);
        c.params = {{"model", m.name}, {"source", m.source}};
        cells.push_back(c);
      }
      for (const auto& s : custom) {
        Cell c = base(std::string(ft->name), "layer_" + kb::shape_mk(s));
        c.params = {{"m", s.m}, {"k", s.k}};
        cells.push_back(c);
      }
    }
    cells.push_back(base("-", "process"));
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    CellResult r;
    r.cell = cell;
    r.valid = true;
    if (cell.workload == "process") {
      auto ru = rusage_snapshot();
      r.metrics[metric::peak_rss_bytes] = ru.value("max_rss_bytes", 0.0);
      r.cell.params["what"] =
          "peak resident set size of the whole qbench process up to this cell (getrusage): every suite's "
          "buffers, the bandwidth suite's DRAM arrays included; not a format's or model's footprint "
          "(layer cells carry those)";
      return r;
    }
    const FormatTraits* ft = find_format(cell.format);
    if (!ft) throw std::runtime_error("unknown format " + cell.format);
    const Achieved ach = achieved(ctx, cell.format);
    if (cell.workload.rfind("layer_", 0) == 0) {
      const int64_t m = cell.params["m"], k = cell.params["k"];
      if (k % ft->block_size)
        return kb::unsupported(
            cell, fmt::format("k={} is not a multiple of {}'s block size {}", k, ft->name, ft->block_size));
      const double bytes = double(m) * double(ft->row_bytes(k));
      r.metrics[metric::bytes] = bytes;
      r.metrics[metric::working_set_bytes] = bytes;
      r.metrics[metric::bits_per_weight] = 8 * bytes / double(m * k);
      r.cell.params["fits"] = kb::fits_level(ctx.topo, bytes);
      if (ach.pct > 0) r.metrics[metric::bandwidth_pct] = ach.pct;
      // This cell's own footprint: weights + one F32 activation vector + one F32 output vector.
      const size_t cell_bytes = size_t(bytes) + size_t(k) * 4 + size_t(m) * 4;
      if (ctx.topo.mem_available_bytes && cell_bytes > ctx.topo.mem_available_bytes / 4) {
        r.cell.params["peak_rss_method"] =
            fmt::format("not measured: {} bytes exceed a quarter of available memory", cell_bytes);
      } else {
        r.metrics[metric::peak_rss_bytes] = double(touched_footprint(cell_bytes));
        r.cell.params["peak_rss_method"] =
            "growth of VmRSS when this cell's weights, one F32 activation and one F32 output vector are "
            "written once (page-granular; qbench's own memory excluded)";
        r.cell.params["peak_rss_buffer_bytes"] = cell_bytes;
      }
      return r;
    }
    const std::string model = cell.params["model"];
    const ModelShapes* ms = nullptr;
    const auto models = memory_models(ctx);
    for (const auto& m : models)
      if (m.name == model) ms = &m;
    if (!ms) throw std::runtime_error("model " + model + " not in the shape catalogue");
    double total = 0, weights = 0, per_layer = 0, largest = 0;
    nlohmann::json detail = nlohmann::json::array();
    for (const auto& s : ms->shapes) {
      if (s.k % ft->block_size)
        return kb::unsupported(cell, fmt::format("{}: k={} is not a multiple of {}'s block size {}", s.name, s.k,
                                                 ft->name, ft->block_size));
      const double b = double(s.m) * double(ft->row_bytes(s.k));
      total += b * s.count;
      weights += double(s.m) * double(s.k) * s.count;
      largest = std::max(largest, b);
      const bool per_layer_shape = ms->layers > 0 && s.count % ms->layers == 0;
      if (per_layer_shape) per_layer += b * (s.count / ms->layers);
      detail.push_back({{"name", s.name},
                        {"m", s.m},
                        {"k", s.k},
                        {"count", s.count},
                        {"bytes", b},
                        {"fits", kb::fits_level(ctx.topo, b)}});
    }
    r.metrics[metric::model_bytes] = total;
    r.metrics[metric::bits_per_weight] = 8 * total / weights;
    r.metrics[metric::bytes_per_token] = total;
    r.metrics[metric::working_set_bytes] = largest;
    if (per_layer > 0) r.metrics[metric::bytes] = per_layer;
    r.cell.params["bytes_metric"] = "bytes of one transformer layer's linear weights";
    r.cell.params["bytes_per_token_method"] =
        "estimate: every linear weight read once per decoded token (batch 1); KV cache and activations excluded";
    r.cell.params["layer_fits"] = kb::fits_level(ctx.topo, per_layer);
    r.cell.params["model_fits"] = kb::fits_level(ctx.topo, total);
    r.cell.params["weights"] = weights;
    r.cell.params["shapes"] = detail;
    if (ach.gb_per_s > 0) {
      if (ach.pct > 0) r.metrics[metric::bandwidth_pct] = ach.pct;
      // A model that does not fit in cache streams from DRAM: its rate is capped by DRAM bandwidth.
      const double dram = ctx.peaks.dram_read_gb_per_s(std::max(1, ctx.topo.pus));
      const bool from_dram = kb::fits_level(ctx.topo, total) == "DRAM" && dram > 0;
      const double gbs = from_dram ? std::min(ach.gb_per_s, dram) : ach.gb_per_s;
      r.cell.params["bandwidth_bound_tokens_per_s"] = gbs * 1e9 / total;
      r.cell.params["bandwidth_from"] = ach.key;
      r.cell.params["bandwidth_bound_tokens_per_s_method"] =
          from_dram ? "estimate: min(best GEMV GB/s of this format, DRAM read GB/s at all PUs) / model_bytes"
                    : "estimate: best GEMV GB/s of this format in this run / model_bytes (model fits in cache)";
    } else {
      r.cell.params["bandwidth_from"] = "no throughput GEMV cell of this format in this run";
    }
    return r;
  }
};

QB_REGISTER_SUITE(MemorySuite);

}  // namespace
}  // namespace qb
