// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include "decision_html.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "decision_render.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {

namespace {

std::string esc(const std::string& s) { return html_escape(s); }

// ---- (a) Pareto plot: KLD (log10, lower is better) on y, model tokens/s on x, area ~ bits/weight.

struct Point {
  const Candidate* c;
  double kld, tps, bpw;
  bool front = false;
};

// The non-dominated points: no other point has KLD <= and tokens/s >= with one strictly better.
void mark_front(std::vector<Point>& pts) {
  for (auto& a : pts) {
    a.front = std::none_of(pts.begin(), pts.end(), [&](const Point& b) {
      return b.kld <= a.kld && b.tps >= a.tps && (b.kld < a.kld || b.tps > a.tps);
    });
  }
}

// Linear axis with "nice" steps (1, 2, 5 x 10^k) covering [lo, hi].
struct LinAxis {
  double min, max, step;
};
LinAxis lin_axis(double lo, double hi) {
  if (!(hi > lo)) lo -= std::max(1.0, std::fabs(lo) * 0.1), hi += std::max(1.0, std::fabs(hi) * 0.1);
  double span = hi - lo;
  lo = std::max(0.0, lo - 0.05 * span), hi += 0.05 * span;
  double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = raw / mag <= 1 ? mag : raw / mag <= 2 ? 2 * mag : raw / mag <= 5 ? 5 * mag : 10 * mag;
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

// Plot geometry, written on the <svg> so a reader (or a test) can recompute every coordinate.
struct Frame {
  double left = 64, top = 16, width = 560, height = 300;
  LinAxis x{};
  double ylog_min = 0, ylog_max = 1;  // decades
  double px(double tps) const { return left + (tps - x.min) / (x.max - x.min) * width; }
  double py(double kld) const { return top + (ylog_max - std::log10(kld)) / (ylog_max - ylog_min) * height; }
};

// Point radius: area proportional to bits/weight (16 bits/weight -> 12 px).
double radius(double bpw) { return 3.0 * std::sqrt(std::max(bpw, 0.1)); }

std::string short_id(const Candidate& c) {
  return c.backend == "-" ? c.format : fmt::format("{} {} {}t", c.format, c.backend, c.threads);
}

std::string axes_svg(const Frame& f, const std::string& xtitle) {
  std::string o = "<g class=\"axes\">";
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#d0d7de\"/>", f.left,
                   f.top, f.width, f.height);
  for (double v = f.x.min; v <= f.x.max + f.x.step * 1e-6; v += f.x.step) {
    double x = f.px(v);
    o += fmt::format("<line class=\"xtick\" x1=\"{:.2f}\" y1=\"{}\" x2=\"{:.2f}\" y2=\"{}\" stroke=\"#eaeef2\"/>", x,
                     f.top, x, f.top + f.height);
    o += fmt::format("<text class=\"xlabel\" x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{}</text>", x,
                     f.top + f.height + 14, fmt_num(v));
  }
  const bool minor = f.ylog_max - f.ylog_min <= 2;  // few decades: label 2 and 5 too
  for (double e = f.ylog_min; e <= f.ylog_max + 1e-9; e += 1)
    for (double m : {1.0, 2.0, 5.0}) {
      if ((m != 1 && !minor) || (m != 1 && e >= f.ylog_max)) continue;
      double v = m * std::pow(10.0, e), y = f.py(v);
      o += fmt::format("<line class=\"ytick\" x1=\"{}\" y1=\"{:.2f}\" x2=\"{}\" y2=\"{:.2f}\" stroke=\"#eaeef2\"/>",
                       f.left, y, f.left + f.width, y);
      o += fmt::format("<text class=\"ylabel\" x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>", f.left - 4, y + 4,
                       fmt_num(v));
    }
  o += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                   f.left + f.width / 2, f.top + f.height + 32, esc(xtitle));
  o += fmt::format(
      "<text class=\"axis-title\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">KLD vs the base, "
      "nats (log)</text>",
      f.top + f.height / 2);
  return o + "</g>";
}

