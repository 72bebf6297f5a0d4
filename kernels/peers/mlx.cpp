// Framework adapter `mlx`: Apple MLX's CPU kernels, in process, through the C++ API of the libmlx
// that the `mlx` + `mlx-cpu` wheels install. MLX quantizes the same F32 weights every backend gets
// with its own mx::quantize into its own variants (affine bits x group, mxfp4); the timed call is
// mx::quantized_matmul + mx::eval on the CPU device, synchronous. MLX's CPU backend runs each op on
// its stream's one thread and has no thread-count setting: the cell's threads are recorded, not
// applied. Activations stay F32 (MLX does not quantize them).
#include <memory>
#include <string>
#include <vector>

#include "qb/peers.h"

#if defined(QB_HAVE_MLX)
#include <mlx/mlx.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#endif

namespace qb {

#if defined(QB_HAVE_MLX)
namespace {

namespace mx = mlx::core;

// The variants, one table: mx.quantize's mode, bits and group, and the closest qbench format
// (INT4_G* for 4-bit affine groups, INT8_PC for 8 bits, the K-quant of the same width for 2/3/6
// bits: qbench has no plain 2/3/6-bit affine format).
struct MlxVariant {
  std::string name;
  FormatId format;
  std::string mode;
  int bits, group;
};

const std::vector<MlxVariant>& table() {
  static const std::vector<MlxVariant> v = [] {
    std::vector<MlxVariant> t;
    for (int bits : {2, 3, 4, 6, 8})
      for (int g : {32, 64, 128}) {
        const FormatId f = bits == 2   ? FormatId::Q2_K
                           : bits == 3 ? FormatId::Q3_K
                           : bits == 6 ? FormatId::Q6_K
                           : bits == 8 ? FormatId::INT8_PC
                           : g == 32   ? FormatId::INT4_G32
                           : g == 64   ? FormatId::INT4_G64
                                       : FormatId::INT4_G128;
        t.push_back({"affine_b" + std::to_string(bits) + "_g" + std::to_string(g), f, "affine", bits, g});
      }
    t.push_back({"mxfp4_g32", FormatId::MXFP4, "mxfp4", 4, 32});  // E2M1, one E8M0 scale per 32
    return t;
  }();
  return v;
}

// MLX's CPU quantized_matmul is a plain loop (about 0.3 GFLOP/s at n = 512 on 2048x8192 on two
// AVX2 cores: a minute per call), so GEMM is measured on MLX's default variant only.
constexpr const char* kGemmVariant = "affine_b4_g64";

std::vector<PeerVariant> variants() {
  std::vector<PeerVariant> out;
  for (const auto& v : table()) {
    PeerVariant p;
    p.name = v.name;
    p.format = v.format;
    p.what = "mx::quantize mode " + v.mode + " bits " + std::to_string(v.bits) + " group " + std::to_string(v.group);
    p.bits = v.bits;
    p.act_bits = 32;
    if (v.name != kGemmVariant)
      p.no_gemm = std::string("MLX's CPU quantized_matmul runs at ~0.3 GFLOP/s (about a minute per n=512 call on ") +
                  "2048x8192): n > 1 is measured on mlx:" + kGemmVariant + " only";
    out.push_back(p);
  }
  return out;
}

// A copy of an evaluated array in memory of its own (mx::copy would share the buffer).
mx::array deep_copy(const mx::array& a) {
  mx::allocator::Data d = mx::allocator::malloc(a.nbytes());
  std::memcpy(d.buffer().raw_ptr(), a.data<uint8_t>(), a.nbytes());
  return mx::array(std::move(d), a.shape(), a.dtype());
}

class MlxMatmul : public PeerMatmul {
 public:
  MlxMatmul(const MlxVariant& v, const float* W, int64_t m, int64_t k) : v_(v), m_(m), k_(k) {
    // MLX copies W if it cannot use the caller's memory; it does not keep W after quantize.
    mx::array w(const_cast<float*>(W), mx::Shape{int(m), int(k)}, mx::float32, [](void*) {});
    auto q = mx::quantize(w, v.group, v.bits, v.mode, std::nullopt, mx::Device::cpu);
    if (q.size() == 3) biases_ = q[2];  // affine: a bias per group; mxfp4: scales only
    wq_.emplace(q[0]);
    scales_.emplace(q[1]);
    eval_weights();
  }

