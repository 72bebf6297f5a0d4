// `qbench import-gbench GB.json --into REPORT.json [--out OUT.json]`: Google Benchmark JSON
// (qbench-microbench's or any other program's) into a qbench report as cells of suite
// "microbench". Names "<workload>/<FORMAT>/<backend>/<MxK>[/...]" (qbench-microbench's) fill
// format, backend and workload; other names become the workload with format and backend "-".
// Repetitions of one benchmark become the samples of one cell; Google Benchmark's aggregates
// (mean/median/stddev/cv) are not imported (qbench recomputes its statistics from the samples).
// When REPORT.json does not exist a new report is created with this machine's fingerprint.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/formats.h"
#include "qb/measure.h"
#include "qb/metrics.h"
#include "qb/report.h"
#include "qb/results_db.h"

namespace qb {
namespace {

double unit_to_s(const std::string& u) {
  if (u == "ns") return 1e-9;
  if (u == "us") return 1e-6;
  if (u == "ms") return 1e-3;
  if (u == "s") return 1.0;
  throw UsageError(fmt::format("unknown Google Benchmark time_unit '{}'", u));
}

std::vector<std::string> split_slash(const std::string& s) {
  std::vector<std::string> v;
  size_t p = 0;
  while (true) {
    const size_t q = s.find('/', p);
    v.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return v;
}

}  // namespace

// Converts Google Benchmark JSON to cells (exposed for tests).
std::vector<CellResult> gbench_to_cells(const nlohmann::json& gb, const std::string& source) {
  if (!gb.is_object() || !gb.contains("benchmarks") || !gb["benchmarks"].is_array())
    throw UsageError(fmt::format("{}: field 'benchmarks' (array) missing: not Google Benchmark JSON", source));
  struct Group {
    nlohmann::json first;
    std::vector<double> samples;
    std::vector<double> bytes_per_s, items_per_s;
    std::string error;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> order;
  size_t i = 0;
  for (const auto& b : gb["benchmarks"]) {
    try {
      if (b.value("run_type", "iteration") != "iteration") {
        ++i;
        continue;
      }
      const std::string run_name = b.value("run_name", b.at("name").get<std::string>());
      const int threads = b.value("threads", 1);
      const std::string key = run_name + "#" + std::to_string(threads);
      auto [it, fresh] = groups.try_emplace(key);
      if (fresh) {
        it->second.first = b;
        order.push_back(key);
      }
      if (b.value("error_occurred", false)) {
        it->second.error = b.value("error_message", "error");
      } else {
        const int64_t iters = std::max<int64_t>(1, b.value("iterations", int64_t(1)));
        (void)iters;  // real_time is already per iteration
        it->second.samples.push_back(b.at("real_time").get<double>() * unit_to_s(b.value("time_unit", "ns")));
        if (b.contains("bytes_per_second")) it->second.bytes_per_s.push_back(b["bytes_per_second"].get<double>());
        if (b.contains("items_per_second")) it->second.items_per_s.push_back(b["items_per_second"].get<double>());
      }
    } catch (const UsageError&) {
      throw;
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("{}: benchmarks[{}]: {}", source, i, e.what()));
    }
    ++i;
  }
  std::vector<CellResult> out;
  for (const auto& key : order) {
    const Group& g = groups[key];
    const nlohmann::json& b = g.first;
    const std::string run_name = b.value("run_name", b["name"].get<std::string>());
    CellResult r;
    r.cell.suite = "microbench";
    r.cell.format = kNoField;
    r.cell.backend = kNoField;
    r.cell.workload = run_name;
    r.cell.threads = std::max(1, b.value("threads", 1));
    r.cell.placement = kNoField;
    auto parts = split_slash(run_name);
    if (parts.size() >= 4 && find_format(parts[1])) {
      r.cell.workload = parts[0] == "gemv" ? "gemv_" + parts[3] : parts[0] + "_" + parts[3];
      r.cell.format = std::string(find_format(parts[1])->name);
      r.cell.backend = parts[2];
    }
    r.cell.params = {{"gbench_name", run_name}, {"source", source}};
    if (b.contains("label")) r.cell.params["label"] = b["label"];
    if (b.contains("iterations")) r.cell.params["iterations"] = b["iterations"];
    if (!g.error.empty() || g.samples.empty()) {
      r.status = CellStatus::Failed;
      r.error = g.error.empty() ? "no timing in the Google Benchmark entry" : g.error;
      r.valid = false;
      r.reasons = {"failed: " + r.error};
      out.push_back(r);
      continue;
    }
    Measurement m;
    m.samples = g.samples;
    MeasureOptions o;
    o.min_samples = 1;
    o.min_time_s = 0;
    judge(m, o, false);
    r.samples = m.samples;
    r.has_stats = true;
    r.stats = m.stats;
    r.valid = m.valid;
    r.reasons = m.reasons;
    if (m.samples.size() == 1) r.cell.params["note"] = "one repetition: no spread (run with --benchmark_repetitions=N)";
    auto med = [](std::vector<double> v) { return percentile(std::move(v), 0.5); };
    r.metrics[metric::time_s] = m.stats.median;
    r.metrics[metric::ns_per_call] = m.stats.median * 1e9;
    if (!g.bytes_per_s.empty()) r.metrics[metric::gb_per_s] = med(g.bytes_per_s) / 1e9;
    if (!g.items_per_s.empty()) {
      r.cell.params["items_per_second"] = med(g.items_per_s);
      if (r.cell.format != "-")
        r.metrics[metric::gflop_per_s] = med(g.items_per_s) / 1e9;  // qbench-microbench: items = flops
    }
    out.push_back(r);
  }
  return out;
}

namespace {

void add_import(CLI::App& app) {
  struct Args {
    std::string gb, into, out, results;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "import-gbench", "Import Google Benchmark JSON (e.g. qbench-microbench's) into a report as 'microbench' cells");
  cmd->add_option("GB_JSON", a->gb, "Google Benchmark output (--benchmark_format=json or --benchmark_out)")->required();
  cmd->add_option("--into", a->into, "Report to add the cells to (created if absent)")->required();
  cmd->add_option("--out", a->out, "Write the result here instead of over --into");
  cmd->add_option("--results", a->results,
                  "Results database for the report's cells: sqlite:PATH or postgresql://... (default: "
                  "qbench-results.sqlite beside the report written; none: do not store)");
  cmd->callback([a] {
    std::ifstream in(a->gb);
    if (!in) throw UsageError(fmt::format("cannot read '{}'", a->gb));
    nlohmann::json gb;
    try {
      gb = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
      throw UsageError(fmt::format("{}: byte {}: not valid JSON", a->gb, e.byte));
    }
    auto cells = gbench_to_cells(gb, a->gb);
    nlohmann::json header, rep;
    std::vector<CellResult> results;
    if (std::filesystem::exists(a->into)) {
      rep = load_report(a->into);
      results = report_results(rep);
      header = {{"qbench", rep["qbench"]},
                {"created", rep.value("created", "")},
                {"machine", rep["machine"]},
                {"config", rep["config"]},
                {"run", rep["run"]}};
    } else {
      header = {{"qbench", qbench_build_info()},
                {"machine", machine_fingerprint()},
                {"config", nlohmann::json::object()},
                {"run", nlohmann::json::object()}};
    }
    // Re-importing the same benchmark replaces its cell.
    for (auto& c : cells) {
      auto it = std::find_if(results.begin(), results.end(),
                             [&](const CellResult& r) { return r.cell.key() == c.cell.key(); });
      if (it != results.end())
        *it = c;
      else
        results.push_back(c);
    }
    auto out = build_report(header, results);
    nlohmann::json imports = rep.is_object() && rep.contains("imports") ? rep["imports"] : nlohmann::json::array();
    imports.push_back({{"kind", "google-benchmark"},
                       {"source", a->gb},
                       {"cells", cells.size()},
                       {"context", gb.value("context", nlohmann::json::object())}});
    out["imports"] = imports;
    const std::string dst = a->out.empty() ? a->into : a->out;
    write_file_atomic(dst, out.dump(1));
    if (!globals().quiet)
      std::printf("imported %zu microbench cells from %s into %s\n", cells.size(), a->gb.c_str(), dst.c_str());
    set_exit_code(store_results(results_target(a->results, dst), out));
  });
}

}  // namespace
QB_REGISTER_COMMAND(import_gbench, "import-gbench", 60, add_import);
}  // namespace qb
