// Peer libraries (OpenBLAS, oneDNN, XNNPACK) behind one interface, so they run in the same
// matrix as qbench's own kernels. Each peer prepares weights from F32 in its own format.
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
};

struct PeerBackend {
  std::string name;  // "openblas", "onednn", "xnnpack"
  bool available = false;
  std::string missing;  // why not (package absent at build time, CPU, ...)
  // qbench formats this peer stands in for, and what it really computes for each.
  std::vector<FormatId> formats;
  std::string (*computes)(FormatId f) = nullptr;
  // Prepares W (m × k, F32 row-major) for n up to max_n activation vectors with `threads` threads.
  std::unique_ptr<PeerMatmul> (*create)(FormatId f, const float* W, int64_t m, int64_t k, int64_t max_n,
                                        int threads) = nullptr;
};

std::span<const PeerBackend> peer_backends();
const PeerBackend* find_peer(const std::string& name);

}  // namespace qb
