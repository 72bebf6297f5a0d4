// The model-grounded decision (issue 14): device classes, "no candidate satisfies" with the nearest
// miss, and the HTML Decision section (SVG Pareto plot, sentences, time-share bars), on a synthetic
// report of perplexity + prefill + decode cells for six formats with known numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include <fmt/format.h>

#include "decide.h"
#include "decision_html.h"
#include "decision_render.h"
#include "device_class.h"
#include "qb/command.h"
#include "render.h"
#include "report_common.h"
#include "report_synthetic.h"

using namespace qb::rep;

namespace {

struct F {
  const char* name;
  double ppl_ratio, kld, bpw, decode_tps, prefill_tps, weight_bytes;
  double share[3];  // matmul, attention, other (0,0,0: the cells carry no split)
};
// Gates at the defaults (PPL +5%, KLD 0.10): Q8_0, Q6_K, Q4_K_M pass; Q4_0 fails PPL; Q3_K_M and
// Q2_K fail both. Shares deliberately sum to 1.02 for Q6_K (rounding in a suite): bars normalise.
const F kFormats[] = {
    {"Q8_0", 1.002, 0.002, 8.5, 40, 300, 290e6, {0.80, 0.12, 0.08}},
    {"Q6_K", 1.008, 0.010, 6.56, 45, 280, 230e6, {0.75, 0.15, 0.12}},
    {"Q4_K_M", 1.03, 0.035, 4.9, 60, 420, 170e6, {0.70, 0.18, 0.12}},
    {"Q4_0", 1.06, 0.070, 4.5, 62, 450, 160e6, {0.68, 0.20, 0.12}},
    {"Q3_K_M", 1.09, 0.12, 3.9, 58, 380, 140e6, {0.66, 0.20, 0.14}},
    {"Q2_K", 1.60, 0.45, 2.9, 75, 500, 110e6, {0, 0, 0}},
};
constexpr double kKvBytes = 20e6;

std::vector<qb::CellResult> model_results() {
  using qbt::cell;
  std::vector<qb::CellResult> rs;
  for (const auto& f : kFormats) {
    rs.push_back(cell(
        "perplexity", f.name, "avx512", "ctx512", 2, "-",
        {{"ppl", 8.0 * f.ppl_ratio}, {"ppl_ratio", f.ppl_ratio}, {"kld_mean", f.kld}, {"bits_per_weight", f.bpw}}));
    for (const char* phase : {"prefill", "decode"}) {
      double tps = std::string(phase) == "decode" ? f.decode_tps : f.prefill_tps;
      nlohmann::json m = {{"tokens_per_s", tps}, {"weight_bytes", f.weight_bytes}, {"kv_cache_bytes", kKvBytes}};
      if (f.share[0] > 0)
        m["time_share_matmul"] = f.share[0], m["time_share_attention"] = f.share[1], m["time_share_other"] = f.share[2];
      rs.push_back(cell(phase, f.name, "avx512", std::string(phase) == "decode" ? "tg128" : "pp512", 2, "-", m));
    }
  }
  return rs;
}

const F& input(const std::string& format) {
  return *std::find_if(std::begin(kFormats), std::end(kFormats), [&](const F& f) { return format == f.name; });
}

std::vector<std::string> order(const Decision& d) {
  std::vector<std::string> v;
  for (const auto& c : d.candidates) v.push_back(c.format);
  return v;
}

// Attributes of every tag `<name ...>` whose text contains `marker`.
std::vector<std::map<std::string, std::string>> tags(const std::string& html, const std::string& name,
                                                     const std::string& marker) {
  std::vector<std::map<std::string, std::string>> out;
  std::regex tag("<" + name + "\\s([^>]*)>"), attr("([a-z-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator(); ++it) {
    std::string body = (*it)[1];
    if (body.find(marker) == std::string::npos) continue;
    std::map<std::string, std::string> m;
    for (auto a = std::sregex_iterator(body.begin(), body.end(), attr); a != std::sregex_iterator(); ++a)
      m[(*a)[1]] = (*a)[2];
    out.push_back(m);
  }
  return out;
}
double num(const std::map<std::string, std::string>& m, const std::string& k) { return std::stod(m.at(k)); }

}  // namespace

