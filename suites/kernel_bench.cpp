// Plan rules, cached data and prepared matmuls shared by the kernel suites (see kernel_bench.h).
#include "kernel_bench.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <list>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "qb/catalogue.h"
#include "qb/measure.h"
#include "qb/metrics.h"
#include "qb/thread_pool.h"

namespace qb::kb {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower((unsigned char)c));
  return s;
}

Shape catalogue_shape(const std::string& name, const std::string& fallback) {
  for (const auto& m : default_catalogue())
    for (const auto& s : m.shapes)
      if (s.name == name) return s;
  return parse_shape(fallback);
}

// xoshiro256** + Box-Muller: fast, deterministic per seed.
struct Rng {
  uint64_t s[4];
  explicit Rng(uint64_t seed) {
    for (auto& x : s) {  // splitmix64
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      x = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
};

void fill_normal(float* p, size_t n, double sigma, uint64_t seed) {
  Rng rng(seed);
  size_t i = 0;
  for (; i + 1 < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(rng.uniform())) * sigma, th = 2 * M_PI * rng.uniform();
    p[i] = float(r * std::cos(th));
    p[i + 1] = float(r * std::sin(th));
  }
  if (i < n) p[i] = float(std::sqrt(-2.0 * std::log(rng.uniform())) * sigma * std::cos(2 * M_PI * rng.uniform()));
}

// LRU of shared buffers under a byte budget.
class Cache {
 public:
  std::shared_ptr<void> get(const std::string& key) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->key == key) {
        items_.splice(items_.begin(), items_, it);
        return items_.front().data;
      }
    return nullptr;
  }
  void put(const std::string& key, std::shared_ptr<void> data, size_t bytes) {
    std::lock_guard<std::mutex> g(mu_);
    items_.push_front({key, std::move(data), bytes});
    total_ += bytes;
    while (total_ > kBudget && items_.size() > 1) {
      total_ -= items_.back().bytes;
      items_.pop_back();
    }
  }
  void clear() {
    std::lock_guard<std::mutex> g(mu_);
    items_.clear();
    total_ = 0;
  }

 private:
  static constexpr size_t kBudget = size_t(1) << 30;  // 1 GiB of cached weights
  struct Item {
    std::string key;
    std::shared_ptr<void> data;
    size_t bytes;
  };
  std::mutex mu_;
  std::list<Item> items_;
  size_t total_ = 0;
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

// ---------------------------------------------------------------- plan rules
KernelPlan kernel_plan(const RunContext& ctx) {
  const RunConfig& cfg = ctx.cfg;
  KernelPlan p;
  const int pus = std::max(1, ctx.topo.pus);
  if (!cfg.threads.empty()) {
    p.threads = p.scalar_threads = cfg.threads;
  } else {
    p.threads = cfg.quick ? std::vector<int>{pus} : (pus > 1 ? std::vector<int>{1, pus} : std::vector<int>{1});
    p.scalar_threads = p.threads;  // scalar is cheap on its small shape: same thread counts
    p.rules.push_back(cfg.quick ? "threads: all PUs (--quick)" : "threads: 1 and all PUs");
  }
  if (!cfg.shapes.empty()) {
    p.gemv_shapes = p.scalar_shapes = p.gemm_shapes = dedupe(cfg.shapes);
  } else {
    const Shape small = parse_shape("512x2048");
    p.scalar_shapes = {small};
    if (cfg.quick) {
      p.gemv_shapes = p.gemm_shapes = {small};
      p.rules.push_back("shapes (--quick): 512x2048 for GEMV and GEMM");
    } else {
      p.gemv_shapes = {catalogue_shape("llama3.2-1b.ffn_down", "2048x8192")};
      p.gemm_shapes = {catalogue_shape("llama3.2-1b.attn_q", "2048x2048")};
      p.rules.push_back("shapes: GEMV 2048x8192 (llama3.2-1b ffn_down), GEMM 2048x2048 (llama3.2-1b attn_q)");
    }
    p.rules.push_back("scalar backend: GEMV on 512x2048 only");
  }
  const bool bexp = backends_explicit(ctx);
  if (!cfg.batch.empty()) {
    p.gemv = std::find(cfg.batch.begin(), cfg.batch.end(), 1) != cfg.batch.end();
    for (int64_t n : cfg.batch)
      if (n > 1 && std::find(p.gemm_batches.begin(), p.gemm_batches.end(), n) == p.gemm_batches.end())
        p.gemm_batches.push_back(n);
    p.gemm_best_only = !bexp;
    p.gemm_scalar = bexp;
  } else {
    p.gemm_batches = {512};
    p.gemm_best_only = !bexp;
    p.gemm_scalar = false;
    p.rules.push_back("GEMM n=512: no scalar backend unless --batch is given");
    if (!cfg.quick) {
      p.small_batches = {2, 4, 8, kSmallBatchMax};
      p.rules.push_back("small batches n=2,4,8,16 on the GEMV shapes, weights from DRAM");
    }
  }
  if (p.gemm_best_only) p.rules.push_back("GEMM: best own backend per format, plus peers");
  return p;
}

