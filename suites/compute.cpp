// The `compute` suite: this machine's peak arithmetic throughput per thread count and placement,
// measured by qbench itself with register-only loops (no memory traffic):
//   fp32_fma  FP32 fused multiply-add (AVX-512 or AVX2+FMA; portable fallback)
//   int8_dot  u8×s8 dot products into int32: AVX-512 VNNI vpdpbusd, else AVX2 vpmaddubsw+vpmaddwd
// Each loop keeps 16 independent accumulators (more than FMA latency × ports), so the figure is
// the issue-rate bound. Ops count a multiply-add as 2. These are the compute rooflines of the
// throughput suite's GEMM cells.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "qb/cpu_features.h"
#include "qb/measure.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace qb {
namespace {

constexpr int64_t kIters = 1 << 20;  // loop trips per thread per sample (~2-5 ms)

#if defined(__x86_64__)
#define QB_ACC16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

__attribute__((target("avx512f"))) double fma_avx512(int64_t iters, float seed) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(seed * 1e-7f);
#define DECL(i) __m512 c##i = _mm512_set1_ps(seed + float(i));
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
    QB_ACC16(STEP)
#undef STEP
  }
  __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);
  QB_ACC16(SUM)
#undef SUM
  return double(_mm512_reduce_add_ps(s));  // 16 acc × 16 lanes × 2 flops per trip
}

__attribute__((target("avx2,fma"))) double fma_avx2(int64_t iters, float seed) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(seed * 1e-7f);
#define DECL(i) __m256 c##i = _mm256_set1_ps(seed + float(i));
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
    QB_ACC16(STEP)
#undef STEP
  }
  __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, c##i);
  QB_ACC16(SUM)
#undef SUM
  float t[8];
  _mm256_storeu_ps(t, s);
  return double(t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]);  // 16 × 8 × 2 per trip
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double dot_avx512vnni(int64_t iters, float seed) {
  const __m512i a = _mm512_set1_epi8(char(1 + int(seed) % 7)), b = _mm512_set1_epi8(3);
#define DECL(i) __m512i c##i = _mm512_set1_epi32(i);
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm512_dpbusd_epi32(c##i, a, b);
    QB_ACC16(STEP)
#undef STEP
  }
  __m512i s = _mm512_setzero_si512();
#define SUM(i) s = _mm512_add_epi32(s, c##i);
  QB_ACC16(SUM)
#undef SUM
  // Lanes may wrap (the value only keeps the loop alive); sum them in double, not with
  // _mm512_reduce_add_epi32, whose scalar int additions overflow (UB).
  int32_t t[16];
  _mm512_storeu_si512(t, s);
  double r = 0;
  for (int32_t v : t) r += v;
  return r;  // 16 acc × 64 MACs × 2 per trip
}

__attribute__((target("avx2"))) double dot_avx2(int64_t iters, float seed) {
  const __m256i a = _mm256_set1_epi8(char(1 + int(seed) % 7)), b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
#define DECL(i) __m256i c##i = _mm256_set1_epi32(i);
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    QB_ACC16(STEP)
#undef STEP
  }
  __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_add_epi32(s, c##i);
  QB_ACC16(SUM)
#undef SUM
  int t[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(t), s);
  return double(t[0]) + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];  // 16 × 32 MACs × 2 per trip
}
#undef QB_ACC16
#endif

double fma_portable(int64_t iters, float seed) {
  float c[16];
  for (int i = 0; i < 16; ++i) c[i] = seed + float(i);
  const float a = 0.999999f, b = seed * 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) c[i] = c[i] * a + b;
  double s = 0;
  for (float v : c) s += v;
  return s;  // 16 × 2 per trip
}

double dot_portable(int64_t iters, float seed) {
  int32_t c[16];
  const uint8_t a = uint8_t(1 + int(seed) % 7);
  const int8_t b = 3;
  for (int i = 0; i < 16; ++i) c[i] = i;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) c[i] += int32_t(a) * b + int32_t(a) * b + int32_t(a) * b + int32_t(a) * b;
  double s = 0;
  for (int32_t v : c) s += v;
  return s;  // 16 × 4 MACs × 2 per trip
}

