#include "model/phase_times.h"

#include <algorithm>

namespace qb::model {

std::string_view role_name(LinearRole r) {
  static constexpr std::array<std::string_view, size_t(LinearRole::COUNT)> kNames = {"qkv", "attn_out", "ffn_gate_up",
                                                                                     "ffn_down", "output"};
  return kNames[size_t(r)];
}

std::optional<TimeShares> time_shares(const PhaseTimes& t) {
  if (!(t.total_s > 0)) return std::nullopt;
  TimeShares s;
  s.matmul = std::clamp(t.matmul_total_s() / t.total_s, 0.0, 1.0);
  s.attention = std::clamp(t.attention_s / t.total_s, 0.0, 1.0 - s.matmul);
  s.other = std::max(0.0, 1.0 - s.matmul - s.attention);
  return s;
}

}  // namespace qb::model
