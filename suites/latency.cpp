// The `latency` suite:
//   gemv_MxK      per-call GEMV latency distribution (one sample per call): p50/p90/p99/max, cv
//   decode_MODEL  estimated decode-step latency of a catalogue model: the sum over the model's
//                 linear layers of median GEMV time × occurrences per token (attention, norms and
//                 sampling excluded) → est_decode_ms, est_tokens_per_s, est_gb_per_s (params
//                 `estimate: true`). An estimate faster than model bytes / this run's DRAM read
//                 is invalid: no real decode step can stream its weights that fast.
// Weights are streamed from DRAM like the throughput suite's GEMV (residency, kernel_bench.h).
// Default plan: the best own backend of each format plus the peers that stand in for it (or
// --backends), all PUs (or --threads), every distinct placement (peers place their own threads).
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "kernel_bench.h"
#include "qb/catalogue.h"
#include "qb/metrics.h"
#include "qb/thread_pool.h"

namespace qb {
namespace {

// Rows measured per layer for the decode estimate: a matrix above this many weights (32M, 4M with
// --quick) is measured on a row slice and its time scaled by m / rows (GEMV time is linear in m at
// such sizes; only LM heads exceed it in the catalogue's small models).
int64_t max_weights_per_layer(bool quick) { return quick ? int64_t(4) << 20 : int64_t(32) << 20; }

std::vector<ModelShapes> decode_models(const RunContext& ctx) {
  std::vector<ModelShapes> out;
  std::vector<std::string> names;
  for (const auto& s : ctx.cfg.shapes)
    if (!s.model.empty() && std::find(names.begin(), names.end(), s.model) == names.end()) names.push_back(s.model);
  if (ctx.cfg.shapes.empty()) {
    names = {"gemma3-270m"};
    if (!ctx.cfg.quick) names.push_back("llama3.2-1b");
  }
  for (const auto& n : names)
    for (const auto& m : default_catalogue())
      if (m.name == n) out.push_back(m);
  // Models from a JSON shape file are not in the default catalogue: rebuild them from cfg.shapes.
  for (const auto& n : names)
    if (std::none_of(out.begin(), out.end(), [&](const ModelShapes& m) { return m.name == n; })) {
      ModelShapes ms;
      ms.name = n;
      for (const auto& s : ctx.cfg.shapes)
        if (s.model == n) ms.shapes.push_back(s);
      out.push_back(ms);
    }
  return out;
}

class LatencySuite : public Suite {
 public:
  std::string name() const override { return "latency"; }
  std::string description() const override {
    return "Per-call GEMV latency distribution per shape, and estimated decode-step latency per catalogue model";
  }
  int order() const override { return 30; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    const auto backends = kb::requested_backends(ctx);
    const bool bexp = kb::backends_explicit(ctx);
    const kb::KernelPlan kp = kb::kernel_plan(ctx);
    std::vector<int> threads = ctx.cfg.threads.empty() ? std::vector<int>{std::max(1, ctx.topo.pus)} : ctx.cfg.threads;
    std::vector<Shape> shapes = ctx.cfg.shapes.empty() ? kp.gemv_shapes : kb::dedupe(ctx.cfg.shapes);
    const auto models = decode_models(ctx);
    std::vector<Cell> cells;
    for (const auto& fname : resolve_formats(ctx)) {
      const FormatTraits* ft = find_format(fname);
      if (!ft) continue;
      std::vector<const kb::BackendRef*> bs;
      if (bexp) {
        for (const auto& b : backends) bs.push_back(&b);
      } else {
        if (const kb::BackendRef* best = kb::best_own(ft->id, backends)) bs.push_back(best);
        for (const auto& b : backends)  // the peers that stand in for this format
          if (b.peer && b.available && kb::unsupported_reason(ft->id, b, 0).empty()) bs.push_back(&b);
        if (bs.empty()) continue;  // no kernel anywhere: the throughput suite records why
      }
      for (const auto* b : bs)
        for (int th : threads) {
          auto pls = distinct_placements(ctx, th);
          if (b->peer && pls.size() > 1) pls.resize(1);  // peers place their own threads
          for (const auto& pl : pls) {
            Cell base;
            base.suite = name();
            base.format = std::string(ft->name);
            base.backend = b->name;
            base.threads = th;
            base.placement = pl;
            for (const auto& s : shapes) {
              Cell c = base;
              c.workload = kb::workload_name(s, 1);
              c.params = {{"m", s.m}, {"k", s.k}, {"n", 1}, {"shape", s.name}, {"residency", kb::residency_for(1)}};
              cells.push_back(c);
            }
            if (b->peer) continue;  // decode estimates use qbench's own kernels
            for (const auto& m : models) {
              Cell c = base;
              c.workload = "decode_" + m.name;
              c.params = {{"model", m.name}, {"estimate", true}, {"residency", kb::residency_for(1)}};
              cells.push_back(c);
            }
          }
        }
    }
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    const FormatTraits* ft = find_format(cell.format);
    if (!ft) throw std::runtime_error("unknown format " + cell.format);
    kb::BackendRef b;
    for (const auto& x : kb::requested_backends(ctx))
      if (x.name == cell.backend) b = x;
    if (b.name.empty()) throw std::runtime_error("backend " + cell.backend + " not requested");
    ThreadPool* pool = nullptr;
    if (!b.peer) {
      pool = ctx.pool(cell.threads, cell.placement);
      if (!pool) throw std::runtime_error("placement cannot place this many threads");
    }
    if (cell.workload.rfind("decode_", 0) == 0) return decode(cell, ctx, *ft, b, pool);

    const int64_t m = cell.params["m"], k = cell.params["k"];
    const std::string why = kb::unsupported_reason(ft->id, b, k);
    if (!why.empty()) return kb::unsupported(cell, why);
    std::unique_ptr<kb::PreparedMatmul> mm;
    try {
      mm = std::make_unique<kb::PreparedMatmul>(ft->id, b, m, k, 1, cell.threads);
    } catch (const FormatError& e) {
      return kb::unsupported(cell, e.what());
    }
    if (cell.params.value("residency", "llc") == "dram") mm->rotate(ctx.topo, pool);
    // A distribution needs samples: at least 100 calls (tails are reported as measured).
    MeasureOptions o = ctx.cfg.measure;
    o.min_samples = std::max(o.min_samples, ctx.cfg.quick ? 50 : 100);
    Measurement meas = qb::measure(o, [&] { mm->run(pool); });
    CellResult r;
    r.cell = cell;
    kb::fill_from_measurement(r, meas);
    const Stats& s = meas.stats;
    r.metrics[metric::p50_us] = s.median * 1e6;
    r.metrics[metric::p90_us] = s.p90 * 1e6;
    r.metrics[metric::p99_us] = s.p99 * 1e6;
    r.metrics[metric::max_us] = s.max * 1e6;
    r.metrics[metric::cv] = s.cv;
    r.metrics[metric::time_s] = s.median;
    r.metrics[metric::gb_per_s] = mm->weight_bytes() / s.median / 1e9;
    r.cell.params["kernel"] = mm->kernel_name();
    if (mm->repack_ms() >= 0) r.cell.params["repack_ms"] = mm->repack_ms();  // load-time weight repack
    r.cell.params["samples"] = s.n;
    r.cell.params.update(mm->residency_params());
    if (s.n < 100) r.cell.params["p99_note"] = fmt::format("only {} samples: p99 is close to the maximum", s.n);
    return r;
  }

