// The `bandwidth` suite: read, write, copy and triad over working sets sized to fall in L1, L2,
// L3 and DRAM (from the detected caches), per thread count and placement. Its DRAM read figure
// is the roofline the kernel suites compare against.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "qb/cpu_features.h"
#include "qb/measure.h"
#include "qb/metrics.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"

#if defined(__x86_64__)
#include "qb/x86_intrin.h"
#endif

namespace qb {
namespace {

// Bytes per element as STREAM counts them: what the program reads and writes.
struct Op {
  const char* name;
  int arrays;          // arrays touched
  int bytes_per_elem;  // 8-byte doubles: read 8, write 8, copy 16, triad 24
  int stored;          // arrays written (1 for write, copy, triad)
};
const Op kOps[] = {{"read", 1, 8, 0}, {"write", 1, 8, 1}, {"copy", 2, 16, 1}, {"triad", 3, 24, 1}};

// ---- kernels: AVX-512 and AVX2 versions chosen at run time, plus portable ones ----
// Reads keep 8 independent accumulators: an FP add has 3-4 cycles of latency and 2 adds issue
// per cycle, so fewer accumulators would time the add chain, not the loads, in L1.
// Stores come in two kinds: plain (the line is read for ownership first: write-allocate) and
// non-temporal (streamed to memory, no read), used for DRAM working sets.
#if defined(__x86_64__)
// Reads use kReadStreams interleaved streams per thread, as a GEMV row tile does (it reads several
// weight rows at once): the hardware prefetchers then run several streams in parallel. One stream
// per thread under-reports what a reader pulls from DRAM (on this VM class a 2-thread GEMV reached
// 21 GB/s against a one-stream "DRAM read" of 18), and the DRAM read is the roofline GEMV cells are
// judged against. Element i of stream s is a[s * len + i]; the tail past kReadStreams * len is
// summed last.
constexpr size_t kReadStreams = 4;
__attribute__((target("avx512f"))) double read_avx512(const double* a, size_t n) {
  __m512d s[8];
  for (auto& v : s) v = _mm512_setzero_pd();
  const size_t len = n / kReadStreams / 16 * 16;
  for (size_t i = 0; i < len; i += 16)
    for (size_t st = 0; st < kReadStreams; ++st) {
      const double* p = a + st * len + i;
      s[2 * st] = _mm512_add_pd(s[2 * st], _mm512_load_pd(p));
      s[2 * st + 1] = _mm512_add_pd(s[2 * st + 1], _mm512_load_pd(p + 8));
    }
  for (int j = 1; j < 8; ++j) s[0] = _mm512_add_pd(s[0], s[j]);
  double r = _mm512_reduce_add_pd(s[0]);
  for (size_t i = kReadStreams * len; i < n; ++i) r += a[i];
  return r;
}
template <bool NT>
__attribute__((target("avx512f"))) void store512(double* p, __m512d v) {
  if constexpr (NT)
    _mm512_stream_pd(p, v);
  else
    _mm512_store_pd(p, v);
}
template <bool NT>
__attribute__((target("avx512f"))) void write_avx512(double* a, size_t n, double v) {
  const __m512d x = _mm512_set1_pd(v);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) store512<NT>(a + i, x);
  for (; i < n; ++i) a[i] = v;
  if constexpr (NT) _mm_sfence();
}
template <bool NT>
__attribute__((target("avx512f"))) void copy_avx512(double* b, const double* a, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    store512<NT>(b + i, _mm512_load_pd(a + i));
    store512<NT>(b + i + 8, _mm512_load_pd(a + i + 8));
  }
  for (; i < n; ++i) b[i] = a[i];
  if constexpr (NT) _mm_sfence();
}
template <bool NT>
__attribute__((target("avx512f"))) void triad_avx512(double* a, const double* b, const double* c, size_t n, double s) {
  const __m512d sv = _mm512_set1_pd(s);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) store512<NT>(a + i, _mm512_fmadd_pd(sv, _mm512_load_pd(c + i), _mm512_load_pd(b + i)));
  for (; i < n; ++i) a[i] = b[i] + s * c[i];
  if constexpr (NT) _mm_sfence();
}