bool backends_explicit(const RunContext& ctx) { return !ctx.cfg.backends.empty(); }

std::vector<BackendRef> requested_backends(const RunContext& ctx) {
  std::vector<BackendRef> all;
  for (const auto& b : own_backends()) {
    BackendRef r;
    r.name = std::string(b.name);
    r.available = b.available;
    r.missing = b.missing;
    r.own = &b;
    all.push_back(r);
  }
  for (const auto& p : peer_backends()) {
    BackendRef r;
    r.name = p.name;
    r.peer = true;
    r.available = p.available;
    r.missing = p.missing;
    r.peer_info = &p;
    all.push_back(r);
  }
  std::vector<BackendRef> out;
  if (ctx.cfg.backends.empty()) {
    // Framework adapters run only when named: each doubles a format's cells, and the default run
    // stays within its time budget.
    for (auto& r : all)
      if (r.available && !(r.peer && r.peer_info->kind == "framework")) out.push_back(r);
    return out;
  }
  for (const auto& want : ctx.cfg.backends)
    for (auto& r : all)
      if (lower(want) == r.name) out.push_back(r);
  return out;
}

const BackendRef* best_own(FormatId f, const std::vector<BackendRef>& backends) {
  const BackendRef* best = nullptr;
  int rank_best = -1;
  for (const auto& b : backends) {
    if (b.peer || !b.available || !find_kernel(f, b.own->id)) continue;
    const int rank = b.own->id == BackendId::Scalar ? 0 : b.own->id == BackendId::Avx2 ? 1 : 2;
    if (rank > rank_best) {
      rank_best = rank;
      best = &b;
    }
  }
  return best;
}

std::vector<BackendRef> variant_refs(const BackendRef& b, FormatId f) {
  std::vector<BackendRef> out;
  if (!b.peer || !b.available || !b.peer_info->variants) return out;
  std::vector<PeerVariant> vs;
  try {
    vs = b.peer_info->variants();
  } catch (const std::exception& e) {  // the worker cannot start: one unavailable ref says why
    BackendRef r = b;
    r.available = false;
    r.missing = e.what();
    return {r};
  }
  for (const auto& v : vs)
    if (v.format == f) {
      BackendRef r = b;
      r.name = b.name + ":" + v.name;
      r.variant = v.name;
      r.variant_what = v.what;
      r.no_gemm = v.no_gemm;
      out.push_back(r);
    }
  return out;
}

BackendRef backend_ref(const std::string& name) {
  for (const auto& b : own_backends())
    if (b.name == name) {
      BackendRef r;
      r.name = name;
      r.available = b.available;
      r.missing = b.missing;
      r.own = &b;
      return r;
    }
  const PeerBackend* p = find_peer(name);
  if (!p) throw std::runtime_error("unknown backend " + name);
  BackendRef r;
  r.name = name;
  r.peer = true;
  r.available = p->available;
  r.missing = p->missing;
  r.peer_info = p;
  r.variant = split_variant(name).second;
  if (!r.variant.empty() && p->available && p->variants) {
    try {
      for (const auto& v : p->variants())
        if (v.name == r.variant) {
          r.variant_what = v.what;
          r.no_gemm = v.no_gemm;
        }
    } catch (const std::exception& e) {
      r.available = false;
      r.missing = e.what();
    }
  }
  return r;
}

