// Framework adapter `ggml`: llama.cpp's CPU kernels, in process, from the libggml that
// llama-cpp-python installs. Weights are quantized by ggml itself (ggml_quantize_chunk) from the F32
// weights every backend gets; the timed call is one ggml_graph_compute of a ggml_mul_mat graph
// (ggml turns the F32 activations into the format's vec_dot_type inside the call, as in inference).
// A ggml threadpool is created once per thread count and shared by the instances alive at a time
// (a cell and its rotation copies), never per call. Plain CPU buffers only: llama.cpp's AMX extra
// buffer type crashes in these VMs and repacks weights, so it is not what this adapter measures.
#include <memory>
#include <string>
#include <vector>

#include "qb/peers.h"

#if defined(QB_HAVE_GGML)
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#endif

namespace qb {

#if defined(QB_HAVE_GGML)
namespace {

// qbench formats ggml quantizes without an importance matrix and multiplies on the CPU. The GGUF
// type id is the ggml type (same numbering); Q8_1 and Q8_K are activation-only types in ggml.
const std::vector<FormatId>& ggml_formats() {
  static const std::vector<FormatId> v = {
      FormatId::F32,  FormatId::F16,    FormatId::BF16,   FormatId::Q4_0,  FormatId::Q4_1,  FormatId::Q5_0,
      FormatId::Q5_1, FormatId::Q8_0,   FormatId::Q2_K,   FormatId::Q3_K,  FormatId::Q4_K,  FormatId::Q5_K,
      FormatId::Q6_K, FormatId::IQ4_NL, FormatId::IQ4_XS, FormatId::TQ1_0, FormatId::TQ2_0, FormatId::MXFP4};
  return v;
}

bool supported(FormatId f) {
  const auto& v = ggml_formats();
  return std::find(v.begin(), v.end(), f) != v.end();
}

ggml_type gtype(FormatId f) { return ggml_type(traits(f).gguf_type); }

// One threadpool per thread count, alive while an instance uses it.
std::shared_ptr<ggml_threadpool> shared_threadpool(int threads) {
  static std::mutex mu;
  static std::map<int, std::weak_ptr<ggml_threadpool>> pools;
  std::lock_guard<std::mutex> lock(mu);
  if (auto p = pools[threads].lock()) return p;
  ggml_threadpool_params params = ggml_threadpool_params_default(threads);  // no affinity: ggml places its threads
  ggml_threadpool* tp = ggml_threadpool_new(&params);
  if (!tp) throw std::runtime_error("ggml_threadpool_new failed");
  std::shared_ptr<ggml_threadpool> p(tp, ggml_threadpool_free);
  pools[threads] = p;
  return p;
}

struct ContextDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using Context = std::unique_ptr<ggml_context, ContextDeleter>;

class GgmlMatmul : public PeerMatmul {
 public:
  // Quantizes W with ggml_quantize_chunk (rows split over `threads` threads: it is slow for K-quants).
  GgmlMatmul(FormatId f, const float* W, int64_t m, int64_t k, int threads) : GgmlMatmul(f, m, k, threads) {
    auto* dst = static_cast<uint8_t*>(w_->data);
    const size_t rb = ggml_row_size(type_, k);
    const int nt = int(std::clamp<int64_t>(threads, 1, m));
    const ggml_type type = type_;
    std::vector<std::thread> ts;
    for (int t = 0; t < nt; ++t)
      ts.emplace_back([type, W, dst, rb, m, k, t, nt] {
        const int64_t r0 = m * t / nt, r1 = m * (t + 1) / nt;
        if (r1 > r0) ggml_quantize_chunk(type, W + r0 * k, dst + size_t(r0) * rb, 0, r1 - r0, k, nullptr);
      });
    for (auto& t : ts) t.join();
  }

