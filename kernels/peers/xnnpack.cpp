// Peer backend `xnnpack`: XNNPACK operators (Debian 12: snapshot 2022-02-16).
//   F32      fully-connected f32
//   INT8_PT  fully-connected qs8: one weight scale per tensor, static activation and output scales
//   INT8_PC  1×1 convolution qc8 (this XNNPACK has per-channel int8 only as convolution), same
//            static activation/output scales, one weight scale per output channel
// Integer paths quantize X and dequantize Y inside run(), as an int8 inference engine does at
// the layer boundary. Activation/output scales are calibrated on the first call (absmax of X,
// and 2× the absmax of a float sample of Y) and recalibrated if X's range changes by over 2×.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "peer_common.h"
#include "qb/peers.h"

#if defined(QB_HAVE_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

namespace qb {

#if defined(QB_HAVE_XNNPACK)
namespace {

void check(xnn_status s, const char* what) {
  if (s != xnn_status_success)
    throw std::runtime_error(std::string("XNNPACK: ") + what + " failed (status " + std::to_string(int(s)) + ")");
}

bool init_xnnpack() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

class XnnMatmul : public PeerMatmul {
 public:
  XnnMatmul(FormatId f, const float* W, int64_t m, int64_t k, int threads) : f_(f), m_(m), k_(k) {
    if (!init_xnnpack()) throw std::runtime_error("XNNPACK: xnn_initialize failed (CPU not supported?)");
    pool_ = threads > 1 ? pthreadpool_create(size_t(threads)) : nullptr;
    if (f == FormatId::F32) {
      check(xnn_create_fully_connected_nc_f32(size_t(k), size_t(m), size_t(k), size_t(m), W, nullptr,
                                              -std::numeric_limits<float>::infinity(),
                                              std::numeric_limits<float>::infinity(), 0, &op_),
            "create fully_connected_nc_f32");
      wbytes_ = size_t(m * k) * 4;
      return;
    }
    if (f == FormatId::INT8_PC) {
      peers::quantize_rows_s8(W, m, k, wq_, wscale_);
    } else {  // INT8_PT: one scale for the whole tensor
      const float a = peers::absmax(W, m * k);
      wscale_.assign(1, a > 0 ? a / 127.f : 1.f);
      wq_.resize(size_t(m * k));
      const float inv = 1.f / wscale_[0];
      for (int64_t i = 0; i < m * k; ++i) wq_[size_t(i)] = peers::q8(W[i], inv);
    }
    wbytes_ = wq_.size() + wscale_.size() * 4;
    // A float copy of some rows to calibrate the output scale: the first 32 and 32 spread over
    // the matrix with a stride coprime to small periods.
    for (int64_t r = 0; r < std::min<int64_t>(m, 32); ++r) sample_rows_.push_back(r);
    for (int64_t r = 0; r < 32 && m > 64; ++r) sample_rows_.push_back((32 + r * 997) % m);
    for (int64_t row : sample_rows_) sample_w_.insert(sample_w_.end(), W + row * k, W + (row + 1) * k);
  }
  ~XnnMatmul() override {
    if (op_) xnn_delete_operator(op_);
    if (pool_) pthreadpool_destroy(pool_);
  }

  void run(const float* X, int64_t n, float* Y) override {
    if (f_ == FormatId::F32) {
      check(xnn_setup_fully_connected_nc_f32(op_, size_t(n), X, Y, pool_), "setup fully_connected_nc_f32");
      check(xnn_run_operator(op_, pool_), "run");
      return;
    }
    const float a = peers::absmax(X, n * k_);
    if (!op_ || a > 2 * x_absmax_ || a < 0.5f * x_absmax_) calibrate(X, n, a);
    xq_.resize(size_t(n * k_));
    yq_.resize(size_t(n * m_));
    const float inv = 1.f / sx_;
    for (int64_t i = 0; i < n * k_; ++i) xq_[size_t(i)] = peers::q8(X[i], inv);
    if (f_ == FormatId::INT8_PT)
      check(xnn_setup_fully_connected_nc_qs8(op_, size_t(n), xq_.data(), yq_.data(), pool_),
            "setup fully_connected_nc_qs8");
    else
      check(xnn_setup_convolution2d_nhwc_qc8(op_, size_t(n), 1, 1, xq_.data(), yq_.data(), pool_),
            "setup convolution2d_nhwc_qc8");
    check(xnn_run_operator(op_, pool_), "run");
    for (int64_t i = 0; i < n * m_; ++i) Y[i] = so_ * float(yq_[size_t(i)]);
  }
  size_t weight_bytes() const override { return wbytes_; }