std::string pareto_svg(const Decision& d) {
  std::vector<Point> pts;
  std::vector<std::string> left_out;
  for (const auto& c : d.candidates) {
    if (c.kld && *c.kld > 0 && c.tokens_per_s && *c.tokens_per_s > 0)
      pts.push_back({&c, *c.kld, *c.tokens_per_s, c.bits_per_weight.value_or(0), false});
    else if (c.tokens_per_s || c.kld)
      left_out.push_back(c.id() + (c.kld && *c.kld <= 0 ? " (KLD 0: the base itself)"
                                   : c.kld              ? " (no tokens/s)"
                                                        : " (no KLD)"));
  }
  if (pts.empty())
    return "<p class=\"meta\">No Pareto plot: no candidate has both a measured KLD and model tokens/s.</p>\n";
  mark_front(pts);
  Frame f;
  double xlo = INFINITY, xhi = -INFINITY, klo = INFINITY, khi = -INFINITY;
  for (const auto& p : pts)
    xlo = std::min(xlo, p.tps), xhi = std::max(xhi, p.tps), klo = std::min(klo, p.kld), khi = std::max(khi, p.kld);
  f.x = lin_axis(xlo, xhi);
  f.ylog_min = std::floor(std::log10(klo));
  f.ylog_max = std::max(f.ylog_min + 1, std::ceil(std::log10(khi)));
  const std::string xtitle = d.opt.model_phase + " tokens/s (higher is better)";
  std::string o = fmt::format(
      "<figure class=\"pareto\"><svg class=\"pareto\" xmlns=\"http://www.w3.org/2000/svg\" width=\"680\" height=\"{}\" "
      "viewBox=\"0 0 680 {}\" "
      "role=\"img\" aria-label=\"KLD vs {} tokens/s\" data-left=\"{}\" data-top=\"{}\" data-width=\"{}\" "
      "data-height=\"{}\" "
      "data-x-min=\"{}\" data-x-max=\"{}\" data-y-min=\"{}\" data-y-max=\"{}\">",
      f.top + f.height + 40, f.top + f.height + 40, d.opt.model_phase, f.left, f.top, f.width, f.height, f.x.min,
      f.x.max, std::pow(10.0, f.ylog_min), std::pow(10.0, f.ylog_max));
  o += axes_svg(f, xtitle);
  // The front as a line from the fastest to the most accurate point, under the points.
  std::vector<const Point*> front;
  for (const auto& p : pts)
    if (p.front) front.push_back(&p);
  std::sort(front.begin(), front.end(), [](auto* a, auto* b) { return a->tps < b->tps; });
  o += "<polyline class=\"front-line\" fill=\"none\" stroke=\"#cf222e\" stroke-width=\"1.5\" points=\"";
  for (auto* p : front) o += fmt::format("{:.2f},{:.2f} ", f.px(p->tps), f.py(p->kld));
  o += "\"/><g class=\"points\">";
  for (const auto& p : pts)
    o += fmt::format(
        "<circle class=\"pt{}\" cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"{:.2f}\" data-candidate=\"{}\" data-kld=\"{}\" "
        "data-tps=\"{}\" "
        "data-bpw=\"{}\" fill=\"{}\" fill-opacity=\"0.55\" stroke=\"{}\"><title>{}: KLD {}, {} tokens/s, {} "
        "bits/weight</title></circle>",
        p.front ? " front" : "", f.px(p.tps), f.py(p.kld), radius(p.bpw), esc(p.c->id()), p.kld, p.tps, p.bpw,
        p.front ? "#cf222e" : "#0969da", p.front ? "#a40e26" : "#0550ae", esc(p.c->id()), fmt_num(p.kld),
        fmt_num(p.tps), fmt_num(p.bpw, 3));
  o += "</g><g class=\"labels\">";
  for (auto* p : front) {
    double x = f.px(p->tps), r = radius(p->bpw);
    bool right_edge = x > f.left + f.width * 0.8;
    o += fmt::format("<text class=\"front-label\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"{}\">{}</text>",
                     right_edge ? x - r - 3 : x + r + 3, f.py(p->kld) - 2, right_edge ? "end" : "start",
                     esc(short_id(*p->c)));
  }
  o += "</g></svg><figcaption class=\"meta\">";
  o += fmt::format(
      "KLD (log scale) vs {} tokens/s, one point per candidate; point area is proportional to bits per weight. "
      "Red, joined and labelled: the Pareto front of these two axes (no other candidate has both lower KLD and "
      "more tokens/s).",
      d.opt.model_phase);
  if (!left_out.empty()) o += " Not plotted: " + esc(fmt::format("{}", fmt::join(left_out, ", "))) + ".";
  return o + "</figcaption></figure>\n";
}

