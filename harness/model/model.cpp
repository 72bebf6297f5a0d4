#include "model/model.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "qb/errors.h"
#include "qb/thread_pool.h"

namespace qb::model {

namespace {

constexpr std::array<std::string_view, 4> kKnownArchs = {"gemma3", "llama", "qwen2", "qwen3"};

std::string known_list() {
  std::string s;
  for (auto a : kKnownArchs) s += (s.empty() ? "" : ", ") + std::string(a);
  return s;
}

// ggml's RMS norm: sum of squares in double, scale = 1/sqrtf(mean + eps) in float.
inline void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * double(x[i]);
  const float mean = float(sum / double(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

inline float gelu_tanh_f32(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
}

// tanh GELU as ggml's CPU backend computes it (GGML_GELU_FP16): the input rounded to fp16 indexes a
// table of fp16 results; |x| >= 10 short-cuts. Matching it keeps qbench's activations, and so the
// rounding of the next layer's quantized activations, closest to llama.cpp's.
const float* gelu_table() {
  static const std::vector<float> t = [] {
    std::vector<float> v(65536);
    for (uint32_t h = 0; h < 65536; ++h) v[h] = fp16_to_fp32(fp32_to_fp16(gelu_tanh_f32(fp16_to_fp32(uint16_t(h)))));
    return v;
  }();
  return t.data();
}

inline float gelu_tanh(float x, const float* table) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return table[fp32_to_fp16(x)];
}

inline float round_f16(float x) { return fp16_to_fp32(fp32_to_fp16(x)); }

uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

}  // namespace

std::span<const std::string_view> known_architectures() { return kKnownArchs; }

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

struct Model::Layer {
  Linear wq, wk, wv, wo, gate, up, down;
  std::vector<float> attn_norm, q_norm, k_norm, post_attn_norm, ffn_norm, post_ffw_norm;
  std::vector<float> bq, bk, bv, bo;  // attention biases (llama family; empty: none)
  std::vector<uint8_t> kc, vc;        // KV cache [n_ctx][n_head_kv * head_dim] as KvType (attention.h)
};

Model::~Model() = default;
int Model::threads() const { return pool_ ? pool_->size() : 1; }

namespace {

const gguf::TensorInfo& need_tensor(const gguf::File& f, const std::string& name, std::vector<int64_t> shape) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (!t) throw UsageError(fmt::format("{}: tensor '{}' is missing", f.path(), name));
  std::vector<int64_t> dims = t->dims;
  while (dims.size() > shape.size() && dims.back() == 1) dims.pop_back();
  if (dims != shape) {
    std::string want, got;
    for (auto d : shape) want += (want.empty() ? "" : " x ") + std::to_string(d);
    throw UsageError(fmt::format("{}: tensor '{}' has shape {}, expected {}", f.path(), name, t->shape_string(), want));
  }
  if (!t->format)
    throw UsageError(
        fmt::format("{}: tensor '{}' has type {}, which qbench has no codec for", f.path(), name, t->type->name));
  return *t;
}

std::vector<float> load_vector(const gguf::File& f, const std::string& name, int64_t n) {
  const gguf::TensorInfo& t = need_tensor(f, name, {n});
  std::vector<float> v(static_cast<size_t>(n));
  t.format->dequantize_row(t.data, v.data(), n);
  return v;
}

// An optional vector (a bias): empty when the file does not have it.
std::vector<float> load_optional(const gguf::File& f, const std::string& name, int64_t n) {
  return f.find_tensor(name) ? load_vector(f, name, n) : std::vector<float>{};
}

// Tensors this runtime would ignore: refused rather than silently left out.
void refuse_present(const gguf::File& f, const std::string& name) {
  if (f.find_tensor(name))
    throw UsageError(
        fmt::format("{}: tensor '{}' is not supported by qbench's {} runtime", f.path(), name, f.architecture()));
}

// llama / qwen2 / qwen3 settings beside the common ones (model.h): no sliding window, unscaled
// embeddings and q, the softmax scale, the rope pairing and scaling.
void configure_llama_family(const gguf::File& f, Config& c) {
  const std::string a = c.arch + ".";
  c.n_swa = 0;
  c.is_swa.assign(size_t(c.n_layer), false);
  c.softcap = 0.0f;
  c.attn_scale = 1.0f;
  c.embd_scale = 1.0f;
  const gguf::Value* scale = f.find(a + "attention.scale");
  c.kq_scale = scale ? float(scale->as_double()) : 1.0f / std::sqrt(float(c.head_dim));
  c.rope_neox = c.arch != "llama";  // llama.cpp: LLAMA_ROPE_TYPE_NORM for llama, NEOX for qwen2/qwen3
  const int64_t n_rot = f.get_int(a + "rope.dimension_count", c.head_dim);
  if (n_rot != c.head_dim)
    throw UsageError(
        fmt::format("{}: partial rotary embedding (rope.dimension_count {} of head size {}) is not supported", f.path(),
                    n_rot, c.head_dim));
  const std::string type = f.find(a + "rope.scaling.type") ? f.get_string(a + "rope.scaling.type") : "none";
  if (type == "linear") {
    const gguf::Value* factor = f.find(a + "rope.scaling.factor");
    const double fac = factor ? factor->as_double() : 1.0;
    if (fac <= 0) throw UsageError(fmt::format("{}: rope.scaling.factor must be positive", f.path()));
    c.rope_freq_scale = float(1.0 / fac);
  } else if (type != "none") {
    throw UsageError(fmt::format("{}: rope scaling '{}' is not supported (supported: none, linear, rope_freqs.weight)",
                                 f.path(), type));
  }
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& opt) {
  auto m = std::unique_ptr<Model>(new Model());
  m->opt_ = opt;
  m->file_ = gguf::File::open(path);
  const gguf::File& f = *m->file_;
  Config& c = m->cfg_;
  c.arch = f.architecture();
  if (std::find(kKnownArchs.begin(), kKnownArchs.end(), c.arch) == kKnownArchs.end())
    throw UsageError(fmt::format("{}: unsupported model architecture '{}'; known architectures: {}", path,
                                 c.arch.empty() ? "<none>" : c.arch, known_list()));
  const std::string a = c.arch + ".";
  auto need_int = [&](const std::string& key) {
    const int64_t v = f.get_int(a + key, -1);
    if (v <= 0) throw UsageError(fmt::format("{}: metadata '{}{}' is missing or not positive", path, a, key));
    return v;
  };
  auto get_float = [&](const std::string& key, double fallback) {
    const gguf::Value* v = f.find(a + key);
    return v ? float(v->as_double()) : float(fallback);
  };
  c.n_embd = need_int("embedding_length");
  c.n_layer = need_int("block_count");
  c.n_ff = need_int("feed_forward_length");
  c.n_head = need_int("attention.head_count");
  c.n_head_kv = f.get_int(a + "attention.head_count_kv", c.n_head);
  c.head_dim = f.get_int(a + "attention.key_length", c.n_embd / c.n_head);
  const int64_t vdim = f.get_int(a + "attention.value_length", c.head_dim);
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0 || vdim != c.head_dim || c.head_dim % 16 != 0)
    throw UsageError(fmt::format("{}: unsupported attention shape (heads {}, kv heads {}, key {}, value {})", path,
                                 c.n_head, c.n_head_kv, c.head_dim, vdim));
  c.eps = get_float("attention.layer_norm_rms_epsilon", 1e-6);
  c.rope_base = get_float("rope.freq_base", 10000.0);
  c.rope_base_swa = get_float("rope.freq_base_swa", 10000.0);
  c.softcap = get_float("final_logit_softcapping", 0.0);
  c.n_swa = f.get_int(a + "attention.sliding_window", 0);
  c.attn_scale = 1.0f / std::sqrt(float(c.head_dim));
  c.is_swa.assign(size_t(c.n_layer), false);
  if (c.n_swa > 0) {
    const gguf::Value* pat = f.find(a + "attention.sliding_window_pattern");
    if (pat && pat->is_array()) {
      for (size_t il = 0; il < c.is_swa.size() && il < pat->items.size(); ++il)
        c.is_swa[il] = pat->items[il].as_int() != 0;
    } else {
      const int64_t p = pat ? pat->as_int() : 6;
      for (int64_t il = 0; il < c.n_layer; ++il) c.is_swa[size_t(il)] = p == 0 || il % p < p - 1;
    }
  }