 private:
  void calibrate(const float* X, int64_t n, float a) {
    if (op_) xnn_delete_operator(op_);
    op_ = nullptr;
    x_absmax_ = a > 0 ? a : 1.f;
    sx_ = x_absmax_ / 127.f;
    float ymax = 0;
    for (size_t r = 0; r < sample_rows_.size(); ++r)
      for (int64_t j = 0; j < std::min<int64_t>(n, 8); ++j) {
        double s = 0;
        for (int64_t c = 0; c < k_; ++c) s += double(sample_w_[r * size_t(k_) + size_t(c)]) * X[j * k_ + c];
        ymax = std::max(ymax, float(std::fabs(s)));
      }
    so_ = ymax > 0 ? 2.5f * ymax / 127.f : 1.f;  // headroom for rows not sampled
    if (f_ == FormatId::INT8_PT) {
      check(xnn_create_fully_connected_nc_qs8(size_t(k_), size_t(m_), size_t(k_), size_t(m_), 0, sx_, wscale_[0],
                                              wq_.data(), nullptr, 0, so_, -127, 127, 0, &op_),
            "create fully_connected_nc_qs8");
    } else {
      check(xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, size_t(k_), size_t(m_), size_t(k_),
                                              size_t(m_), 0, sx_, wscale_.data(), wq_.data(), nullptr, 0, so_, -127,
                                              127, 0, &op_),
            "create convolution2d_nhwc_qc8 (1x1)");
    }
  }

  FormatId f_;
  int64_t m_, k_;
  pthreadpool_t pool_ = nullptr;
  xnn_operator_t op_ = nullptr;
  size_t wbytes_ = 0;
  std::vector<int8_t> wq_, xq_, yq_;
  std::vector<float> wscale_, sample_w_;
  std::vector<int64_t> sample_rows_;
  float x_absmax_ = 0, sx_ = 1, so_ = 1;
};

std::string computes(FormatId f) {
  switch (f) {
    case FormatId::F32:
      return "XNNPACK fully_connected_nc_f32";
    case FormatId::INT8_PT:
      return "XNNPACK fully_connected_nc_qs8: per-tensor weight scale, static int8 activations and outputs ≈ INT8_PT "
             "(symmetric, no zero point)";
    case FormatId::INT8_PC:
      return "XNNPACK 1x1 convolution2d_nhwc_qc8: per-channel weight scales, static int8 activations and outputs ≈ "
             "INT8_PC";
    default:
      return "";
  }
}

std::unique_ptr<PeerMatmul> create(FormatId f, const float* W, int64_t m, int64_t k, int64_t, int threads) {
  if (f != FormatId::F32 && f != FormatId::INT8_PT && f != FormatId::INT8_PC) return nullptr;
  return std::make_unique<XnnMatmul>(f, W, m, k, threads);
}

}  // namespace

PeerBackend make_xnnpack_peer() {
  PeerBackend p;
  p.name = "xnnpack";
  p.available = init_xnnpack();
  if (!p.available) p.missing = "xnn_initialize failed: XNNPACK does not support this CPU";
  p.formats = {FormatId::F32, FormatId::INT8_PT, FormatId::INT8_PC};
  p.computes = computes;
  p.create = create;
  return p;
}
#else
PeerBackend make_xnnpack_peer() {
  PeerBackend p;
  p.name = "xnnpack";
  p.missing = QB_XNNPACK_MISSING;
  return p;
}
#endif

}  // namespace qb