// ---- (b) Ranked table: the model numbers and every gate's value and margin.

std::string ranked_table(const Decision& d, size_t max_rows = 12) {
  if (d.candidates.empty()) return "";
  std::string o =
      "<div class=\"wrap\"><table class=\"decision-ranked\"><thead><tr><th>rank</th><th>candidate</th><th>PPL "
      "Δ</th><th>KLD</th>"
      "<th>bits/w</th><th>" +
      esc(d.opt.model_phase) + " tok/s</th><th>weights</th><th>Pareto</th>";
  // Gates no candidate could be measured against (no F16 baseline, say) take no column.
  const size_t ngates = d.candidates[0].gates.size();
  std::vector<bool> shown_gate(ngates, false);
  std::vector<std::string> not_evaluated;
  for (size_t i = 0; i < ngates; ++i) {
    for (const auto& c : d.candidates) shown_gate[i] = shown_gate[i] || (i < c.gates.size() && c.gates[i].evaluated);
    if (shown_gate[i])
      o += "<th>" + esc(d.candidates[0].gates[i].name) + "</th>";
    else
      not_evaluated.push_back(d.candidates[0].gates[i].name);
  }
  o += "</tr></thead><tbody>\n";
  size_t shown = 0;
  for (const auto& c : d.candidates) {
    if (shown++ >= max_rows) break;
    o += fmt::format("<tr class=\"{}\" data-candidate=\"{}\"><td>{}</td><td>{}</td>",
                     c.eligible ? "eligible" : "excluded", esc(c.id()), c.rank ? std::to_string(c.rank) : "—",
                     esc(c.id()));
    o += "<td>" + (c.quality_loss_pct ? fmt::format("{:+.2f}%", *c.quality_loss_pct) : "—") + "</td>";
    o += "<td>" + (c.kld ? fmt_num(*c.kld, 3) : "—") + "</td><td>" +
         (c.bits_per_weight ? fmt_num(*c.bits_per_weight, 3) : "—") + "</td>";
    o += "<td>" + (c.tokens_per_s ? fmt_num(*c.tokens_per_s, 4) : "—") + "</td><td>" +
         (c.weight_bytes ? fmt_bytes(*c.weight_bytes) : "—") + "</td>";
    o += std::string("<td>") + (c.pareto ? "★" : "") + "</td>";
    for (size_t i = 0; i < c.gates.size() && i < ngates; ++i) {
      const Check& g = c.gates[i];
      if (!shown_gate[i]) continue;
      o += fmt::format("<td class=\"{}\">{}</td>",
                       !g.evaluated ? "na"
                       : g.pass     ? "pass"
                                    : "fail",
                       esc(!g.evaluated ? "n/a" : (g.pass ? "pass " : "FAIL ") + g.detail));
    }
    o += "</tr>\n";
  }
  o += "</tbody></table></div>\n";
  if (!not_evaluated.empty())
    o += "<p class=\"meta\">Not evaluated for any candidate (no data): " +
         esc(fmt::format("{}", fmt::join(not_evaluated, "; "))) + ".</p>\n";
  if (d.candidates.size() > max_rows)
    o += fmt::format("<p class=\"meta\">{} more candidates in the decision matrix below.</p>\n",
                     d.candidates.size() - max_rows);
  return o;
}

// ---- (d) Where the time goes: per format and phase, the time_share_* split of its fastest cell.

const char* kShares[] = {metric::time_share_matmul, metric::time_share_attention, metric::time_share_other};

struct Split {
  double share[3] = {0, 0, 0};
  std::string cell;
};

std::optional<Split> split_of(const CellResult& r) {
  Split s;
  double sum = 0;
  for (int i = 0; i < 3; ++i) {
    auto v = metric_value(r, kShares[i], false);
    if (!v || v->value < 0) return std::nullopt;
    s.share[i] = v->value, sum += v->value;
  }
  if (!(sum > 0)) return std::nullopt;
  for (double& x : s.share) x /= sum;  // fractions that sum to 1 after rounding
  s.cell = fmt::format("{} {}t", r.cell.backend, r.cell.threads);
  return s;
}