std::string unsupported_reason(FormatId f, const BackendRef& b, int64_t k) {
  const FormatTraits& t = traits(f);
  if (!b.available) return fmt::format("backend {} unavailable: {}", b.name, b.missing);
  if (b.peer && b.peer_info->variants) {
    if (b.variant.empty())
      return fmt::format("framework {} runs per variant of its own (throughput and quant-error suites)", b.name);
    return "";  // the worker refuses a variant it does not have, with its reason
  }
  if (b.peer) {
    const auto& fs = b.peer_info->formats;
    if (std::find(fs.begin(), fs.end(), f) == fs.end()) {
      std::string have;
      for (FormatId x : fs) have += (have.empty() ? "" : ", ") + std::string(traits(x).name);
      return fmt::format("peer {} has no {} path (it stands in for: {})", b.name, t.name, have);
    }
    return "";
  }
  if (!find_kernel(f, b.own->id)) return fmt::format("no {} kernel for {} in this build", b.name, t.name);
  if (k % t.block_size != 0)
    return fmt::format("k={} is not a multiple of {}'s block size {}", k, t.name, t.block_size);
  return "";
}

std::vector<Shape> dedupe(const std::vector<Shape>& v) {
  std::vector<Shape> out;
  for (const auto& s : v)
    if (std::none_of(out.begin(), out.end(), [&](const Shape& o) { return o.m == s.m && o.k == s.k; }))
      out.push_back(s);
  return out;
}

std::string shape_mk(const Shape& s) { return fmt::format("{}x{}", s.m, s.k); }

std::string workload_name(const Shape& s, int64_t n) {
  return n == 1 ? "gemv_" + shape_mk(s) : fmt::format("gemm{}_{}", n, shape_mk(s));
}

// ---------------------------------------------------------------- residency and memory
namespace {
std::string g_residency;  // --residency of this run, "" = per-n default

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) b /= 1024, ++u;
  return fmt::format("{:.1f} {}", b, units[u]);
}

uint64_t read_u64(const char* path) {
  std::ifstream in(path);
  uint64_t v = 0;
  return in >> v ? v : 0;
}
}  // namespace

void set_residency_option(const std::string& r) { g_residency = r; }

std::string residency_for(int64_t n) {
  return !g_residency.empty() ? g_residency : weight_streaming(n) ? "dram" : "llc";
}

uint64_t llc_bytes(const Topology& t) {
  int top = 0;
  for (const auto& c : t.caches)
    if (c.type != "instruction") top = std::max(top, c.level);
  uint64_t sum = 0;
  for (const auto& c : t.caches)
    if (c.level == top && c.type != "instruction") sum += c.size_bytes;
  return sum;
}

MemoryLimit available_memory(const Topology& t) {
  MemoryLimit l;
  l.bytes = double(t.mem_available_bytes ? t.mem_available_bytes : t.mem_total_bytes);
  l.what = fmt::format("MemAvailable {}", human_bytes(l.bytes));
  if (!t.cgroup_mem_limit_bytes) return l;
  // The cgroup's free memory: memory.max less what the group already uses (v2, else v1).
  uint64_t used = read_u64("/sys/fs/cgroup/memory.current");
  if (!used) used = read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  const double free = double(t.cgroup_mem_limit_bytes) - double(std::min<uint64_t>(used, t.cgroup_mem_limit_bytes));
  l.what +=
      fmt::format(", cgroup memory.max {} ({} free)", human_bytes(double(t.cgroup_mem_limit_bytes)), human_bytes(free));
  l.bytes = std::min(l.bytes, free);
  return l;
}

Rotation plan_rotation(const Topology& t, double per_copy, const std::string& residency) {
  Rotation r;
  r.bytes_per_copy = r.bytes_between_reuses = per_copy;
  if (residency != "dram" || per_copy <= 0) return r;
  const uint64_t llc = llc_bytes(t);
  // Without detected caches, assume a large server LLC (256 MiB).
  r.target_bytes = 4.0 * double(llc ? llc : uint64_t(256) << 20);
  const double want = std::ceil(r.target_bytes / per_copy);
  const double budget = available_memory(t).bytes / 2;
  const double fit = std::floor(budget / per_copy);
  r.copies = int64_t(std::max(1.0, std::min(want, fit)));
  r.bytes_between_reuses = double(r.copies) * per_copy;
  if (want > fit && want > 1)
    r.capped_note = fmt::format(
        "capped at {} copies ({} between reuses, below 4x LLC = {}) to stay within half of the "
        "available memory ({})",
        r.copies, human_bytes(r.bytes_between_reuses), human_bytes(r.target_bytes), human_bytes(budget));
  return r;
}

