// Model runtime: a decoder-only transformer from a GGUF file, every linear layer through qb_kernels
// (any weight format x own backend: GEMM over a batch of tokens, GEMV for one), F32 activations,
// KV cache F16 (default), F32 or Q8_0 (attention.h). Architectures: gemma3, llama (Llama 2/3, Mistral, SmolLM), qwen2,
// qwen3.
//
// Gemma 3 graph (checked against llama.cpp's src/models/gemma3.cpp):
//   x = embed(tok) * sqrt(d_model)
//   per layer: h = rmsnorm(x) * attn_norm; q,k,v = Wq h, Wk h, Wv h;
//              q,k = rmsnorm per head * q_norm / k_norm; RoPE (NeoX) with the layer's base
//              (sliding-window layers: rope.freq_base_swa, default 10000; global: rope.freq_base);
//              q *= 1/sqrt(head_dim); causal attention (sliding-window layers see the last
//              `sliding_window` positions: key p0 visible from query p1 when p1 - p0 < window);
//              x += rmsnorm(Wo attn) * post_attention_norm;
//              h = rmsnorm(x) * ffn_norm; x += rmsnorm(Wdown (gelu_tanh(Wgate h) * Wup h)) * post_ffw_norm
//   logits = W_out rmsnorm(x) * output_norm  (W_out = token_embd when output.weight is absent)
// Layer il is a sliding-window layer when il % pattern < pattern - 1 (pattern 6: 5 local, 1 global),
// unless attention.sliding_window_pattern says otherwise. Norm weights are used as stored: the GGUF
// converter already folded Gemma's (1 + w).
//
// llama / qwen2 / qwen3 graph (llama.cpp's src/models/{llama,qwen2,qwen3}.cpp):
//   x = embed(tok)
//   per layer: h = rmsnorm(x) * attn_norm; q,k,v = Wq h + bq, Wk h + bk, Wv h + bv (biases where the
//              file has them: qwen2); qwen3: q,k = rmsnorm per head * q_norm / k_norm;
//              RoPE with rope.freq_base (llama: pairs (2i, 2i+1); qwen2/qwen3: NeoX pairs (i, i+D/2);
//              rope_freqs.weight divides the angles when present, linear rope scaling multiplies them);
//              causal GQA attention, scores * attention.scale (default 1/sqrt(head_dim));
//              x += Wo attn + bo; h = rmsnorm(x) * ffn_norm; x += Wdown (silu(Wgate h) * Wup h)
//   logits = W_out rmsnorm(x) * output_norm  (W_out = token_embd when output.weight is absent)
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/attention.h"
#include "model/phase_times.h"
#include "model/tokenizer.h"
#include "qb/formats.h"
#include "qb/matmul.h"

namespace qb {
class ThreadPool;
}
namespace qb::gguf {
class File;
}

namespace qb::model {

struct ModelOptions {
  std::string backend;  // own backend name; empty: the best one for each tensor's format
  int threads = 0;      // 0: every hardware thread
  KvType kv = KvType::F16;
  int64_t n_ctx = 512;  // KV cache length (tokens)
  std::string format;   // empty: weights as stored; else requantize linear weights to it
                        // (tensors whose row length the format's block does not divide stay)
};

struct Config {
  std::string arch;
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_ff = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim = 0;  // key_length (= value_length)
  int64_t n_swa = 0;     // sliding window (0: none)
  float rope_base = 10000.0f, rope_base_swa = 10000.0f;
  float eps = 1e-6f;
  float attn_scale = 1.0f;       // q pre-scale (gemma3); 1 for the others
  float kq_scale = 1.0f;         // score scale inside the softmax (llama family); 1 for gemma3
  float embd_scale = 1.0f;       // token embeddings are multiplied by it (gemma3: sqrt(n_embd))
  bool rope_neox = true;         // NeoX pairs (i, i + D/2); false: adjacent pairs (2i, 2i+1)
  float rope_freq_scale = 1.0f;  // linear rope scaling: 1 / rope.scaling.factor
  float softcap = 0.0f;          // final logit soft-capping (0: none)
  std::vector<bool> is_swa;      // per layer
};

// Architectures this runtime runs, for error messages.
std::span<const std::string_view> known_architectures();

// One linear layer: W (m x k, GGUF row layout) and its kernel.
struct Linear {
  std::string name;
  LinearRole role = LinearRole::Qkv;
  const uint8_t* data = nullptr;
  FormatId format = FormatId::F32;
  int64_t m = 0, k = 0;
  const MatmulKernel* kernel = nullptr;
  std::vector<uint8_t> owned;  // requantized or repacked copy (kernel->pack), when any
};

class Model {
 public:
  // Opens, checks (architecture, tensors, shapes) and prepares the model. Throws qb::UsageError
  // naming the problem (unknown architecture with the known list, missing or mis-shaped tensor,
  // format without a kernel on the backend, not enough memory).
  static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& opt);
  ~Model();

  const Config& config() const { return cfg_; }
  const Tokenizer& tokenizer() const { return *tok_; }
  const gguf::File& file() const { return *file_; }
  int threads() const;
  int64_t n_past() const { return n_past_; }
  // Bytes of linear weights as run, and of the KV cache.
  uint64_t weight_bytes() const;
  uint64_t kv_bytes() const;
  // "gemm_q5_0_q8_0_... x81, ..." — the kernels the linear layers run on, and the load-time
  // repack's total seconds where any weights were repacked (QB_NO_REPACK=1 turns repacking off).
  std::string kernel_summary() const;
  double repack_seconds() const { return repack_s_; }

  void reset() { n_past_ = 0; }
  // Appends tokens at positions n_past() .. n_past()+n-1 (n_past()+n <= n_ctx) and hands the
  // logits of batch rows first_output .. n-1 to on_logits in blocks, in order:
  // on_logits(i0, rows, logits) with logits[r * n_vocab + v] for row i0 + r (valid during the call).
  using LogitsFn = std::function<void(int64_t i0, int64_t rows, const float* logits)>;
  void eval(std::span<const int32_t> tokens, int64_t first_output, const LogitsFn& on_logits);
  // Runs fn(task) for tasks [0, n) on the model's threads.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);
  const PhaseTimes& phase_times() const { return times_; }
  void reset_phase_times() { times_ = {}; }

 private:
  Model() = default;
  struct Layer;
  void matmul(const Linear& w, const float* x, int64_t n, float* y);
  // y_i = W_i x for weights that share the input x (QKV; gate and up); see model.cpp.
  struct Product {
    const Linear* w;
    float* y;
  };
  void matmuls(std::initializer_list<Product> ps, const float* x, int64_t n);
  void attention(int64_t il, int64_t n, const float* q, float* out);
  // One llama / qwen2 / qwen3 layer on x (n x n_embd), in place; the buffers are eval's scratch.
  struct Scratch;
  void llama_layer(int64_t il, int64_t n, Scratch& s);
  uint64_t kv_bytes_for(int64_t n_ctx) const;

  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<Tokenizer> tok_;
  std::unique_ptr<ThreadPool> pool_;
  Config cfg_;
  ModelOptions opt_;
  const uint8_t* embd_ = nullptr;
  FormatId embd_format_ = FormatId::F32;
  std::vector<float> output_norm_;
  std::vector<float> rope_freqs_;  // per rotated pair (rope_freqs.weight), empty: none
  Linear output_;
  std::vector<Layer> layers_;
  int64_t n_past_ = 0;
  std::vector<uint8_t> xq_;
  PhaseTimes times_;
  double repack_s_ = 0;  // load-time weight repacking, all linears
  std::vector<float> logits_;
};

}  // namespace qb::model
