// The decision matrix as an HTML table: the report's "Decision matrix" section and the page of
// `qbench recommend --html`.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "decision_render.h"
#include "report_common.h"

namespace qb::rep {

std::string decision_matrix_html(const Decision& d) {
  std::string o;
  if (d.unsatisfied)
    o += "<p class=\"note unsatisfied\"><b>No recommendation:</b> " + html_escape(d.unsatisfied->message()) + "</p>\n";
  if (d.no_gate_pass)
    o += "<p class=\"note no-gate-pass\">Warning: " + html_escape(d.no_gate_pass->message()) + "</p>\n";
  o += "<table class=\"decision sortable\" id=\"decision-matrix\"><thead><tr>"
       "<th data-type=\"num\">rank</th><th>candidate</th><th>framework</th><th data-type=\"num\">quality</th>"
       "<th data-type=\"num\">bits/w</th><th data-type=\"num\">speed</th><th data-type=\"num\">speed-up</th>"
       "<th data-type=\"num\">memory</th><th>Pareto</th><th data-type=\"num\">score</th>";
  if (!d.candidates.empty())
    for (const auto& g : d.candidates[0].gates) o += "<th>" + html_escape(g.name) + "</th>";
  o += "<th>why</th></tr></thead><tbody>\n";
  auto numattr = [](std::optional<double> v) {
    return v ? fmt::format(" data-v=\"{}\"", *v) : std::string(" data-v=\"\"");
  };
  for (const auto& c : d.candidates) {
    std::optional<double> qv =
        c.ppl ? std::optional<double>(-*c.ppl) : (c.lossless ? std::optional<double>(1e9) : c.snr_db);
    std::optional<double> sv = c.tokens_per_s ? c.tokens_per_s : c.gb_per_s;
    o += fmt::format("<tr class=\"{}{}{}\"{}>", c.eligible ? "eligible" : "excluded", c.pareto ? " pareto" : "",
                     c.includes_invalid ? " invalid" : "",
                     c.invalid_cells ? " title=\"" +
                                           html_escape(fmt::format("{} invalid cell(s) {}: {}", c.invalid_cells,
                                                                   c.includes_invalid ? "included" : "left out",
                                                                   fmt::join(c.invalid_reasons, "; "))) +
                                           "\""
                                     : std::string());
    o += fmt::format("<td data-v=\"{}\">{}</td>", c.rank ? c.rank : 100000, c.rank ? std::to_string(c.rank) : "—");
    o += "<td>" + html_escape(marked_id(c)) + "</td>";
    o += "<td>" + html_escape(c.framework.empty() ? "—" : c.framework) + "</td>";
    o += "<td" + numattr(qv) + ">" + html_escape(quality_str(c)) + "</td>";
    o += "<td" + numattr(c.bits_per_weight) + ">" + opt_str(c.bits_per_weight, 3) + "</td>";
    o += "<td" + numattr(sv) + ">" + html_escape(speed_str(c)) + "</td>";
    o += "<td" + numattr(c.speedup) + ">" + html_escape(speedup_str(c)) + "</td>";
    o += "<td" + numattr(c.memory_reduction_pct) + ">" + (mem_str(c)) + "</td>";
    o += std::string("<td>") + (c.pareto ? "★" : "") + "</td>";
    o += fmt::format("<td data-v=\"{}\">{:.2f}</td>", c.score, c.score);
    for (const auto& g : c.gates)
      o += fmt::format("<td class=\"{}\">{}</td>",
                       !g.evaluated ? "na"
                       : g.pass     ? "pass"
                                    : "fail",
                       html_escape(gate_str(g) + (g.evaluated ? " " + g.detail : "")));
    o += "<td class=\"why\">" + html_escape(c.why) + "</td></tr>\n";
  }
  o += "</tbody></table>\n";
  if (!d.invalid_cells.empty()) {
    o += fmt::format("<p class=\"meta\">Invalid cells {}:</p><ul class=\"invalid-list\">",
                     d.opt.include_invalid ? "included in the ranking (--include-invalid), marked"
                                           : "left out of ranking, Pareto front and gates");
    for (const auto& x : d.invalid_cells) o += "<li class=\"invalid\">" + html_escape(x) + "</li>";
    o += "</ul>\n";
  }
  return o;
}

}  // namespace qb::rep