  c.embd_scale = std::sqrt(float(c.n_embd));  // gemma3
  const bool gemma = c.arch == "gemma3";
  if (!gemma) configure_llama_family(f, c);

  m->tok_ = load_tokenizer(f);
  c.n_vocab = m->tok_->n_vocab();

  const BackendInfo* backend = nullptr;
  if (!opt.backend.empty()) {
    backend = find_backend(opt.backend);
    if (!backend) {
      std::string names;
      for (const auto& b : own_backends()) names += (names.empty() ? "" : ", ") + std::string(b.name);
      throw UsageError(fmt::format("unknown backend '{}'; valid backends: {}", opt.backend, names));
    }
    if (!backend->available)
      throw UsageError(fmt::format("backend '{}' is unavailable here: {}", opt.backend, backend->missing));
  }
  const FormatTraits* target = nullptr;
  if (!opt.format.empty()) {
    target = find_format(opt.format);
    if (!target) throw UsageError(fmt::format("unknown format '{}'; valid formats: {}", opt.format, format_names()));
  }

  auto linear = [&](const std::string& name, int64_t k, int64_t rows, LinearRole role) {
    const gguf::TensorInfo& t = need_tensor(f, name, {k, rows});
    Linear l;
    l.name = name;
    l.role = role;
    l.m = rows;
    l.k = k;
    l.format = t.format->id;
    l.data = t.data;
    if (target && target->id != l.format && k % target->block_size == 0) {
      std::vector<float> tmp(size_t(rows * k));
      const size_t src_row = t.format->row_bytes(k);
      for (int64_t r = 0; r < rows; ++r) t.format->dequantize_row(t.data + size_t(r) * src_row, tmp.data() + r * k, k);
      l.owned.resize(target->row_bytes(k) * size_t(rows));
      quantize(target->id, tmp.data(), l.owned.data(), rows, k, name);
      l.data = l.owned.data();
      l.format = target->id;
    }
    const BackendId b = backend ? backend->id : best_backend(l.format);
    l.kernel = find_kernel(l.format, b);
    if (!l.kernel)
      throw UsageError(fmt::format("tensor '{}': no {} kernel for format {} on this machine", name,
                                   backend ? backend->name : std::string_view("own"), traits(l.format).name));
    // Load-time repack (interleaved rows) where the backend has a packed kernel for the format.
    if (const MatmulKernel* pk = find_packed_kernel(l.format, b)) {
      const auto t0 = Clock::now();
      std::vector<uint8_t> packed(packed_bytes(*pk, rows, k));
      // In slices of ~4 MiB whose file pages are dropped once packed (they are not read again),
      // so the load's peak RSS holds one copy of the weights, not the file's and the packed one.
      const size_t rb = traits(l.format).row_bytes(k);
      const int64_t slice =
          pk->pack_rows * std::max<int64_t>(1, (int64_t(4) << 20) / int64_t(size_t(pk->pack_rows) * rb));
      for (int64_t r = 0; r < rows; r += slice) {
        const int64_t n = std::min(slice, rows - r);
        pk->pack(l.data + size_t(r) * rb, rb, n, k, packed.data() + size_t(r) * rb);
        if (l.owned.empty()) f.release(l.data + size_t(r) * rb, size_t(n) * rb);
      }
      l.owned = std::move(packed);
      l.data = l.owned.data();
      l.kernel = pk;
      m->repack_s_ += seconds_since(t0);
    }
    return l;
  };

