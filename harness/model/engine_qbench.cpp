// qbench's own runtime as an Engine (engine.h).
#include <algorithm>

#include "model/engine.h"
#include "model/model.h"

namespace qb::model {
namespace {

class QbenchEngine final : public Engine {
 public:
  explicit QbenchEngine(const EngineOptions& o) {
    ModelOptions mo;
    mo.backend = o.backend;
    mo.threads = o.threads;
    mo.n_ctx = o.n_ctx;
    mo.format = o.format;
    mo.kv = parse_kv_type(o.kv_type);
    m_ = Model::load(o.path, mo);
  }
  void reset() override { m_->reset(); }
  int32_t append(std::span<const int32_t> tokens) override {
    int32_t next = -1;
    const int64_t n_vocab = m_->config().n_vocab;
    m_->eval(tokens, int64_t(tokens.size()) - 1, [&](int64_t, int64_t rows, const float* logits) {
      const float* last = logits + (rows - 1) * n_vocab;
      next = int32_t(std::max_element(last, last + n_vocab) - last);
    });
    return next;
  }
  int32_t n_vocab() const override { return int32_t(m_->config().n_vocab); }
  std::vector<int32_t> tokenize(const std::string& text) const override { return m_->tokenizer().tokenize(text, true); }
  uint64_t weight_bytes() const override { return m_->weight_bytes(); }
  uint64_t kv_bytes() const override { return m_->kv_bytes(); }
  std::string describe() const override { return m_->kernel_summary(); }
  double repack_seconds() const override { return m_->repack_seconds(); }
  std::optional<PhaseTimes> phase_times() const override { return m_->phase_times(); }
  void reset_phase_times() override { m_->reset_phase_times(); }

 private:
  std::unique_ptr<Model> m_;
};

}  // namespace

std::unique_ptr<Engine> open_qbench_engine(const EngineOptions& opt) { return std::make_unique<QbenchEngine>(opt); }

}  // namespace qb::model