double planned_cell_bytes(const Cell& c, const Topology& t) {
  if ((c.suite != "throughput" && c.suite != "latency") || !c.params.contains("m") || !c.params.contains("k")) return 0;
  const FormatTraits* ft = find_format(c.format);
  if (!ft) return 0;
  const double m = c.params["m"].get<double>(), k = c.params["k"].get<double>(), n = c.params.value("n", 1.0);
  const double w = m * double(ft->row_bytes(int64_t(k)));
  // Peers start from F32 weights and keep their own packed copy; own kernels from the quantized ones.
  const double source = find_peer(c.backend) ? 4.0 * m * k + w : w;
  const Rotation r = plan_rotation(t, w, c.params.value("residency", "llc"));
  const double copies = r.copies > 1 ? double(r.copies) * w : 0;
  return source + copies + n * (8.0 * k + 4.0 * m);  // + activations (F32 and quantized), output
}

std::string memory_refusal(const std::vector<Cell>& cells, const Topology& t) {
  const MemoryLimit avail = available_memory(t);
  for (const auto& c : cells) {
    const double b = planned_cell_bytes(c, t);
    if (b > avail.bytes)
      return fmt::format(
          "cell {} needs {} (weights, rotation copies, activations, output) but only {} of memory is "
          "available ({}): choose a smaller shape",
          c.key(), human_bytes(b), human_bytes(avail.bytes), avail.what);
  }
  return "";
}

// ---------------------------------------------------------------- data
// Distinct random weights per matrix: rows repeat with period kUniqueWeights / k (at least 16 rows).
constexpr int64_t kUniqueWeights = int64_t(1) << 18;
int64_t unique_rows(int64_t m, int64_t k) { return std::min<int64_t>(m, std::max<int64_t>(16, kUniqueWeights / k)); }

std::shared_ptr<const std::vector<float>> f32_weights(int64_t m, int64_t k) {
  const std::string key = fmt::format("f32/{}x{}", m, k);
  if (auto p = cache().get(key)) return std::static_pointer_cast<const std::vector<float>>(p);
  auto v = std::make_shared<std::vector<float>>(size_t(m * k));
  const int64_t u = unique_rows(m, k);
  fill_normal(v->data(), size_t(u * k), 0.02, uint64_t(u) * 1000003ull + uint64_t(k));
  for (int64_t r = u; r < m; r += u) std::copy(v->begin(), v->begin() + std::min(u, m - r) * k, v->begin() + r * k);
  cache().put(key, v, v->size() * 4);
  return v;
}

std::shared_ptr<const std::vector<uint8_t>> quantized_weights(FormatId f, int64_t m, int64_t k) {
  const FormatTraits& t = traits(f);
  const std::string key = fmt::format("{}/{}x{}", t.name, m, k);
  if (auto p = cache().get(key)) return std::static_pointer_cast<const std::vector<uint8_t>>(p);
  // Quantize the distinct rows once, then repeat their bytes (rows of f32_weights repeat with the
  // same period): every row is still its own memory, and slow reference quantizers stay cheap.
  const int64_t u = unique_rows(m, k);
  auto src = f32_weights(u, k);
  const size_t rb = t.row_bytes(k);
  auto v = std::make_shared<std::vector<uint8_t>>(size_t(m) * rb + 64);
  quantize(f, src->data(), v->data(), u, k, fmt::format("random {}x{} weights", m, k));
  for (int64_t r = u; r < m; r += u) std::copy(v->begin(), v->begin() + std::min(u, m - r) * rb, v->begin() + r * rb);
  cache().put(key, v, v->size());
  return v;
}

std::shared_ptr<const std::vector<float>> activations(int64_t n, int64_t k) {
  const std::string key = fmt::format("act/{}x{}", n, k);
  if (auto p = cache().get(key)) return std::static_pointer_cast<const std::vector<float>>(p);
  auto v = std::make_shared<std::vector<float>>(size_t(n * k));
  fill_normal(v->data(), v->size(), 1.0, 0xac7ull ^ (uint64_t(n) << 32) ^ uint64_t(k));
  cache().put(key, v, v->size() * 4);
  return v;
}