  const int64_t E = c.n_embd, D = c.head_dim, F = c.n_ff;
  const gguf::TensorInfo& embd = need_tensor(f, "token_embd.weight", {E, c.n_vocab});
  m->embd_ = embd.data;
  m->embd_format_ = embd.format->id;
  m->output_norm_ = load_vector(f, "output_norm.weight", E);
  m->output_ =
      linear(f.find_tensor("output.weight") ? "output.weight" : "token_embd.weight", E, c.n_vocab, LinearRole::Output);
  if (!gemma) {
    refuse_present(f, "output.bias");
    m->rope_freqs_ = load_optional(f, "rope_freqs.weight", D / 2);
  }

  const int64_t kv_row = c.n_head_kv * D;
  m->layers_.resize(size_t(c.n_layer));
  for (int64_t il = 0; il < c.n_layer; ++il) {
    Layer& L = m->layers_[size_t(il)];
    const std::string p = fmt::format("blk.{}.", il);
    L.attn_norm = load_vector(f, p + "attn_norm.weight", E);
    L.wq = linear(p + "attn_q.weight", E, c.n_head * D, LinearRole::Qkv);
    L.wk = linear(p + "attn_k.weight", E, kv_row, LinearRole::Qkv);
    L.wv = linear(p + "attn_v.weight", E, kv_row, LinearRole::Qkv);
    if (!gemma) {
      // llama family: attention biases where present (qwen2), QK-norm (qwen3), no post-norms.
      L.bq = load_optional(f, p + "attn_q.bias", c.n_head * D);
      L.bk = load_optional(f, p + "attn_k.bias", kv_row);
      L.bv = load_optional(f, p + "attn_v.bias", kv_row);
      if (c.arch == "qwen3") {
        L.q_norm = load_vector(f, p + "attn_q_norm.weight", D);
        L.k_norm = load_vector(f, p + "attn_k_norm.weight", D);
      }
      L.wo = linear(p + "attn_output.weight", c.n_head * D, E, LinearRole::AttnOut);
      L.bo = load_optional(f, p + "attn_output.bias", E);
      L.ffn_norm = load_vector(f, p + "ffn_norm.weight", E);
      L.gate = linear(p + "ffn_gate.weight", E, F, LinearRole::FfnIn);
      L.up = linear(p + "ffn_up.weight", E, F, LinearRole::FfnIn);
      L.down = linear(p + "ffn_down.weight", F, E, LinearRole::FfnDown);
      for (const char* t : {"ffn_gate.bias", "ffn_up.bias", "ffn_down.bias"}) refuse_present(f, p + t);
      continue;
    }
    L.q_norm = load_vector(f, p + "attn_q_norm.weight", D);
    L.k_norm = load_vector(f, p + "attn_k_norm.weight", D);
    L.wo = linear(p + "attn_output.weight", c.n_head * D, E, LinearRole::AttnOut);
    L.post_attn_norm = load_vector(f, p + "post_attention_norm.weight", E);
    L.ffn_norm = load_vector(f, p + "ffn_norm.weight", E);
    L.gate = linear(p + "ffn_gate.weight", E, F, LinearRole::FfnIn);
    L.up = linear(p + "ffn_up.weight", E, F, LinearRole::FfnIn);
    L.down = linear(p + "ffn_down.weight", F, E, LinearRole::FfnDown);
    L.post_ffw_norm = load_vector(f, p + "post_ffw_norm.weight", E);
  }

