// qbench-microbench: qbench's kernels (and the peer libraries) under Google Benchmark.
// One benchmark per (n, format, backend, shape), named "<gemv|gemmN>/<FORMAT>/<backend>/<MxK>",
// e.g. "gemv/Q4_0/avx512/4096x14336". Rates: bytes/s = weight bytes per second
// (SetBytesProcessed), items/s = flops (2·m·k·n) per second (SetItemsProcessed); counters
// weight_bytes and GFLOPS too. Extra flags (before Google Benchmark's own):
//   --qb_shapes=MxK,...   shapes (default 512x2048,2048x8192; catalogue model names work too)
//   --qb_threads=N        threads of an unbound qbench pool (default 1: the calling thread)
//   --qb_gemm=N           also register n=N GEMMs for the best own backend and the peers (0 = none;
//                         default 0)
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "kernel_bench.h"
#include "qb/catalogue.h"
#include "qb/thread_pool.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) v.push_back(x);
  return v;
}

struct Options {
  std::vector<qb::Shape> shapes;
  int threads = 1;
  int64_t gemm = 0;
};

std::unique_ptr<qb::ThreadPool> g_pool;

void run_case(benchmark::State& state, qb::FormatId f, const qb::kb::BackendRef& b, int64_t m, int64_t k, int64_t n,
              int threads) {
  // Prepared once per benchmark (Google Benchmark calls this function several times).
  static std::map<std::string, std::unique_ptr<qb::kb::PreparedMatmul>> prepared;
  const std::string key = fmt::format("{}/{}/{}x{}/{}", qb::traits(f).name, b.name, m, k, n);
  auto it = prepared.find(key);
  if (it == prepared.end()) {
    try {
      it = prepared.emplace(key, std::make_unique<qb::kb::PreparedMatmul>(f, b, m, k, n, threads)).first;
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
  }
  qb::kb::PreparedMatmul& mm = *it->second;
  qb::ThreadPool* pool = b.peer ? nullptr : g_pool.get();
  for (auto _ : state) {
    mm.run(pool);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * double(m) * double(k) * double(n);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(mm.weight_bytes()));
  state.SetItemsProcessed(int64_t(double(state.iterations()) * flops));
  state.counters["weight_bytes"] = mm.weight_bytes();
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(mm.kernel_name());
}

void register_all(const Options& o) {
  // All own backends and peers that are available (RunContext-free version of requested_backends).
  std::vector<qb::kb::BackendRef> backends;
  for (const auto& b : qb::own_backends()) {
    if (!b.available) continue;
    qb::kb::BackendRef r;
    r.name = std::string(b.name);
    r.available = true;
    r.own = &b;
    backends.push_back(r);
  }
  for (const auto& p : qb::peer_backends()) {
    if (!p.available) continue;
    qb::kb::BackendRef r;
    r.name = p.name;
    r.peer = true;
    r.available = true;
    r.peer_info = &p;
    backends.push_back(r);
  }
  static std::vector<qb::kb::BackendRef> keep;  // the lambdas below refer to these
  keep = backends;
  std::vector<int64_t> ns = {1};
  if (o.gemm > 1) ns.push_back(o.gemm);
  for (int64_t n : ns)
    for (const auto& ft : qb::all_formats())
      for (const auto& b : keep) {
        if (n > 1 && !b.peer) {
          const qb::kb::BackendRef* best = qb::kb::best_own(ft.id, keep);
          if (!best || best->name != b.name) continue;
        }
        for (const auto& s : o.shapes) {
          if (!qb::kb::unsupported_reason(ft.id, b, s.k).empty()) continue;  // only runnable kernels
          const std::string name = fmt::format("{}/{}/{}/{}", n == 1 ? std::string("gemv") : fmt::format("gemm{}", n),
                                               ft.name, b.name, qb::kb::shape_mk(s));
          const qb::FormatId f = ft.id;
          const qb::kb::BackendRef* bp = &b;
          const int64_t m = s.m, k = s.k;
          const int th = o.threads;
          auto* bm = benchmark::RegisterBenchmark(name.c_str(),
                                                  [=](benchmark::State& st) { run_case(st, f, *bp, m, k, n, th); });
          bm->Unit(benchmark::kMicrosecond)->UseRealTime();
        }
      }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string shapes = "512x2048,2048x8192";
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--qb_shapes=", 0) == 0)
      shapes = a.substr(12);
    else if (a.rfind("--qb_threads=", 0) == 0)
      o.threads = std::max(1, std::atoi(a.c_str() + 13));
    else if (a.rfind("--qb_gemm=", 0) == 0)
      o.gemm = std::atoll(a.c_str() + 10);
    else
      rest.push_back(argv[i]);
  }
  try {
    for (const auto& t : split(shapes))
      for (auto& s : qb::resolve_shape_token(t)) o.shapes.push_back(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qbench-microbench: %s\n", e.what());
    return 2;
  }
  o.shapes = qb::kb::dedupe(o.shapes);
  if (o.threads > 1) g_pool = std::make_unique<qb::ThreadPool>(std::vector<int>{}, o.threads);
  register_all(o);
  int rc = int(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&rc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rc, rest.data())) return 1;
  benchmark::AddCustomContext("qbench_threads", std::to_string(o.threads));
  benchmark::AddCustomContext("qbench_shapes", shapes);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