std::string bar_svg(const Split& s, const std::string& format, const std::string& phase) {
  const double W = 200;
  const char* names[] = {"matmul", "attention", "other"};
  const char* colours[] = {"#0969da", "#bf3989", "#afb8c1"};
  std::string o = fmt::format(
      "<svg class=\"timeshare\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"12\" data-format=\"{}\" "
      "data-phase=\"{}\" data-bar-width=\"{}\">",
      W, esc(format), phase, W);
  double x = 0;
  for (int i = 0; i < 3; ++i) {
    double w = s.share[i] * W;
    o += fmt::format(
        "<rect class=\"ts-{}\" x=\"{:.3f}\" y=\"0\" width=\"{:.3f}\" height=\"12\" fill=\"{}\" "
        "data-share=\"{}\"><title>{} {:.0f}%</title></rect>",
        names[i], x, w, colours[i], s.share[i], names[i], s.share[i] * 100);
    x += w;
  }
  return o + "</svg>";
}

std::string time_share_table(const Decision& d, const std::vector<CellResult>& results) {
  std::vector<std::string> formats;
  for (const auto& c : d.candidates)
    if (std::find(formats.begin(), formats.end(), c.format) == formats.end()) formats.push_back(c.format);
  std::map<std::pair<std::string, std::string>, std::pair<double, Split>>
      best;  // (format, phase) -> fastest cell's split
  for (const auto& r : results) {
    if (!counts(r, d.opt.include_invalid) || (r.cell.suite != "prefill" && r.cell.suite != "decode")) continue;
    auto s = split_of(r);
    if (!s) continue;
    double tps = metric_value(r, metric::tokens_per_s, false).value_or(MetricValue{}).value;
    auto key = std::make_pair(r.cell.format, r.cell.suite);
    if (!best.count(key) || tps > best[key].first) best[key] = {tps, *s};
  }
  std::string o = "<h3>Where the time goes</h3>\n";
  if (best.empty())
    return o +
           "<p class=\"meta\">No time split in this report: its model cells carry no time_share_matmul / "
           "time_share_attention / "
           "time_share_other metrics.</p>\n";
  o += "<p class=\"meta\">Share of each phase's time in matrix multiplications (<span "
       "style=\"color:#0969da\">■</span>), attention "
       "(<span style=\"color:#bf3989\">■</span>) and the rest (<span style=\"color:#afb8c1\">■</span>), from the "
       "format's fastest cell.</p>\n";
  o += "<div class=\"wrap\"><table "
       "class=\"timeshare\"><thead><tr><th>format</th><th>prefill</th><th>decode</th></tr></thead><tbody>\n";
  for (const auto& f : formats) {
    o += "<tr><td>" + esc(f) + "</td>";
    for (const char* phase : {"prefill", "decode"}) {
      auto it = best.find({f, phase});
      if (it == best.end()) {
        o += "<td class=\"na\">—</td>";
        continue;
      }
      const Split& s = it->second.second;
      o += "<td>" + bar_svg(s, f, phase) +
           fmt::format(" <small>{:.0f}% / {:.0f}% / {:.0f}% · {}</small></td>", s.share[0] * 100, s.share[1] * 100,
                       s.share[2] * 100, esc(s.cell));
    }
    o += "</tr>\n";
  }
  return o + "</tbody></table></div>\n";
}

// ---- (c) Sentences.

// The reference a candidate is compared with: the lowest-KLD format, at the candidate's backend,
// threads and placement when measured there, else its fastest deployment.
const Candidate* reference_for(const Decision& d, const Candidate& c) {
  const Candidate* best = nullptr;
  for (const auto& x : d.candidates)
    if (x.kld && x.tokens_per_s && (!best || *x.kld < *best->kld)) best = &x;
  if (!best) return nullptr;
  const Candidate* ref = nullptr;
  for (const auto& x : d.candidates) {
    if (x.format != best->format || !x.tokens_per_s) continue;
    bool same = x.backend == c.backend && x.threads == c.threads && x.placement == c.placement;
    if (same) return &x;
    if (!ref || *x.tokens_per_s > *ref->tokens_per_s) ref = &x;
  }
  return ref;
}