// Ranking at the defaults: gate failures first, then the Pareto front, then the score. By hand from
// the numbers above (weights 1/1/1, quality 1/ppl_ratio linear, tokens/s and bits log-scaled):
// Q4_K_M 0.695 > Q6_K 0.471 > Q8_0 0.333 (all pass), Q4_0 (1 gate failed), Q3_K_M 0.700 > Q2_K 0.667 (2).
TEST(DecisionModel, RankingOnMeasuredQualityAndDecodeSpeed) {
  Decision d = decide(model_results(), DecisionOptions{});
  EXPECT_TRUE(d.has_model_cells);
  EXPECT_EQ(order(d), (std::vector<std::string>{"Q4_K_M", "Q6_K", "Q8_0", "Q4_0", "Q3_K_M", "Q2_K"}));
  for (const auto& c : d.candidates) {
    SCOPED_TRACE(c.format);
    EXPECT_DOUBLE_EQ(*c.tokens_per_s, input(c.format).decode_tps);
    EXPECT_DOUBLE_EQ(*c.weight_bytes, input(c.format).weight_bytes);
    for (const auto& g : c.gates)  // every evaluated gate shows its value and margin
      if (g.evaluated) {
        EXPECT_NE(g.detail.find("margin"), std::string::npos) << g.name << ": " << g.detail;
      }
  }
  EXPECT_FALSE(d.unsatisfied);
  EXPECT_FALSE(d.no_gate_pass);
  auto why = decision_sentences(d);
  ASSERT_EQ(why.size(), 3u);
  // Q4_K_M vs Q8_0 (the lowest KLD) at the same backend and threads: 60/40 = 1.5x, 170/290 = 59%.
  EXPECT_NE(why[0].find("Q4_K_M"), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("1.5x Q8_0's decode speed at KLD 0.035"), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("within every evaluated gate"), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("59% of Q8_0's weight bytes"), std::string::npos) << why[0];
  EXPECT_NE(why[2].find("lowest KLD 0.002"), std::string::npos) << why[2];
}

TEST(DecisionModel, DeviceClassesFromOneTable) {
  // Every class of the table resolves, by name and by alias, and sets what the table says.
  for (const auto& dc : device_classes()) {
    for (std::string name : {std::string(dc.name), std::string(dc.alias)}) {
      if (name.empty()) continue;
      DecisionOptions o;
      apply_device_class(o, name, false);
      EXPECT_EQ(o.device_class, dc.name) << name;
      EXPECT_DOUBLE_EQ(*o.memory_budget_bytes, dc.memory_budget_gib * 1073741824.0);
      EXPECT_EQ(o.max_threads, dc.max_threads);
      EXPECT_EQ(o.model_phase, dc.phase);
      EXPECT_DOUBLE_EQ(o.w_memory, dc.w_memory);
    }
  }
  for (const char* n : {"mobile", "laptop", "server", "embedded"}) EXPECT_NE(find_device_class(n), nullptr) << n;
  EXPECT_STREQ(find_device_class("desktop")->name, "laptop");
  EXPECT_STREQ(find_device_class("edge-server")->name, "server");
  EXPECT_STREQ(find_device_class("server")->phase, "prefill");
  EXPECT_STREQ(find_device_class("mobile")->phase, "decode");
  DecisionOptions bad;
  EXPECT_THROW(apply_device_class(bad, "toaster", false), qb::UsageError);

  // server ranks on prefill tokens/s; --phase (phase_given) keeps decode.
  DecisionOptions srv;
  apply_device_class(srv, "server", false);
  Decision d = decide(model_results(), srv);
  for (const auto& c : d.candidates) EXPECT_DOUBLE_EQ(*c.tokens_per_s, input(c.format).prefill_tps) << c.format;
  DecisionOptions srv_decode;
  apply_device_class(srv_decode, "server", false, true);
  for (const auto& c : decide(model_results(), srv_decode).candidates)
    EXPECT_DOUBLE_EQ(*c.tokens_per_s, input(c.format).decode_tps) << c.format;
}