__attribute__((target("avx2,fma"))) double read_avx2(const double* a, size_t n) {
  __m256d s[8];
  for (auto& v : s) v = _mm256_setzero_pd();
  const size_t len = n / kReadStreams / 8 * 8;
  for (size_t i = 0; i < len; i += 8)
    for (size_t st = 0; st < kReadStreams; ++st) {
      const double* p = a + st * len + i;
      s[2 * st] = _mm256_add_pd(s[2 * st], _mm256_load_pd(p));
      s[2 * st + 1] = _mm256_add_pd(s[2 * st + 1], _mm256_load_pd(p + 4));
    }
  for (int j = 1; j < 8; ++j) s[0] = _mm256_add_pd(s[0], s[j]);
  double t[4];
  _mm256_storeu_pd(t, s[0]);
  double r = t[0] + t[1] + t[2] + t[3];
  for (size_t i = kReadStreams * len; i < n; ++i) r += a[i];
  return r;
}
template <bool NT>
__attribute__((target("avx2,fma"))) void store256(double* p, __m256d v) {
  if constexpr (NT)
    _mm256_stream_pd(p, v);
  else
    _mm256_store_pd(p, v);
}
template <bool NT>
__attribute__((target("avx2,fma"))) void write_avx2(double* a, size_t n, double v) {
  const __m256d x = _mm256_set1_pd(v);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) store256<NT>(a + i, x);
  for (; i < n; ++i) a[i] = v;
  if constexpr (NT) _mm_sfence();
}
template <bool NT>
__attribute__((target("avx2,fma"))) void copy_avx2(double* b, const double* a, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    store256<NT>(b + i, _mm256_load_pd(a + i));
    store256<NT>(b + i + 4, _mm256_load_pd(a + i + 4));
  }
  for (; i < n; ++i) b[i] = a[i];
  if constexpr (NT) _mm_sfence();
}
template <bool NT>
__attribute__((target("avx2,fma"))) void triad_avx2(double* a, const double* b, const double* c, size_t n, double s) {
  const __m256d sv = _mm256_set1_pd(s);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) store256<NT>(a + i, _mm256_fmadd_pd(sv, _mm256_load_pd(c + i), _mm256_load_pd(b + i)));
  for (; i < n; ++i) a[i] = b[i] + s * c[i];
  if constexpr (NT) _mm_sfence();
}
#endif

