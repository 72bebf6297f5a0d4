// Peer backend `onednn`: oneDNN matmul primitives. F32 (f32×f32), BF16 (bf16×bf16 → f32,
// activations converted per call) and INT8_PC (s8 activations quantized per call with one
// per-tensor scale × s8 weights with one scale per output channel → f32), the last standing in
// for qbench's INT8_PC. Weights are reordered once into the layout oneDNN prefers.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "peer_common.h"
#include "qb/cpu_features.h"
#include "qb/peers.h"

#if defined(QB_HAVE_ONEDNN)
#include <dnnl.hpp>
#if defined(QB_HAVE_GOMP)
extern "C" void omp_set_num_threads(int);
#endif
#endif

namespace qb {

#if defined(QB_HAVE_ONEDNN)
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

class OnednnMatmul : public PeerMatmul {
 public:
  OnednnMatmul(FormatId f, const float* W, int64_t m, int64_t k, int threads)
      : f_(f), m_(m), k_(k), threads_(threads), strm_(engine()) {
    if (f == FormatId::INT8_PC) {
      peers::quantize_rows_s8(W, m, k, wq_, wscale_);
      rowsum_.assign(size_t(m), 0);
      shift_.assign(size_t(m), 0.f);
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t c = 0; c < k; ++c) rowsum_[size_t(r)] += wq_[size_t(r * k + c)];
        shift_[size_t(r)] = float(zero_) * wscale_[size_t(r)] * float(rowsum_[size_t(r)]);
      }
      wdt_ = dt::s8;
      user_w_ = wq_.data();
      scales_.resize(size_t(m));
    } else if (f == FormatId::BF16) {
      wbf_.resize(size_t(m * k));
      for (size_t i = 0; i < wbf_.size(); ++i) wbf_[i] = fp32_to_bf16(W[i]);
      wdt_ = dt::bf16;
      user_w_ = wbf_.data();
    } else {
      wf_.assign(W, W + m * k);
      wdt_ = dt::f32;
      user_w_ = wf_.data();
    }
  }

  void run(const float* X, int64_t n, float* Y) override {
#if defined(QB_HAVE_GOMP)
    omp_set_num_threads(threads_);
#endif
    Prim& p = prim(n);
    dnnl::memory src, dst(p.pd.dst_desc(), engine(), Y);
    std::unordered_map<int, dnnl::memory> args;
    if (f_ == FormatId::INT8_PC) {
      // Dynamic per-tensor activation scale, as an inference engine with dynamic quantization does.
      // u8 activations (s8 + zero_: oneDNN's fast VNNI path is u8×s8); the shift is removed
      // after the call with the weights' row sums: y -= zero_ · sx · sw[r] · Σ_c Wq[r, c].
      xq_.resize(size_t(n * k_));
      const float a = peers::absmax(X, n * k_);
      const float sx = a > 0 ? a / float(zero_ - 1) : 1.f, inv = 1.f / sx;
      for (int64_t i = 0; i < n * k_; ++i) xq_[size_t(i)] = uint8_t(int(peers::q8(X[i], inv)) + zero_);
      sx_ = sx;
      src = dnnl::memory(p.pd.src_desc(), engine(), xq_.data());
    } else if (f_ == FormatId::BF16) {
      xb_.resize(size_t(n * k_));
      for (int64_t i = 0; i < n * k_; ++i) xb_[size_t(i)] = fp32_to_bf16(X[i]);
      src = dnnl::memory(p.pd.src_desc(), engine(), xb_.data());
    } else {
      src = dnnl::memory(p.pd.src_desc(), engine(), const_cast<float*>(X));
    }
    args.insert({DNNL_ARG_SRC, src});
    args.insert({DNNL_ARG_WEIGHTS, p.w});
    args.insert({DNNL_ARG_DST, dst});
    p.mm.execute(strm_, args);
    strm_.wait();
    if (f_ == FormatId::INT8_PC)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t r = 0; r < m_; ++r) Y[j * m_ + r] = sx_ * (Y[j * m_ + r] - shift_[size_t(r)]);
  }
  size_t weight_bytes() const override {
    return size_t(m_ * k_) * (wdt_ == dt::f32 ? 4 : wdt_ == dt::bf16 ? 2 : 1) + wscale_.size() * sizeof(float);
  }

 private:
  struct Prim {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul mm;
    dnnl::memory w;
  };
  Prim& prim(int64_t n) {
    auto it = prims_.find(n);
    if (it != prims_.end()) return it->second;
    const dt sdt = f_ == FormatId::INT8_PC ? dt::u8 : f_ == FormatId::BF16 ? dt::bf16 : dt::f32;
    dnnl::memory::desc src_md({n, k_}, sdt, tag::ab);
    // F32: the plain layout selects the jit GEMV/GEMM (faster than brgemm for n = 1 here); BF16 and
    // INT8: oneDNN picks a blocked layout for its brgemm (AMX / VNNI) kernels.
    dnnl::memory::desc w_any({k_, m_}, wdt_, f_ == FormatId::F32 ? tag::ba : tag::any);
    dnnl::memory::desc dst_md({n, m_}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    // Static per-channel weight scales (runtime scales push oneDNN 2.6 to a GEMM that repacks the
    // weights on every call); the per-call activation scale is applied after the call.
    if (f_ == FormatId::INT8_PC) attr.set_output_scales(1 << 1, wscale_);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_any, dst_md), attr, engine());
    // W is m × k row-major, i.e. the k × m weights matrix in "ba" order.
    dnnl::memory user_w({{k_, m_}, wdt_, tag::ba}, engine(), user_w_);
    dnnl::memory w(pd.weights_desc(), engine());
    dnnl::reorder(user_w, w).execute(strm_, user_w, w);
    strm_.wait();
    return prims_.emplace(n, Prim{pd, dnnl::matmul(pd), w}).first->second;
  }

  FormatId f_;
  int64_t m_, k_;
  // u8 activations' zero point: 128 (8 bits) where the CPU has VNNI; without it oneDNN multiplies
  // u8 x s8 with vpmaddubsw, whose int16 pair sums saturate above 32767 (255 * 127 * 2 does), so
  // activations get 7 bits (zero point 64, |q| <= 63; 127 * 127 * 2 fits), as oneDNN advises.
  int zero_ = cpu_features().avx512vnni || cpu_features().avx_vnni || cpu_features().amx_int8 ? 128 : 64;
  [[maybe_unused]] int threads_;  // read only where oneDNN runs on GNU OpenMP (QB_HAVE_GOMP)
  dnnl::stream strm_;
  dt wdt_ = dt::f32;
  void* user_w_ = nullptr;
  std::vector<float> wf_, wscale_, scales_, shift_;
  float sx_ = 1.f;
  std::vector<uint16_t> wbf_, xb_;
  std::vector<int8_t> wq_;
  std::vector<uint8_t> xq_;
  std::vector<int32_t> rowsum_;
  std::map<int64_t, Prim> prims_;
};