  if (opt.n_ctx <= 0) throw UsageError("context length must be positive");
  if (opt.kv == KvType::Q8_0 && D % 32 != 0)
    throw UsageError(
        fmt::format("{}: a Q8_0 KV cache needs a head size that is a multiple of 32 (head size {})", path, D));
  const uint64_t need = f.file_size() + m->kv_bytes_for(opt.n_ctx);
  const uint64_t avail = mem_available_bytes();
  if (avail > 0 && need > avail)
    throw UsageError(fmt::format("{}: weights + KV cache need {} bytes but only {} bytes of memory are available", path,
                                 need, avail));
  for (Layer& L : m->layers_) {
    L.kc.assign(kv_bytes_of(opt.kv, opt.n_ctx * kv_row), 0);
    L.vc.assign(kv_bytes_of(opt.kv, opt.n_ctx * kv_row), 0);
  }

  int nt = opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  m->pool_ = std::make_unique<ThreadPool>(std::vector<int>{}, nt);
  return m;
}

uint64_t Model::kv_bytes_for(int64_t n_ctx) const {
  return 2 * uint64_t(cfg_.n_layer) * uint64_t(kv_bytes_of(opt_.kv, n_ctx * cfg_.n_head_kv * cfg_.head_dim));
}
uint64_t Model::kv_bytes() const { return kv_bytes_for(opt_.n_ctx); }

uint64_t Model::weight_bytes() const {
  uint64_t b = 0;
  auto add = [&](const Linear& l) { b += traits(l.format).row_bytes(l.k) * uint64_t(l.m); };
  add(output_);
  for (const Layer& L : layers_)
    for (const Linear* l : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) add(*l);
  return b;
}

std::string Model::kernel_summary() const {
  std::map<std::string, int> count;
  auto add = [&](const Linear& l) { count[fmt::format("{}", l.kernel->name)]++; };
  add(output_);
  for (const Layer& L : layers_)
    for (const Linear* l : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) add(*l);
  std::string s;
  for (const auto& [k, v] : count) s += fmt::format("{}{} x{}", s.empty() ? "" : ", ", k, v);
  if (repack_s_ > 0) s += fmt::format("; weights repacked at load in {:.3f} s", repack_s_);
  return s;
}

void Model::matmul(const Linear& w, const float* x, int64_t n, float* y) {
  if (n == 1) return matmuls({{&w, y}}, x, 1);
  const auto t0 = Clock::now();
  const size_t need = size_t(n) * w.kernel->act_row_bytes(w.k);
  if (xq_.size() < need) xq_.resize(need);
  qb::matmul(*w.kernel, w.data, w.m, w.k, x, n, y, w.m, xq_.data(), pool_->as_parallel_for());
  times_.matmul_s[size_t(w.role)] += seconds_since(t0);
}

// For a batch each product is a GEMM of its own (qb::matmul). For one token (decode) they are
// GEMVs: x is quantized once per activation quantizer on the calling thread (a row of n_embd
// values: well under a microsecond), and the row chunks of every product go to the pool as one
// set of tasks, so QKV and gate/up wake the workers once instead of three and two times.
void Model::matmuls(std::initializer_list<Product> ps, const float* x, int64_t n) {
  if (n != 1) {
    for (const Product& p : ps) matmul(*p.w, x, n, p.y);
    return;
  }
  const auto t0 = Clock::now();
  constexpr size_t kMax = 4;
  if (ps.size() > kMax) throw std::logic_error("matmuls: too many products");
  struct Part {
    const Linear* w;
    float* y;
    size_t xq_off;  // this product's quantized x in xq_
    int64_t chunk, tasks;
  };
  std::array<Part, kMax> parts{};
  size_t np = 0, xq_bytes = 0;
  int64_t ntasks = 0;
  for (const Product& p : ps) {
    const Linear& w = *p.w;
    const MatmulKernel& kern = *w.kernel;
    const int64_t wb = traits(w.format).block_size, ab = traits(kern.act).block_size;
    if (w.k % wb != 0 || w.k % ab != 0)
      throw FormatError(
          fmt::format("matmul {}: k={} is not a multiple of the block sizes {} and {}", w.name, w.k, wb, ab));
    Part& q = parts[np];
    q = {&w, p.y, xq_bytes, 0, 0};
    // Reuse the quantized x of an earlier product with the same activation quantizer.
    bool shared = false;
    for (size_t i = 0; i < np && !shared; ++i)
      if (parts[i].w->kernel->quantize_act == kern.quantize_act && parts[i].w->k == w.k) {
        q.xq_off = parts[i].xq_off;
        shared = true;
      }
    if (!shared) {
      const size_t need = xq_bytes + kern.act_row_bytes(w.k);
      if (xq_.size() < need) xq_.resize(need);
      kern.quantize_act(x, xq_.data() + xq_bytes, w.k);
      xq_bytes = need;
    }
    // One contiguous range of rows per thread (multiples of 16 rows for tiled kernels), as
    // llama.cpp's GEMV split; the task walks it in sub-blocks and prefetches the next (below).
    q.chunk = std::max<int64_t>(16, ((w.m + threads() - 1) / threads() + 15) / 16 * 16);
    q.tasks = (w.m + q.chunk - 1) / q.chunk;
    ntasks += q.tasks;
    ++np;
  }
  pool_->parallel_for(ntasks, [&parts, np, this](int64_t task) {
    size_t i = 0;
    while (i + 1 < np && task >= parts[i].tasks) task -= parts[i++].tasks;
    const Part& q = parts[i];
    const Linear& w = *q.w;
    const int64_t r0 = task * q.chunk, r1 = std::min(w.m, r0 + q.chunk);
    const size_t stride = w.kernel->act_row_bytes(w.k);
    const size_t wrow = traits(w.format).row_bytes(w.k);
    // Sub-blocks of 64 rows; the next one's bytes are prefetched into L2 before this one is
    // computed. Measured on Gemma 3 270M Q4_0 tg32, 2 threads, 7 interleaved rounds: output
    // layer 18.5 -> 15.5 ms/token (median), decode 37.5 -> 43.3 tokens/s; the contiguous split
    // alone (no prefetch) gave no gain (35.2 tokens/s).
    constexpr int64_t kSub = 64;
    const auto* base = static_cast<const char*>(static_cast<const void*>(w.data));
    for (int64_t a = r0; a < r1; a += kSub) {
      const int64_t b = std::min(r1, a + kSub), next_end = std::min(r1, b + kSub);
      const size_t bytes = size_t(next_end - b) * wrow;
      for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(base + size_t(b) * wrow + o, 0, 2);
      w.kernel->compute(w.k, w.data, wrow, a, b, xq_.data() + q.xq_off, stride, 1, q.y, w.m);
    }
  });
  times_.matmul_s[size_t(parts[0].w->role)] += seconds_since(t0);
}

void Model::attention(int64_t il, int64_t n, const float* q, float* out) {
  const auto t0 = Clock::now();
  const Config& c = cfg_;
  Layer& L = layers_[size_t(il)];
  const int64_t D = c.head_dim, kv_row = c.n_head_kv * D, n_kv = n_past_ + n;
  // Small attention (a decode step at a short context: ~n_kv x n_head x D multiply-adds) runs on
  // the calling thread: waking the pool twice per layer costs more than the work, and on a
  // loaded machine each wake-up waits for a descheduled worker.
  const bool serial = n * c.n_head * n_kv * D <= (int64_t(1) << 20);
  auto run = [&](int64_t ntasks, const std::function<void(int64_t)>& fn) {
    if (serial)
      for (int64_t t = 0; t < ntasks; ++t) fn(t);
    else
      pool_->parallel_for(ntasks, fn);
  };
  const bool swa = c.is_swa[size_t(il)];
  const bool kv16 = opt_.kv == KvType::F16;
  const int64_t group = c.n_head / c.n_head_kv;
  // The cache is read as stored: rows of kv_row values, head hk's values head_off * hk bytes in.
  const size_t row_bytes = kv_bytes_of(opt_.kv, kv_row), head_off = kv_bytes_of(opt_.kv, D);
  constexpr int64_t kBlock = 8;
  const int64_t nblocks = (n + kBlock - 1) / kBlock;
  run(c.n_head * nblocks, [&](int64_t task) {
    const int64_t h = task / nblocks, b = task % nblocks;
    const int64_t hk = h / group;
    std::vector<float> s(static_cast<size_t>(n_kv));
    for (int64_t t = b * kBlock; t < std::min(n, (b + 1) * kBlock); ++t) {
      const int64_t p = n_past_ + t;
      const int64_t lo = swa ? std::max<int64_t>(0, p - c.n_swa + 1) : 0;
      attend_row(opt_.kv, q + (t * c.n_head + h) * D, L.kc.data() + head_off * hk, L.vc.data() + head_off * hk,
                 row_bytes, lo, p, D, c.kq_scale, kv16, s.data(), out + (t * c.n_head + h) * D);
    }
  });
  times_.attention_s += seconds_since(t0);
}

void Model::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) { pool_->parallel_for(n, fn); }

