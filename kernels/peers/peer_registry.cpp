// The peer backends and framework adapters, in a fixed order. Each file provides
// make_<name>_peer(): an available backend when its library was found at build time, else an
// entry saying why not.
#include <algorithm>

#include "qb/peers.h"

namespace qb {

PeerBackend make_openblas_peer();
PeerBackend make_onednn_peer();
PeerBackend make_xnnpack_peer();
PeerBackend make_ggml_peer();
PeerBackend make_onnxruntime_peer();
PeerBackend make_openvino_peer();
PeerBackend make_mlx_peer();
PeerBackend make_qnn_peer();

std::span<const PeerBackend> peer_backends() {
  static const std::vector<PeerBackend> peers = {make_openblas_peer(), make_onednn_peer(),      make_xnnpack_peer(),
                                                 make_ggml_peer(),     make_onnxruntime_peer(), make_openvino_peer(),
                                                 make_mlx_peer(),      make_qnn_peer()};
  return peers;
}

std::pair<std::string, std::string> split_variant(const std::string& backend) {
  const size_t c = backend.find(':');
  if (c == std::string::npos) return {backend, ""};
  return {backend.substr(0, c), backend.substr(c + 1)};
}

const PeerBackend* find_peer(const std::string& full) {
  const std::string name = split_variant(full).first;
  auto ps = peer_backends();
  auto it = std::find_if(ps.begin(), ps.end(), [&](const PeerBackend& p) { return p.name == name; });
  return it == ps.end() ? nullptr : &*it;
}

}  // namespace qb
