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

std::span<const PeerBackend> peer_backends() {
  static const std::vector<PeerBackend> peers = {make_openblas_peer(), make_onednn_peer(), make_xnnpack_peer(),
                                                 make_ggml_peer()};
  return peers;
}

const PeerBackend* find_peer(const std::string& name) {
  auto ps = peer_backends();
  auto it = std::find_if(ps.begin(), ps.end(), [&](const PeerBackend& p) { return p.name == name; });
  return it == ps.end() ? nullptr : &*it;
}

}  // namespace qb