void drop_caches() { cache().clear(); }

// ---------------------------------------------------------------- prepared matmul
PreparedMatmul::PreparedMatmul(FormatId f, const BackendRef& b, int64_t m_, int64_t k_, int64_t n_, int threads)
    : format(f), m(m_), k(k_), n(n_), b_(b), threads_(threads) {
  const std::string why = unsupported_reason(f, b, k);
  if (!why.empty()) throw std::runtime_error(why);
  x_ = activations(n, k);
  y_.assign(size_t(n * m), 0.f);
  if (b.peer) {
    auto w = f32_weights(m, k);
    unbind_calling_thread();  // the peer's own threads must not inherit a one-PU mask
    peer_ = create_peer(w->data());
    if (!peer_) throw std::runtime_error(fmt::format("peer {} refused {}", b.name, traits(f).name));
    weight_bytes_ = double(peer_->weight_bytes());
    kernel_name_ = b.name;
    computes_ = b.peer_info->computes ? b.peer_info->computes(f) : "";
    if (!b.variant.empty())
      computes_ = fmt::format("{} {}: {} (closest qbench format {})", b.peer_info->name, b.variant, b.variant_what,
                              traits(f).name);
  } else {
    kern_ = find_kernel(f, b.own->id, n);
    w_ = quantized_weights(f, m, k);
    // A packed kernel (load-time repack, as a model load does) runs every n on packed bytes.
    if (const MatmulKernel* pk = find_packed_kernel(f, b.own->id)) {
      const auto t0 = std::chrono::steady_clock::now();
      packed_ = pack_weights(*pk, w_->data(), m, k, 64);
      repack_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      kern_ = pk;
    }
    xq_.assign(size_t(n) * kern_->act_row_bytes(k) + 64, 0);
    weight_bytes_ = double(m) * double(traits(f).row_bytes(k));
    kernel_name_ = std::string(kern_->name);
    computes_ =
        fmt::format("qbench {} ({} weights × {} activations)", kern_->name, traits(f).name, traits(kern_->act).name);
  }
}

// One anonymous mapping holding every copy back to back (64-byte aligned), so huge pages can
// back it; 64 bytes of slack after the last copy for kernels that read a vector past a row's end.
struct PreparedMatmul::Slab {
  uint8_t* p = nullptr;
  size_t stride = 0, bytes = 0;
  Slab(size_t copy_bytes, int64_t copies) : stride((copy_bytes + 63) / 64 * 64), bytes(stride * size_t(copies) + 64) {
    void* v = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v == MAP_FAILED)
      throw std::runtime_error(
          fmt::format("rotation copies: mmap of {} failed: {}", human_bytes(double(bytes)), std::strerror(errno)));
    p = static_cast<uint8_t*>(v);
  }
  ~Slab() { munmap(p, bytes); }
};

PreparedMatmul::~PreparedMatmul() = default;

