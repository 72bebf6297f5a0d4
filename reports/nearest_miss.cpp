// When no candidate satisfies the constraints (or passes the default gates): which comes nearest,
// and by how much it misses. A candidate's distance is its worst miss relative to the bound, so a
// candidate 5% over the memory budget is nearer than one 3% over it and 50% short on speed.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "decide.h"
#include "report_common.h"

namespace qb::rep {

std::optional<double> Check::relative_miss() const {
  if (!value || !limit) return std::nullopt;
  double over = upper ? *value - *limit : *limit - *value;
  return *limit != 0 ? over / std::fabs(*limit) : over;
}

std::string Check::miss_text() const {
  if (!value || !limit) return "(" + (detail.empty() ? std::string("not measured") : detail) + ")";
  double over = std::fabs(upper ? *value - *limit : *limit - *value);
  std::string amount = unit == "bytes"     ? fmt_bytes(over)
                       : unit == "threads" ? fmt::format("{} thread{}", fmt_num(over), over == 1 ? "" : "s")
                       : unit == "%"       ? fmt_num(over, 3) + " points"
                       : unit == "x"       ? fmt_num(over, 3) + "x"
                       : unit.empty()      ? fmt_num(over, 3)
                                           : fmt_num(over, 3) + " " + unit;
  auto rel = relative_miss();
  return fmt::format("by {} ({:.0f}%): {}", amount, std::fabs(*rel) * 100, detail);
}

std::string NearestMiss::message() const {
  std::string o = what == "default gates" ? fmt::format("no candidate passes every default gate ({})", checks)
                                          : fmt::format("no candidate satisfies {}", checks);
  if (candidate.empty()) return o + "; no candidate has numbers to compare";
  return o + fmt::format("; nearest miss: {} misses {}", candidate, fmt::join(misses, " and "));
}

namespace {
bool pseudo(const Check& k) { return k.name == "supported" || k.name == "valid"; }
}  // namespace

std::optional<NearestMiss> find_nearest_miss(const std::vector<Candidate>& cands, bool gates) {
  auto checks_of = [&](const Candidate& c) -> const std::vector<Check>& { return gates ? c.gates : c.constraints; };
  auto failed = [&](const Check& k) { return gates ? k.evaluated && !k.pass : !k.pass; };
  NearestMiss m;
  m.what = gates ? "default gates" : "constraints";
  std::vector<std::string> names;
  const Candidate* best = nullptr;
  double best_d = std::numeric_limits<double>::infinity();
  size_t best_n = 0;
  bool any_gate = false;
  for (const auto& c : cands) {
    if (gates && !c.eligible) continue;
    if (!gates && std::any_of(c.constraints.begin(), c.constraints.end(), pseudo)) continue;  // nothing ran
    if (gates && c.gates_pass) return std::nullopt;
    double dist = 0;
    size_t n = 0;
    for (const auto& k : checks_of(c)) {
      if (std::find(names.begin(), names.end(), k.name) == names.end() && (!gates || k.evaluated))
        names.push_back(k.name);
      any_gate |= gates && k.evaluated;
      if (!failed(k)) continue;
      ++n;
      auto r = k.relative_miss();
      dist = std::max(dist, r ? *r : std::numeric_limits<double>::infinity());
    }
    if (n == 0) continue;
    if (!best || dist < best_d || (dist == best_d && n < best_n)) best = &c, best_d = dist, best_n = n;
  }
  // No candidate was held to a constraint (all excluded because nothing valid ran): not a miss.
  if (gates ? !any_gate : names.empty()) return std::nullopt;
  m.checks = fmt::format("{}", fmt::join(names, ", "));
  if (best) m.candidate = best->id();
  if (best)
    for (const auto& k : checks_of(*best))
      if (failed(k)) m.misses.push_back(k.name + " " + k.miss_text());
  return m;
}

}  // namespace qb::rep