// Nothing fits: the message names the constraint, the nearest candidate and the amount.
TEST(DecisionModel, NoCandidateSatisfiesNamesTheNearestMiss) {
  DecisionOptions o;
  o.memory_budget_bytes = 120e6;  // smallest need: Q2_K 110e6 + 20e6 KV = 130e6, 10e6 over (8%)
  o.memory_budget_explicit = true;
  Decision d = decide(model_results(), o);
  ASSERT_TRUE(d.unsatisfied);
  EXPECT_TRUE(d.top(3).empty());
  std::string msg = d.unsatisfied->message();
  EXPECT_NE(msg.find("no candidate satisfies memory <= " + fmt_bytes(120e6)), std::string::npos) << msg;
  EXPECT_NE(msg.find("nearest miss: Q2_K / avx512 / 2t / -"), std::string::npos) << msg;
  EXPECT_NE(msg.find("by " + fmt_bytes(10e6) + " (8%)"), std::string::npos) << msg;
  EXPECT_NE(decision_text(d).find(msg), std::string::npos);
  EXPECT_NE(decision_markdown(d).find(md_escape(msg)), std::string::npos);
  EXPECT_NE(decision_junit(d).find("<failure message=\"" + xml_escape(msg)), std::string::npos);
  EXPECT_NE(decision_page_html(d, model_results()).find(html_escape(msg)), std::string::npos);

  // Two constraints: the nearest miss is the one whose worst miss is smallest, not the one that
  // fails fewer bounds by more. Budget 175e6, >= 80 tokens/s: Q2_K misses only speed, by 5 (6%);
  // Q4_0 misses memory by 3% and speed by 22.5%; Q4_K_M memory by 9% and speed by 25%.
  o.memory_budget_bytes = 175e6;
  parse_min_throughput(o, "80tokens/s");
  Decision d2 = decide(model_results(), o);
  ASSERT_TRUE(d2.unsatisfied);
  msg = d2.unsatisfied->message();
  EXPECT_NE(msg.find("throughput >= 80 tokens/s"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nearest miss: Q2_K / avx512 / 2t / - misses throughput >= 80 tokens/s by 5 tokens/s (6%)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find(" and memory"), std::string::npos) << msg;  // Q2_K fits the memory budget

  // Every speed cell invalid: nothing was held to a constraint, so no "nearest miss" is claimed.
  auto rs = model_results();
  for (auto& r : rs)
    if (r.cell.suite == "decode") r = qbt::invalid(r);
  Decision d3 = decide(rs, DecisionOptions{});
  EXPECT_TRUE(d3.top(1).empty());
  EXPECT_FALSE(d3.unsatisfied);
}

TEST(DecisionModel, NoCandidatePassesTheGatesIsAWarning) {
  DecisionOptions o;
  o.gate_max_kld = 0.001;  // every KLD is above: Q8_0 nearest, 0.001 over (100%)
  Decision d = decide(model_results(), o);
  EXPECT_FALSE(d.unsatisfied);
  ASSERT_TRUE(d.no_gate_pass);
  EXPECT_EQ(d.top(1).size(), 1u);  // still ranked
  std::string msg = d.no_gate_pass->message();
  EXPECT_NE(msg.find("no candidate passes every default gate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nearest miss: Q8_0"), std::string::npos) << msg;
}

TEST(DecisionModel, HtmlParetoPlotPointsAndFront) {
  const auto rs = model_results();
  const std::string html = render_html(qbt::make_report(rs), "");
  // The section exists, near the top (before the machine table), and needs no script or asset.
  auto sec = html.find("id=\"decision-model\""), machine = html.find("id=\"machine\"");
  ASSERT_NE(sec, std::string::npos);
  EXPECT_LT(sec, machine);
  auto svgs = tags(html, "svg", "class=\"pareto\"");
  ASSERT_EQ(svgs.size(), 1u);
  const auto& s = svgs[0];
  const double left = num(s, "data-left"), top = num(s, "data-top"), w = num(s, "data-width"),
               h = num(s, "data-height");
  const double x0 = num(s, "data-x-min"), x1 = num(s, "data-x-max"), y0 = num(s, "data-y-min"),
               y1 = num(s, "data-y-max");
  auto pts = tags(html, "circle", "data-candidate=");
  ASSERT_EQ(pts.size(), std::size(kFormats));  // one point per candidate
  std::map<std::string, bool> front_drawn;
  std::vector<double> r2_per_bit;
  for (const auto& p : pts) {
    std::string id = p.at("data-candidate");
    std::string format = id.substr(0, id.find(' '));
    SCOPED_TRACE(id);
    const F& f = input(format);
    EXPECT_DOUBLE_EQ(num(p, "data-kld"), f.kld);
    EXPECT_DOUBLE_EQ(num(p, "data-tps"), f.decode_tps);
    EXPECT_LE(x0, f.decode_tps);
    EXPECT_GE(x1, f.decode_tps);
    EXPECT_LE(y0, f.kld);
    EXPECT_GE(y1, f.kld);
    EXPECT_NEAR(num(p, "cx"), left + (f.decode_tps - x0) / (x1 - x0) * w, 0.01);
    EXPECT_NEAR(num(p, "cy"), top + (std::log10(y1) - std::log10(f.kld)) / (std::log10(y1) - std::log10(y0)) * h, 0.01);
    r2_per_bit.push_back(num(p, "r") * num(p, "r") / f.bpw);
    front_drawn[format] = p.at("class").find("front") != std::string::npos;
  }
  for (double v : r2_per_bit) EXPECT_NEAR(v, r2_per_bit[0], r2_per_bit[0] * 0.01);  // area ~ bits/weight
  // Front by brute force on the inputs: not dominated on (lower KLD, higher decode tokens/s).
  int front_n = 0;
  for (const auto& a : kFormats) {
    bool dominated = false;
    for (const auto& b : kFormats)
      if (&a != &b && b.kld <= a.kld && b.decode_tps >= a.decode_tps && (b.kld < a.kld || b.decode_tps > a.decode_tps))
        dominated = true;
    EXPECT_EQ(front_drawn[a.name], !dominated) << a.name;
    front_n += !dominated;
  }
  EXPECT_EQ(front_n, 5);  // Q3_K_M is dominated by Q4_0 (lower KLD, faster)
  EXPECT_EQ(tags(html, "text", "class=\"front-label\"").size(), size_t(front_n));
  EXPECT_GE(tags(html, "text", "class=\"xlabel\"").size(), 3u);  // axes with ticks
  EXPECT_GE(tags(html, "text", "class=\"ylabel\"").size(), 3u);
  // A report without model cells has no Decision section.
  EXPECT_EQ(render_html(qbt::make_report(qbt::sample_results()), "").find("id=\"decision-model\""), std::string::npos);
}

TEST(DecisionModel, HtmlTimeShareBarsMatchTheShares) {
  const std::string html = render_html(qbt::make_report(model_results()), "");
  auto bars = tags(html, "svg", "class=\"timeshare\"");
  ASSERT_EQ(bars.size(), 2 * (std::size(kFormats) - 1));  // Q2_K has no split: no bar
  for (const auto& b : bars) {
    const std::string format = b.at("data-format"), phase = b.at("data-phase");
    SCOPED_TRACE(format + " " + phase);
    EXPECT_NE(format, "Q2_K");
    const F& f = input(format);
    const double W = num(b, "data-bar-width"), sum = f.share[0] + f.share[1] + f.share[2];
    // The rects of this bar follow its <svg> tag.
    auto at = html.find("<svg class=\"timeshare\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + b.at("width") +
                        "\" height=\"12\" data-format=\"" + format + "\" data-phase=\"" + phase + "\"");
    ASSERT_NE(at, std::string::npos);
    std::string bar = html.substr(at, html.find("</svg>", at) - at);
    double x = 0;
    const char* parts[] = {"ts-matmul", "ts-attention", "ts-other"};
    for (int i = 0; i < 3; ++i) {
      auto r = tags(bar, "rect", std::string("class=\"") + parts[i] + "\"");
      ASSERT_EQ(r.size(), 1u) << parts[i];
      EXPECT_NEAR(num(r[0], "width"), f.share[i] / sum * W, 0.002) << parts[i];
      EXPECT_NEAR(num(r[0], "x"), x, 0.002) << parts[i];
      x += f.share[i] / sum * W;
    }
    EXPECT_NEAR(x, W, 1e-9);
  }
  // Without any time_share metric: a note instead of bars.
  auto rs = model_results();
  for (auto& r : rs)
    for (const char* k : {"time_share_matmul", "time_share_attention", "time_share_other"}) r.metrics.erase(k);
  const std::string none = render_html(qbt::make_report(rs), "");
  EXPECT_TRUE(tags(none, "svg", "class=\"timeshare\"").empty());
  EXPECT_NE(none.find("No time split in this report"), std::string::npos);
}

TEST(DecisionModel, CliExitCodeJUnitMarkdownHtml) {
  auto p = qbt::write("model_rec.json", qbt::make_report(model_results()).dump());
  std::string dir = qbt::tmpdir(), out;
  EXPECT_EQ(qbt::run_qbench("recommend " + p, &out), 0) << out;
  EXPECT_NE(out.find("1. Q4_K_M / avx512 / 2t / -"), std::string::npos) << out;
  ASSERT_EQ(qbt::run_qbench("recommend " + p + " --memory-budget 120MB --junit " + dir + "/r.xml --md " + dir +
                                "/r.md --html " + dir + "/r.html",
                            &out),
            1)
      << out;
  EXPECT_NE(out.find("no candidate satisfies memory <="), std::string::npos) << out;
  auto slurp = [](const std::string& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string junit = slurp(dir + "/r.xml"), md = slurp(dir + "/r.md"), html = slurp(dir + "/r.html");
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("nearest miss: Q2_K"), std::string::npos) << junit;
  EXPECT_NE(md.find("No recommendation"), std::string::npos) << md;
  EXPECT_NE(html.find("No recommendation"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, no JavaScript
  EXPECT_EQ(html.find("http://", html.find("<body")), html.find("http://www.w3.org/2000/svg", html.find("<body")));
  // The old class names still work.
  ASSERT_EQ(qbt::run_qbench("recommend " + p + " --json --device-class desktop", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["device_class"], "laptop");
}