 private:
  CellResult decode(const Cell& cell, RunContext& ctx, const FormatTraits& ft, const kb::BackendRef& b,
                    ThreadPool* pool) {
    const std::string model = cell.params["model"];
    const ModelShapes* ms = nullptr;
    static std::vector<ModelShapes> models;
    models = decode_models(ctx);
    for (const auto& m : models)
      if (m.name == model) ms = &m;
    if (!ms || ms->shapes.empty()) throw std::runtime_error("model " + model + " has no shapes in the catalogue");
    // Distinct (m, k) with their summed counts.
    struct Part {
      Shape s;
      int count = 0;
      std::vector<std::string> names;
    };
    std::vector<Part> parts;
    for (const auto& s : ms->shapes) {
      auto it = std::find_if(parts.begin(), parts.end(), [&](const Part& p) { return p.s.m == s.m && p.s.k == s.k; });
      if (it == parts.end()) parts.push_back({s, 0, {}}), it = parts.end() - 1;
      it->count += s.count;
      it->names.push_back(s.name);
    }
    for (const auto& p : parts) {
      const std::string why = kb::unsupported_reason(ft.id, b, p.s.k);
      if (!why.empty()) return kb::unsupported(cell, fmt::format("{}: {}", p.names.front(), why));
    }
    MeasureOptions o = ctx.cfg.measure;
    o.min_time_s = o.min_time_s / double(parts.size());
    o.max_time_s = std::max(o.min_time_s, o.max_time_s / double(parts.size()));
    o.warmup = std::min(o.warmup, 1);
    const bool dram = cell.params.value("residency", "llc") == "dram";
    CellResult r;
    r.cell = cell;
    r.valid = true;
    double total_s = 0, bytes = 0;
    nlohmann::json detail = nlohmann::json::array();
    for (const auto& p : parts) {
      const int64_t rows =
          std::min<int64_t>(p.s.m, std::max<int64_t>(64, max_weights_per_layer(ctx.cfg.quick) / p.s.k / 16 * 16));
      kb::PreparedMatmul mm(ft.id, b, rows, p.s.k, 1, cell.threads);
      if (dram) mm.rotate(ctx.topo, pool);
      Measurement meas = qb::measure(o, [&] { mm.run(pool); });
      const double t = meas.stats.median * double(p.s.m) / double(rows);
      total_s += t * p.count;
      bytes += mm.weight_bytes() * double(p.s.m) / double(rows) * p.count;
      if (!meas.valid) {
        r.valid = false;
        for (const auto& why : meas.reasons) r.reasons.push_back(fmt::format("{}: {}", p.names.front(), why));
      }
      detail.push_back({{"layers", p.names},
                        {"m", p.s.m},
                        {"k", p.s.k},
                        {"count", p.count},
                        {"rows_measured", rows},
                        {"median_s", meas.stats.median},
                        {"cv", meas.stats.cv},
                        {"time_s_scaled", t},
                        {"residency", mm.residency_params()}});
      r.counters[p.names.front()] = meas.counters;
    }
    r.metrics[metric::est_decode_ms] = total_s * 1e3;
    r.metrics[metric::est_tokens_per_s] = 1.0 / total_s;
    r.metrics[metric::est_gb_per_s] = bytes / total_s / 1e9;
    r.metrics[metric::bytes_per_token] = bytes;
    // A decode step reads every weight once: model bytes / DRAM read is a lower bound on its time.
    const double dram_gbs = ctx.peaks.dram_read_gb_per_s(cell.threads);
    if (dram_gbs > 0) {
      const double floor_s = bytes / (dram_gbs * 1e9);
      r.cell.params["bound"] = fmt::format(
          "memory: {:.3f} ms = {:.0f} bytes / DRAM read {:.2f} GB/s at {} threads (bandwidth "
          "suite, this run)",
          floor_s * 1e3, bytes, dram_gbs, cell.threads);
      if (dram && total_s < floor_s) {
        r.valid = false;
        r.reasons.push_back(
            fmt::format("estimate {:.3f} ms beats the DRAM bound {:.3f} ms (model bytes / DRAM read of this "
                        "run): the weights did not stream from memory",
                        total_s * 1e3, floor_s * 1e3));
      }
    } else {
      r.cell.params["bound"] =
          "memory: no DRAM read measured in this run (add --suites bandwidth): the estimate is unchecked";
    }
    r.cell.params["estimate"] = true;
    r.cell.params["method"] =
        "estimate: sum over the model's linear layers of median GEMV time x occurrences per token; matrices over "
        "32M weights (4M with --quick) are timed on a row slice and scaled by m/rows; attention, norms, embeddings and "
        "sampling excluded";
    r.cell.params["layers"] = detail;
    return r;
  }
};

QB_REGISTER_SUITE(LatencySuite);

}  // namespace
}  // namespace qb
