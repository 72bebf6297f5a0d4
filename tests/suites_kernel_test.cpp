// The kernel suites (compute, throughput, latency, memory), the shape catalogue, the peer
// backends against a float reference, and import-gbench. No timing assertions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include <unistd.h>

#include "matmul_reference.h"
#include "qb/catalogue.h"
#include "qb/cpu_features.h"
#include "qb/metrics.h"
#include "qb/peers.h"
#include "qb/report.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"
#include "qb/topology.h"

namespace qb {
std::vector<CellResult> gbench_to_cells(const nlohmann::json& gb, const std::string& source);
}

namespace {

using namespace qb;

TEST(ShapeCatalogue, LoadsPublishedConfigs) {
  auto cat = load_catalogue(data_file("shapes.json"));
  std::vector<std::string> names;
  for (const auto& m : cat) names.push_back(m.name);
  for (const char* want : {"gemma3-270m", "qwen3-0.6b", "llama3.2-1b", "phi4-mini", "llama3-8b"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  for (const auto& m : cat) {
    EXPECT_FALSE(m.source.empty()) << m.name;
    EXPECT_GT(m.layers, 0) << m.name;
    EXPECT_EQ(m.shapes.size(), 8u) << m.name;  // q, k, v, o, gate, up, down, lm_head
    for (const auto& s : m.shapes) {
      EXPECT_EQ(s.model, m.name);
      if (s.name.find("lm_head") != std::string::npos)
        EXPECT_EQ(s.count, 1);
      else
        EXPECT_EQ(s.count, m.layers);
    }
  }
  auto l8 = resolve_shape_token("llama3-8b");
  auto down = std::find_if(l8.begin(), l8.end(), [](const Shape& s) { return s.name == "llama3-8b.ffn_down"; });
  ASSERT_NE(down, l8.end());
  EXPECT_EQ(down->m, 4096);
  EXPECT_EQ(down->k, 14336);
  // Parameter count of Llama 3 8B's linear layers: ~7.5e9 (embeddings excluded).
  double w = 0;
  for (const auto& s : l8) w += double(s.m) * double(s.k) * s.count;
  EXPECT_NEAR(w / 1e9, 7.50, 0.01);
}

// ---- peers vs a float reference ----
TEST(Peers, ListedWithReasonOrMatchFloatReference) {
  const int64_t m = 48, k = 256;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 0.02f), nx(0.f, 1.f);
  std::vector<float> W(size_t(m * k)), X(size_t(3 * k));
  for (auto& v : W) v = nd(rng);
  for (auto& v : X) v = nx(rng);
  // openblas, onednn, xnnpack + the framework adapters ggml, onnxruntime, openvino, mlx, qnn
  ASSERT_EQ(peer_backends().size(), 8u);
  std::string absent;
  int checked = 0;
  for (const auto& p : peer_backends()) {
    // Framework adapters run quantized GGUF formats, whose error against F32 is the format's, not
    // this bound: tests/ggml_adapter_test.cpp holds them to qbench's scalar kernels instead.
    if (p.kind == "framework") continue;
    if (!p.available) {
      EXPECT_FALSE(p.missing.empty()) << p.name;
      absent += std::string(absent.empty() ? "" : "; ") + std::string(p.name) + ": " + p.missing;
      continue;
    }
    ++checked;
    ASSERT_FALSE(p.formats.empty()) << p.name;
    for (FormatId f : p.formats) {
      EXPECT_FALSE(p.computes(f).empty()) << p.name;
      for (int64_t n : {int64_t(1), int64_t(3)}) {
        auto mm = p.create(f, W.data(), m, k, n, 1);
        ASSERT_TRUE(mm) << p.name << " " << traits(f).name;
        std::vector<float> Y(size_t(n * m), NAN);
        mm->run(X.data(), n, Y.data());
        mm->run(X.data(), n, Y.data());  // twice: prepared state is reused
        const double rel = qbt::matmul_rel_err(Y, W, X, m, k, n);
        const double tol = f == FormatId::F32 ? 1e-4 : f == FormatId::BF16 ? 3e-2 : 0.15;
        EXPECT_LT(rel, tol) << p.name << " " << traits(f).name << " n=" << n;
        EXPECT_GT(mm->weight_bytes(), 0u);
      }
    }
    // A format the peer does not compute is refused.
    EXPECT_FALSE(p.create(FormatId::Q4_K, W.data(), m, k, 1, 1)) << p.name;
  }
  if (checked == 0) GTEST_SKIP() << "no peer library in this build, nothing compared: " << absent;
}

// ---- suites on a tiny shape, called the way the runner calls them ----
struct Harness {
  RunConfig cfg;
  std::vector<CellResult> done;
  std::unique_ptr<ThreadPool> pool;
  MachinePeaks peaks;
  std::unique_ptr<RunContext> ctx;
  Harness() {
    cfg.quick = true;
    cfg.measure = quick_options();
    cfg.measure.min_time_s = 0.002;
    cfg.measure.min_samples = 3;
    cfg.threads = {1};
    cfg.placements = {"compact"};
    cfg.shapes = {parse_shape("64x256")};
    cfg.formats = {"Q4_0", "Q8_0", "F32", "INT8_PC", "Q4_K"};
    auto getpool = [this](int t, const std::string&) -> ThreadPool* {
      if (!pool || pool->size() != t) pool = std::make_unique<ThreadPool>(std::vector<int>{}, t);
      return pool.get();
    };
    for (int t = 1; t <= std::max(2, machine_topology().pus); ++t) peaks.publish(PeakKind::ReadGBps, "DRAM", t, 10.0);
    ctx = std::make_unique<RunContext>(RunContext{machine_topology(), cfg, done, getpool, peaks});
  }
  std::vector<CellResult> run(const std::string& suite) {
    Suite* s = find_suite(suite);
    EXPECT_NE(s, nullptr) << suite;
    std::vector<CellResult> out;
    if (!s) return out;
    for (auto& c : s->plan(*ctx)) {
      CellResult r = s->measure(c, *ctx);
      EXPECT_EQ(r.cell.key(), c.key()) << "suites add params, never change identity";
      done.push_back(r);
      s->publish_peaks(r, peaks);  // as the runner does
      out.push_back(r);
    }
    return out;
  }
};

void expect_well_formed(const CellResult& r) {
  SCOPED_TRACE(r.cell.key());
  EXPECT_TRUE(r.status == CellStatus::Ok || r.status == CellStatus::Unsupported || r.status == CellStatus::Failed);
  if (r.status != CellStatus::Ok) {
    EXPECT_FALSE(r.error.empty());
    EXPECT_FALSE(r.valid);
  }
  if (!r.valid) {
    EXPECT_FALSE(r.reasons.empty());
  }
  for (auto it = r.metrics.begin(); it != r.metrics.end(); ++it) {
    EXPECT_NE(find_metric(it.key()), nullptr) << "metric not in the vocabulary: " << it.key();
    EXPECT_TRUE(it.value().is_number());
    EXPECT_TRUE(std::isfinite(it.value().get<double>())) << it.key();
  }
  nlohmann::json j = r;  // serialises as the journal does
  EXPECT_EQ(j["suite"], r.cell.suite);
}

// Theoretical per-core ops/cycle of each compute probe, kept here apart from the suite's own
// table: 2 FMA pipes (x86 zmm/ymm), 4 NEON pipes (Neoverse V1/V2), vpdpbusd zmm 2/cycle,
// vpmaddubsw+vpmaddwd 2 pairs/cycle; a multiply-add counts 2 ops.
double probe_peak_per_cycle(const std::string& workload, const std::string& probe) {
  const bool fma = workload == "fp32_fma";
  if (probe == "avx512") return fma ? 2 * 16 * 2 : 2 * 64 * 2;
  if (probe == "avx2") return fma ? 2 * 8 * 2 : 2 * 32 * 2;
  if (probe == "neon") return fma ? 4 * 4 * 2 : 4 * 16 * 2;
  return 0;
}

// A probe may not beat physics: ops ≤ peak ops/cycle × threads × the clock (measured by the suite
// with a dependent-add chain), with 25% margin for clock drift. Fails for probes whose multiplies
// the compiler hoisted or folded (today's AVX2 int8 loop times only its vpaddd; the portable int8
// loop became a closed form).
void expect_below_peak(const CellResult& r, double widest_peak) {
  SCOPED_TRACE(r.cell.key() + " probe " + r.cell.params.value("probe", "?"));
  ASSERT_EQ(qb::status_name(r.status), "ok") << r.error;
  const double ghz = r.cell.params.value("clock_ghz", 0.0);
#if defined(__x86_64__) || defined(__aarch64__)
  ASSERT_GT(ghz, 0.2) << "clock not measured";
  EXPECT_LT(ghz, 8.0) << "implausible clock";
#else
  if (ghz == 0) GTEST_SKIP() << "no add-chain clock on this architecture";
#endif
  const std::string probe = r.cell.params.value("probe", "");
  double peak = probe_peak_per_cycle(r.cell.workload, probe);
  if (probe == "portable") peak = widest_peak;  // portable C++ can at best use the widest vectors
  ASSERT_GT(peak, 0) << "no theoretical peak for this probe";
  const double gops = r.metrics.value("gflop_per_s", 0.0);
  EXPECT_GT(gops, 0.0);
  EXPECT_LE(gops, 1.25 * peak * r.cell.threads * ghz)
      << "probe reports " << gops << " GOP/s, theoretical " << peak << " ops/cycle x " << r.cell.threads
      << " threads x " << ghz << " GHz";
}

// The probes this CPU runs (the suite refuses others), and the widest one's peak.
std::vector<std::string> cpu_probes() {
  const CpuFeatures& f = cpu_features();
  std::vector<std::string> probes = {"portable"};
  if (f.avx2 && f.fma) probes.push_back("avx2");
  if (f.avx512f && f.avx512bw && f.avx512vnni) probes.push_back("avx512");
  if (f.neon && f.dotprod) probes.push_back("neon");
  return probes;
}
double widest_peak(const std::string& workload) {
  double widest = 0;
  for (const auto& p : cpu_probes()) widest = std::max(widest, probe_peak_per_cycle(workload, p));
  return widest > 0 ? widest : 2 * 16 * 2;  // no SIMD probe: a generous bound for plain C++
}

TEST(ComputeSuite, EveryProbeBelowTheoreticalPeak) {
  Harness h;
  Suite* s = find_suite("compute");
  ASSERT_NE(s, nullptr);
  const int cores = std::min(2, machine_topology().cores);
  for (const char* w : {"fp32_fma", "int8_dot"}) {
    const double widest = widest_peak(w);
    for (const auto& p : cpu_probes())
      for (int th = 1; th <= cores; ++th) {
        Cell c;
        c.suite = "compute";
        c.format = c.backend = kNoField;
        c.workload = w;
        c.threads = th;
        c.placement = "compact";
        c.params = {{"probe", p}};
        expect_below_peak(s->measure(c, *h.ctx), widest);
      }
  }
}

TEST(KernelSuites, ComputeThroughputLatencyMemoryOnTinyShape) {
  Harness h;
  auto compute = h.run("compute");
  ASSERT_EQ(compute.size(), 2u);
  for (const auto& r : compute) {
    expect_well_formed(r);
    EXPECT_EQ(qb::status_name(r.status), "ok");
    // Validity may fall to noise on a busy machine, never to the physical bound.
    for (const auto& why : r.reasons) EXPECT_EQ(why.find("theoretical"), std::string::npos) << why;
    expect_below_peak(r, widest_peak(r.cell.workload));
  }
  auto tp = h.run("throughput");
  int ok = 0, unsupported = 0, overhead = 0;
  bool saw_gemm = false, saw_overhead = false;
  for (const auto& r : tp) {
    expect_well_formed(r);
    if (r.cell.workload == "harness_overhead") {
      saw_overhead = true;
      ++overhead;
      EXPECT_TRUE(r.metrics.contains("overhead_pct"));
      continue;
    }
    EXPECT_TRUE(r.cell.workload == "gemv_64x256" || r.cell.workload == "gemm512_64x256") << r.cell.workload;
    if (r.status == CellStatus::Ok) {
      ++ok;
      for (const char* m : {"gb_per_s", "gflop_per_s", "time_s"})
        EXPECT_TRUE(r.metrics.contains(m)) << r.cell.key() << " " << m;
      // A "dram" GEMV faster than this run's DRAM read is invalid and has no share of it (the
      // rotation did not defeat the caches: seen on a busy machine); every other cell has both.
      const bool over_dram = std::any_of(r.reasons.begin(), r.reasons.end(),
                                         [](const std::string& why) { return why.rfind("residency dram: ", 0) == 0; });
      EXPECT_TRUE(!over_dram || !r.valid) << r.cell.key();
      for (const char* m : {"roofline_pct", "bandwidth_pct"})
        EXPECT_EQ(r.metrics.contains(m), !over_dram) << r.cell.key() << " " << m;
      EXPECT_TRUE(r.cell.params.contains("bound"));
      EXPECT_TRUE(r.cell.params.contains("computes"));
      ASSERT_TRUE(r.cell.params.contains("check"));
      EXPECT_TRUE(r.cell.params["check"]["ok"].get<bool>()) << r.cell.key() << " " << r.cell.params["check"].dump();
      EXPECT_TRUE(r.has_stats);
      if (r.cell.workload.rfind("gemm", 0) == 0) saw_gemm = true;
      // Values against an independent count: 64 rows of row_bytes(256) weights, 2·m·k·n ops.
      const FormatTraits* ft = find_format(r.cell.format);
      ASSERT_NE(ft, nullptr);
      const double n = r.cell.workload.rfind("gemm512", 0) == 0 ? 512 : 1;
      const double t = r.metrics["time_s"].get<double>();
      ASSERT_GT(t, 0);
      EXPECT_NEAR(r.metrics["gflop_per_s"].get<double>(), 2.0 * 64 * 256 * n / t / 1e9,
                  1e-6 * r.metrics["gflop_per_s"].get<double>());
      const double wb = r.metrics["bytes"].get<double>();
      EXPECT_NEAR(r.metrics["gb_per_s"].get<double>(), wb / t / 1e9, 1e-6 * r.metrics["gb_per_s"].get<double>());
      if (r.cell.backend == "scalar" || r.cell.backend == "avx2" || r.cell.backend == "avx512" ||
          r.cell.backend == "neon") {
        EXPECT_DOUBLE_EQ(wb, 64.0 * double(ft->row_bytes(256))) << "own kernels keep GGUF rows";
      }
    } else {
      ++unsupported;
      EXPECT_EQ(qb::status_name(r.status), "unsupported") << r.error;
      // k=256 suits every format here: an unsupported cell must be a (format, backend) with no
      // kernel, checked against dispatch's table and the peers' format lists.
      const FormatTraits* ft = find_format(r.cell.format);
      ASSERT_NE(ft, nullptr);
      bool has_kernel = false;
      if (const BackendInfo* b = find_backend(r.cell.backend))
        has_kernel = b->available && find_kernel(ft->id, b->id) != nullptr;
      for (const auto& p : peer_backends())
        if (p.name == r.cell.backend && p.available)
          has_kernel = std::find(p.formats.begin(), p.formats.end(), ft->id) != p.formats.end();
      EXPECT_FALSE(has_kernel) << r.cell.key() << " has a kernel but was recorded unsupported: " << r.error;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_TRUE(saw_overhead);
  EXPECT_TRUE(saw_gemm);
  EXPECT_EQ(ok + unsupported + overhead, int(tp.size())) << "every kernel cell is ok or unsupported";

  auto lat = h.run("latency");
  ASSERT_FALSE(lat.empty());
  for (const auto& r : lat) {
    expect_well_formed(r);
    if (r.status == CellStatus::Ok && r.cell.workload.rfind("gemv_", 0) == 0) {
      for (const char* m : {"p50_us", "p90_us", "p99_us", "max_us", "cv"}) ASSERT_TRUE(r.metrics.contains(m)) << m;
      // Order statistics of one sample set, and the same samples' median as time_s.
      const auto v = [&](const char* m) { return r.metrics[m].get<double>(); };
      EXPECT_GT(v("p50_us"), 0);
      EXPECT_LE(v("p50_us"), v("p90_us"));
      EXPECT_LE(v("p90_us"), v("p99_us"));
      EXPECT_LE(v("p99_us"), v("max_us"));
      EXPECT_GE(v("cv"), 0);
      if (r.metrics.contains("time_s")) {
        EXPECT_NEAR(v("p50_us"), v("time_s") * 1e6, 1e-6 * v("p50_us"));
      }
    }
  }

  auto mem = h.run("memory");
  ASSERT_FALSE(mem.empty());
  bool rss = false;
  int layers = 0;
  const double page = double(sysconf(_SC_PAGESIZE));
  for (const auto& r : mem) {
    expect_well_formed(r);
    EXPECT_FALSE(r.metrics.contains("tokens_per_s")) << "tokens_per_s is the latency suite's metric";
    if (r.cell.workload == "process") rss = r.metrics.value("peak_rss_bytes", 0.0) > 0;
    if (r.cell.workload == "layer_64x256" && r.status == CellStatus::Ok) {
      ++layers;
      const FormatTraits* f = find_format(r.cell.format);
      const double w = 64.0 * double(f->row_bytes(256));
      EXPECT_DOUBLE_EQ(r.metrics["bytes"].get<double>(), w);
      // The cell's resident footprint: its weights + 256 + 64 floats, rounded up to pages
      // (huge pages may round further).
      ASSERT_TRUE(r.metrics.contains("peak_rss_bytes")) << r.cell.key();
      const double buf = w + 256 * 4 + 64 * 4;
      const double rss_cell = r.metrics["peak_rss_bytes"].get<double>();
      EXPECT_GE(rss_cell, buf) << r.cell.key();
      EXPECT_LE(rss_cell, std::max(std::ceil(buf / page) * page, 2.0 * 1024 * 1024)) << r.cell.key();
    }
  }
  EXPECT_TRUE(rss);
  EXPECT_GT(layers, 0);
}

TEST(KernelSuites, UnsupportedShapeAndBackendRecordedWithReason) {
  Harness h;
  h.cfg.shapes = {parse_shape("32x96")};  // 96 is not a multiple of 256 (Q4_K) nor of 32·k for all
  h.cfg.formats = {"Q4_K"};
  h.cfg.backends = {"scalar", "neon"};
  auto tp = h.run("throughput");
  ASSERT_FALSE(tp.empty());
  for (const auto& r : tp) {
    if (r.cell.workload == "harness_overhead") continue;
    expect_well_formed(r);
    EXPECT_EQ(qb::status_name(r.status), "unsupported") << r.cell.key();
    EXPECT_FALSE(r.error.empty());
  }
}

TEST(KernelSuites, DecodeEstimateForCatalogueModel) {
  Harness h;
  h.cfg.shapes = resolve_shape_token("gemma3-270m");
  h.cfg.formats = {"Q8_0", "Q4_K"};
  Suite* s = find_suite("latency");
  ASSERT_NE(s, nullptr);
  int decode = 0;
  for (auto& c : s->plan(*h.ctx)) {
    if (c.workload != "decode_gemma3-270m") continue;
    ++decode;
    CellResult r = s->measure(c, *h.ctx);
    expect_well_formed(r);
    if (c.format == "Q4_K") {
      EXPECT_EQ(qb::status_name(r.status), "unsupported");  // gemma's hidden 640 is not a multiple of 256
      EXPECT_NE(r.error.find("640"), std::string::npos) << r.error;
    } else if (r.status == CellStatus::Ok) {
      // Names in flux in the latency suite (est_* for estimates): accept either, check the value.
      const char* ms = r.metrics.contains("est_decode_ms") ? "est_decode_ms" : "decode_ms";
      const char* tps = r.metrics.contains("est_tokens_per_s") ? "est_tokens_per_s" : "tokens_per_s";
      ASSERT_GT(r.metrics.value(ms, 0.0), 0.0);
      EXPECT_NEAR(r.metrics.value(tps, 0.0) * r.metrics.value(ms, 0.0), 1000.0, 1e-6 * 1000) << "tokens/s = 1000 / ms";
      EXPECT_TRUE(r.cell.params.value("estimate", false));
    }
  }
  EXPECT_GE(decode, 1);
}

TEST(ImportGbench, ConvertsRepetitionsIntoOneCell) {
  nlohmann::json gb = {{"context", {{"library_build_type", "release"}}},
                       {"benchmarks",
                        {{{"name", "gemv/Q4_0/avx512/512x2048/real_time"},
                          {"run_name", "gemv/Q4_0/avx512/512x2048/real_time"},
                          {"run_type", "iteration"},
                          {"repetitions", 2},
                          {"threads", 1},
                          {"iterations", 100},
                          {"real_time", 10.0},
                          {"cpu_time", 10.0},
                          {"time_unit", "us"},
                          {"bytes_per_second", 5.9e10},
                          {"items_per_second", 2.1e11}},
                         {{"name", "gemv/Q4_0/avx512/512x2048/real_time"},
                          {"run_name", "gemv/Q4_0/avx512/512x2048/real_time"},
                          {"run_type", "iteration"},
                          {"repetitions", 2},
                          {"threads", 1},
                          {"iterations", 100},
                          {"real_time", 12.0},
                          {"cpu_time", 12.0},
                          {"time_unit", "us"},
                          {"bytes_per_second", 4.9e10},
                          {"items_per_second", 1.7e11}},
                         {{"name", "gemv/Q4_0/avx512/512x2048/real_time_mean"},
                          {"run_name", "gemv/Q4_0/avx512/512x2048/real_time"},
                          {"run_type", "aggregate"},
                          {"aggregate_name", "mean"},
                          {"real_time", 11.0},
                          {"time_unit", "us"}},
                         {{"name", "BM_other"},
                          {"run_type", "iteration"},
                          {"iterations", 5},
                          {"real_time", 3.0},
                          {"time_unit", "ms"}}}}};
  auto cells = gbench_to_cells(gb, "t.json");
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].cell.suite, "microbench");
  EXPECT_EQ(cells[0].cell.format, "Q4_0");
  EXPECT_EQ(cells[0].cell.backend, "avx512");
  EXPECT_EQ(cells[0].cell.workload, "gemv_512x2048");
  EXPECT_EQ(cells[0].samples.size(), 2u);
  EXPECT_NEAR(cells[0].metrics["time_s"].get<double>(), 11e-6, 1e-9);
  EXPECT_EQ(cells[1].cell.workload, "BM_other");
  EXPECT_NEAR(cells[1].metrics["time_s"].get<double>(), 3e-3, 1e-12);
  for (const auto& c : cells) expect_well_formed(c);
  EXPECT_THROW(gbench_to_cells(nlohmann::json{{"x", 1}}, "bad.json"), std::exception);
}

}  // namespace

// The ggml framework adapter in the throughput suite: only when named, its cells checked against
// qbench's codec bytes with the error vs F32 reported, version and mode in the cell.
TEST(KernelSuites, GgmlAdapterCellsOnlyWhenNamed) {
  const PeerBackend* g = find_peer("ggml");
  ASSERT_NE(g, nullptr);
  Harness h;
  h.cfg.formats = {"Q4_0", "Q4_K"};
  for (const auto& c : find_suite("throughput")->plan(*h.ctx))
    EXPECT_NE(c.backend, "ggml") << "framework adapters run only when --backends names them: " << c.key();
  if (!g->available) GTEST_SKIP() << "ggml unavailable: " << g->missing;
  h.cfg.backends = {"ggml", "scalar"};
  h.cfg.batch = {1, 3};
  auto tp = h.run("throughput");
  int ggml_ok = 0;
  for (const auto& r : tp) {
    expect_well_formed(r);
    if (r.cell.backend != "ggml") continue;
    ASSERT_EQ(qb::status_name(r.status), "ok") << r.cell.key() << " " << r.error;
    ++ggml_ok;
    EXPECT_EQ(r.cell.params.value("backend_kind", ""), "framework");
    EXPECT_EQ(r.cell.params.value("backend_mode", ""), "in-process");
    EXPECT_EQ(r.cell.params.value("backend_version", ""), g->version);
    ASSERT_TRUE(r.cell.params.contains("check"));
    EXPECT_TRUE(r.cell.params["check"]["ok"].get<bool>()) << r.cell.params["check"].dump();
    // The same bytes as qbench's codec: ggml's output sits within activation-quantization error
    // of their float product, far inside the format's own error against F32.
    EXPECT_LT(r.cell.params["check"]["rel_err"].get<double>(), 0.05) << r.cell.key();
    ASSERT_TRUE(r.metrics.contains("rel_err"));
    EXPECT_GT(r.metrics["rel_err"].get<double>(), 0.01)
        << "a 4-bit format's output must carry its quantization error against F32";
    EXPECT_LT(r.metrics["rel_err"].get<double>(), 0.5) << r.cell.key();
  }
  EXPECT_EQ(ggml_ok, 4) << "Q4_0, Q4_K x GEMV, GEMM n=3";
}
