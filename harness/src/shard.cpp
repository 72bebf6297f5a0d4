#include "qb/shard.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "qb/command.h"

namespace qb {

ShardSpec parse_shard(const std::string& s) {
  ShardSpec sp;
  const auto slash = s.find('/');
  size_t a = 0, b = 0;
  bool ok = slash != std::string::npos;
  try {
    if (ok) {
      sp.index = std::stoi(s.substr(0, slash), &a);
      sp.count = std::stoi(s.substr(slash + 1), &b);
    }
  } catch (const std::exception&) {
    ok = false;
  }
  ok = ok && a == slash && b == s.size() - slash - 1 && sp.count >= 1 && sp.index >= 0 && sp.index < sp.count;
  if (!ok)
    throw UsageError(fmt::format("bad --shard '{}': expected I/N with 0 <= I < N (0-based index, e.g. 0/4 .. 3/4)", s));
  return sp;
}

double expected_cell_s(const Cell& c, const MeasureOptions& mo) {
  if (c.suite == "perplexity" || c.suite == "prefill" || c.suite == "decode") return 60.0;
  double call_s = 0, prep_s = 0;
  const auto& p = c.params;
  if (p.is_object() && p.contains("m") && p.contains("k") && p["m"].is_number() && p["k"].is_number()) {
    const double m = p["m"].get<double>(), k = p["k"].get<double>();
    const double n = p.contains("n") && p["n"].is_number() ? std::max(1.0, p["n"].get<double>()) : 1.0;
    call_s = 2 * m * k * n / 1e9 / std::max(1.0, double(c.threads));
    prep_s = m * k * 4 / 0.2e9;
  }
  // The loop stops once both the minimum time and the minimum sample count are reached.
  const double s = std::max(mo.min_time_s, mo.min_samples * call_s) + prep_s;
  return s;
}

std::vector<int> assign_shards(const std::vector<Cell>& plan, int count, const MeasureOptions& mo) {
  std::vector<int> shard(plan.size(), 0);
  if (count <= 1) return shard;
  std::vector<double> cost(plan.size());
  std::vector<std::string> key(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    cost[i] = expected_cell_s(plan[i], mo);
    key[i] = plan[i].key();
  }
  std::vector<size_t> order(plan.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return cost[a] != cost[b] ? cost[a] > cost[b] : key[a] < key[b]; });
  std::vector<double> load(size_t(count), 0.0);
  for (size_t i : order) {
    const int s = int(std::min_element(load.begin(), load.end()) - load.begin());
    shard[i] = s;
    load[size_t(s)] += cost[i];
  }
  return shard;
}

std::string fingerprint_hex(const std::vector<std::string>& parts) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](unsigned char ch) {
    h ^= ch;
    h *= 1099511628211ull;
  };
  for (const auto& s : parts) {
    for (unsigned char ch : s) mix(ch);
    mix(0xff);  // separator, so ("ab", "c") and ("a", "bc") differ
  }
  return fmt::format("{:016x}", h);
}

std::string plan_fingerprint(const nlohmann::json& config, const std::vector<Cell>& plan) {
  nlohmann::json cfg = config;
  if (cfg.is_object()) cfg.erase("shard");
  std::vector<std::string> parts{cfg.dump()};
  for (const auto& c : plan) {
    parts.push_back(c.key());
    parts.push_back(c.params.dump());
  }
  return fingerprint_hex(parts);
}

}  // namespace qb
