// The decision as text (`qbench recommend`'s output) and as Markdown (`recommend --md`, the
// Markdown report's summary), and the candidate columns every rendering of the matrix shares.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "decision_render.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {

namespace {
const char* est(const Candidate& c, const char* metric) { return c.is_estimate(metric) ? " (estimate)" : ""; }
}  // namespace

std::string opt_str(std::optional<double> v, int sig) { return v ? fmt_num(*v, sig) : "—"; }
std::string quality_str(const Candidate& c) {
  if (c.ppl) return "ppl " + fmt_num(*c.ppl);
  if (c.lossless) return "lossless";
  if (c.snr_db) return fmt_num(*c.snr_db, 3) + " dB";
  return "—";
}
std::string speed_str(const Candidate& c) {
  std::vector<std::string> v;
  if (c.gb_per_s) v.push_back(fmt_num(*c.gb_per_s, 3) + " GB/s" + est(c, metric::gb_per_s));
  if (c.tokens_per_s) v.push_back(fmt_num(*c.tokens_per_s, 3) + " tok/s" + est(c, metric::tokens_per_s));
  return v.empty() ? "—" : fmt::format("{}", fmt::join(v, ", "));
}
std::string speedup_str(const Candidate& c) {
  return c.speedup ? fmt::format("{:.2f}x{}", *c.speedup, est(c, "speedup")) : "—";
}
std::string marked_id(const Candidate& c) { return c.includes_invalid ? c.id() + " [includes invalid cells]" : c.id(); }
std::string mem_str(const Candidate& c) {
  if (!c.memory_reduction_pct) return "—";
  double v = *c.memory_reduction_pct;
  return v >= 0.5 ? "−" + fmt_pct(v) : v <= -0.5 ? "+" + fmt_pct(-v) : "0%";
}
std::string gate_str(const Check& g) { return !g.evaluated ? "n/a" : g.pass ? "pass" : "FAIL"; }

namespace {
std::string invalid_list_text(const Decision& d) {
  if (d.invalid_cells.empty()) return "";
  std::string o =
      d.opt.include_invalid
          ? "\nInvalid cells included (--include-invalid):\n"
          : "\nInvalid cells left out of ranking, Pareto front and gates (--include-invalid counts them):\n";
  for (const auto& x : d.invalid_cells) o += "  " + x + "\n";
  return o;
}
}  // namespace

std::string decision_text(const Decision& d) {
  std::string o;
  o += fmt::format("Baseline: {}; quality: {}; {}\n{}", d.baseline_format.empty() ? "none" : d.baseline_format,
                   d.quality_basis, d.speed_basis, gates_line(d));
  for (const auto& n : d.notes) o += "note: " + n + "\n";
  auto t = d.top(3);
  o += "\nTop recommendations:\n";
  if (d.unsatisfied)
    o += "  none: " + d.unsatisfied->message() + "\n";
  else if (t.empty())
    o += "  none: no candidate satisfies the constraints\n";
  for (auto* c : t) o += fmt::format("  {}. {}  ({})\n", c->rank, marked_id(*c), c->why);
  if (d.no_gate_pass) o += "warning: " + d.no_gate_pass->message() + "\n";
  const size_t ngates = d.candidates.empty() ? 0 : d.candidates[0].gates.size();
  o += fmt::format("\n{:>4} {:<34} {:<14} {:>9} {:>6} {:>9} {:>9} {:>8} {:>7} {:>6}", "rank", "candidate", "framework",
                   "quality", "bits/w", "GB/s", "tok/s", "speedup", "mem-red", "pareto");
  for (size_t i = 0; i < ngates; ++i) o += fmt::format(" {:>5}", fmt::format("G{}", i + 1));
  o += "\n";
  for (const auto& c : d.candidates) {
    o += fmt::format("{:>4} {:<34} {:<14} {:>9} {:>6} {:>9} {:>9} {:>8} {:>7} {:>6}",
                     c.rank ? std::to_string(c.rank) : "-", c.id().substr(0, 34),
                     c.framework.empty() ? "—" : c.framework, quality_str(c), opt_str(c.bits_per_weight, 3),
                     opt_str(c.gb_per_s, 3) + (c.is_estimate(metric::gb_per_s) ? "~" : ""),
                     opt_str(c.tokens_per_s, 3) + (c.is_estimate(metric::tokens_per_s) ? "~" : ""),
                     c.speedup ? fmt::format("{:.2f}x{}", *c.speedup, c.is_estimate("speedup") ? "~" : "") : "—",
                     c.memory_reduction_pct ? fmt_pct(*c.memory_reduction_pct) : "—", c.pareto ? "yes" : "");
    for (const auto& g : c.gates) o += fmt::format(" {:>5}", gate_str(g));
    o += "\n";
    if (!c.eligible || c.includes_invalid) o += "       " + c.why + "\n";
  }
  for (size_t i = 0; i < ngates; ++i) o += fmt::format("G{}: {}\n", i + 1, d.candidates[0].gates[i].name);
  if (std::any_of(d.candidates.begin(), d.candidates.end(), [](const Candidate& c) { return !c.estimated.empty(); }))
    o += "~ estimate: no cell measured this number (the latency suite's decode estimate)\n";
  o += invalid_list_text(d);
  o += "\nFramework comparison:\n" + framework_comparison_text(d.comparison);
  return o;
}

