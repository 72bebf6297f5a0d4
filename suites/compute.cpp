// The `compute` suite: this machine's peak arithmetic throughput per thread count and placement,
// measured by qbench itself with register-only loops (no memory traffic):
//   fp32_fma  FP32 fused multiply-add (AVX-512, AVX2+FMA or NEON; portable fallback)
//   int8_dot  8-bit dot products into int32: AVX-512 VNNI vpdpbusd, AVX2 vpmaddubsw+vpmaddwd,
//             NEON sdot (dotprod); portable fallback
// Ops count a multiply-add as 2. These are the compute rooflines of the throughput suite's GEMM
// cells. Every probe's multiply sits on a loop-carried value (the accumulator itself, or an input
// passed through an empty asm barrier each step), so the compiler can neither hoist it out of the
// timed loop nor replace the loop by a closed form; tests/suites_kernel_test.cpp checks each
// probe against ISA peak ops/cycle x threads x the clock measured here by a dependent-add chain.
#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "qb/cpu_features.h"
#include "qb/measure.h"
#include "qb/metrics.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"

#if defined(__x86_64__)
#include "qb/x86_intrin.h"
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace qb {
namespace {

constexpr int64_t kIters = 1 << 20;  // loop trips per thread per sample (~2-5 ms)

#if defined(__x86_64__)
// Makes vector v opaque to the optimiser (it may have changed) at no instruction cost.
#define QB_OPAQUE_VEC(v) asm volatile("" : "+x"(v))
#endif

#define QB_ACC16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define QB_ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define QB_ACC8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

#if defined(__x86_64__)
// FMA probes: c = c*a + b, the accumulator is the loop-carried input of every multiply.
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

// 12 accumulators, not 16: with a and b that is 14 of the 16 ymm registers. With 16, g++ kept
// three of them on the stack, so each trip waited on a store-to-load round trip (the probe read
// 57 GFLOP/s on a Zen 3 core whose F16 GEMM reached 80). 12 chains still cover the FMA latency
// (4 cycles x 2 ports = 8 in flight).
__attribute__((target("avx2,fma"))) double fma_avx2(int64_t iters, float seed) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(seed * 1e-7f);
#define DECL(i) __m256 c##i = _mm256_set1_ps(seed + float(i));
  QB_ACC12(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
    QB_ACC12(STEP)
#undef STEP
  }
  __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, c##i);
  QB_ACC12(SUM)
#undef SUM
  float t[8];
  _mm256_storeu_ps(t, s);
  return double(t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]);  // 12 × 8 × 2 per trip
}

// vpdpbusd accumulates into its destination: c is loop-carried through the multiply itself.
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

// vpmaddubsw/vpmaddwd do not read the accumulator: with constant inputs g++ hoists them and times
// only the vpaddd. The barrier before each step makes `a` a new value every time, so all eight
// maddubs+madd pairs run every trip. 8 accumulators: the loop-carried op is a 1-cycle vpaddd, and
// 8 + a, b, ones + temporaries fit the 16 ymm registers (no spills in the timed loop).
__attribute__((target("avx2"))) double dot_avx2(int64_t iters, float seed) {
  __m256i a = _mm256_set1_epi8(char(1 + int(seed) % 7));
  const __m256i b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
#define DECL(i) __m256i c##i = _mm256_set1_epi32(i);
  QB_ACC8(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i)     \
  QB_OPAQUE_VEC(a); \
  c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    QB_ACC8(STEP)
#undef STEP
  }
  __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_add_epi32(s, c##i);
  QB_ACC8(SUM)
#undef SUM
  int t[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(t), s);
  return double(t[0]) + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];  // 8 × 32 MACs × 2 per trip
}
#endif

#if defined(__aarch64__)
// NEON probes. fmla accumulates into c; sdot accumulates into c: both loop-carried.
double fma_neon(int64_t iters, float seed) {
  const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(seed * 1e-7f);
#define DECL(i) float32x4_t c##i = vdupq_n_f32(seed + float(i));
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = vfmaq_f32(b, c##i, a);
    QB_ACC16(STEP)
#undef STEP
  }
  float32x4_t s = vdupq_n_f32(0);
#define SUM(i) s = vaddq_f32(s, c##i);
  QB_ACC16(SUM)
#undef SUM
  return double(vaddvq_f32(s));  // 16 acc × 4 lanes × 2 flops per trip
}