struct Model::Scratch {
  std::vector<float>&x, &h, &o, &q, &k, &v, &att, &g, &u;
};

void Model::llama_layer(int64_t il, int64_t n, Scratch& s) {
  const Config& c = cfg_;
  Layer& L = layers_[size_t(il)];
  const int64_t E = c.n_embd, D = c.head_dim, F = c.n_ff, HQ = c.n_head * D, KV = c.n_head_kv * D;
  const bool kv16 = opt_.kv == KvType::F16;
  auto add_bias = [](float* y, const std::vector<float>& b) {
    for (size_t i = 0; i < b.size(); ++i) y[i] += b[i];
  };
  pool_->parallel_for(n, [&](int64_t t) { rmsnorm(&s.x[t * E], L.attn_norm.data(), &s.h[t * E], E, c.eps); });
  matmuls({{&L.wq, s.q.data()}, {&L.wk, s.k.data()}, {&L.wv, s.v.data()}}, s.h.data(), n);
  // Biases, QK-norm, RoPE at the token's position; K and V into the cache. With an F16 cache q
  // meets K in fp16, as in ggml's mul_mat(K, q).
  const float theta_scale = std::pow(c.rope_base, -2.0f / float(D));
  pool_->parallel_for(n, [&](int64_t t) {
    const int64_t pos = n_past_ + t;
    std::vector<float> cs(size_t(D / 2)), sn(size_t(D / 2));
    float theta = float(pos);
    for (int64_t i = 0; i < D / 2; ++i) {
      const float angle = c.rope_freq_scale * (rope_freqs_.empty() ? theta : theta / rope_freqs_[size_t(i)]);
      cs[size_t(i)] = std::cos(angle);
      sn[size_t(i)] = std::sin(angle);
      theta *= theta_scale;
    }
    auto rope = [&](float* r) {
      for (int64_t i = 0; i < D / 2; ++i) {
        const int64_t i0 = c.rope_neox ? i : 2 * i, i1 = c.rope_neox ? i + D / 2 : 2 * i + 1;
        const float x0 = r[i0], x1 = r[i1];
        r[i0] = x0 * cs[size_t(i)] - x1 * sn[size_t(i)];
        r[i1] = x0 * sn[size_t(i)] + x1 * cs[size_t(i)];
      }
    };
    float* qt = &s.q[size_t(t * HQ)];
    float* kt = &s.k[size_t(t * KV)];
    float* vt = &s.v[size_t(t * KV)];
    add_bias(qt, L.bq);
    add_bias(kt, L.bk);
    add_bias(vt, L.bv);
    for (int64_t hh = 0; hh < c.n_head; ++hh) {
      float* r = qt + hh * D;
      if (!L.q_norm.empty()) rmsnorm(r, L.q_norm.data(), r, D, c.eps);
      rope(r);
      if (kv16)
        for (int64_t i = 0; i < D; ++i) r[i] = round_f16(r[i]);
    }
    for (int64_t hh = 0; hh < c.n_head_kv; ++hh) {
      float* r = kt + hh * D;
      if (!L.k_norm.empty()) rmsnorm(r, L.k_norm.data(), r, D, c.eps);
      rope(r);
    }
    const size_t off = kv_bytes_of(opt_.kv, pos * KV);
    kv_store(opt_.kv, kt, L.kc.data() + off, KV);
    kv_store(opt_.kv, vt, L.vc.data() + off, KV);
  });
  attention(il, n, s.q.data(), s.att.data());
  matmul(L.wo, s.att.data(), n, s.o.data());
  pool_->parallel_for(n, [&](int64_t t) {
    float* ot = &s.o[size_t(t * E)];
    add_bias(ot, L.bo);
    for (int64_t i = 0; i < E; ++i) s.x[size_t(t * E + i)] += ot[i];
    rmsnorm(&s.x[size_t(t * E)], L.ffn_norm.data(), &s.h[size_t(t * E)], E, c.eps);
  });
  matmuls({{&L.gate, s.g.data()}, {&L.up, s.u.data()}}, s.h.data(), n);
  pool_->parallel_for(n, [&](int64_t t) {
    for (int64_t i = t * F; i < (t + 1) * F; ++i) {
      const float a = s.g[size_t(i)];
      s.g[size_t(i)] = a / (1.0f + std::exp(-a)) * s.u[size_t(i)];  // SiLU-gated
    }
  });
  matmul(L.down, s.g.data(), n, s.o.data());
  pool_->parallel_for(n, [&](int64_t t) {
    for (int64_t i = 0; i < E; ++i) s.x[size_t(t * E + i)] += s.o[size_t(t * E + i)];
  });
}