void PreparedMatmul::rotate(const Topology& t, ThreadPool* pool) {
  residency_ = "dram";
  rot_ = plan_rotation(t, weight_bytes_, residency_);
  if (rot_.copies <= 1) return;  // one copy already exceeds 4x the LLC (or memory allows no more)
  if (peer_) {
    // A peer packs its own weights: one instance per copy, first-touched by the library itself.
    const int64_t max_copies = peer_->max_copies();
    if (rot_.copies > max_copies) {
      rot_.copies = max_copies;
      rot_.bytes_between_reuses = double(rot_.copies) * weight_bytes_;
      rot_.capped_note = fmt::format("capped at {} peer instances", max_copies);
    }
    auto w = f32_weights(m, k);
    for (int64_t i = 1; i < rot_.copies; ++i) {
      auto c = peer_->clone();  // cheaper than preparing again (ggml's K-quant quantizer is slow)
      peer_copies_.push_back(c ? std::move(c) : create_peer(w->data()));
      if (!peer_copies_.back()) throw std::runtime_error(fmt::format("peer {} refused a rotation copy", b_.name));
    }
    // Frameworks finish preparing lazily, on an instance's first call (OpenVINO's INT4 first
    // inference repacks its weights: ~300 ms against ~1 ms warm). The warm-up calls reach only the
    // first copies, so every copy runs once here, outside the timing.
    // In-process peers report no time of their own (run() < 0): the steady clock times them.
    for (int64_t i = 0; i < rot_.copies; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      double s = run(pool);
      if (s < 0) s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      peer_first_call_s_ = std::max(peer_first_call_s_, s);
    }
    return;
  }
  slab_ = std::make_unique<Slab>(kernel_weight_bytes(), rot_.copies);
  huge_pages_ = madvise(slab_->p, slab_->bytes, MADV_HUGEPAGE) == 0
                    ? "MADV_HUGEPAGE advised"
                    : fmt::format("madvise failed: {}", std::strerror(errno));
  // First touch by the workers that will read the copies (each writes a contiguous share of the
  // slab; GEMV tasks are handed out dynamically, so the share a worker later reads may differ).
  const uint8_t* src = kernel_weights();  // holds at least stride bytes (kernel_weight_bytes() + 64)
  const size_t total = slab_->stride * size_t(rot_.copies), stride = slab_->stride;
  auto fill = [&](int t, int nt) {
    for (size_t pos = total * size_t(t) / size_t(nt), end = total * size_t(t + 1) / size_t(nt); pos < end;) {
      const size_t off = pos % stride, len = std::min(end - pos, stride - off);
      std::memcpy(slab_->p + pos, src + off, len);
      pos += len;
    }
  };
  if (pool)
    pool->run_on_all([&](int t) { fill(t, pool->size()); });
  else
    fill(0, 1);
}

size_t PreparedMatmul::kernel_weight_bytes() const {
  return packed_.empty() ? size_t(weight_bytes_) : packed_bytes(*kern_, m, k);
}

nlohmann::json PreparedMatmul::residency_params() const {
  nlohmann::json j = {{"residency", residency_}};
  if (residency_ != "dram") return j;
  j["residency_copies"] = rot_.copies;
  j["residency_bytes_per_copy"] = rot_.bytes_per_copy;
  j["residency_bytes_between_reuses"] = rot_.bytes_between_reuses;
  j["residency_target_bytes"] = rot_.target_bytes;
  if (!rot_.capped_note.empty()) j["residency_capped"] = rot_.capped_note;
  if (slab_) {
    j["residency_huge_pages"] = huge_pages_;
    j["residency_first_touch"] = "thread-pool workers, a contiguous share of the copies each";
  } else if (!peer_copies_.empty()) {
    j["residency_first_touch"] = "the peer library (one instance per copy), each copy called once before timing";
    j["peer_first_call_s"] = peer_first_call_s_;  // the slowest copy's untimed first call
  }
  return j;
}

std::unique_ptr<PeerMatmul> PreparedMatmul::create_peer(const float* w) const {
  if (!b_.variant.empty()) return b_.peer_info->create_variant(b_.variant, w, m, k, n, threads_);
  return b_.peer_info->create(format, w, m, k, n, threads_);
}

double PreparedMatmul::protocol_overhead_s() const {
  double worst = -1;  // over the instances (rotation copies) that ran
  if (peer_) worst = peer_->protocol_overhead_seconds();
  for (const auto& c : peer_copies_) worst = std::max(worst, c->protocol_overhead_seconds());
  return worst;
}

double PreparedMatmul::run(ThreadPool* pool) {
  const int64_t copy = next_copy_;
  next_copy_ = (next_copy_ + 1) % std::max<int64_t>(1, rot_.copies);
  if (peer_) {
    unbind_calling_thread();
    PeerMatmul* p = copy == 0 || peer_copies_.empty() ? peer_.get() : peer_copies_[size_t(copy - 1)].get();
    p->run(x_->data(), n, y_.data());
    return p->last_run_seconds();
  }
  const uint8_t* w = slab_ ? slab_->p + size_t(copy) * slab_->stride : kernel_weights();
  if (pool)
    matmul(*kern_, w, m, k, x_->data(), n, y_.data(), m, xq_.data(), pool->as_parallel_for());
  else
    matmul(*kern_, w, m, k, x_->data(), n, y_.data(), m, xq_.data());
  return -1;
}

