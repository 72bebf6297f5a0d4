// llama.cpp as an Engine (engine.h): libllama and its headers from the llama-cpp-python wheel
// (found at configure time, cmake/Deps.cmake), driven through llama.cpp's C API. The same GGUF,
// prompt and threads as qbench's runtime; batches of the whole prompt (n_batch = n_ubatch = n_ctx)
// so a prefill is one llama_decode like one Model::eval.
//
// Extra buffer types (weight repacking, AMX) are off: the wheel's AMX path crashes in these VMs
// (SIGSEGV in ggml_backend_amx_mul_mat). That also turns off llama.cpp's repacked Q4_0 layout, so
// its Q4_0 is measured on the plain CPU path; the report says so in `describe()`.
#include "model/engine.h"

#include "model/attention.h"

#include <fmt/format.h>

#include "qb/errors.h"

#ifdef QB_HAVE_LLAMACPP
#include <llama.h>

#include <algorithm>
#include <mutex>
#endif

namespace qb::model {

#ifndef QB_HAVE_LLAMACPP

std::string llamacpp_unavailable() {
#ifdef QB_LLAMACPP_REASON
  return QB_LLAMACPP_REASON;
#else
  return "this build has no llama.cpp (llama-cpp-python's headers and libllama were not found at configure time)";
#endif
}
std::unique_ptr<Engine> open_llamacpp_engine(const EngineOptions&) {
  throw UsageError("llama.cpp unavailable: " + llamacpp_unavailable());
}

#else

namespace {

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

void init_backend_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
  });
}

ggml_type kv_ggml_type(KvType t) {
  switch (t) {
    case KvType::F32:
      return GGML_TYPE_F32;
    case KvType::Q8_0:
      return GGML_TYPE_Q8_0;
    case KvType::F16:
      break;
  }
  return GGML_TYPE_F16;
}

class LlamaCppEngine final : public Engine {
 public:
  explicit LlamaCppEngine(const EngineOptions& o) : threads_(o.threads) {
    init_backend_once();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.use_extra_bufts = false;
    model_ = llama_model_load_from_file(o.path.c_str(), mp);
    if (!model_) throw UsageError(fmt::format("llama.cpp cannot load '{}'", o.path));
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = uint32_t(o.n_ctx);
    cp.n_batch = uint32_t(o.n_ctx);
    cp.n_ubatch = uint32_t(o.n_ctx);
    cp.n_seq_max = 1;
    cp.n_threads = o.threads;
    cp.n_threads_batch = o.threads;
    cp.no_perf = true;
    // The same cache type as qbench's runtime; a Q8_0 V cache needs flash attention, which the
    // default (auto) turns on where it can.
    const ggml_type kv = kv_ggml_type(parse_kv_type(o.kv_type));
    cp.type_k = kv;
    cp.type_v = kv;
    ctx_ = llama_init_from_model(model_, cp);
    if (!ctx_) {
      llama_model_free(model_);
      throw UsageError(fmt::format("llama.cpp cannot create a context of {} tokens for '{}'", o.n_ctx, o.path));
    }
    vocab_ = llama_model_get_vocab(model_);
    n_vocab_ = llama_vocab_n_tokens(vocab_);
  }
  ~LlamaCppEngine() override {
    llama_free(ctx_);
    llama_model_free(model_);
  }
  void reset() override { llama_memory_clear(llama_get_memory(ctx_), true); }
  int32_t append(std::span<const int32_t> tokens) override {
    std::vector<llama_token> t(tokens.begin(), tokens.end());
    const int rc = llama_decode(ctx_, llama_batch_get_one(t.data(), int32_t(t.size())));
    if (rc != 0) throw std::runtime_error(fmt::format("llama_decode returned {} for {} tokens", rc, t.size()));
    const float* logits = llama_get_logits_ith(ctx_, -1);
    if (!logits) throw std::runtime_error("llama.cpp returned no logits for the last token");
    return int32_t(std::max_element(logits, logits + n_vocab_) - logits);
  }
  int32_t n_vocab() const override { return n_vocab_; }
  std::vector<int32_t> tokenize(const std::string& text) const override {
    std::vector<llama_token> out(text.size() + 8);
    int32_t n = llama_tokenize(vocab_, text.data(), int32_t(text.size()), out.data(), int32_t(out.size()), true, false);
    if (n < 0) {
      out.resize(size_t(-n));
      n = llama_tokenize(vocab_, text.data(), int32_t(text.size()), out.data(), int32_t(out.size()), true, false);
    }
    out.resize(size_t(std::max(n, 0)));
    return {out.begin(), out.end()};
  }
  uint64_t weight_bytes() const override { return llama_model_size(model_); }
  uint64_t kv_bytes() const override { return 0; }  // llama.cpp sizes its sliding-window layers itself
  std::string describe() const override {
    return fmt::format("llama.cpp C API (libllama of llama-cpp-python), CPU, extra buffer types off, {} threads: {}",
                       threads_, llama_print_system_info());
  }

 private:
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  int32_t n_vocab_ = 0;
  int threads_;
};

}  // namespace

std::string llamacpp_unavailable() { return ""; }
std::unique_ptr<Engine> open_llamacpp_engine(const EngineOptions& opt) { return std::make_unique<LlamaCppEngine>(opt); }

#endif

}  // namespace qb::model