struct Probe {
  double (*fn)(int64_t, float);
  double ops_per_trip;
  const char* isa;
};

Probe pick(const std::string& workload) {
#if defined(__x86_64__)
  const auto& f = cpu_features();
  if (workload == "fp32_fma") {
    if (f.avx512f && f.os_avx512) return {fma_avx512, 16.0 * 16 * 2, "avx512f vfmadd231ps zmm"};
    if (f.avx2 && f.fma && f.os_avx) return {fma_avx2, 16.0 * 8 * 2, "avx2 vfmadd231ps ymm"};
  } else {
    if (f.avx512f && f.avx512bw && f.avx512vnni && f.os_avx512) return {dot_avx512vnni, 16.0 * 64 * 2, "avx512vnni vpdpbusd zmm"};
    if (f.avx2 && f.os_avx) return {dot_avx2, 16.0 * 32 * 2, "avx2 vpmaddubsw+vpmaddwd+vpaddd ymm"};
  }
#endif
  if (workload == "fp32_fma") return {fma_portable, 16.0 * 2, "portable C++"};
  return {dot_portable, 16.0 * 4 * 2, "portable C++"};
}

class ComputeSuite : public Suite {
 public:
  std::string name() const override { return "compute"; }
  std::string description() const override {
    return "Peak compute roofline: FP32 FMA GFLOP/s and INT8 dot-product GOP/s (VNNI / AVX2), register-only";
  }
  int order() const override { return 1; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    std::vector<Cell> cells;
    for (int th : resolve_threads(ctx))
      for (const auto& pl : distinct_placements(ctx, th))
        for (const char* w : {"fp32_fma", "int8_dot"}) {
          Cell c;
          c.suite = name();
          c.format = "-";
          c.backend = "-";
          c.workload = w;
          c.threads = th;
          c.placement = pl;
          c.params = {{"kernel_isa", pick(w).isa}};
          cells.push_back(c);
        }
    return cells;
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    ThreadPool* pool = ctx.pool(cell.threads, cell.placement);
    if (!pool) throw std::runtime_error("placement cannot place this many threads");
    const Probe p = pick(cell.workload);
    const int nt = pool->size();
    std::vector<double> sink(size_t(nt) * 8, 0.0);
    const int64_t iters = ctx.cfg.quick ? kIters / 2 : kIters;
    auto body = [&] { pool->run_on_all([&](int t) { sink[size_t(t) * 8] += p.fn(iters, 1.0f + float(t)); }); };
    Measurement m = qb::measure(ctx.cfg.measure, body);
    CellResult r;
    r.cell = cell;
    r.samples = m.samples;
    r.has_stats = true;
    r.stats = m.stats;
    r.valid = m.valid;
    r.reasons = m.reasons;
    r.counters = m.counters;
    const double ops = p.ops_per_trip * double(iters) * nt;
    r.metrics["gflop_per_s"] = ops / m.stats.median / 1e9;
    r.metrics["time_s"] = m.stats.median;
    r.cell.params["ops_per_sample"] = ops;
    r.cell.params["unit"] = cell.workload == "fp32_fma" ? "GFLOP/s (FMA = 2 flops)" : "GOP/s (int8 MAC = 2 ops)";
    r.cell.params["sink"] = sink[0] != 0 ? 1 : 0;
    return r;
  }
};

QB_REGISTER_SUITE(ComputeSuite);

}  // namespace

// The compute peak (GFLOP/s or GOP/s) for `threads` measured by this run's compute suite; 0 when
// the suite did not run. workload: "fp32_fma" or "int8_dot".
double compute_peak(const RunContext& ctx, const std::string& workload, int threads) {
  double best = 0;
  for (const auto& r : ctx.done)
    if (r.cell.suite == "compute" && r.cell.workload == workload && r.cell.threads == threads && r.status == "ok")
      best = std::max(best, r.metrics.value("gflop_per_s", 0.0));
  return best;
}

}  // namespace qb
