// Framework adapters run through a Python worker (subprocess_peer.h): onnxruntime, openvino (mlx runs
// in process: mlx.cpp).
// Each framework quantizes the F32 weights with its own quantizer into its own variants (listed by
// its worker module, kernels/peers/workers/*_worker.py, the one table of them). Availability and
// versions come from the Python packages found when the build was configured (cmake/Deps.cmake);
// the build may also run without them (a backend unavailable with the reason).
// Also `qnn`: listed so a study sees why it is absent; no adapter code runs it.
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "qb/peers.h"
#include "subprocess_peer.h"

namespace qb {

namespace {

// One framework's variant list, asked of its worker once per process.
template <const char* Name>
std::vector<PeerVariant> cached_variants() {
  static std::once_flag once;
  static std::vector<PeerVariant> v;
  std::call_once(once, [] { v = peers::subprocess_variants(peers::framework_worker(Name)); });
  return v;
}

template <const char* Name>
std::unique_ptr<PeerMatmul> create_variant(const std::string& variant, const float* W, int64_t m, int64_t k,
                                           int64_t max_n, int threads) {
  return peers::subprocess_create(peers::framework_worker(Name), variant, W, m, k, max_n, threads);
}

template <const char* Name>
PeerBackend subprocess_peer(const char* version, const char* missing) {
  PeerBackend p;
  p.name = Name;
  p.kind = "framework";
  p.mode = "subprocess";
  p.version = version;
  p.available = !*missing;
  p.missing = missing;
  if (p.available) {
    p.variants = cached_variants<Name>;
    p.create_variant = create_variant<Name>;
  }
  return p;
}

constexpr char kOnnxruntime[] = "onnxruntime", kOpenvino[] = "openvino";

}  // namespace

PeerBackend make_onnxruntime_peer() { return subprocess_peer<kOnnxruntime>(QB_ORT_VERSION, QB_ORT_MISSING); }
PeerBackend make_openvino_peer() { return subprocess_peer<kOpenvino>(QB_OV_VERSION, QB_OV_MISSING); }

PeerBackend make_qnn_peer() {
  PeerBackend p;
  p.name = "qnn";
  p.kind = "framework";
  p.mode = "none";  // no adapter runs it
  const char* sdk = std::getenv("QNN_SDK_ROOT");
  p.missing = sdk && *sdk ? std::string("Qualcomm AI Engine Direct SDK found at QNN_SDK_ROOT=") + sdk +
                                ", but no adapter runs it here: needs a Snapdragon device"
                          : "needs the Qualcomm AI Engine Direct SDK and a Snapdragon device (QNN_SDK_ROOT not set)";
  return p;
}

}  // namespace qb