std::string gate_phrase(const Candidate& c) {
  if (c.gates_evaluated == 0) return "no default gate evaluated";
  if (c.gates_pass)
    return c.gates_evaluated == int(c.gates.size()) ? "within every gate" : "within every evaluated gate";
  std::vector<std::string> failed;
  for (const auto& g : c.gates)
    if (g.evaluated && !g.pass) failed.push_back(g.name + " (" + g.detail + ")");
  return fmt::format("fails {}", fmt::join(failed, ", "));
}

}  // namespace

std::vector<std::string> decision_sentences(const Decision& d, int n) {
  std::vector<std::string> out;
  for (const Candidate* c : d.top(n)) {
    const Candidate* ref = reference_for(d, *c);
    const std::string& phase = d.opt.model_phase;
    std::string kld = c->kld ? "KLD " + fmt_num(*c->kld, 3) : "KLD not measured";
    if (!ref || !c->tokens_per_s) {
      out.push_back(fmt::format("{}: {}, {}.", c->id(), kld, gate_phrase(*c)));
    } else if (ref->format == c->format) {
      out.push_back(fmt::format("{}: the lowest {} of the candidates at {} {} tokens/s, {}.", c->id(), kld,
                                fmt_num(*c->tokens_per_s, 3), phase, gate_phrase(*c)));
    } else {
      std::string s = fmt::format("{}: {:.2g}x {}'s {} speed at {}, {}", c->id(), *c->tokens_per_s / *ref->tokens_per_s,
                                  ref->format, phase, kld, gate_phrase(*c));
      if (c->weight_bytes && ref->weight_bytes)
        s += fmt::format("; {:.0f}% of {}'s weight bytes", *c->weight_bytes / *ref->weight_bytes * 100, ref->format);
      else if (c->bits_per_weight && ref->bits_per_weight)
        s += fmt::format("; {:.0f}% of {}'s bits per weight", *c->bits_per_weight / *ref->bits_per_weight * 100,
                         ref->format);
      out.push_back(s + ".");
    }
  }
  return out;
}

const char* decision_css() {
  return R"CSS(
svg.pareto{max-width:100%;height:auto;font:11px system-ui,sans-serif}
svg.pareto .axis-title{font-size:12px;fill:#57606a}svg.pareto .front-label{font-size:11px;fill:#a40e26}
svg.timeshare{vertical-align:middle;border:1px solid #d0d7de}
ul.why li{margin:3px 0}
)CSS";
}

std::string decision_section_html(const Decision& d, const std::vector<CellResult>& results) {
  std::string o;
  if (d.unsatisfied)
    o += "<p class=\"note unsatisfied\"><b>No recommendation:</b> " + esc(d.unsatisfied->message()) + "</p>\n";
  if (d.no_gate_pass) o += "<p class=\"note no-gate-pass\">Warning: " + esc(d.no_gate_pass->message()) + "</p>\n";
  o += "<p class=\"meta\">Quality: " + esc(d.quality_basis) + ". " + esc(gates_line(d)) + "</p>\n";
  o += pareto_svg(d);
  auto why = decision_sentences(d);
  if (!why.empty()) {
    o += "<h3>Why</h3><ul class=\"why\">";
    for (const auto& s : why) o += "<li>" + esc(s) + "</li>";
    o += "</ul>\n";
  }
  o += "<h3>Ranked candidates</h3>\n" + ranked_table(d);
  o += time_share_table(d, results);
  return o;
}

std::string decision_page_html(const Decision& d, const std::vector<CellResult>& results) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src "
      "data:\">\n"
      "<title>qbench decision</title><style>\n"
      "body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;margin:16px "
      "24px}table{border-collapse:collapse;font-size:13px}"
      "th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left}.meta{color:#57606a}"
      ".note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}td.pass{color:#1a7f37}td.fail{color:#cf222e}"
      "td.na{color:#57606a}.wrap{overflow-x:auto}";
  o += decision_css();
  o += "</style></head>\n<body>\n<h1>qbench decision</h1>\n<section id=\"decision-model\"><h2>Decision</h2>\n";
  o += decision_section_html(d, results);
  o += "</section>\n<section id=\"decision\"><h2>Decision matrix</h2>\n<div class=\"wrap\">" + decision_matrix_html(d) +
       "</div></section>\n</body></html>\n";
  return o;
}

std::string DecisionPageReporter::render(const Report& report) const {
  return decision_page_html(report.decision, report.results);
}

}  // namespace qb::rep
