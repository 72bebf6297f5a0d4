// The HTML report: one self-contained file (Chart.js inlined from Debian's libjs-chart.js at
// generation time; no network requests), readable on a laptop, printable.
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "decision_html.h"
#include "decision_render.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "reporter.h"
#include "tables.h"

namespace qb::rep {

std::string find_chartjs_path() {
  if (const char* e = std::getenv("QB_CHARTJS")) {
    std::string p = e;
    if (p == "none" || p.empty()) return "";
    return std::filesystem::exists(p) ? p : "";
  }
  for (const char* p : {"/usr/share/javascript/chart.js/chart.umd.js", "/usr/share/javascript/chart.js/chart.min.js",
                        "/usr/share/javascript/chart.js/Chart.min.js", "/usr/share/javascript/chart.js/chart.js"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

std::string load_chartjs() {
  std::string p = find_chartjs_path();
  if (p.empty()) return "";
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  // Only a UMD/global build defines window.Chart from a classic <script>; ES modules do not.
  if (s.find("export default") != std::string::npos && s.find("globalThis") == std::string::npos) return "";
  return s;
}

namespace {

using nlohmann::json;

std::string esc(const std::string& s) { return html_escape(s); }
// A metric of a cell as stored (estimate or not), dflt when the cell has no number under that name.
double metric_of(const CellResult& r, const std::string& m, double dflt = NAN) {
  if (!r.metrics.is_object()) return dflt;
  auto it = r.metrics.find(m);
  return it != r.metrics.end() && it->is_number() ? it->get<double>() : dflt;
}
bool ok(const CellResult& r) { return r.status == CellStatus::Ok; }

const char* kCss = R"CSS(
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0969da;--bad:#cf222e;--good:#1a7f37;--warn:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
nav{font-size:13px;margin:6px 0 12px}nav a{margin-right:12px;color:var(--accent);text-decoration:none}
.meta{color:var(--muted)}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px;margin:8px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;min-width:130px}
.card b{display:block;font-size:20px}
.recs li{margin:4px 0}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
td.num,td[data-v]{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th.asc::after{content:" ▲"}table.sortable th.desc::after{content:" ▼"}
tr.pareto td:first-child{font-weight:bold}
tr.excluded{color:var(--muted)}
tr.invalid td,td.invalid,li.invalid{background:#eaeef2 !important;color:#6e7781 !important}
small.est{font-style:italic;color:var(--warn)}
td.pass{color:var(--good)}td.fail{color:var(--bad);font-weight:600}td.na{color:var(--muted)}
td.why{min-width:320px;font-size:12px}
.bad{color:var(--bad)}.warn{color:var(--warn)}
.heat td.v{text-align:right;font-variant-numeric:tabular-nums;min-width:70px}
.chart{position:relative;height:340px;max-width:1000px;margin:8px 0 16px}
pre{background:#f6f8fa;border:1px solid var(--line);padding:8px;overflow:auto;font-size:12px;max-height:480px}
@media print{
  nav,.noprint{display:none}
  main{max-width:none;padding:0}
  body{font-size:11px}
  h2{break-after:avoid}
  table,.chart,figure{break-inside:avoid}
  .wrap{overflow:visible}
  th{position:static}
  pre{max-height:none;white-space:pre-wrap}
  .chart{height:260px}
}
)CSS";

// Sortable tables and charts; the charts set data-rendered / data-png on their canvas when drawn
// (the browser test reads them from the dumped DOM).
const char* kJs = R"JS(
(function(){
  function cellValue(td){var v=td.getAttribute('data-v');if(v!==null&&v!==''&&!isNaN(parseFloat(v)))return parseFloat(v);return td.textContent.trim().toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('thead th').forEach(function(th,i){
      th.addEventListener('click',function(){
        var asc=!th.classList.contains('asc');
        t.querySelectorAll('thead th').forEach(function(h){h.classList.remove('asc','desc');});
        th.classList.add(asc?'asc':'desc');
        var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=cellValue(a.cells[i]),y=cellValue(b.cells[i]);
          if(typeof x==='number'&&typeof y==='number')return asc?x-y:y-x;
          if(typeof x==='number')return -1;if(typeof y==='number')return 1;
          return asc?String(x).localeCompare(String(y)):String(y).localeCompare(String(x));});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  var data=JSON.parse(document.getElementById('qb-data').textContent);
  var drawn=0;
  if(typeof Chart==='undefined'){document.body.setAttribute('data-charts','unavailable');return;}
  var palette=['#0969da','#cf222e','#1a7f37','#9a6700','#8250df','#bf3989','#0a3069','#953800','#116329','#6e7781','#54aeff','#fa4549'];
  var marked=function(canvas){
    try{var url=canvas.toDataURL('image/png');canvas.setAttribute('data-png',String(url.length));}catch(e){canvas.setAttribute('data-png','error');}
    canvas.setAttribute('data-rendered','1');drawn++;document.body.setAttribute('data-charts-rendered',String(drawn));
  };
  var done={id:'qbDone',afterRender:function(chart){if(!chart.$qbDone){chart.$qbDone=true;marked(chart.canvas);}}};
  Chart.defaults.animation=false;Chart.defaults.responsive=true;Chart.defaults.maintainAspectRatio=false;
  (data.charts||[]).forEach(function(c){
    var el=document.getElementById(c.id);if(!el)return;
    var notes=false;
    c.config.data.datasets.forEach(function(ds,i){var col=ds.color||palette[i%palette.length],fill=col+(c.config.type==='bar'?'cc':'');
      if(!ds.backgroundColor)ds.backgroundColor=ds.greyed?ds.greyed.map(function(g){return g?'#afb8c1':fill;}):fill;
      if(!ds.borderColor)ds.borderColor=ds.greyed?ds.greyed.map(function(g){return g?'#8c959f':col;}):col;
      if(ds.notes)notes=true;delete ds.color;delete ds.greyed;});
    c.config.plugins=[done];
    if(notes){c.config.options=c.config.options||{};c.config.options.plugins=c.config.options.plugins||{};
      c.config.options.plugins.tooltip={callbacks:{afterLabel:function(ctx){var n=ctx.dataset.notes;return n&&n[ctx.dataIndex]?n[ctx.dataIndex]:'';}}};}
    if(c.tooltipLabels){c.config.options=c.config.options||{};c.config.options.plugins=c.config.options.plugins||{};
      c.config.options.plugins.tooltip={callbacks:{label:function(ctx){var p=ctx.raw||{};return (p.label?p.label+': ':'')+'('+ctx.parsed.x+', '+ctx.parsed.y+')';}}};}
    new Chart(el.getContext('2d'),c.config);
  });
  window.addEventListener('beforeprint',function(){for(var id in Chart.instances){Chart.instances[id].resize();}});
})();
)JS";

// Colour for a heatmap cell, value in [0,1] (log-scaled by the caller).
std::string heat_color(double t) {
  if (!std::isfinite(t)) return "#ffffff";
  t = std::clamp(t, 0.0, 1.0);
  // white -> blue
  int r = int(255 - t * (255 - 33)), g = int(255 - t * (255 - 113)), b = int(255 - t * (255 - 181));
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}
std::string text_color(double t) { return t > 0.6 ? "#ffffff" : "#1b1f24"; }

// <tr> of a cell: greyed with its reasons on hover when its measurement is invalid.
std::string row_open(const CellResult& r) {
  return is_invalid(r) ? "<tr class=\"invalid\" title=\"" +
                             esc("invalid, left out of every mean and ranking: " + invalid_reason(r)) + "\">"
                       : std::string("<tr>");
}

// <td> of one metric of a cell, labelled when the number is an estimate.
// with_est_form: a fixed column also shows the metric's est_NAME form.
std::string metric_td(const CellResult& r, const std::string& metric, const char* missing, bool with_est_form = false) {
  auto v = metric_value(r, metric, with_est_form);
  if (!v) return fmt::format("<td data-v=\"\">{}</td>", missing);
  return fmt::format("<td data-v=\"{}\"{}>{}{}</td>", v->value,
                     v->estimate ? " class=\"est\" title=\"estimate, not a measurement\"" : "", fmt_num(v->value),
                     v->estimate ? " <small class=\"est\">estimate</small>" : "");
}

struct Builder {
  std::string html;
  json charts = json::array();
  int chart_no = 0;

  std::string add_chart(json config, bool tooltip_labels = false, const std::string& caption = "") {
    std::string id = fmt::format("chart{}", ++chart_no);
    charts.push_back({{"id", id}, {"config", std::move(config)}, {"tooltipLabels", tooltip_labels}});
    return fmt::format(
        "<figure><div class=\"chart\"><canvas id=\"{}\" role=\"img\" aria-label=\"{}\"></canvas></div>{}</figure>\n",
        id, esc(caption), caption.empty() ? "" : "<figcaption class=\"meta\">" + esc(caption) + "</figcaption>");
  }

  // One performance table (one suite, one kind of work, one metric) as a heatmap, and its chart.
  // Invalid entries are greyed with their reasons on hover and take no part in the colour scale.
  void perf_table(const PerfTable& t) {
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& [row, m] : t.at)
      for (const auto& [c, e] : m)
        if (!e.invalid_only) lo = std::min(lo, std::log(e.value)), hi = std::max(hi, std::log(e.value));
    html += fmt::format("<h3 data-kind=\"{}\">{}</h3>\n", esc(t.kind.key), esc(t.title()));
    std::string meta = t.aggregation;
    if (t.estimate)
      meta += std::string(meta.empty() ? "" : "; ") + "every number here is an estimate, not a measurement";
    html += "<p class=\"meta\">" + esc(meta + (meta.empty() ? "" : ". ")) +
            "Greyed: invalid measurement, shown for reference and left out of every mean (reason on hover); † invalid "
            "cells left out of the number.</p>\n";
    html += fmt::format(
        "<div class=\"wrap\"><table class=\"heat\" data-suite=\"{}\" data-kind=\"{}\" "
        "data-metric=\"{}\"><thead><tr><th>{}</th>",
        esc(t.suite), esc(t.kind.key), esc(t.metric), esc(t.row_header));
    for (const auto& c : t.cols) html += "<th>" + esc(c) + "</th>";
    html += "</tr></thead><tbody>\n";
    json datasets = json::array();
    std::map<std::string, json> data, greyed, notes;
    for (const auto& row : t.rows) {
      html += "<tr><th>" + esc(row) + "</th>";
      for (const auto& c : t.cols) {
        const TableEntry* e = t.find(row, c);
        std::string note = !e                ? ""
                           : e->invalid_only ? "invalid, left out of every mean: " + e->reasons
                           : e->invalid_left_out
                               ? fmt::format("{} invalid cell(s) left out: {}", e->invalid_left_out, e->reasons)
                               : "";
        if (e && e->estimate) note = "estimate" + std::string(note.empty() ? "" : "; ") + note;
        data[c].push_back(e ? json(e->value) : json(nullptr));
        greyed[c].push_back(e && e->invalid_only);
        notes[c].push_back(note);
        if (!e) {
          html += "<td class=\"v\">—</td>";
          continue;
        }
        std::string attrs = fmt::format(" data-row=\"{}\" data-col=\"{}\" data-v=\"{}\"{}", esc(row), esc(c), e->value,
                                        note.empty() ? "" : " title=\"" + esc(note) + "\"");
        std::string label = fmt_num(e->value) + (e->estimate ? " <small class=\"est\">estimate</small>" : "");
        if (e->invalid_only) {
          html += "<td class=\"v invalid\"" + attrs + ">" + label + " <small>invalid</small></td>";
          continue;
        }
        double x = hi > lo ? (std::log(e->value) - lo) / (hi - lo) : 0.5;
        html += fmt::format("<td class=\"v\" style=\"background:{};color:{}\"{}>{}{}</td>", heat_color(x),
                            text_color(x), attrs, label, e->invalid_left_out ? "<sup>†</sup>" : "");
      }
      html += "</tr>\n";
    }
    html += "</tbody></table></div>\n";
    for (const auto& c : t.cols)
      datasets.push_back({{"label", c}, {"data", data[c]}, {"greyed", greyed[c]}, {"notes", notes[c]}});
    std::string unit = metric_unit(t.metric);
    html += add_chart({{"type", "bar"},
                       {"data", {{"labels", t.rows}, {"datasets", datasets}}},
                       {"options",
                        {{"scales",
                          {{"y",
                            {{"type", "logarithmic"},
                             {"title", {{"display", true}, {"text", unit + (t.estimate ? " (estimate)" : "")}}}}}}}}}},
                      false, t.title() + " (log scale; grey bars: invalid, left out of means)");
  }
};

}  // namespace

std::string render_html(const nlohmann::json& report, const std::string& chartjs) {
  return HtmlReporter(chartjs).render(read_report(report));
}

std::string HtmlReporter::render(const Report& report) const {
  const std::string& chartjs = chartjs_;
  Builder b{{}, json::array(), 0};
  std::string& h = b.html;
  const json& run = report.run;
  const json& machine = report.machine;
  const json& topo = report.topology;
  const std::vector<CellResult>& res = report.results;
  const Decision& d = report.decision;
  const std::vector<std::string>& suites = report.suites;

  int n_ok = 0, n_failed = 0, n_invalid = 0, n_unsup = 0;
  for (const auto& r : res) {
    if (r.status == CellStatus::Unsupported)
      ++n_unsup;
    else if (!ok(r))
      ++n_failed;
    else if (!r.valid)
      ++n_invalid;
    else
      ++n_ok;
  }

  // --- Summary
  h += "<section id=\"summary\"><h2>Summary</h2>\n";
  h += "<div class=\"cards\">";
  h +=
      fmt::format("<div class=\"card\"><b>{}</b>cells</div><div class=\"card\"><b>{}</b>valid</div>", res.size(), n_ok);
  h += fmt::format("<div class=\"card\"><b class=\"{}\">{}</b>invalid</div>", n_invalid ? "warn" : "", n_invalid);
  h += fmt::format("<div class=\"card\"><b class=\"{}\">{}</b>failed</div>", n_failed ? "bad" : "", n_failed);
  if (n_unsup) h += fmt::format("<div class=\"card\"><b>{}</b>unsupported</div>", n_unsup);
  h += fmt::format("<div class=\"card\"><b>{}</b>suites</div></div>\n", suites.size());
  h += "<h3>Top recommendations</h3>\n";
  auto top = d.top(3);
  if (top.empty())
    h += "<p class=\"note\">No recommendation: the report has no candidate (format, backend) cells yet.</p>\n";
  else {
    h += "<ol class=\"recs\">";
    for (auto* c : top) h += "<li><b>" + esc(c->id()) + "</b> — " + esc(c->why) + "</li>";
    h += "</ol>\n";
  }
  for (const auto& n : d.notes) h += "<p class=\"meta\">Note: " + esc(n) + "</p>\n";
  h += "</section>\n";

  // --- Decision grounded in the model: near the top, where a reader looks for the answer.
  if (d.has_model_cells)
    h += "<section id=\"decision-model\"><h2>Decision</h2>\n" + decision_section_html(d, res) + "</section>\n";

  // --- Machine
  h += "<section id=\"machine\"><h2>Machine and topology</h2><div class=\"wrap\"><table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>\n";
  };
  row("CPU", json_field(topo, "cpu_model") + " (" + json_field(topo, "vendor") + ")");
  row("packages / cores / PUs",
      fmt::format("{} / {} / {} (SMT {})", json_field(topo, "packages"), json_field(topo, "cores"),
                  json_field(topo, "pus"), json_field(topo, "smt")));
  row("NUMA nodes", json_field(topo, "numa_nodes"));
  if (topo.contains("mem_total_bytes") && topo["mem_total_bytes"].is_number())
    row("memory", fmt_bytes(topo["mem_total_bytes"].get<double>()));
  if (topo.contains("caches") && topo["caches"].is_array()) {
    std::map<std::string, std::pair<int, double>> agg;
    for (const auto& c : topo["caches"]) {
      std::string k = fmt::format("L{} {}", json_field(c, "level"), json_field(c, "type"));
      agg[k].first++;
      agg[k].second = c.value("size_bytes", 0.0);
    }
    std::vector<std::string> v;
    for (auto& [k, p] : agg) v.push_back(fmt::format("{} {} × {}", k, p.first, fmt_bytes(p.second)));
    row("caches", fmt::format("{}", fmt::join(v, ", ")));
  }
  if (topo.contains("isa") && topo["isa"].is_array()) {
    std::vector<std::string> v;
    for (const auto& x : topo["isa"]) v.push_back(json_text(x));
    row("ISA", fmt::format("{}", fmt::join(v, " ")));
  }
  row("governor", json_field(topo, "governor"));
  row("hypervisor", json_field(topo, "hypervisor"));
  row("OS / kernel", json_field(topo, "os") + " / " + json_field(topo, "kernel"));
  if (machine.contains("counters"))
    row("hardware counters", machine["counters"].value("available", false)
                                 ? "available"
                                 : "unavailable: " + json_field(machine["counters"], "reason"));
  if (machine.contains("energy"))
    row("energy", machine["energy"].value("available", false)
                      ? "available"
                      : "unavailable: " + json_field(machine["energy"], "reason"));
  if (report.qbench) {
    const json& q = *report.qbench;
    row("qbench build",
        fmt::format("{} {} · {} · {} · {}", json_field(q, "version"), json_field(q, "git_revision"),
                    json_field(q, "compiler"), json_field(q, "build_type"), json_field(q, "cxx_flags")));
  }
  h += "</table></div></section>\n";

  // --- Performance: one table and chart per suite and kind of work, each in its own metric
  h += "<section id=\"heatmaps\"><h2>Performance by kind of work</h2>\n";
  h += "<p class=\"meta\">One table per kind of work (GEMV n=1 in GB/s of weights, small batch and GEMM in GFLOP/s, "
       "model-level in tokens/s): a number never mixes kinds.</p>\n";
  const auto tables = perf_tables(res);
  for (const auto& t : tables) b.perf_table(t);
  if (tables.empty()) h += "<p class=\"meta\">No throughput metric (GB/s, GFLOP/s or tokens/s) in this report.</p>\n";
  h += "</section>\n\n";

  // --- Latency distributions
  h += "<section id=\"latency\"><h2>Latency distributions</h2>\n";
  {
    std::vector<size_t> lat;
    for (size_t i = 0; i < res.size(); ++i)
      if (ok(res[i]) && (res[i].cell.suite == "latency" || std::isfinite(metric_of(res[i], metric::p99_us))))
        lat.push_back(i);
    if (lat.empty())
      h += "<p class=\"meta\">No latency cells in this report (run <code>--suites latency</code>).</p>\n";
    else {
      h += "<div class=\"wrap\"><table class=\"sortable\"><thead><tr><th>cell</th><th data-type=\"num\">p50 "
           "(us)</th><th>p90 (us)</th><th>p99 (us)</th><th>decode "
           "(ms)</th><th>tokens/s</th><th>n</th><th>valid</th></tr></thead><tbody>\n";
      json ds = json::array();
      int series = 0;
      for (size_t i : lat) {
        const CellResult& cr = res[i];
        auto num = [&](const char* m) { return metric_td(cr, m, "—", true); };
        std::string n = cr.has_stats ? std::to_string(cr.stats.n) : "";
        h += row_open(cr) + "<td>" + esc(cell_label(cr)) + "</td>" + num(metric::p50_us) + num(metric::p90_us) +
             num(metric::p99_us) + num(metric::decode_ms) + num(metric::tokens_per_s) + "<td>" + esc(n) + "</td><td>" +
             (cr.valid ? "yes" : "<span class=\"warn\">no</span>") + "</td></tr>\n";
        // CDF of the raw samples (µs), at most 12 series and 200 points each.
        if (series < 12 && cr.samples.size() >= 2) {
          std::vector<double> s;
          for (double x : cr.samples) s.push_back(x * 1e6);
          std::sort(s.begin(), s.end());
          json pts = json::array();
          size_t step = std::max<size_t>(1, s.size() / 200);
          for (size_t i = 0; i < s.size(); i += step)
            pts.push_back({{"x", s[i]}, {"y", 100.0 * double(i + 1) / double(s.size())}});
          pts.push_back({{"x", s.back()}, {"y", 100.0}});
          json line = {
              {"label", cell_label(cr)}, {"data", pts}, {"showLine", true}, {"pointRadius", 0}, {"borderWidth", 1.5}};
          if (is_invalid(cr))
            line["label"] = cell_label(cr) + " (invalid: " + invalid_reason(cr) + ")", line["color"] = "#afb8c1",
            line["borderDash"] = {4, 3};
          ds.push_back(line);
          ++series;
        }
      }
      h += "</tbody></table></div>\n";
      if (!ds.empty())
        h += b.add_chart(
            {{"type", "scatter"},
             {"data", {{"datasets", ds}}},
             {"options",
              {{"scales",
                {{"x", {{"type", "logarithmic"}, {"title", {{"display", true}, {"text", "latency of one call (us)"}}}}},
                 {"y", {{"min", 0}, {"max", 100}, {"title", {{"display", true}, {"text", "percentile"}}}}}}}}}},
            false, "Cumulative distribution of the raw timing samples");
    }
  }
  h += "</section>\n";

  // --- Quality vs bits/weight
  h += "<section id=\"quality\"><h2>Quality vs bits per weight</h2>\n";
  {
    // Per format: SNR on the decision's distribution (and ppl/kld when present), bits/weight.
    // A format known only from invalid cells is shown greyed and kept off the Pareto front.
    struct QP {
      double bpw = NAN, snr = NAN, ppl = NAN, kld = NAN, cos = NAN;
      std::string invalid;
    };
    std::map<std::string, QP> qp;
    for (bool valid_pass : {true, false})
      for (size_t i = 0; i < res.size(); ++i) {
        const CellResult& r = res[i];
        if ((valid_pass ? !counts(r) : !is_invalid(r)) || r.cell.format == "-") continue;
        const std::string& s = r.cell.suite;
        QP& q = qp[r.cell.format];
        const bool fill = valid_pass || (!std::isfinite(q.snr) && !std::isfinite(q.ppl));
        if (!fill) continue;
        if (s == "quant-error" && r.cell.workload == d.distribution) {
          q.snr = metric_of(r, metric::snr_db);
          q.cos = metric_of(r, metric::cosine);
          q.bpw = metric_of(r, metric::bits_per_weight, q.bpw);
          if (!valid_pass) q.invalid = invalid_reason(res[i]);
        } else if (s == "perplexity") {
          if (std::isfinite(metric_of(r, metric::ppl))) q.ppl = metric_of(r, metric::ppl);
          if (std::isfinite(metric_of(r, metric::kld))) q.kld = metric_of(r, metric::kld);
          if (!valid_pass && std::isfinite(q.ppl)) q.invalid = invalid_reason(res[i]);
        }
        if (!std::isfinite(q.bpw) && std::isfinite(metric_of(r, metric::bits_per_weight)))
          q.bpw = metric_of(r, metric::bits_per_weight);
      }
    bool any_ppl = false, any_snr = false;
    for (auto& [f, q] : qp)
      any_ppl |= std::isfinite(q.ppl) && std::isfinite(q.bpw), any_snr |= std::isfinite(q.snr) && std::isfinite(q.bpw);
    auto quality_chart = [&](bool ppl) {
      // Pareto front: fewer bits and better quality (higher SNR / lower ppl).
      std::vector<std::tuple<double, double, std::string>> pts;
      for (auto& [f, q] : qp) {
        double y = ppl ? q.ppl : q.snr;
        if (std::isfinite(y) && std::isfinite(q.bpw)) pts.push_back({q.bpw, y, f});
      }
      std::set<std::string> front;
      for (auto& [x, y, f] : pts) {
        if (!qp[f].invalid.empty()) continue;
        bool dominated = false;
        for (auto& [x2, y2, f2] : pts) {
          if (!qp[f2].invalid.empty()) continue;
          bool better_y = ppl ? y2 < y : y2 > y, ge_y = ppl ? y2 <= y : y2 >= y;
          if (f2 != f && x2 <= x && ge_y && (x2 < x || better_y)) dominated = true;
        }
        if (!dominated) front.insert(f);
      }
      json all = json::array(), fr = json::array(), grey = json::array();
      std::vector<std::tuple<double, double, std::string>> fpts;
      for (auto& [x, y, f] : pts) {
        (qp[f].invalid.empty() ? all : grey)
            .push_back({{"x", x}, {"y", y}, {"label", qp[f].invalid.empty() ? f : f + " (invalid)"}});
        if (front.count(f)) fpts.push_back({x, y, f});
      }
      std::sort(fpts.begin(), fpts.end());
      for (auto& [x, y, f] : fpts) fr.push_back({{"x", x}, {"y", y}, {"label", f}});
      std::string what = ppl ? "perplexity (lower is better)" : "SNR (dB, " + d.distribution + ")";
      json sets = json::array({{{"label", "Pareto front"},
                                {"data", fr},
                                {"showLine", true},
                                {"color", "#cf222e"},
                                {"pointRadius", 6},
                                {"borderWidth", 2}},
                               {{"label", "formats"}, {"data", all}, {"color", "#0969da"}, {"pointRadius", 4}}});
      if (!grey.empty())
        sets.push_back(
            {{"label", "invalid (off the front)"}, {"data", grey}, {"color", "#afb8c1"}, {"pointRadius", 4}});
      h += b.add_chart({{"type", "scatter"},
                        {"data", {{"datasets", sets}}},
                        {"options",
                         {{"scales",
                           {{"x", {{"title", {{"display", true}, {"text", "bits per weight"}}}}},
                            {"y", {{"title", {{"display", true}, {"text", what}}}}}}}}}},
                       true, "Quality vs storage: " + what + "; the red line joins the Pareto-optimal formats");
      h += "<div class=\"wrap\"><table class=\"sortable\"><thead><tr><th>format</th><th>bits/w</th><th>" +
           esc(ppl ? "ppl" : "SNR (dB)") + "</th>" + (ppl ? "<th>KLD</th>" : "<th>cosine</th>") +
           "<th>Pareto</th></tr></thead><tbody>\n";
      for (auto& [x, y, f] : pts) {
        const QP& q = qp[f];
        double extra = ppl ? q.kld : q.cos;
        h += fmt::format(
            "<tr{}><td>{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td "
            "data-v=\"{}\">{}</td><td>{}</td></tr>\n",
            !q.invalid.empty()
                ? " class=\"invalid\" title=\"" + esc("invalid, off the Pareto front: " + q.invalid) + "\""
            : front.count(f) ? std::string(" class=\"pareto\"")
                             : std::string(),
            esc(f), x, fmt_num(x), y, fmt_num(y), std::isfinite(extra) ? fmt::format("{}", extra) : "",
            std::isfinite(extra) ? fmt_num(extra, 6) : "—", front.count(f) ? "★" : "");
      }
      h += "</tbody></table></div>\n";
    };
    if (!any_snr && !any_ppl)
      h += "<p class=\"meta\">No quality cells in this report (run <code>--suites quant-error</code>, or perplexity "
           "with a model).</p>\n";
    if (any_snr) quality_chart(false);
    if (any_ppl) quality_chart(true);
  }
  h += "</section>\n";

  // --- Framework comparison
  h += "<section id=\"frameworks\"><h2>Framework comparison</h2>\n<div class=\"wrap\">" +
       framework_comparison_html(d.comparison) + "</div></section>\n";

  // --- Decision matrix
  h += "<section id=\"decision\"><h2>Decision matrix</h2>\n";
  h += fmt::format("<p class=\"meta\">Baseline {}. Quality: {}. Speed: {}. {} Click a column to sort.</p>\n",
                   esc(d.baseline_format.empty() ? "none" : d.baseline_format), esc(d.quality_basis),
                   esc(d.speed_basis), esc(gates_line(d)));
  if (d.candidates.empty())
    h += "<p class=\"meta\">No candidates: no format cells in this report.</p>\n";
  else
    h += "<div class=\"wrap\">" + decision_matrix_html(d) + "</div>\n";
  h += "</section>\n";

  // --- Invalid and failed
  h += "<section id=\"flagged\"><h2>Invalid and failed cells</h2>\n";
  {
    std::string rows;
    for (const auto& r : res) {
      if (ok(r) && r.valid) continue;
      std::vector<std::string> reasons;
      if (!ok(r)) reasons.push_back(r.error);
      reasons.insert(reasons.end(), r.reasons.begin(), r.reasons.end());
      rows += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>\n", esc(r.cell.suite),
                          esc(cell_label(r)), ok(r) ? "warn" : "bad",
                          ok(r) ? "invalid" : esc(std::string(status_name(r.status))),
                          esc(fmt::format("{}", fmt::join(reasons, "; "))));
    }
    if (rows.empty())
      h += "<p>None: every cell is valid.</p>\n";
    else
      h += "<div class=\"wrap\"><table "
           "class=\"sortable\"><thead><tr><th>suite</th><th>cell</th><th>status</th><th>reasons</th></tr></"
           "thead><tbody>\n" +
           rows + "</tbody></table></div>\n";
  }
  h += "</section>\n";

  // --- All results (compact)
  h += "<section id=\"results\"><h2>All results</h2>\n";
  for (const auto& s : suites) {
    auto ms = suite_metrics(report, s);
    h += "<h3>" + esc(s) + "</h3><div class=\"wrap\"><table class=\"sortable\"><thead><tr><th>cell</th><th>status</th>";
    for (const auto& m : ms)
      h += "<th>" + esc(m) + (metric_unit(m).empty() ? "" : " (" + esc(metric_unit(m)) + ")") + "</th>";
    h += "<th>CV</th></tr></thead><tbody>\n";
    for (size_t i = 0; i < res.size(); ++i) {
      const CellResult& cr = res[i];
      if (cr.cell.suite != s) continue;
      h += row_open(cr) + "<td>" + esc(cell_label(cr)) + "</td><td>" +
           esc(ok(cr) ? (cr.valid ? "ok" : "invalid") : std::string(status_name(cr.status))) + "</td>";
      for (const auto& m : ms) h += metric_td(cr, m, "");
      double cv = cr.has_stats ? cr.stats.cv : NAN;
      h += std::isfinite(cv) ? fmt::format("<td data-v=\"{}\">{:.1f}%</td>", cv, cv * 100)
                             : std::string("<td data-v=\"\"></td>");
      h += "</tr>\n";
    }
    h += "</tbody></table></div>\n";
  }
  h += "</section>\n";

  // --- Run configuration
  h += "<section id=\"config\"><h2>Run configuration</h2>\n<pre>" + esc(report.config.dump(2)) + "</pre>\n";
  h += "<h3>Run</h3><pre>" + esc(run.dump(2)) + "</pre></section>\n";

  // --- Page
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
      "style-src 'unsafe-inline'; img-src data:\">\n";
  page += "<title>qbench report — " + esc(json_field(topo, "cpu_model")) + "</title>\n<style>" + kCss + decision_css() +
          "</style></head>\n<body>\n<main>\n";
  page += "<h1>qbench report</h1>\n";
  page += fmt::format(
      "<p class=\"meta\">{} · {} · schema {} · {} cells in {} s</p>\n", esc(report.created),
      esc(json_field(topo, "cpu_model")), esc(report.schema_version), res.size(),
      esc(run.contains("wall_s") && run["wall_s"].is_number() ? fmt_num(run["wall_s"].get<double>(), 3) : "?"));
  page += "<nav class=\"noprint\"><a href=\"#summary\">Summary</a>" +
          std::string(d.has_model_cells ? "<a href=\"#decision-model\">Decision</a>" : "") +
          "<a href=\"#machine\">Machine</a><a href=\"#heatmaps\">Performance</a>"
          "<a href=\"#latency\">Latency</a><a href=\"#quality\">Quality</a><a href=\"#frameworks\">Frameworks</a>"
          "<a href=\"#decision\">Decision matrix</a>"
          "<a href=\"#flagged\">Invalid/failed</a><a href=\"#results\">All results</a><a "
          "href=\"#config\">Configuration</a></nav>\n";
  if (chartjs.empty())
    page +=
        "<p class=\"note\" id=\"no-charts\">Charts unavailable: Chart.js (Debian package libjs-chart.js) was not found "
        "when this report was generated; tables only.</p>\n";
  page += h;
  page += "</main>\n<script type=\"application/json\" id=\"qb-data\">" + script_json({{"charts", b.charts}}) +
          "</script>\n";
  if (!chartjs.empty()) {
    std::string js = chartjs;
    // "</script" would end the element early; "<\/script" means the same inside JS strings and regexes.
    for (size_t p = 0; p + 8 <= js.size(); ++p)
      if (js[p] == '<' && js[p + 1] == '/' &&
          (js.compare(p + 2, 6, "script") == 0 || js.compare(p + 2, 6, "SCRIPT") == 0))
        js.replace(p, 2, "<\\/");
    page += "<script>" + js + "\n</script>\n";
  }
  page += std::string("<script>") + kJs + "</script>\n</body></html>\n";
  return page;
}

}  // namespace qb::rep
