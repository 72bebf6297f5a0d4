// Shared by the kernel suites (throughput, latency, memory) and qbench-microbench: the plan rules
// (which format × backend × shape × n × threads cells a run measures by default), cached random
// weights, the residency of the weights (streamed from DRAM or warm in cache) and the memory a
// cell needs, and one way to prepare, run and sanity-check a matmul on any backend (qbench's own
// or a peer library).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/peers.h"
#include "qb/suite.h"

namespace qb {

class ThreadPool;

namespace kb {

// ---- plan rules (documented in the README section "Default plan of the kernel suites") ----
struct KernelPlan {
  std::vector<Shape> gemv_shapes;      // n = 1 shapes for SIMD backends and peers
  std::vector<Shape> scalar_shapes;    // n = 1 shapes for the scalar backend
  std::vector<Shape> gemm_shapes;      // shapes for n > 1
  std::vector<int64_t> gemm_batches;   // n > 1 values
  std::vector<int64_t> small_batches;  // default plan only: n in 2..kSmallBatchMax on the GEMV shapes
  bool gemv = true;                    // n = 1 requested
  std::vector<int> threads;            // thread counts
  std::vector<int> scalar_threads;     // thread counts for the scalar backend
  bool gemm_best_only = true;          // n > 1 only on the best own backend of each format (+ peers)
  bool gemm_scalar = false;            // n > 1 on the scalar backend
  std::vector<std::string> rules;      // the rules applied, in words (go into cell params)
};
KernelPlan kernel_plan(const RunContext& ctx);

// A backend a cell may name: qbench's own or a peer.
struct BackendRef {
  std::string name;
  bool peer = false;
  bool available = false;
  std::string missing;
  const BackendInfo* own = nullptr;
  const PeerBackend* peer_info = nullptr;
  std::string variant;       // a framework's own format variant (name is then "framework:variant"), or ""
  std::string variant_what;  // the variant in the framework's words
  std::string no_gemm;       // the variant's reason not to measure n > 1, or ""
};
// The variant refs of a framework backend with variants (PeerBackend::variants) whose qbench format
// is f, named "framework:variant"; empty for other backends. When the worker cannot list them, one
// unavailable ref with the reason.
std::vector<BackendRef> variant_refs(const BackendRef& b, FormatId f);
// A backend by cell name: qbench's own, a peer, or "framework:variant". Throws std::runtime_error
// for an unknown name.
BackendRef backend_ref(const std::string& name);
// cfg.backends (all of them, available or not: unavailable ones become unsupported cells), or
// every available backend when none were asked for.
std::vector<BackendRef> requested_backends(const RunContext& ctx);
bool backends_explicit(const RunContext& ctx);
// The widest own backend with a kernel for f among `backends` (nullptr if none).
const BackendRef* best_own(FormatId f, const std::vector<BackendRef>& backends);

// Why (format, backend) cannot run shape k, or "" when it can.
std::string unsupported_reason(FormatId f, const BackendRef& b, int64_t k);

// Deduplicates shapes by (m, k), keeping the first (workload names are per m×k).
std::vector<Shape> dedupe(const std::vector<Shape>& v);
std::string shape_mk(const Shape& s);                  // "4096x14336"
std::string workload_name(const Shape& s, int64_t n);  // gemv_MxK / gemm512_MxK

// ---- residency: where the weights of a timed call come from ----
// "dram": the call rotates through enough copies of the weights that each copy has left every
// cache before it is read again (decode in a real model streams every weight from DRAM).
// "llc": one copy, warm in cache after the first call (the level it fits in).
// `qbench run --residency` sets it for every n; unset, GEMV and small batches (n <= kSmallBatchMax:
// speculative decoding, batched serving, still one pass over every weight per token step) are
// "dram", larger GEMMs "llc".
inline constexpr int64_t kSmallBatchMax = 16;
void set_residency_option(const std::string& r);  // "", "dram" or "llc"
std::string residency_for(int64_t n);
// Whether an n-column call streams its weights like decode: the memory roofline judges it.
inline bool weight_streaming(int64_t n) { return n >= 1 && n <= kSmallBatchMax; }

// Bytes of the last-level cache: all instances of the highest cache level added up.
uint64_t llc_bytes(const Topology& t);
// Memory a run may use: MemAvailable, lowered to the cgroup's free memory when memory.max is set.
struct MemoryLimit {
  double bytes = 0;
  std::string what;  // where the number comes from, in words
};
MemoryLimit available_memory(const Topology& t);

// How many copies of `bytes_per_copy` a "dram" cell rotates through: enough that the bytes
// touched between two reads of a copy (copies × bytes_per_copy) reach 4x the LLC, capped so
// that all copies fit in half the available memory (capped_note says so when the cap bit).
struct Rotation {
  int64_t copies = 1;
  double bytes_per_copy = 0, bytes_between_reuses = 0, target_bytes = 0;
  std::string capped_note;
};
Rotation plan_rotation(const Topology& t, double bytes_per_copy, const std::string& residency);

// Bytes a throughput or latency cell allocates (weights, rotation copies, activations, output);
// 0 for cells of other suites and for decode estimates (their slices are capped by the suite).
double planned_cell_bytes(const Cell& c, const Topology& t);
// "" when every cell fits in available memory, else one line naming the first cell that does not,
// with both numbers.
std::string memory_refusal(const std::vector<Cell>& cells, const Topology& t);

// ---- data ----
// Random F32 weights ~ N(0, 0.02), deterministic per (m, k); cached (LRU under a byte budget).
// Rows repeat with a period of max(16, 2^18 / k) rows (each row still has its own memory), so
// that slow reference quantizers cost little; timing does not depend on the values.
std::shared_ptr<const std::vector<float>> f32_weights(int64_t m, int64_t k);
// Weights quantized with qb::quantize from f32_weights(m, k); cached. Throws FormatError.
std::shared_ptr<const std::vector<uint8_t>> quantized_weights(FormatId f, int64_t m, int64_t k);
// Activations ~ N(0, 1), deterministic per (n, k).
std::shared_ptr<const std::vector<float>> activations(int64_t n, int64_t k);
void drop_caches();

// ---- compute ceiling of a weight-streaming cell ----
// The cell's own kernel with its weights cache-resident: each task of the pool computes its own
// slice of half an L2 (256 KiB where the topology names no L2), from activations quantized once,
// so neither DRAM nor activation quantization bounds it. Weight GB/s through the kernel: what the
// cell could reach if memory were free. Where it is below the DRAM read, GEMV is compute-bound.
struct InCache {
  double gb_per_s = 0;
  int64_t rows_per_thread = 0;
  double bytes_per_thread = 0;
};
InCache in_cache_ceiling(FormatId f, const MatmulKernel& kern, int64_t k, int64_t n, int threads, ThreadPool* pool,
                         const Topology& t);

// ---- one prepared matmul ----
class PreparedMatmul {
 public:
  // Throws FormatError (shape) or std::runtime_error (peer refused).
  PreparedMatmul(FormatId f, const BackendRef& b, int64_t m, int64_t k, int64_t n, int threads);
  ~PreparedMatmul();
  // Makes this a "dram" cell: copies of the weights (plan_rotation), first-touched by the workers
  // of `pool` (peers: one peer instance per copy), read in turn by run(). Call once, before timing.
  void rotate(const Topology& t, ThreadPool* pool);
  // Residency params of a cell: residency, residency_copies, residency_bytes_per_copy, ...
  nlohmann::json residency_params() const;
  // One call: Y = W · X (activation quantization included). Returns the seconds the call measured
  // itself (a subprocess framework times its call in its own process), or -1: use the caller's clock.
  double run(ThreadPool* pool);
  // Median protocol cost per call of a subprocess framework (round trip minus in-framework time),
  // seconds; -1 for everything in process.
  double protocol_overhead_s() const;
  double weight_bytes() const { return weight_bytes_; }
  std::string kernel_name() const { return kernel_name_; }
  const MatmulKernel* kernel() const { return kern_; }  // the own kernel it runs; nullptr for peers
  // Milliseconds spent repacking the weights for a packed kernel (find_packed_kernel), -1 if none.
  double repack_ms() const { return repack_ms_; }
  std::string computes() const { return computes_; }
  // Compares a sample of Y (after run) against a reference: the scalar kernel when this is a
  // SIMD backend with a scalar kernel, else a float reference on the dequantized (own) or
  // original F32 (peer) weights. Returns {max |Δ| / rms(ref), tolerance, reference name}.
  // Peers that write qbench's codec bytes (PeerBackend::qbench_codec) are compared with those
  // bytes dequantized. rel_err_f32: the same measure against the original F32 weights, for every
  // backend (the format's error plus the kernel's; comparable across backends).
  struct Check {
    double rel_err = 0, tol = 0, rel_err_f32 = 0;
    std::string reference;
    bool ok() const { return rel_err <= tol; }
  };
  Check check() const;