PreparedMatmul::Check PreparedMatmul::check() const {
  Check c;
  std::vector<int64_t> rows, cols = {0};
  const int64_t nr = std::min<int64_t>(m, 8);
  for (int64_t i = 0; i < nr; ++i) rows.push_back(nr == 1 ? 0 : i * (m - 1) / (nr - 1));
  if (n > 1) cols.push_back(n - 1);
  std::vector<double> ref;
  std::vector<float> got;
  const MatmulKernel* sk = b_.peer ? nullptr : find_kernel(format, BackendId::Scalar);
  const bool vs_scalar = sk && kern_ && kern_ != sk;
  const FormatTraits& t = traits(format);
  std::vector<float> deq(static_cast<size_t>(k));
  std::vector<uint8_t> xq;
  std::vector<float> ytmp;
  // The original F32 weights: rows of f32_weights(m, k) repeat with period u, so the u distinct
  // rows are enough (and stay cheap for large shapes).
  const int64_t u = unique_rows(m, k);
  std::shared_ptr<const std::vector<float>> w32 = f32_weights(u, k);
  // A peer that writes qbench's codec bytes is checked against those weights dequantized (a tight
  // check: same data).
  const bool peer_codec = b_.peer && b_.peer_info->qbench_codec;
  std::shared_ptr<const std::vector<uint8_t>> wq = peer_codec ? quantized_weights(format, m, k) : nullptr;
  // A framework that says how it decodes its weights is checked against them (its kernel's error
  // alone; the format's error is in rel_err_f32).
  std::vector<float> w_hat;
  const bool peer_own = b_.peer && !peer_codec && peer_->dequantized(w_hat);
  std::vector<double> ref_f32;
  for (int64_t j : cols) {
    const float* x = x_->data() + j * k;
    if (vs_scalar) {
      xq.assign(sk->act_row_bytes(k) + 64, 0);
      sk->quantize_act(x, xq.data(), k);
      ytmp.assign(size_t(m), 0.f);
    }
    for (int64_t r : rows) {
      double v = 0;
      if (vs_scalar) {
        const int64_t r0 = r / 16 * 16, r1 = std::min(m, r0 + 16);
        sk->compute(k, w_->data(), t.row_bytes(k), r0, r1, xq.data(), sk->act_row_bytes(k), 1, ytmp.data(), m);
        v = ytmp[size_t(r)];
      } else if (peer_codec) {
        t.dequantize_row(wq->data() + size_t(r) * t.row_bytes(k), deq.data(), k);
        for (int64_t c2 = 0; c2 < k; ++c2) v += double(deq[size_t(c2)]) * x[c2];
      } else if (peer_own) {
        const float* wr = w_hat.data() + r * k;
        for (int64_t c2 = 0; c2 < k; ++c2) v += double(wr[c2]) * x[c2];
      } else if (b_.peer) {
        const float* wr = w32->data() + (r % u) * k;
        for (int64_t c2 = 0; c2 < k; ++c2) v += double(wr[c2]) * x[c2];
      } else {
        t.dequantize_row(w_->data() + size_t(r) * t.row_bytes(k), deq.data(), k);
        for (int64_t c2 = 0; c2 < k; ++c2) v += double(deq[size_t(c2)]) * x[c2];
      }
      ref.push_back(v);
      got.push_back(y_[size_t(j * m + r)]);
      double v32 = 0;
      const float* wr = w32->data() + (r % u) * k;
      for (int64_t c2 = 0; c2 < k; ++c2) v32 += double(wr[c2]) * x[c2];
      ref_f32.push_back(v32);
    }
  }
  auto rel = [&](const std::vector<double>& rv) {
    double ss = 0, mx = 0;
    for (size_t i = 0; i < rv.size(); ++i) {
      ss += rv[i] * rv[i];
      const double d = std::isfinite(got[i]) ? std::fabs(got[i] - rv[i]) : INFINITY;
      mx = std::max(mx, d);
    }
    const double rms = std::sqrt(ss / double(std::max<size_t>(1, rv.size())));
    return mx / std::max(rms, 1e-30);
  };
  c.rel_err = rel(ref);
  c.rel_err_f32 = rel(ref_f32);
  if (peer_codec) {
    c.reference =
        fmt::format("float dot product of qbench's {} codec bytes dequantized (same bytes as the peer's)", t.name);
    c.tol = 5e-2;
  } else if (peer_own) {
    // Frameworks that quantize activations (ONNX Runtime accuracy_level 4, DynamicQuantizeLinear)
    // differ from the float product by the activations' 8-bit error: the codec peers' bound.
    c.reference = fmt::format("float dot product of {}'s own dequantized weights", b_.name);
    c.tol = 5e-2;
  } else if (vs_scalar) {
    c.reference = fmt::format("scalar kernel {}", sk->name);
    c.tol = 1e-2;
  } else if (b_.peer) {
    c.reference = "float dot product of the original F32 weights";
    c.tol = format == FormatId::F32 ? 1e-3 : format == FormatId::BF16 ? 3e-2 : 0.15;
  } else {
    c.reference = "float dot product of the dequantized weights";
    c.tol = kern_->act == FormatId::F32 ? 2e-2 : 5e-2;
  }
  return c;
}

