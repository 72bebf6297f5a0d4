#include "qb/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/counters.h"
#include "qb/matmul.h"
#include "qb/peers.h"
#include "qb/report.h"
#include "qb/thread_pool.h"

namespace qb {

namespace fs = std::filesystem;

std::vector<std::string> all_backend_names() {
  std::vector<std::string> v;
  for (const auto& b : own_backends()) v.emplace_back(b.name);
  for (const auto& p : peer_backends()) v.push_back(p.name);
  return v;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

template <class F>
void check_names(const std::vector<std::string>& given, const std::vector<std::string>& valid, const char* what, F&& canon) {
  for (const auto& g : given) {
    bool ok = false;
    for (const auto& v : valid) ok = ok || canon(g) == canon(v);
    if (!ok) throw UsageError(fmt::format("unknown {} '{}'; valid {}s: {}", what, g, what, join(valid)));
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower((unsigned char)c));
  return s;
}

class Progress {
 public:
  Progress(int total, bool quiet) : total_(total), quiet_(quiet), tty_(isatty(2)), t0_(Clock::now()) {}
  void start(int done, const std::string& name) {
    if (quiet_) return;
    const double el = std::chrono::duration<double>(Clock::now() - t0_).count();
    std::string eta = "?";
    if (done > 0) eta = fmt::format("{:.0f}s", el / done * (total_ - done));
    if (tty_) {
      std::string line = fmt::format("[{}/{}] {}  (elapsed {:.0f}s, ETA {})", done + 1, total_, name, el, eta);
      if (line.size() > 110) line = line.substr(0, 107) + "...";
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else {
      std::fprintf(stderr, "[%d/%d] %s (ETA %s)\n", done + 1, total_, name.c_str(), eta.c_str());
    }
    std::fflush(stderr);
  }
  void finish() {
    if (!quiet_ && tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  using Clock = std::chrono::steady_clock;
  int total_;
  bool quiet_, tty_;
  Clock::time_point t0_;
};

}  // namespace

void validate_config(const RunConfig& cfg) {
  std::vector<std::string> suites;
  for (Suite* s : all_suites()) suites.push_back(s->name());
  check_names(cfg.suites, suites, "suite", [](const std::string& s) { return s; });
  std::vector<std::string> formats;
  for (const auto& t : all_formats()) formats.emplace_back(t.name);
  check_names(cfg.formats, formats, "format", lower);
  check_names(cfg.backends, all_backend_names(), "backend", lower);
  std::vector<std::string> placements;
  for (Placement p : all_placements()) placements.emplace_back(placement_name(p));
  check_names(cfg.placements, placements, "placement", [](const std::string& s) { return s; });
  for (int t : cfg.threads)
    if (t < 1 || t > 4096) throw UsageError(fmt::format("bad thread count {}: expected 1..4096", t));
  for (int64_t n : cfg.batch)
    if (n < 1 || n > 65536) throw UsageError(fmt::format("bad batch size {}: expected 1..65536", n));
  if (!cfg.model.empty() && !fs::exists(cfg.model))
    throw UsageError(fmt::format("model file '{}' does not exist", cfg.model));
}

nlohmann::json config_to_json(const RunConfig& cfg) {
  nlohmann::json shapes = nlohmann::json::array();
  for (const auto& s : cfg.shapes) shapes.push_back({{"name", s.name}, {"m", s.m}, {"k", s.k}, {"model", s.model}, {"count", s.count}});
  return {{"suites", cfg.suites},
          {"formats", cfg.formats},
          {"backends", cfg.backends},
          {"threads", cfg.threads},
          {"placements", cfg.placements},
          {"shapes", shapes},
          {"batch", cfg.batch},
          {"model", cfg.model},
          {"quick", cfg.quick},
          {"measure", {{"warmup", cfg.measure.warmup},
                       {"min_time_s", cfg.measure.min_time_s},
                       {"min_samples", cfg.measure.min_samples},
                       {"max_time_s", cfg.measure.max_time_s},
                       {"max_cv", cfg.measure.max_cv}}}};
}

RunConfig config_from_json(const nlohmann::json& j) {
  RunConfig c;
  c.suites = j.value("suites", std::vector<std::string>{});
  c.formats = j.value("formats", std::vector<std::string>{});
  c.backends = j.value("backends", std::vector<std::string>{});
  c.threads = j.value("threads", std::vector<int>{});
  c.placements = j.value("placements", std::vector<std::string>{});
  c.batch = j.value("batch", std::vector<int64_t>{});
  c.model = j.value("model", "");
  c.quick = j.value("quick", false);
  for (const auto& s : j.value("shapes", nlohmann::json::array())) {
    Shape sh;
    sh.name = s.at("name").get<std::string>();
    sh.m = s.at("m").get<int64_t>();
    sh.k = s.at("k").get<int64_t>();
    sh.model = s.value("model", "");
    sh.count = s.value("count", 1);
    c.shapes.push_back(sh);
  }
  c.measure = c.quick ? quick_options() : default_options();
  if (j.contains("measure")) {
    const auto& m = j["measure"];
    c.measure.warmup = m.value("warmup", c.measure.warmup);
    c.measure.min_time_s = m.value("min_time_s", c.measure.min_time_s);
    c.measure.min_samples = m.value("min_samples", c.measure.min_samples);
    c.measure.max_time_s = m.value("max_time_s", c.measure.max_time_s);
    c.measure.max_cv = m.value("max_cv", c.measure.max_cv);
  }
  return c;
}

double empty_parallel_for_us(int threads, const std::string& placement) {
  Placement p = Placement::Compact;
  parse_placement(placement, p);
  ThreadPool pool(placement_pus(machine_topology(), p, threads), threads);
  MeasureOptions o;
  o.warmup = 100;
  o.min_time_s = 0.05;
  o.min_samples = 1000;
  o.max_time_s = 1.0;
  auto noop = [](int64_t) {};
  std::function<void(int64_t)> fn = noop;
  auto m = measure(o, [&] { pool.parallel_for(pool.size(), fn); });
  return m.stats.median * 1e6;
}

RunSummary run_benchmarks(const RunConfig& cfg_in, bool resume) {
  RunConfig cfg = cfg_in;
  validate_config(cfg);
  const auto t_start = std::chrono::steady_clock::now();
  const Topology& topo = machine_topology();

  // Previous cells (resume) and the journal.
  std::vector<CellResult> done;
  std::set<std::string> finished;
  const std::string jpath = (fs::path(cfg.out_dir) / "journal.jsonl").string();
  nlohmann::json header;
  if (resume) {
    if (!fs::exists(jpath)) throw UsageError(fmt::format("--resume: no journal at '{}'", jpath));
    done = read_journal(jpath, &header);
    // A resumed run continues the journaled plan, whatever the command line selected.
    if (header.contains("config")) {
      const std::string out = cfg.out_dir;
      cfg = config_from_json(header["config"]);
      cfg.out_dir = out;
    }
    for (const auto& r : done)
      if (r.status != "failed") finished.insert(r.cell.key());
  } else if (fs::exists(jpath) && fs::file_size(jpath) > 0) {
    throw UsageError(fmt::format("'{}' already holds a journal: use --resume {} to continue it, or another --out", jpath, cfg.out_dir));
  }
  if (header.is_null() || header.empty()) {
    header = {{"qbench", qbench_build_info()}, {"machine", machine_fingerprint()}, {"config", config_to_json(cfg)}};
    // Cost of the thread pool's fork/join, to put the smallest measured times in perspective.
    nlohmann::json pf = nlohmann::json::object();
    for (int t : std::vector<int>{1, std::max(1, topo.pus)}) pf[std::to_string(t)] = empty_parallel_for_us(t, "compact");
    header["run"] = {{"empty_parallel_for_us", pf}};
  }
  std::vector<Suite*> suites;
  for (Suite* s : all_suites())
    if (cfg.suites.empty() || std::find(cfg.suites.begin(), cfg.suites.end(), s->name()) != cfg.suites.end())
      suites.push_back(s);
  Journal journal(cfg.out_dir, header);

  // One pool alive at a time, cached by (threads, placement).
  std::unique_ptr<ThreadPool> pool;
  std::string pool_key;
  auto get_pool = [&](int threads, const std::string& placement) -> ThreadPool* {
    const std::string key = fmt::format("{}/{}", threads, placement);
    if (pool && pool_key == key) return pool.get();
    Placement p;
    if (!parse_placement(placement, p)) p = Placement::Compact;
    auto pus = placement_pus(topo, p, threads);
    if (pus.empty()) return nullptr;
    pool.reset();
    pool = std::make_unique<ThreadPool>(pus, threads);
    pool_key = key;
    return pool.get();
  };
  auto dram_bw = [&](int threads) {
    double best = 0;
    for (const auto& r : done)
      if (r.cell.suite == "bandwidth" && r.cell.workload == "read_DRAM" && r.cell.threads == threads && r.status == "ok")
        best = std::max(best, r.metrics.value("gb_per_s", 0.0));
    return best;
  };
  RunContext ctx{topo, cfg, done, get_pool, dram_bw};

  // Plan everything first so progress has a total.
  std::vector<std::pair<Suite*, Cell>> plan;
  for (Suite* s : suites)
    for (auto& c : s->plan(ctx)) plan.emplace_back(s, std::move(c));

  RunSummary sum;
  sum.cells = int(plan.size());
  sum.journal_path = journal.path();
  Progress progress(int(plan.size()), globals().quiet);
  int i = 0;
  for (auto& [suite, cell] : plan) {
    const std::string key = cell.key();
    if (finished.count(key)) {
      ++sum.skipped;
      ++i;
      continue;
    }
    progress.start(i, key);
    const auto t0 = std::chrono::steady_clock::now();
    CellResult r;
    try {
      r = suite->measure(cell, ctx);
      if (r.cell.key() != key) r.cell = cell;  // suites may add params, never change identity
    } catch (const std::exception& e) {
      r = CellResult{};
      r.cell = cell;
      r.status = "failed";
      r.error = e.what();
      r.valid = false;
      r.reasons = {std::string("failed: ") + e.what()};
    }
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r.status == "ok" && !r.has_stats && r.reasons.empty() && !r.valid) r.valid = true;
    journal.append(r);
    if (r.status == "failed") ++sum.failed;
    else if (r.status == "ok" && !r.valid) ++sum.invalid;
    ++sum.measured;
    // Replace an older (failed) result of the same cell.
    auto it = std::find_if(done.begin(), done.end(), [&](const CellResult& d) { return d.cell.key() == key; });
    if (it != done.end()) *it = std::move(r);
    else done.push_back(std::move(r));
    ++i;
  }
  progress.finish();
  pool.reset();

  // The report is built from the journal: what is there is what was measured.
  nlohmann::json jh;
  auto results = read_journal(journal.path(), &jh);
  jh["run"]["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count() +
                        jh["run"].value("wall_s", 0.0);
  jh["run"]["peak_rss_bytes"] = rusage_snapshot()["max_rss_bytes"];
  auto report = build_report(jh, results);
  sum.report_path = (fs::path(cfg.out_dir) / "report.json").string();
  write_file_atomic(sum.report_path, report.dump(1));
  for (const auto& rd : all_renderers()) {
    try {
      write_file_atomic((fs::path(cfg.out_dir) / rd.file_name).string(), rd.render(report));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "qbench: warning: %s renderer failed: %s (report.json is complete)\n", rd.name.c_str(), e.what());
    }
  }
  sum.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return sum;
}

}  // namespace qb