  FormatId format;
  int64_t m, k, n;

 private:
  std::unique_ptr<PeerMatmul> create_peer(const float* w) const;  // create or create_variant
  BackendRef b_;
  const MatmulKernel* kern_ = nullptr;
  std::unique_ptr<PeerMatmul> peer_;
  std::vector<std::unique_ptr<PeerMatmul>> peer_copies_;  // peer_ is copy 0
  std::shared_ptr<const std::vector<uint8_t>> w_;         // the format's rows (the reference check reads these)
  std::vector<uint8_t> packed_;                           // kern_->pack's output, when kern_ is packed
  double repack_ms_ = -1;
  const uint8_t* kernel_weights() const { return packed_.empty() ? w_->data() : packed_.data(); }
  size_t kernel_weight_bytes() const;  // bytes kern_ reads from kernel_weights()
  struct Slab;                         // the rotation copies of own-kernel weights (one mapping, huge pages advised)
  std::unique_ptr<Slab> slab_;
  Rotation rot_;
  std::string residency_ = "llc", huge_pages_;
  int64_t next_copy_ = 0;
  double peer_first_call_s_ = 0;  // the slowest rotation copy's first call (lazy framework set-up)
  int threads_ = 1;
  std::shared_ptr<const std::vector<float>> x_;
  std::vector<float> y_;
  std::vector<uint8_t> xq_;
  double weight_bytes_ = 0;
  std::string kernel_name_, computes_;
};

// Result fields from a qb::Measurement.
void fill_from_measurement(CellResult& r, const Measurement& m);
// An "unsupported" result with its reason.
CellResult unsupported(const Cell& c, const std::string& why);

// Which level of the cache hierarchy `bytes` fits in ("L1", "L2", "L3", "DRAM").
std::string fits_level(const Topology& t, double bytes);

}  // namespace kb
}  // namespace qb