  void run(const float* X, int64_t n, float* Y) override {
    mx::array x(const_cast<float*>(X), mx::Shape{int(n), int(k_)}, mx::float32, [](void*) {});
    const auto t0 = std::chrono::steady_clock::now();
    mx::array y = mx::quantized_matmul(x, *wq_, *scales_, biases_, true, v_.group, v_.bits, v_.mode, mx::Device::cpu);
    mx::eval(y);
    last_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    copy_out(y, size_t(n * m_), Y);
  }
  double last_run_seconds() const override { return last_s_; }

  bool dequantized(std::vector<float>& w_hat) const override {
    mx::array w =
        mx::dequantize(*wq_, *scales_, biases_, v_.group, v_.bits, v_.mode, std::nullopt, mx::float32, mx::Device::cpu);
    mx::eval(w);
    w_hat.resize(size_t(m_ * k_));
    copy_out(w, w_hat.size(), w_hat.data());
    return true;
  }

  size_t weight_bytes() const override { return wq_->nbytes() + scales_->nbytes() + (biases_ ? biases_->nbytes() : 0); }

  std::unique_ptr<PeerMatmul> clone() const override {
    auto c = std::unique_ptr<MlxMatmul>(new MlxMatmul(v_, m_, k_));
    c->wq_.emplace(deep_copy(*wq_));
    c->scales_.emplace(deep_copy(*scales_));
    if (biases_) c->biases_ = deep_copy(*biases_);
    c->eval_weights();
    return c;
  }

 private:
  MlxMatmul(const MlxVariant& v, int64_t m, int64_t k) : v_(v), m_(m), k_(k) {}

  void eval_weights() {
    std::vector<mx::array> ws = {*wq_, *scales_};
    if (biases_) ws.push_back(*biases_);
    mx::eval(ws);
  }

  // An evaluated F32 result into the caller's buffer (MLX owns the result's memory).
  static void copy_out(const mx::array& a, size_t count, float* dst) {
    if (a.dtype() != mx::float32 || a.size() != count || !a.flags().row_contiguous)
      throw std::runtime_error("mlx returned an array of unexpected type, size or layout");
    std::memcpy(dst, a.data<float>(), count * sizeof(float));
  }

  MlxVariant v_;
  int64_t m_, k_;
  std::optional<mx::array> wq_, scales_, biases_;  // optional: mx::array has no empty state
  double last_s_ = -1;
};

std::unique_ptr<PeerMatmul> create_variant(const std::string& name, const float* W, int64_t m, int64_t k, int64_t,
                                           int) {
  for (const auto& v : table())
    if (v.name == name) {
      if (k % v.group != 0)
        throw std::invalid_argument("mlx:" + name + ": k=" + std::to_string(k) +
                                    " is not a multiple of the group size " + std::to_string(v.group));
      return std::make_unique<MlxMatmul>(v, W, m, k);
    }
  throw std::invalid_argument("mlx has no variant '" + name + "'");
}

}  // namespace

PeerBackend make_mlx_peer() {
  PeerBackend p;
  p.name = "mlx";
  p.kind = "framework";
  p.version = std::string("libmlx ") + mx::version() + " (pip " + QB_MLX_PACKAGE + ")";
  p.available = true;
  p.variants = variants;
  p.create_variant = create_variant;
  return p;
}
#else
PeerBackend make_mlx_peer() {
  PeerBackend p;
  p.name = "mlx";
  p.kind = "framework";
  p.missing = QB_MLX_MISSING;
  return p;
}
#endif

}  // namespace qb