double read_portable(const double* a, size_t n) {
  double s[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j];
  for (; i < n; ++i) s[0] += a[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

struct Kernels {
  double (*read)(const double*, size_t) = read_portable;
  void (*write)(double*, size_t, double) = [](double* a, size_t n, double v) { std::fill(a, a + n, v); };
  void (*copy)(double*, const double*, size_t) = [](double* b, const double* a, size_t n) { std::memcpy(b, a, n * 8); };
  void (*triad)(double*, const double*, const double*, size_t, double) = [](double* a, const double* b, const double* c,
                                                                            size_t n, double s) {
    for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
  };
  const char* isa = "portable";
  bool non_temporal = false;  // stores bypass the caches (no write-allocate read)
};

// nt: non-temporal stores where the ISA has them (DRAM cells); else plain stores.
Kernels pick_kernels(bool nt) {
  Kernels k;
#if defined(__x86_64__)
  const auto& f = cpu_features();
  if (f.avx512f && f.os_avx512) {
    k.read = read_avx512;
    k.write = nt ? write_avx512<true> : write_avx512<false>;
    k.copy = nt ? copy_avx512<true> : copy_avx512<false>;
    k.triad = nt ? triad_avx512<true> : triad_avx512<false>;
    k.isa = "avx512";
    k.non_temporal = nt;
  } else if (f.avx2 && f.fma && f.os_avx) {
    k.read = read_avx2;
    k.write = nt ? write_avx2<true> : write_avx2<false>;
    k.copy = nt ? copy_avx2<true> : copy_avx2<false>;
    k.triad = nt ? triad_avx2<true> : triad_avx2<false>;
    k.isa = "avx2";
    k.non_temporal = nt;
  }
#else
  (void)nt;
#endif
  return k;
}

// Bytes one element of `op` moves at the level measured. STREAM's count, plus, for plain stores
// beyond L1, the read for ownership of every written line (write-allocate: the line comes from
// that level before it is written back to it). In L1 the line is already there; non-temporal
// stores skip the read.
int counted_bytes_per_elem(const Op& op, const std::string& level, bool non_temporal) {
  const bool write_allocate = op.stored > 0 && !non_temporal && level != "L1";
  return op.bytes_per_elem + (write_allocate ? 8 * op.stored : 0);
}

struct Buffer {  // page-aligned, huge-page hinted, released with munmap
  double* p = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t b) : bytes(b) {
    void* m = mmap(nullptr, b, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error(fmt::format("cannot map {} bytes for the working set", b));
    madvise(m, b, MADV_HUGEPAGE);
    p = static_cast<double*>(m);
  }
  ~Buffer() { munmap(p, bytes); }
};

class BandwidthSuite : public Suite {
 public:
  std::string name() const override { return "bandwidth"; }
  std::string description() const override {
    return "Memory bandwidth roofline: read/write/copy/triad over L1, L2, L3 and DRAM working sets";
  }
  int order() const override { return 0; }

  // Total working-set bytes (all arrays, all threads) for a level.
  static size_t level_bytes(const Topology& t, const std::string& level, int threads) {
    const uint64_t l1 = t.cache_size(1) ? t.cache_size(1) : 32 << 10;
    const uint64_t l2 = t.cache_size(2) ? t.cache_size(2) : 1 << 20;
    const uint64_t l3 = t.cache_size(3);
    if (level == "L1") return size_t(l1 / 2) * threads;
    if (level == "L2") return size_t(l2 / 2) * threads;
    if (level == "L3") return size_t(std::max<uint64_t>(l3 / 2, l2 * threads * 2));
    // DRAM: 4x the last-level cache, at least 512 MiB, at most a quarter of available memory.
    uint64_t b = std::max<uint64_t>(4 * std::max(l3, l2 * threads), uint64_t(512) << 20);
    if (t.mem_available_bytes) b = std::min<uint64_t>(b, t.mem_available_bytes / 4);
    return size_t(b);
  }

  std::vector<Cell> plan(const RunContext& ctx) const override {
    std::vector<Cell> cells;
    std::vector<std::string> levels = {"L1", "L2"};
    if (ctx.topo.cache_size(3)) levels.push_back("L3");
    levels.push_back("DRAM");
    for (int th : resolve_threads(ctx))
      for (const auto& pl : distinct_placements(ctx, th))
        for (const auto& lv : levels)
          for (const Op& op : kOps) {
            Cell c;
            c.suite = name();
            c.format = kNoField;
            c.backend = kNoField;
            c.workload = fmt::format("{}_{}", op.name, lv);
            c.threads = th;
            c.placement = pl;
            c.params = {{"op", op.name}, {"level", lv}, {"working_set_bytes", level_bytes(ctx.topo, lv, th)}};
            cells.push_back(c);
          }
    return cells;
  }

  // The read rate of each level is the bound that throughput and latency cells are set against.
  void publish_peaks(const CellResult& r, MachinePeaks& peaks) const override {
    if (r.status == CellStatus::Ok && r.cell.params.value("op", "") == "read")
      peaks.publish(PeakKind::ReadGBps, r.cell.params.value("level", ""), r.cell.threads,
                    r.metrics.value(metric::gb_per_s, 0.0));
  }

  CellResult measure(const Cell& cell, RunContext& ctx) override {
    const Op& op =
        *std::find_if(std::begin(kOps), std::end(kOps), [&](const Op& o) { return cell.params["op"] == o.name; });
    const size_t ws = cell.params["working_set_bytes"].get<size_t>();
    ThreadPool* pool = ctx.pool(cell.threads, cell.placement);
    if (!pool) throw std::runtime_error("placement cannot place this many threads");
    const int nt = pool->size();
    // Each thread owns a contiguous slice of each array (first-touched by that thread).
    const size_t per_array = ws / size_t(op.arrays);
    const size_t elems_per_thread = std::max<size_t>(64, per_array / 8 / size_t(nt) / 64 * 64);
    const size_t array_bytes = elems_per_thread * 8 * size_t(nt);
    std::vector<std::unique_ptr<Buffer>> arrays;
    for (int a = 0; a < op.arrays; ++a) arrays.push_back(std::make_unique<Buffer>(array_bytes));
    pool->run_on_all([&](int t) {
      for (auto& b : arrays)
        std::fill(b->p + size_t(t) * elems_per_thread, b->p + size_t(t + 1) * elems_per_thread, 1.0);
    });
    if (op.name[0] == 'r') {
      // The read kernel must touch every element once: over ones its sum is the element count.
      // Checked on the slice and on an odd length (the tail path).
      const Kernels kr = pick_kernels(false);
      for (const size_t n : {elems_per_thread, elems_per_thread - 37}) {
        const double got = kr.read(arrays[0]->p, n);
        if (got != double(n))
          throw std::runtime_error(
              fmt::format("{} read kernel summed {} over {} ones: it skips or repeats elements", kr.isa, got, n));
      }
    }
    // Cache-resident sets are tiny: repeat the pass so one sample lasts long enough to time.
    const std::string level = cell.params["level"];
    const Kernels k = pick_kernels(level == "DRAM");
    const int bpe = counted_bytes_per_elem(op, level, k.non_temporal);
    const size_t bytes_per_pass = elems_per_thread * size_t(nt) * size_t(bpe);
    const int reps = int(std::max<size_t>(1, (size_t(64) << 20) / bytes_per_pass));
    std::vector<double> sink(size_t(nt) * 8, 0.0);  // keeps reads alive, one cache line per thread
    auto body = [&] {
      pool->run_on_all([&](int t) {
        const size_t off = size_t(t) * elems_per_thread;
        for (int r = 0; r < reps; ++r) {
          switch (op.arrays) {
            case 1:
              if (op.name[0] == 'r')
                sink[size_t(t) * 8] += k.read(arrays[0]->p + off, elems_per_thread);
              else
                k.write(arrays[0]->p + off, elems_per_thread, double(r));
              break;
            case 2:
              k.copy(arrays[1]->p + off, arrays[0]->p + off, elems_per_thread);
              break;
            default:
              k.triad(arrays[0]->p + off, arrays[1]->p + off, arrays[2]->p + off, elems_per_thread, 3.0);
              break;
          }
        }
      });
    };
    Measurement m = qb::measure(ctx.cfg.measure, body);
    CellResult r;
    r.samples = m.samples;
    r.has_stats = true;
    r.stats = m.stats;
    r.valid = m.valid;
    r.reasons = m.reasons;
    r.counters = m.counters;
    const double bytes = double(bytes_per_pass) * reps;
    r.metrics[metric::gb_per_s] = bytes / m.stats.median / 1e9;
    r.metrics[metric::working_set_bytes] = double(array_bytes) * op.arrays;
    r.metrics[metric::time_s] = m.stats.median;
    r.cell = cell;
    r.cell.params["kernel_isa"] = k.isa;
    r.cell.params["reps_per_sample"] = reps;
    r.cell.params["bytes_per_elem"] = bpe;
    if (op.stored) {
      r.cell.params["stores"] = k.non_temporal ? "non-temporal (streaming, no write-allocate read)" : "plain";
      r.cell.params["write_allocate_counted"] = bpe > op.bytes_per_elem;
    }
    r.cell.params["bytes_method"] =
        "STREAM bytes (read 8, write 8, copy 16, triad 24 per element) + 8 per stored element for the "
        "write-allocate read of plain stores beyond L1";
    return r;
  }
};

QB_REGISTER_SUITE(BandwidthSuite);

}  // namespace
}  // namespace qb