std::string decision_markdown(const Decision& d) {
  std::string o;
  auto t = d.top(3);
  o += "### Top recommendations\n\n";
  if (d.unsatisfied)
    o += "**No recommendation:** " + md_escape(d.unsatisfied->message()) + ".\n";
  else if (t.empty())
    o += "No candidate satisfies the constraints.\n";
  for (auto* c : t) o += fmt::format("{}. **{}** — {}\n", c->rank, md_escape(marked_id(*c)), md_escape(c->why));
  if (d.no_gate_pass) o += "\n> warning: " + md_escape(d.no_gate_pass->message()) + "\n";
  o += fmt::format("\nBaseline: {}. Quality: {}. Speed: {}.\n",
                   md_escape(d.baseline_format.empty() ? "none" : d.baseline_format), md_escape(d.quality_basis),
                   md_escape(d.speed_basis));
  for (const auto& n : d.notes) o += "\n> note: " + md_escape(n) + "\n";
  if (!d.invalid_cells.empty()) {
    o += fmt::format("\n#### Invalid cells {}\n\n",
                     d.opt.include_invalid ? "included (--include-invalid)" : "left out of the ranking");
    for (const auto& x : d.invalid_cells) o += "- " + md_escape(x) + "\n";
  }
  o += "\n### Framework comparison\n\n" + framework_comparison_markdown(d.comparison);
  if (d.candidates.empty()) return o;
  o += "\n### Decision matrix\n\n| rank | candidate | framework | quality | bits/w | speed | speed-up | memory | "
       "Pareto | score | ";
  for (const auto& g : d.candidates.empty() ? std::vector<Check>{} : d.candidates[0].gates)
    o += md_escape(g.name) + " | ";
  o += "why |\n|---:|---|---|---:|---:|---:|---:|---:|:-:|---:|";
  for (size_t i = 0; i < (d.candidates.empty() ? 0 : d.candidates[0].gates.size()); ++i) o += ":-:|";
  o += "---|\n";
  for (const auto& c : d.candidates) {
    o += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} | ", c.rank ? std::to_string(c.rank) : "—",
                     md_escape(marked_id(c)), md_escape(c.framework.empty() ? "—" : c.framework),
                     md_escape(quality_str(c)), opt_str(c.bits_per_weight, 3), md_escape(speed_str(c)), speedup_str(c),
                     mem_str(c), c.pareto ? "★" : "", c.score);
    for (const auto& g : c.gates) o += gate_str(g) + (g.evaluated ? " " + md_escape(g.detail) : "") + " | ";
    o += md_escape(c.why) + " |\n";
  }
  return o;
}

std::string gates_line(const Decision& d) {
  if (d.quality_basis.rfind("measured perplexity", 0) == 0)
    return fmt::format(
        "Default gates: PPL increase <= {}% and KLD <= {} vs the KLD base; vs {}: >= {}x speed-up, >= {}% memory "
        "reduction.\n",
        fmt_num(d.opt.gate_max_ppl_increase_pct), fmt_num(d.opt.gate_max_kld),
        d.baseline_format.empty() ? "F16/F32" : d.baseline_format, fmt_num(d.opt.gate_speedup),
        fmt_num(d.opt.gate_memory_reduction_pct));
  return fmt::format(
      "Default gates vs {}: quality >= {}% of full precision, >= {}x speed-up, >= {}% memory reduction.\n",
      d.baseline_format.empty() ? "F16/F32" : d.baseline_format, fmt_num(d.opt.gate_quality_ratio * 100),
      fmt_num(d.opt.gate_speedup), fmt_num(d.opt.gate_memory_reduction_pct));
}
std::string DecisionTextReporter::render(const Report& report) const { return decision_text(report.decision); }

std::string DecisionMarkdownReporter::render(const Report& report) const {
  return "## Decision\n\n" + decision_markdown(report.decision);
}

}  // namespace qb::rep