void fill_from_measurement(CellResult& r, const Measurement& m) {
  r.samples = m.samples;
  r.has_stats = true;
  r.stats = m.stats;
  r.valid = m.valid;
  r.reasons = m.reasons;
  r.counters = m.counters;
}

CellResult unsupported(const Cell& c, const std::string& why) {
  CellResult r;
  r.cell = c;
  r.status = CellStatus::Unsupported;
  r.error = why;
  r.valid = false;
  r.reasons = {"unsupported: " + why};
  return r;
}

InCache in_cache_ceiling(FormatId f, const MatmulKernel& kern, int64_t k, int64_t n, int threads, ThreadPool* pool,
                         const Topology& t) {
  const FormatTraits& ft = traits(f);
  const size_t w_stride = ft.row_bytes(k), xq_stride = kern.act_row_bytes(k);
  const uint64_t l2 = t.cache_size(2);
  InCache c;
  c.rows_per_thread = std::max<int64_t>(4, int64_t((l2 ? l2 / 2 : uint64_t(256) << 10) / w_stride));
  c.bytes_per_thread = double(c.rows_per_thread) * double(w_stride);
  const int nt = std::max(1, threads);
  if (kern.pack_rows > 0)  // tasks start at multiples of pack_rows
    c.rows_per_thread = (c.rows_per_thread + kern.pack_rows - 1) / kern.pack_rows * kern.pack_rows;
  c.bytes_per_thread = double(c.rows_per_thread) * double(w_stride);
  std::shared_ptr<const std::vector<uint8_t>> w = quantized_weights(f, c.rows_per_thread * nt, k);
  if (kern.pack) {
    w = std::make_shared<std::vector<uint8_t>>(pack_weights(kern, w->data(), c.rows_per_thread * nt, k, 64));
  }
  const auto x = activations(n, k);
  std::vector<uint8_t> xq(xq_stride * size_t(n));
  for (int64_t j = 0; j < n; ++j) kern.quantize_act(x->data() + j * k, xq.data() + size_t(j) * xq_stride, k);
  std::vector<float> y(size_t(c.rows_per_thread * nt * n));
  const int64_t ldy = c.rows_per_thread * nt;
  constexpr int kReps = 8;  // per task and sample: the pool's hand-off stays a small share
  auto slice = [&](int64_t task) {
    const int64_t r0 = task * c.rows_per_thread;
    for (int rep = 0; rep < kReps; ++rep)
      kern.compute(k, w->data(), w_stride, r0, r0 + c.rows_per_thread, xq.data(), xq_stride, n, y.data(), ldy);
  };
  MeasureOptions opt = quick_options();
  opt.min_time_s = 0.05;
  opt.max_time_s = 1.0;
  const Measurement m = measure(opt, [&] {
    if (pool)
      pool->as_parallel_for()(nt, slice);
    else
      for (int64_t task = 0; task < nt; ++task) slice(task);
  });
  if (m.stats.median > 0) c.gb_per_s = double(nt) * kReps * c.bytes_per_thread / m.stats.median / 1e9;
  return c;
}

std::string fits_level(const Topology& t, double bytes) {
  for (int lv = 1; lv <= 3; ++lv) {
    const uint64_t s = t.cache_size(lv);
    if (s && bytes <= double(s)) return fmt::format("L{}", lv);
  }
  return "DRAM";
}

}  // namespace qb::kb