void Model::eval(std::span<const int32_t> tokens, int64_t first_output, const LogitsFn& on_logits) {
  const Config& c = cfg_;
  const int64_t n = int64_t(tokens.size());
  if (n == 0) return;
  if (n_past_ + n > opt_.n_ctx)
    throw UsageError(fmt::format("eval: {} + {} tokens exceed the context of {}", n_past_, n, opt_.n_ctx));
  for (int32_t t : tokens)
    if (t < 0 || t >= c.n_vocab) throw UsageError(fmt::format("eval: token id {} out of range", t));
  // The whole call is timed, the logits callback included, on every path out.
  struct TotalTimer {
    PhaseTimes& t;
    Clock::time_point t0;
    int64_t n;
    ~TotalTimer() {
      t.total_s += seconds_since(t0);
      t.evals += 1;
      t.tokens += n;
    }
  } total_timer{times_, Clock::now(), n};
  const int64_t E = c.n_embd, D = c.head_dim, F = c.n_ff, HQ = c.n_head * D, KV = c.n_head_kv * D;
  std::vector<float> x(size_t(n * E)), h(size_t(n * E)), o(size_t(n * E));
  std::vector<float> q(size_t(n * HQ)), k(size_t(n * KV)), v(size_t(n * KV)), att(size_t(n * HQ));
  std::vector<float> g(size_t(n * F)), u(size_t(n * F));

  const FormatTraits& et = traits(embd_format_);
  const size_t erow = et.row_bytes(E);
  const float escale = c.embd_scale;
  pool_->parallel_for(n, [&](int64_t t) {
    float* xr = x.data() + t * E;
    et.dequantize_row(embd_ + size_t(tokens[size_t(t)]) * erow, xr, E);
    for (int64_t i = 0; i < E; ++i) xr[i] *= escale;
  });

  const bool kv16 = opt_.kv == KvType::F16;
  Scratch scratch{x, h, o, q, k, v, att, g, u};
  for (int64_t il = 0; il < c.n_layer; ++il) {
    if (c.arch != "gemma3") {
      llama_layer(il, n, scratch);
      continue;
    }
    Layer& L = layers_[size_t(il)];
    pool_->parallel_for(n, [&](int64_t t) { rmsnorm(&x[t * E], L.attn_norm.data(), &h[t * E], E, c.eps); });
    matmuls({{&L.wq, q.data()}, {&L.wk, k.data()}, {&L.wv, v.data()}}, h.data(), n);
    // QK-norm, RoPE (NeoX: pairs (i, i + D/2)), q scale; K and V into the cache.
    const float base = c.is_swa[size_t(il)] ? c.rope_base_swa : c.rope_base;
    const float theta_scale = std::pow(base, -2.0f / float(D));
    pool_->parallel_for(n, [&](int64_t t) {
      const int64_t pos = n_past_ + t;
      float cs[512], sn[512];
      float theta = float(pos);
      for (int64_t i = 0; i < D / 2 && i < 512; ++i) {
        cs[i] = std::cos(theta);
        sn[i] = std::sin(theta);
        theta *= theta_scale;
      }
      auto rope = [&](float* r) {
        for (int64_t i = 0; i < D / 2; ++i) {
          const float x0 = r[i], x1 = r[i + D / 2];
          r[i] = x0 * cs[i] - x1 * sn[i];
          r[i + D / 2] = x0 * sn[i] + x1 * cs[i];
        }
      };
      for (int64_t hh = 0; hh < c.n_head; ++hh) {
        float* r = &q[(t * c.n_head + hh) * D];
        rmsnorm(r, L.q_norm.data(), r, D, c.eps);
        rope(r);
        for (int64_t i = 0; i < D; ++i) r[i] = kv16 ? round_f16(r[i] * c.attn_scale) : r[i] * c.attn_scale;
      }
      for (int64_t hh = 0; hh < c.n_head_kv; ++hh) {
        float* r = &k[(t * c.n_head_kv + hh) * D];
        rmsnorm(r, L.k_norm.data(), r, D, c.eps);
        rope(r);
      }
      const size_t off = kv_bytes_of(opt_.kv, pos * KV);
      kv_store(opt_.kv, &k[size_t(t * KV)], L.kc.data() + off, KV);
      kv_store(opt_.kv, &v[size_t(t * KV)], L.vc.data() + off, KV);
    });
    attention(il, n, q.data(), att.data());
    matmul(L.wo, att.data(), n, o.data());
    pool_->parallel_for(n, [&](int64_t t) {
      rmsnorm(&o[t * E], L.post_attn_norm.data(), &o[t * E], E, c.eps);
      for (int64_t i = 0; i < E; ++i) x[t * E + i] += o[t * E + i];
      rmsnorm(&x[t * E], L.ffn_norm.data(), &h[t * E], E, c.eps);
    });
    matmuls({{&L.gate, g.data()}, {&L.up, u.data()}}, h.data(), n);
    const float* gt = gelu_table();
    pool_->parallel_for(n, [&](int64_t t) {
      for (int64_t i = t * F; i < (t + 1) * F; ++i) g[i] = gelu_tanh(g[i], gt) * u[i];
    });
    matmul(L.down, g.data(), n, o.data());
    pool_->parallel_for(n, [&](int64_t t) {
      rmsnorm(&o[t * E], L.post_ffw_norm.data(), &o[t * E], E, c.eps);
      for (int64_t i = 0; i < E; ++i) x[t * E + i] += o[t * E + i];
    });
  }
  n_past_ += n;

  first_output = std::max<int64_t>(0, first_output);
  if (first_output >= n) return;
  const int64_t nout = n - first_output;
  pool_->parallel_for(nout, [&](int64_t r) {
    const int64_t t = first_output + r;
    rmsnorm(&x[t * E], output_norm_.data(), &h[r * E], E, c.eps);
  });
  // Output rows per pass over the output matrix (token_embd: 168 MB of Q8_0 for Gemma 3 270M):
  // each pass re-reads, and the AMX path re-unpacks, all of it; 64 rows (64 MB of logits) keep
  // that to 4 passes for a 256-row scored half instead of 16.
  constexpr int64_t kLogitRows = 64;
  // Kept across calls: a decode step would otherwise map, fault in and unmap 1 MB (Gemma 3) of logits.
  std::vector<float>& logits = logits_;
  logits.resize(size_t(std::min(nout, kLogitRows) * c.n_vocab));
  for (int64_t r0 = 0; r0 < nout; r0 += kLogitRows) {
    const int64_t nb = std::min(kLogitRows, nout - r0);
    matmul(output_, &h[r0 * E], nb, logits.data());
    if (c.softcap > 0.0f)
      for (size_t i = 0; i < size_t(nb * c.n_vocab); ++i) logits[i] = std::tanh(logits[i] / c.softcap) * c.softcap;
    on_logits(first_output + r0, nb, logits.data());
  }
}

}  // namespace qb::model
