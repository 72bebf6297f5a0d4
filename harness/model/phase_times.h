// Where a model's forward pass spends its time (model.h times it; the model suites report the
// shares as time_share_matmul / time_share_attention / time_share_other).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qb::model {

// What a linear layer's weights do, for the time split (PhaseTimes).
enum class LinearRole : uint8_t { Qkv, AttnOut, FfnIn, FfnDown, Output, COUNT };
std::string_view role_name(LinearRole r);  // "qkv", "attn_out", "ffn_gate_up", "ffn_down", "output"

// Where eval's time goes, summed over evals since reset_phase_times() (steady clock, a few dozen
// reads per layer: noise next to a token's milliseconds). matmul: the linear layers, activation
// quantization included, per role; attention: scores, softmax and the V sum (and widening the
// F16 cache); total: the whole eval. The rest (embedding, norms, RoPE, GELU, residuals, the
// logits callback) is total - matmul - attention.
struct PhaseTimes {
  double total_s = 0, attention_s = 0;
  std::array<double, size_t(LinearRole::COUNT)> matmul_s{};
  int64_t evals = 0, tokens = 0;
  PhaseTimes& operator+=(const PhaseTimes& o) {
    total_s += o.total_s;
    attention_s += o.attention_s;
    for (size_t i = 0; i < matmul_s.size(); ++i) matmul_s[i] += o.matmul_s[i];
    evals += o.evals;
    tokens += o.tokens;
    return *this;
  }
  double matmul_total_s() const {
    double t = 0;
    for (double v : matmul_s) t += v;
    return t;
  }
};

// Shares of total in [0, 1] that sum to 1: matmul, attention, other (= the rest). Clock reads
// that do not nest exactly can make a part exceed the total by a hair; parts are clamped and
// other takes the remainder. Empty when no time was recorded.
struct TimeShares {
  double matmul = 0, attention = 0, other = 0;
};
std::optional<TimeShares> time_shares(const PhaseTimes& t);

}  // namespace qb::model