std::string computes(FormatId f) {
  switch (f) {
    case FormatId::F32:
      return "oneDNN f32 matmul";
    case FormatId::BF16:
      return "oneDNN bf16 matmul (activations converted to bf16 per call, f32 output)";
    case FormatId::INT8_PC:
      return "oneDNN u8s8 matmul (s8 activations shifted by 128, or 7-bit shifted by 64 without VNNI, where 8 bits "
             "saturate; shift removed with weight row sums), per-channel "
             "weight scales, dynamic per-tensor activation scale ≈ INT8_PC";
    default:
      return "";
  }
}

std::unique_ptr<PeerMatmul> create(FormatId f, const float* W, int64_t m, int64_t k, int64_t, int threads) {
  if (f != FormatId::F32 && f != FormatId::BF16 && f != FormatId::INT8_PC) return nullptr;
  auto p = std::make_unique<OnednnMatmul>(f, W, m, k, threads);
  return p;
}

// Whether this oneDNN has a kernel for f on this CPU: its bf16 matmul needs AVX-512 (Debian's
// oneDNN throws "could not create a primitive descriptor iterator" on an AVX2-only CPU). Probed
// once with a small matmul, so an unsupported format is listed as not run, not a failed cell.
bool runs_here(FormatId f) {
  const int64_t m = 16, k = 64;
  std::vector<float> W(size_t(m * k), 0.5f), X(size_t(k), 1.f), Y(static_cast<size_t>(m));
  try {
    create(f, W.data(), m, k, 1, 1)->run(X.data(), 1, Y.data());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

PeerBackend make_onednn_peer() {
  PeerBackend p;
  p.name = "onednn";
  p.available = true;
  for (FormatId f : {FormatId::F32, FormatId::BF16, FormatId::INT8_PC})
    if (runs_here(f)) p.formats.push_back(f);
  p.computes = computes;
  p.create = create;
  return p;
}
#else
PeerBackend make_onednn_peer() {
  PeerBackend p;
  p.name = "onednn";
  p.missing = QB_ONEDNN_MISSING;
  return p;
}
#endif

}  // namespace qb
