// Peer libraries (OpenBLAS, oneDNN, XNNPACK) and framework adapters (ggml, mlx, ...) behind one interface,
// so they run in the same matrix as qbench's own kernels. Each prepares weights from the same F32
// weights in its own format. A framework adapter is a peer with a version, a run mode and its own
// names for the formats: keeping one type means one timed call, one measurement loop and one
// output check for all of them (suites/kernel_bench.cpp), so later adapters (ONNX Runtime,
// OpenVINO, MLX) only add a file here, not a code path in each suite.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "qb/formats.h"

namespace qb {

class PeerMatmul {
 public:
  virtual ~PeerMatmul() = default;
  // Y (n vectors of length m) = W · X (n vectors of length k), on the threads given at creation.
  virtual void run(const float* X, int64_t n, float* Y) = 0;
  // Seconds of the last run()'s framework call alone, timed by the framework's side (subprocess
  // adapters: inside its process, without the protocol; mlx: quantized_matmul + eval, without
  // copying the result out); < 0 when the caller's clock is the measure.
  virtual double last_run_seconds() const { return -1; }
  // Median per-call cost of the protocol (round trip minus the in-framework time) over the calls
  // so far, seconds; < 0 for in-process peers.
  virtual double protocol_overhead_seconds() const { return -1; }
  // The weights as the framework itself decodes them (m × k, F32 row-major), for output checks and
  // the quant-error suite; false when the peer cannot say (then the check uses the F32 weights).
  virtual bool dequantized(std::vector<float>& /*w_hat*/) const { return false; }
  virtual size_t weight_bytes() const = 0;  // bytes of weights as the peer stores them
  // Another instance with the same prepared weights in memory of its own (rotation copies);
  // nullptr when the peer has no cheaper way than create().
  virtual std::unique_ptr<PeerMatmul> clone() const { return nullptr; }
  // The most rotation copies worth making of this instance.
  virtual int64_t max_copies() const { return 256; }
};

// One of a framework's own format variants (e.g. ONNX Runtime's MatMulNBits block 32 symmetric,
// accuracy_level 4), and the closest qbench format it stands in for. Cells of a variant name the
// backend "framework:variant", so variants that map to one qbench format stay distinct cells.
struct PeerVariant {
  std::string name;     // "nbits4_b32_sym_acc4"
  FormatId format{};    // closest qbench format
  std::string what;     // in words, the framework's terms
  int bits = 0;         // bits of each stored weight, before scales (32 for F32)
  int act_bits = 32;    // bits of the activations inside the call (8 when the framework quantizes them)
  std::string no_gemm;  // why n > 1 is not measured (a path too slow to time), "" when it is
};

struct PeerBackend {
  std::string name;                 // "openblas", "onednn", "xnnpack", "ggml"
  std::string kind = "peer";        // "peer" (a BLAS-like library) or "framework" (an inference framework's kernels)
  std::string version;              // the library's own version where it says one ("" when it does not)
  std::string mode = "in-process";  // how it runs: "in-process" (C/C++ API) or "subprocess"
  bool available = false;
  std::string missing;  // why not (package absent at build time, CPU, ...)
  // The weights are the bytes qbench's own codec writes for the format (so the output check can
  // use qbench's dequantized weights, and reports compare kernels on identical data).
  bool qbench_codec = false;
  // qbench formats this peer stands in for, and what it really computes for each.
  std::vector<FormatId> formats;
  std::string (*computes)(FormatId f) = nullptr;
  // The format in the peer's own terms ("q4_K" for ggml); nullptr: the qbench name is its name.
  std::string (*native_name)(FormatId f) = nullptr;
  // Prepares W (m × k, F32 row-major) for n up to max_n activation vectors with `threads` threads.
  std::unique_ptr<PeerMatmul> (*create)(FormatId f, const float* W, int64_t m, int64_t k, int64_t max_n,
                                        int threads) = nullptr;
  // Frameworks with variants of their own (subprocess adapters, mlx): the list (a subprocess
  // adapter asks its worker on first use; throws std::runtime_error when it cannot start) and a
  // creator per variant.
  // A backend with `variants` has no `create`.
  std::vector<PeerVariant> (*variants)() = nullptr;
  std::unique_ptr<PeerMatmul> (*create_variant)(const std::string& variant, const float* W, int64_t m, int64_t k,
                                                int64_t max_n, int threads) = nullptr;
};

std::span<const PeerBackend> peer_backends();
// By name; "framework:variant" finds the framework.
const PeerBackend* find_peer(const std::string& name);
// "onnxruntime:nbits4_b32_sym_acc4" -> {"onnxruntime", "nbits4_b32_sym_acc4"}; no ':' -> {name, ""}.
std::pair<std::string, std::string> split_variant(const std::string& backend);

}  // namespace qb