  void run(const float* X, int64_t n, float* Y) override {
    Graph& g = graph(n);
    g.x->data = const_cast<float*>(X);  // ggml only reads src1
    g.y->data = Y;
    if (ggml_graph_compute(g.gf, &g.plan) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml_graph_compute failed");
  }
  size_t weight_bytes() const override { return ggml_nbytes(w_); }
  std::unique_ptr<PeerMatmul> clone() const override {
    auto c = std::unique_ptr<GgmlMatmul>(new GgmlMatmul(format_, m_, k_, threads_));
    std::copy_n(static_cast<const uint8_t*>(w_->data), ggml_nbytes(w_), static_cast<uint8_t*>(c->w_->data));
    return c;
  }

 private:
  // The weight tensor (ne0 = k, ne1 = m) in a context of its own; filled by the caller.
  GgmlMatmul(FormatId f, int64_t m, int64_t k, int threads)
      : format_(f), type_(gtype(f)), m_(m), k_(k), threads_(threads), pool_(shared_threadpool(threads)) {
    ggml_cpu_init();  // ggml's conversion tables; idempotent
    ggml_init_params p = {ggml_row_size(type_, k) * size_t(m) + ggml_tensor_overhead() + 256, nullptr, false};
    wctx_.reset(ggml_init(p));
    if (!wctx_) throw std::runtime_error("ggml_init failed for the weights");
    w_ = ggml_new_tensor_2d(wctx_.get(), type_, k, m);
  }

  // The graph for n activation vectors: x (ne0 = k, ne1 = n) and y = mul_mat(w, x) (ne0 = m, ne1 = n)
  // point at the caller's buffers, so Y's layout is n vectors of length m as the interface asks.
  struct Graph {
    Context ctx;
    ggml_tensor *x = nullptr, *y = nullptr;
    ggml_cgraph* gf = nullptr;
    ggml_cplan plan{};
    std::vector<uint8_t> work;
  };
  Graph& graph(int64_t n) {
    auto it = graphs_.find(n);
    if (it != graphs_.end()) return it->second;
    Graph& g = graphs_[n];
    ggml_init_params p = {4 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
    g.ctx.reset(ggml_init(p));
    if (!g.ctx) throw std::runtime_error("ggml_init failed for the graph");
    g.x = ggml_new_tensor_2d(g.ctx.get(), GGML_TYPE_F32, k_, n);
    g.y = ggml_mul_mat(g.ctx.get(), w_, g.x);
    g.gf = ggml_new_graph(g.ctx.get());
    ggml_build_forward_expand(g.gf, g.y);
    g.plan = ggml_graph_plan(g.gf, threads_, pool_.get());
    g.work.resize(g.plan.work_size);
    g.plan.work_data = g.work.empty() ? nullptr : g.work.data();
    return g;
  }

  FormatId format_;
  ggml_type type_;
  int64_t m_, k_;
  int threads_;
  std::shared_ptr<ggml_threadpool> pool_;
  Context wctx_;
  ggml_tensor* w_ = nullptr;
  std::map<int64_t, Graph> graphs_;
};

std::string native_name(FormatId f) { return supported(f) ? ggml_type_name(gtype(f)) : ""; }

std::string computes(FormatId f) {
  if (!supported(f)) return "";
  const ggml_type vd = ggml_get_type_traits_cpu(gtype(f))->vec_dot_type;
  return std::string("ggml_mul_mat on ggml's CPU backend (one graph compute): ") + ggml_type_name(gtype(f)) +
         " weights from ggml_quantize_chunk x " + ggml_type_name(vd) + " activations (converted inside the call)";
}

std::unique_ptr<PeerMatmul> create(FormatId f, const float* W, int64_t m, int64_t k, int64_t, int threads) {
  if (!supported(f) || k % traits(f).block_size != 0) return nullptr;
  return std::make_unique<GgmlMatmul>(f, W, m, k, std::max(1, threads));
}

}  // namespace

PeerBackend make_ggml_peer() {
  PeerBackend p;
  p.name = "ggml";
  p.kind = "framework";
  p.version = std::string("ggml ") + ggml_version() + " (" + ggml_commit() + "), " + QB_GGML_PACKAGE;
  p.available = true;
  p.qbench_codec = true;
  p.formats = ggml_formats();
  p.computes = computes;
  p.native_name = native_name;
  p.create = create;
  return p;
}
#else
PeerBackend make_ggml_peer() {
  PeerBackend p;
  p.name = "ggml";
  p.kind = "framework";
  p.missing = QB_GGML_MISSING;
  return p;
}
#endif

}  // namespace qb
