#include "frameworks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/formats.h"
#include "qb/peers.h"
#include "qb/runner.h"
#include "report_common.h"

namespace qb::rep {

namespace {
std::string lower(std::string s) {
  for (auto& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
}  // namespace

BackendKinds backend_kinds(const nlohmann::json& report) {
  BackendKinds k;
  const auto m = report.value("machine", nlohmann::json::object());
  if (!m.is_object() || !m.contains("backends") || !m["backends"].is_array()) return k;
  for (const auto& b : m["backends"])
    if (b.is_object() && b.contains("name") && b["name"].is_string() && b.contains("kind") && b["kind"].is_string())
      k[b["name"].get<std::string>()] = b["kind"].get<std::string>();
  return k;
}

std::string framework_of(const std::string& cell_backend, const BackendKinds& kinds) {
  if (cell_backend.empty() || cell_backend == "-") return "";
  const std::string backend = split_variant(cell_backend).first;  // "onnxruntime:nbits4_b32_sym_acc4"
  std::string kind;
  if (auto it = kinds.find(backend); it != kinds.end()) {
    kind = it->second;
  } else {
    for (const auto& b : all_backend_kinds())
      if (b.name == backend) kind = b.kind;
  }
  if (kind == "qbench") return "qbench";
  if (kind == "peer") return "peer library";
  if (backend == "ggml") return "llama.cpp/ggml";  // llama.cpp's kernels, through libggml
  return backend;                                  // a framework (or a backend no table knows) is named after itself
}

std::vector<std::string> known_frameworks(const BackendKinds& kinds) {
  std::set<std::string> s;
  for (const auto& b : all_backend_kinds()) s.insert(framework_of(b.name, kinds));
  for (const auto& [name, kind] : kinds) s.insert(framework_of(name, kinds));
  return {s.begin(), s.end()};
}

std::vector<std::string> parse_frameworks(const std::string& list, const BackendKinds& kinds) {
  const auto known = known_frameworks(kinds);
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    name = trim(name);
    auto it = std::find_if(known.begin(), known.end(), [&](const std::string& k) { return lower(k) == lower(name); });
    if (it == known.end())
      throw UsageError(fmt::format("--frameworks: unknown framework '{}': use {}", name, fmt::join(known, ", ")));
    if (std::find(out.begin(), out.end(), *it) == out.end()) out.push_back(*it);
  }
  if (out.empty()) throw UsageError(fmt::format("--frameworks: empty list: use {}", fmt::join(known, ", ")));
  return out;
}

std::vector<CellResult> select_frameworks(const std::vector<CellResult>& results,
                                          const std::vector<std::string>& frameworks, const BackendKinds& kinds) {
  if (frameworks.empty()) return results;
  std::vector<CellResult> v;
  for (const auto& r : results) {
    const std::string f = framework_of(r.cell.backend, kinds);
    if (f.empty() || std::find(frameworks.begin(), frameworks.end(), f) != frameworks.end()) v.push_back(r);
  }
  return v;
}

// ---- The framework comparison.

std::string comparison_family(const std::string& format) {
  const FormatTraits* t = find_format(format);
  if (!t) return "other";
  if (t->family == Family::Int) return t->bits_per_weight() >= 6 ? "int8" : "int4";
  return std::string(family_name(t->family));
}

namespace {

// What the comparison compares, in display order: speed on the kernels and in the model, then
// accuracy of the output and of the weights.
struct ComparedMetric {
  const char* aspect;
  const char* title;
  const char* suite;
  const char* kind;  // work_kind key prefix ("" any)
  const char* metric;
  bool higher;
};
const ComparedMetric kCompared[] = {
    {"fastest", "GEMV GB/s", "throughput", "gemv", metric::gb_per_s, true},
    {"fastest", "GEMM GFLOP/s", "throughput", "gemm", metric::gflop_per_s, true},
    {"fastest", "decode tokens/s", "decode", "", metric::tokens_per_s, true},
    {"fastest", "prefill tokens/s", "prefill", "", metric::tokens_per_s, true},
    {"most accurate", "output error vs F32 weights (rel_err)", "throughput", "", metric::rel_err, false},
    {"most accurate", "weights SNR dB (quant-error)", "quant-error", "", metric::snr_db, true},
    {"most accurate", "perplexity", "perplexity", "", metric::ppl, false},
};

// A cell's framework for the comparison: quant-error cells without a backend are qbench's own
// quantizers.
std::string compared_framework(const CellResult& r, const BackendKinds& kinds) {
  if (r.cell.suite == "quant-error" && r.cell.backend == "-") return "qbench";
  return framework_of(r.cell.backend, kinds);
}

struct Best {
  double v = 0;
  const CellResult* cell = nullptr;
};

// How much better a is than b on this metric (> 1: a is better).
double better_by(double a, double b, bool higher) { return higher ? a / b : b / a; }

std::optional<FrameworkClaim> claim_for(const ComparedMetric& m, const std::string& family,
                                        const std::map<std::string, std::map<std::string, Best>>& by_key) {
  // Shared cells: measured by two or more frameworks.
  std::map<std::string, int> wins;
  std::map<std::string, std::vector<double>> rel;  // framework -> value relative to the key's best (<= 1)
  int shared = 0;
  for (const auto& [key, fw] : by_key) {
    if (fw.size() < 2) continue;
    ++shared;
    const Best* best = nullptr;
    std::string who;
    bool tie = false;
    for (const auto& [f, b] : fw) {
      if (!best || better_by(b.v, best->v, m.higher) > 1) {
        best = &b, who = f, tie = false;
      } else if (b.v == best->v) {
        tie = true;
      }
    }
    if (!tie) ++wins[who];
    for (const auto& [f, b] : fw) {
      wins.emplace(f, 0);
      const double r = better_by(b.v, best->v, m.higher);
      if (std::isfinite(r) && r > 0) rel[f].push_back(r);
    }
  }
  if (shared == 0) return std::nullopt;
  auto relative = [&](const std::string& f) {
    const auto& v = rel[f];
    if (v.empty()) return 0.0;
    double s = 0;
    for (double x : v) s += std::log(x);
    return std::exp(s / double(v.size()));
  };
  FrameworkClaim c;
  c.family = family;
  c.aspect = m.aspect;
  c.metric = m.metric;
  c.title = m.title;
  c.higher_better = m.higher;
  c.shared = shared;
  for (const auto& [f, n] : wins) c.frameworks.push_back(f);
  std::stable_sort(c.frameworks.begin(), c.frameworks.end(), [&](const std::string& a, const std::string& b) {
    if (wins[a] != wins[b]) return wins[a] > wins[b];
    return relative(a) > relative(b);
  });
  c.winner = c.frameworks[0];
  c.runner_up = c.frameworks[1];
  c.wins = wins[c.winner];
  c.tie = wins[c.winner] == wins[c.runner_up] && relative(c.winner) == relative(c.runner_up);
  // Winner vs runner-up on the cells both measured, and up to three of them as evidence.
  std::vector<double> ratios;
  for (const auto& [key, fw] : by_key) {
    auto w = fw.find(c.winner), r = fw.find(c.runner_up);
    if (w == fw.end() || r == fw.end()) continue;
    const double x = better_by(w->second.v, r->second.v, m.higher);
    if (std::isfinite(x) && x > 0) ratios.push_back(std::log(x));
    if (c.evidence.size() < 3)
      c.evidence.push_back(fmt::format("{} = {} vs {} = {}", cell_name(*w->second.cell), fmt_num(w->second.v),
                                       cell_name(*r->second.cell), fmt_num(r->second.v)));
  }
  double s = 0;
  for (double x : ratios) s += x;
  c.ratio = ratios.empty() ? 1.0 : std::exp(s / double(ratios.size()));
  return c;
}

}  // namespace

FrameworkComparison compare_frameworks(const std::vector<CellResult>& results, const BackendKinds& kinds) {
  FrameworkComparison fc;
  std::set<std::string> frameworks;
  for (const auto& r : results)
    if (counts(r) && r.cell.format != "-")
      if (auto f = compared_framework(r, kinds); !f.empty()) frameworks.insert(f);
  fc.frameworks.assign(frameworks.begin(), frameworks.end());
  if (fc.frameworks.size() < 2) {
    fc.absent = fc.frameworks.empty()
                    ? "no framework comparison: the report has no valid cell of any framework"
                    : "no framework comparison: the report has valid cells of one framework (" + fc.frameworks[0] +
                          "); run with --backends naming two or more (e.g. avx2,ggml)";
    return fc;
  }
  // family -> metric index -> key (format, workload, threads) -> framework -> best cell.
  std::map<std::string, std::map<size_t, std::map<std::string, std::map<std::string, Best>>>> cells;
  for (const auto& r : results) {
    if (!counts(r) || r.cell.format == "-") continue;
    const std::string f = compared_framework(r, kinds);
    if (f.empty()) continue;
    for (size_t i = 0; i < std::size(kCompared); ++i) {
      const auto& m = kCompared[i];
      if (r.cell.suite != m.suite || !work_kind(r).key.starts_with(m.kind)) continue;
      auto v = metric_value(r, m.metric, false);
      if (!v || v->estimate || (m.higher && v->value <= 0)) continue;
      const std::string key = fmt::format("{} {} {}t", r.cell.format, r.cell.workload, r.cell.threads);
      Best& b = cells[comparison_family(r.cell.format)][i][key][f];
      if (!b.cell || better_by(v->value, b.v, m.higher) > 1) b = {v->value, &r};
    }
  }
  for (const auto& [family, metrics] : cells)
    for (const auto& [i, by_key] : metrics)
      if (auto c = claim_for(kCompared[i], family, by_key)) fc.claims.push_back(*c);
  if (fc.claims.empty())
    fc.absent = "no framework comparison: no format, workload and thread count was measured by two frameworks";
  return fc;
}

namespace {
std::string claim_result(const FrameworkClaim& c) {
  if (c.tie) return fmt::format("tie: {} and {}", c.winner, c.runner_up);
  return c.winner;
}
std::string claim_margin(const FrameworkClaim& c) {
  return fmt::format("wins {} of {} shared cells; {:.2f}x {} than {} (geometric mean over the cells both measured)",
                     c.wins, c.shared, c.ratio, c.higher_better ? "higher" : "lower", c.runner_up);
}
}  // namespace

std::string framework_comparison_html(const FrameworkComparison& fc) {
  std::string o;
  if (fc.claims.empty()) return "<p class=\"note\" id=\"no-framework-comparison\">" + html_escape(fc.absent) + "</p>\n";
  o += "<p class=\"meta\">Frameworks: " + html_escape(fmt::format("{}", fmt::join(fc.frameworks, ", "))) +
       ". Per format family and metric, the framework best on the cells two or more frameworks measured (same "
       "format, workload and threads; each at its best backend and placement).</p>\n";
  o += "<table class=\"sortable\" id=\"framework-comparison-table\"><thead><tr><th>family</th><th>aspect</th>"
       "<th>metric</th><th>best</th><th>margin</th><th>frameworks</th><th>evidence cells</th></tr></thead><tbody>\n";
  for (const auto& c : fc.claims) {
    o += "<tr><td>" + html_escape(c.family) + "</td><td>" + html_escape(c.aspect) + "</td><td>" + html_escape(c.title) +
         "</td><td class=\"winner\">" + html_escape(claim_result(c)) + "</td><td>" + html_escape(claim_margin(c)) +
         "</td><td>" + html_escape(fmt::format("{}", fmt::join(c.frameworks, ", "))) + "</td><td class=\"evidence\">";
    for (const auto& e : c.evidence) o += "<div>" + html_escape(e) + "</div>";
    o += "</td></tr>\n";
  }
  return o + "</tbody></table>\n";
}

std::string framework_comparison_markdown(const FrameworkComparison& fc) {
  if (fc.claims.empty()) return md_escape(fc.absent) + ".\n";
  std::string o = "Frameworks: " + md_escape(fmt::format("{}", fmt::join(fc.frameworks, ", "))) + ".\n\n";
  o += "| family | aspect | metric | best | margin | evidence cells |\n|---|---|---|---|---|---|\n";
  for (const auto& c : fc.claims)
    o += fmt::format("| {} | {} | {} | **{}** | {} | {} |\n", md_escape(c.family), md_escape(c.aspect),
                     md_escape(c.title), md_escape(claim_result(c)), md_escape(claim_margin(c)),
                     md_escape(fmt::format("{}", fmt::join(c.evidence, "; "))));
  return o;
}

std::string framework_comparison_text(const FrameworkComparison& fc) {
  if (fc.claims.empty()) return fc.absent + "\n";
  std::string o = "Frameworks: " + fmt::format("{}", fmt::join(fc.frameworks, ", ")) + "\n";
  for (const auto& c : fc.claims) {
    o += fmt::format("  {:<8} {:<13} {:<38} {}  ({})\n", c.family, c.aspect, c.title, claim_result(c), claim_margin(c));
    for (const auto& e : c.evidence) o += "           " + e + "\n";
  }
  return o;
}

}  // namespace qb::rep
