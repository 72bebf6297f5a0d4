#include "qualify.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/report.h"
#include "qualification_render.h"
#include "report_common.h"

namespace qb::rep {

namespace {

const char* kOps[] = {">=", ">", "<=", "<", "==", "!="};
const char* kAggs[] = {"worst", "min", "max", "mean", "median", "geomean", "sum", "count"};
const char* kCellFields[] = {"suite", "format", "backend", "workload", "threads", "placement", "status"};

bool in(const std::string& s, const auto& arr) { return std::find(std::begin(arr), std::end(arr), s) != std::end(arr); }

// The value of a selector field for a cell (json), or null when absent.
nlohmann::json field_value(const CellResult& r, const std::string& field) {
  if (field == "suite") return r.cell.suite;
  if (field == "format") return r.cell.format;
  if (field == "backend") return r.cell.backend;
  if (field == "workload") return r.cell.workload;
  if (field == "threads") return r.cell.threads;
  if (field == "placement") return r.cell.placement;
  if (field == "status") return std::string(status_name(r.status));
  if (field.rfind("params.", 0) == 0) {
    auto it = r.cell.params.find(field.substr(7));
    return it == r.cell.params.end() ? nlohmann::json(nullptr) : *it;
  }
  return nullptr;
}

bool match_one(const nlohmann::json& want, const nlohmann::json& have) {
  if (have.is_null()) return false;
  if (want.is_string()) {
    return glob_match(want.get<std::string>(), json_text(have));
  }
  if (want.is_number() && have.is_number()) return want.get<double>() == have.get<double>();
  if (want.is_boolean() && have.is_boolean()) return want == have;
  return false;
}

bool matches(const CellResult& r, const nlohmann::json& select) {
  for (const auto& [field, want] : select.items()) {
    auto have = field_value(r, field);
    if (want.is_array()) {
      if (!std::any_of(want.begin(), want.end(), [&](const auto& w) { return match_one(w, have); })) return false;
    } else if (!match_one(want, have)) {
      return false;
    }
  }
  return true;
}

double aggregate(std::vector<double> v, const std::string& agg, bool hib) {
  if (agg == "count") return double(v.size());
  if (agg == "worst") return hib ? *std::min_element(v.begin(), v.end()) : *std::max_element(v.begin(), v.end());
  if (agg == "min") return *std::min_element(v.begin(), v.end());
  if (agg == "max") return *std::max_element(v.begin(), v.end());
  if (agg == "sum") {
    double s = 0;
    for (double x : v) s += x;
    return s;
  }
  if (agg == "mean") {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  }
  if (agg == "median") {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  // geomean
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

bool compare_op(double v, const std::string& op, double t) {
  if (op == ">=") return v >= t;
  if (op == ">") return v > t;
  if (op == "<=") return v <= t;
  if (op == "<") return v < t;
  if (op == "==") return v == t;
  return v != t;
}

void validate_select(const nlohmann::json& sel, const std::string& where) {
  if (!sel.is_object()) throw UsageError(fmt::format("{}: must be an object of cell fields", where));
  for (const auto& [k, v] : sel.items()) {
    if (!in(k, kCellFields) && k.rfind("params.", 0) != 0)
      throw UsageError(fmt::format(
          "{}.{}: unknown field: use suite, format, backend, workload, threads, placement, status or params.NAME",
          where, k));
    auto ok = [](const nlohmann::json& x) { return x.is_string() || x.is_number() || x.is_boolean(); };
    if (v.is_array() ? !std::all_of(v.begin(), v.end(), ok) || v.empty() : !ok(v))
      throw UsageError(fmt::format("{}.{}: expected a string (glob), number, or a list of them", where, k));
  }
}

}  // namespace

void validate_profile(const nlohmann::json& p, const std::string& path) {
  if (!p.is_object()) throw UsageError(fmt::format("{}: a profile must be a JSON object", path));
  if (!p.contains("gates") || !p["gates"].is_array() || p["gates"].empty())
    throw UsageError(fmt::format("{}: field 'gates' missing, empty or not an array", path));
  if (p.contains("name") && !p["name"].is_string())
    throw UsageError(fmt::format("{}: field 'name' must be a string", path));
  size_t i = 0;
  for (const auto& g : p["gates"]) {
    std::string w = fmt::format("{}: gates[{}]", path, i++);
    if (!g.is_object()) throw UsageError(w + ": must be an object");
    if (!g.contains("name") || !g["name"].is_string() || g["name"].get<std::string>().empty())
      throw UsageError(w + ".name: missing or not a string");
    if (!g.contains("metric") || !g["metric"].is_string()) throw UsageError(w + ".metric: missing or not a string");
    if (!find_metric(g["metric"].get<std::string>()))
      throw UsageError(fmt::format("{}.metric: '{}' is not in the metric vocabulary (qbench metrics, qb/metrics.h)", w,
                                   g["metric"].get<std::string>()));
    if (!g.contains("op") || !g["op"].is_string() || !in(g["op"].get<std::string>(), kOps))
      throw UsageError(w + ".op: missing or not one of >= > <= < == !=");
    if (!g.contains("threshold") || !g["threshold"].is_number())
      throw UsageError(w + ".threshold: missing or not a number");
    if (g.contains("aggregate") && (!g["aggregate"].is_string() || !in(g["aggregate"].get<std::string>(), kAggs)))
      throw UsageError(w + ".aggregate: not one of worst, min, max, mean, median, geomean, sum, count");
    validate_select(g.value("select", nlohmann::json::object()), w + ".select");
    if (g.contains("baseline")) validate_select(g["baseline"], w + ".baseline");
    for (const char* b : {"require_valid", "optional"})
      if (g.contains(b) && !g[b].is_boolean()) throw UsageError(fmt::format("{}.{}: must be true or false", w, b));
    if (g.contains("min_cells") && (!g["min_cells"].is_number_integer() || g["min_cells"].get<int>() < 0))
      throw UsageError(w + ".min_cells: must be an integer >= 0");
    for (const auto& [k, v] : g.items())
      if (!in(k, std::vector<std::string>{"name", "description", "select", "metric", "aggregate", "op", "threshold",
                                          "baseline", "require_valid", "min_cells", "optional"}))
        throw UsageError(fmt::format("{}.{}: unknown field", w, k));
  }
}

Qualification qualify(const nlohmann::json& profile, const std::string& profile_path,
                      const std::vector<CellResult>& results, bool include_invalid) {
  validate_profile(profile, profile_path);
  Qualification q;
  q.profile_path = profile_path;
  q.profile_name = profile.value("name", profile_path);
  for (const auto& g : profile["gates"]) {
    GateResult gr;
    gr.name = g["name"].get<std::string>();
    gr.metric = g["metric"].get<std::string>();
    gr.op = g["op"].get<std::string>();
    gr.threshold = g["threshold"].get<double>();
    gr.aggregate = g.value("aggregate", "worst");
    const bool hib = higher_is_better(gr.metric);
    // Invalid cells never decide a gate unless the gate or the command says so.
    const bool require_valid = !include_invalid && g.value("require_valid", true);
    const int min_cells = g.value("min_cells", 1);
    const nlohmann::json sel = g.value("select", nlohmann::json::object());

    int matched = 0;  // every selected cell, any status (what "count" counts)
    int included_invalid = 0, estimates_ignored = 0;
    bool estimated = false;
    // A measured value always outranks an estimated one: estimates count only when no selected
    // cell measured the metric.
    auto collect = [&](const nlohmann::json& s, int& dropped, int& failed) {
      std::vector<double> measured, estimates;
      int invalid_used = 0;
      matched = 0;
      for (const auto& r : results) {
        if (!matches(r, s)) continue;
        ++matched;
        if (r.status != CellStatus::Ok) {
          ++failed;
          continue;
        }
        if (!counts(r, !require_valid)) {
          ++dropped;
          continue;
        }
        if (auto mv = metric_value(r, gr.metric)) {
          (mv->estimate ? estimates : measured).push_back(mv->value);
          invalid_used += !r.valid;
        }
      }
      included_invalid = std::max(included_invalid, invalid_used);
      estimated = measured.empty() && !estimates.empty();
      if (!measured.empty()) estimates_ignored = std::max(estimates_ignored, int(estimates.size()));
      return measured.empty() ? estimates : measured;
    };
    int dropped = 0, failed = 0;
    auto vals = collect(sel, dropped, failed);
    const int matched_sel = matched;
    gr.cells = gr.aggregate == "count" ? matched_sel : int(vals.size());
    std::vector<std::string> notes;
    if (failed && gr.aggregate != "count") notes.push_back(fmt::format("{} matching cell(s) failed", failed));
    if (dropped) notes.push_back(fmt::format("{} invalid cell(s) dropped", dropped));
    if (estimated) notes.push_back(fmt::format("value is an estimate (no cell measured '{}')", gr.metric));
    if (estimates_ignored)
      notes.push_back(fmt::format("{} estimate(s) ignored: measured cells present", estimates_ignored));
    if (int(vals.size()) < std::max(1, min_cells) && gr.aggregate != "count") {
      gr.status = g.value("optional", false) ? "skipped" : "fail";
      notes.insert(notes.begin(), fmt::format("{} cell(s) with metric '{}' matched (need {})", vals.size(), gr.metric,
                                              std::max(1, min_cells)));
      gr.detail = fmt::format("{}", fmt::join(notes, "; "));
      q.gates.push_back(gr);
      continue;
    }
    if (included_invalid) notes.push_back(fmt::format("INCLUDES {} INVALID cell(s)", included_invalid));
    double value = vals.empty() ? 0 : aggregate(vals, gr.aggregate, hib);
    if (gr.aggregate == "count") value = double(matched_sel);
    if (g.contains("baseline")) {
      nlohmann::json bsel = sel;
      for (const auto& [k, v] : g["baseline"].items()) bsel[k] = v;
      int bd = 0, bf = 0;
      auto bvals = collect(bsel, bd, bf);
      if (bvals.empty()) {
        gr.status = g.value("optional", false) ? "skipped" : "fail";
        gr.detail = fmt::format("no baseline cell with metric '{}' matched {}", gr.metric, g["baseline"].dump());
        q.gates.push_back(gr);
        continue;
      }
      double b = aggregate(bvals, gr.aggregate, hib);
      gr.baseline_value = b;
      notes.insert(notes.begin(), fmt::format("{} of {} = {} vs baseline {} over {} cell(s)", gr.aggregate, gr.metric,
                                              fmt_num(value), fmt_num(b), bvals.size()));
      value = b != 0 ? (value / b - 1) * 100 : 0;
    }
    gr.value = value;
    const bool pass = compare_op(value, gr.op, gr.threshold);
    gr.status = pass ? "pass" : "fail";
    if (gr.op[0] == '>')
      gr.margin = value - gr.threshold;
    else if (gr.op[0] == '<')
      gr.margin = gr.threshold - value;
    else
      gr.margin = gr.op == "==" ? -std::fabs(value - gr.threshold) : std::fabs(value - gr.threshold);
    gr.margin_pct = gr.threshold != 0 ? gr.margin / std::fabs(gr.threshold) * 100 : 0;
    gr.detail = gr.baseline_value
                    ? fmt::format("change {:+.2f}% {} {}% {} over {} cell(s); {}", value, gr.op, fmt_num(gr.threshold),
                                  pass ? "(pass)" : "(FAIL)", gr.cells, fmt::join(notes, "; "))
                    : fmt::format("{} of {} over {} cell(s) = {} {} {} {}{}", gr.aggregate, gr.metric, gr.cells,
                                  fmt_num(value), gr.op, fmt_num(gr.threshold), pass ? "(pass)" : "(FAIL)",
                                  notes.empty() ? "" : fmt::format("; {}", fmt::join(notes, "; ")));
    q.gates.push_back(gr);
  }
  return q;
}

bool Qualification::pass() const {
  return std::none_of(gates.begin(), gates.end(), [](const GateResult& g) { return g.status == "fail"; });
}

namespace {

struct QualifyArgs {
  std::string profile, report, junit, json;
  bool include_invalid = false;
};

void add_qualify(CLI::App& app) {
  auto a = std::make_shared<QualifyArgs>();
  auto* cmd = app.add_subcommand("qualify",
                                 "Check a report against a profile of named gates (exit 0 pass, 1 fail, 2 bad input)");
  cmd->add_option("--profile", a->profile, "Profile JSON (see reports/profiles/)")->required();
  cmd->add_option("report", a->report, "report.json of a run")->required();
  cmd->add_option("--junit", a->junit, "Write JUnit XML (one testcase per gate)");
  cmd->add_option("--json", a->json, "Write the verdicts as JSON");
  cmd->add_flag(
      "--include-invalid", a->include_invalid,
      "Let cells whose measurement is invalid decide gates too (overrides require_valid; marked in the details)");
  cmd->callback([a] {
    std::ifstream in(a->profile);
    if (!in) throw UsageError(fmt::format("cannot read profile '{}'", a->profile));
    nlohmann::json p;
    try {
      p = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
      throw UsageError(fmt::format("{}: byte {}: not valid JSON", a->profile, e.byte));
    }
    validate_profile(p, a->profile);
    auto rep = load(a->report);
    Qualification q = qualify(p, a->profile, rep.results, a->include_invalid);
    q.report_path = a->report;
    if (!a->junit.empty()) write_file_atomic(a->junit, qualification_junit(q));
    if (!a->json.empty()) write_file_atomic(a->json, qualification_json(q).dump(2) + "\n");
    if (!globals().quiet) std::fputs(qualification_text(q).c_str(), stdout);
    set_exit_code(q.pass() ? kExitOk : kExitVerdict);
  });
}

}  // namespace
QB_REGISTER_COMMAND(qualify, "qualify", 62, add_qualify);
}  // namespace qb::rep
