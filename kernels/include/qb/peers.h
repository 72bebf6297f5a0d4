// Peer libraries (OpenBLAS, oneDNN, XNNPACK) and framework adapters (ggml) behind one interface,
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
#include <vector>

#include "qb/formats.h"

namespace qb {

class PeerMatmul {
 public:
  virtual ~PeerMatmul() = default;
  // Y (n vectors of length m) = W · X (n vectors of length k), on the threads given at creation.
  virtual void run(const float* X, int64_t n, float* Y) = 0;
  virtual size_t weight_bytes() const = 0;  // bytes of weights as the peer stores them
  // Another instance with the same prepared weights in memory of its own (rotation copies);
  // nullptr when the peer has no cheaper way than create().
  virtual std::unique_ptr<PeerMatmul> clone() const { return nullptr; }
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
};

std::span<const PeerBackend> peer_backends();
const PeerBackend* find_peer(const std::string& name);

}  // namespace qb