// Compiled for dotprod here only; called only where the CPU has it (pick()).
__attribute__((target("arch=armv8.2-a+dotprod"))) double dot_neon(int64_t iters, float seed) {
  const int8x16_t a = vdupq_n_s8(int8_t(1 + int(seed) % 7)), b = vdupq_n_s8(3);
#define DECL(i) int32x4_t c##i = vdupq_n_s32(i);
  QB_ACC16(DECL)
#undef DECL
  for (int64_t it = 0; it < iters; ++it) {
#define STEP(i) c##i = vdotq_s32(c##i, a, b);
    QB_ACC16(STEP)
#undef STEP
  }
  int32_t t[4];
  double r = 0;
#define SUM(i)        \
  vst1q_s32(t, c##i); \
  r += double(t[0]) + t[1] + t[2] + t[3];
  QB_ACC16(SUM)
#undef SUM
  return r;  // 16 acc × 16 MACs × 2 per trip
}
#endif
#undef QB_ACC16
#undef QB_ACC8

double fma_portable(int64_t iters, float seed) {
  float c[16];
  for (int i = 0; i < 16; ++i) c[i] = seed + float(i);
  const float a = 0.999999f, b = seed * 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) c[i] = c[i] * a + b;  // loop-carried; FP has no closed form here
  double s = 0;
  for (float v : c) s += v;
  return s;  // 16 × 2 per trip
}

// Products of per-lane inputs that the barrier says may change every trip: without it g++ sums
// the constant products in closed form (iters × const) and times nothing.
double dot_portable(int64_t iters, float seed) {
  uint8_t a[64];
  int8_t b[64];
  int32_t c[16];
  for (int i = 0; i < 64; ++i) {
    a[i] = uint8_t(1 + (int(seed) + i) % 7);
    b[i] = int8_t(3 - i % 5);
  }
  for (int i = 0; i < 16; ++i) c[i] = i;
  for (int64_t it = 0; it < iters; ++it) {
    asm volatile("" : : "r"(a), "r"(b) : "memory");
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 4; ++j) c[i] += int32_t(a[4 * i + j]) * b[4 * i + j];
  }
  double s = 0;
  for (int32_t v : c) s += v;
  return s;  // 64 MACs × 2 per trip
}

// ---- the clock: a chain of dependent 1-cycle integer adds runs at one add per cycle ----
// Register + register: Golden Cove and later fold `add reg, imm` chains at rename (this test
// measured 3-4 such adds per cycle), never a dependent reg-reg add.
// Short chains (~20 us), best of many: on a busy machine one of them runs unpreempted.
constexpr int64_t kClockAdds = 1 << 16;
constexpr int kClockReps = 300;
uint64_t add_chain(int64_t n) {
  uint64_t x = 0, one = 1;
  asm volatile("" : "+r"(one));  // not a known constant
  for (int64_t i = 0; i < n; i += 32) {
#if defined(__x86_64__)
    asm volatile(".rept 32\n\taddq %1, %0\n\t.endr" : "+r"(x) : "r"(one));
#elif defined(__aarch64__)
    asm volatile(".rept 32\n\tadd %0, %0, %1\n\t.endr" : "+r"(x) : "r"(one));
#else
    x += 32 * one;
#endif
  }
  return x;
}

// GHz of each worker of the pool, all running at once (as the probes do, so turbo matches): the
// fastest of kClockReps chains per worker. Returns the fastest worker's clock (the bound must
// hold for every core).
double measure_clock_ghz(ThreadPool& pool) {
#if defined(__x86_64__) || defined(__aarch64__)
  std::vector<double> best(size_t(pool.size()), 1e9);
  pool.run_on_all([&](int t) {
    for (int rep = 0; rep < kClockReps; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t x = add_chain(kClockAdds);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (x == uint64_t(kClockAdds)) best[size_t(t)] = std::min(best[size_t(t)], s);
    }
  });
  return double(kClockAdds) / *std::min_element(best.begin(), best.end()) / 1e9;
#else
  (void)pool;
  return 0;
#endif
}

struct Probe {
  double (*fn)(int64_t, float);
  double ops_per_trip;
  const char* isa;        // instructions timed, for the report
  const char* name;       // "avx512", "avx2", "neon", "portable": selectable by cell param "probe"
  double peak_per_cycle;  // theoretical ops/cycle per core of this instruction mix (see below)
};

