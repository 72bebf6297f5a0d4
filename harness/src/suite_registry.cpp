#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "qb/formats.h"
#include "qb/suite.h"

namespace qb {

namespace {
std::vector<std::unique_ptr<Suite>>& registry() {
  static std::vector<std::unique_ptr<Suite>> r;
  return r;
}
}  // namespace

void register_suite(std::unique_ptr<Suite> s) { registry().push_back(std::move(s)); }

std::vector<Suite*> all_suites() {
  std::vector<Suite*> v;
  for (auto& s : registry()) v.push_back(s.get());
  std::stable_sort(v.begin(), v.end(), [](Suite* a, Suite* b) {
    return a->order() != b->order() ? a->order() < b->order() : a->name() < b->name();
  });
  return v;
}

Suite* find_suite(const std::string& name) {
  for (auto& s : registry())
    if (s->name() == name) return s.get();
  return nullptr;
}

std::vector<int> resolve_threads(const RunContext& ctx) {
  if (!ctx.cfg.threads.empty()) return ctx.cfg.threads;
  std::vector<int> v;
  for (int t = 1; t <= std::max(1, ctx.topo.pus); ++t) v.push_back(t);
  return v;
}

std::vector<std::string> resolve_placements(const RunContext& ctx) {
  if (!ctx.cfg.placements.empty()) return ctx.cfg.placements;
  std::vector<std::string> v;
  for (Placement p : all_placements()) v.push_back(placement_name(p));
  return v;
}

std::vector<std::string> distinct_placements(const RunContext& ctx, int threads) {
  std::vector<std::string> out;
  std::vector<std::vector<int>> seen;
  for (const auto& name : resolve_placements(ctx)) {
    Placement p;
    if (!parse_placement(name, p)) continue;
    auto pus = placement_pus(ctx.topo, p, threads);
    if (pus.empty()) continue;
    std::sort(pus.begin(), pus.end());
    if (std::find(seen.begin(), seen.end(), pus) != seen.end()) continue;
    seen.push_back(pus);
    out.push_back(name);
  }
  return out;
}

std::vector<std::string> resolve_formats(const RunContext& ctx) {
  std::vector<std::string> v;
  if (!ctx.cfg.formats.empty()) {
    for (const auto& f : ctx.cfg.formats)
      if (find_format(f)) v.push_back(f);
    return v;
  }
  for (const auto& t : all_formats()) v.emplace_back(t.name);
  return v;
}

Shape parse_shape(const std::string& s) {
  const auto x = s.find_first_of("xX");
  auto bad = [&] {
    return std::invalid_argument(
        fmt::format("bad shape '{}': expected MxK with positive integers, e.g. 4096x14336", s));
  };
  if (x == std::string::npos) throw bad();
  Shape sh;
  auto p1 = std::from_chars(s.data(), s.data() + x, sh.m);
  auto p2 = std::from_chars(s.data() + x + 1, s.data() + s.size(), sh.k);
  if (p1.ec != std::errc() || p1.ptr != s.data() + x || p2.ec != std::errc() || p2.ptr != s.data() + s.size() ||
      sh.m <= 0 || sh.k <= 0)
    throw bad();
  sh.name = fmt::format("{}x{}", sh.m, sh.k);
  return sh;
}

}  // namespace qb
