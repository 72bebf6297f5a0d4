// Peer backend `openblas`: F32 GEMV/GEMM through CBLAS (cblas_sgemv for n = 1, cblas_sgemm
// otherwise). OpenBLAS keeps its own thread pool; its size is set before every call.
#include <memory>
#include <string>
#include <vector>

#include "qb/peers.h"

#if defined(QB_HAVE_OPENBLAS)
#include <cblas.h>
#endif

namespace qb {

#if defined(QB_HAVE_OPENBLAS)
namespace {

class OpenblasMatmul : public PeerMatmul {
 public:
  OpenblasMatmul(const float* W, int64_t m, int64_t k, int threads)
      : w_(W, W + m * k), m_(m), k_(k), threads_(threads) {}
  void run(const float* X, int64_t n, float* Y) override {
    openblas_set_num_threads(threads_);
    if (n == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(m_), int(k_), 1.f, w_.data(), int(k_), X, 1, 0.f, Y, 1);
    } else {
      // Y (n × m) = X (n × k) · Wᵀ (k × m), all row-major.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(m_), int(k_), 1.f, X, int(k_), w_.data(),
                  int(k_), 0.f, Y, int(m_));
    }
  }
  size_t weight_bytes() const override { return w_.size() * sizeof(float); }

 private:
  std::vector<float> w_;
  int64_t m_, k_;
  int threads_;
};

std::string computes(FormatId f) {
  return f == FormatId::F32 ? "OpenBLAS cblas_sgemv/cblas_sgemm, F32 weights and activations" : "";
}

std::unique_ptr<PeerMatmul> create(FormatId f, const float* W, int64_t m, int64_t k, int64_t, int threads) {
  if (f != FormatId::F32) return nullptr;
  return std::make_unique<OpenblasMatmul>(W, m, k, threads);
}

}  // namespace

PeerBackend make_openblas_peer() {
  PeerBackend p;
  p.name = "openblas";
  p.available = true;
  p.formats = {FormatId::F32};
  p.computes = computes;
  p.create = create;
  return p;
}
#else
PeerBackend make_openblas_peer() {
  PeerBackend p;
  p.name = "openblas";
  p.missing = QB_OPENBLAS_MISSING;
  return p;
}
#endif

}  // namespace qb