// Theoretical per-core peaks (the most any shipping core issues): FMA 2 per cycle (x86: zmm or
// ymm), NEON 4 fmla/sdot q-registers per cycle (Neoverse V1/V2); vpdpbusd zmm 2 per cycle;
// vpmaddubsw and vpmaddwd share the 2 vector-multiply ports of the cores we know (Zen 3 measured 0.93
// pairs per cycle), so 1 pair per cycle; the bound counts 2, a generous ceiling that only catches
// optimised-away work. Portable code is bounded by the widest vector ISA of the machine.
std::vector<Probe> probes(const std::string& workload) {
  std::vector<Probe> v;
  const bool fma = workload == "fp32_fma";
#if defined(__x86_64__)
  const auto& f = cpu_features();
  const bool z = f.avx512f && f.os_avx512;
  if (fma) {
    if (z) v.push_back({fma_avx512, 16.0 * 16 * 2, "avx512f vfmadd231ps zmm", "avx512", 2 * 16 * 2});
    if (f.avx2 && f.fma && f.os_avx) v.push_back({fma_avx2, 12.0 * 8 * 2, "avx2 vfmadd231ps ymm", "avx2", 2 * 8 * 2});
  } else {
    if (z && f.avx512bw && f.avx512vnni)
      v.push_back({dot_avx512vnni, 16.0 * 64 * 2, "avx512vnni vpdpbusd zmm", "avx512", 2 * 64 * 2});
    if (f.avx2 && f.os_avx)
      v.push_back({dot_avx2, 8.0 * 32 * 2, "avx2 vpmaddubsw+vpmaddwd+vpaddd ymm", "avx2", 2 * 32 * 2});
  }
#elif defined(__aarch64__)
  const auto& f = cpu_features();
  if (fma) {
    v.push_back({fma_neon, 16.0 * 4 * 2, "neon fmla v.4s", "neon", 4 * 4 * 2});
  } else if (f.neon && f.dotprod) {
    v.push_back({dot_neon, 16.0 * 16 * 2, "neon sdot v.4s", "neon", 4 * 16 * 2});
  }
#endif
  const double widest = v.empty() ? (fma ? 2 * 4 * 2 : 2 * 16 * 2) : v.front().peak_per_cycle;
  if (fma)
    v.push_back({fma_portable, 16.0 * 2, "portable C++", "portable", widest});
  else
    v.push_back({dot_portable, 64.0 * 2, "portable C++", "portable", widest});
  return v;
}

// The cell's probe: the one named by params "probe" (tests), else the widest this CPU runs.
Probe pick(const Cell& cell) {
  auto v = probes(cell.workload);
  const std::string want = cell.params.value("probe", "");
  if (want.empty()) return v.front();
  for (const Probe& p : v)
    if (p.name == want) return p;
  throw std::runtime_error(fmt::format("compute probe '{}' is not available on this CPU for {}", want, cell.workload));
}

class ComputeSuite : public Suite {
 public:
  std::string name() const override { return "compute"; }
  std::string description() const override {
    return "Peak compute roofline: FP32 FMA GFLOP/s and INT8 dot-product GOP/s (VNNI / AVX2 / NEON sdot), "
           "register-only";
  }
  int order() const override { return 1; }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    std::vector<Cell> cells;
    for (int th : resolve_threads(ctx))
      for (const auto& pl : distinct_placements(ctx, th))
        for (const char* w : {"fp32_fma", "int8_dot"}) {
          Cell c;
          c.suite = name();
          c.format = kNoField;
          c.backend = kNoField;
          c.workload = w;
          c.threads = th;
          c.placement = pl;
          c.params = {{"kernel_isa", pick(c).isa}};
          cells.push_back(c);
        }
    return cells;
  }

  // Each probe's rate is the compute roofline of throughput cells (PeakKind::ComputeGflops, by workload).
  void publish_peaks(const CellResult& r, MachinePeaks& peaks) const override {
    if (r.status == CellStatus::Ok)
      peaks.publish(PeakKind::ComputeGflops, r.cell.workload, r.cell.threads,
                    r.metrics.value(metric::gflop_per_s, 0.0));
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    ThreadPool* pool = ctx.pool(cell.threads, cell.placement);
    if (!pool) throw std::runtime_error("placement cannot place this many threads");
    const Probe p = pick(cell);
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
    r.metrics[metric::gflop_per_s] = ops / m.stats.median / 1e9;
    r.metrics[metric::time_s] = m.stats.median;
    r.cell.params["ops_per_sample"] = ops;
    r.cell.params["probe"] = p.name;
    r.cell.params["kernel_isa"] = p.isa;
    // Physical bound: peak ops/cycle/core x threads x the clock measured now by an add chain.
    // A probe above it timed less work than it counts (folded or hoisted): never report that.
    const double ghz = measure_clock_ghz(*pool);
    r.cell.params["clock_ghz"] = ghz;
    r.cell.params["clock_method"] =
        "dependent 64-bit reg+reg add chain (1 add/cycle), best of 300 x 65536 adds on every worker, fastest worker";
    r.cell.params["peak_ops_per_cycle_per_core"] = p.peak_per_cycle;
    if (ghz > 0) {
      const double bound = p.peak_per_cycle * nt * ghz;
      r.cell.params["bound_gops"] = bound;
      if (r.metrics[metric::gflop_per_s].get<double>() > 1.25 * bound) {
        r.valid = false;
        r.reasons.push_back(
            fmt::format("{:.1f} GOP/s exceeds 1.25x the theoretical {:.1f} ({} ops/cycle x {} threads x {:.2f} GHz): "
                        "the probe's work was optimised away",
                        r.metrics[metric::gflop_per_s].get<double>(), bound, p.peak_per_cycle, nt, ghz));
      }
    }
    r.cell.params["unit"] = cell.workload == "fp32_fma" ? "GFLOP/s (FMA = 2 flops)" : "GOP/s (int8 MAC = 2 ops)";
    r.cell.params["sink"] = sink[0] != 0 ? 1 : 0;
    return r;
  }
};

QB_REGISTER_SUITE(ComputeSuite);

}  // namespace

}  // namespace qb
