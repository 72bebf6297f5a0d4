#include "qb/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "gguf/presets.h"
#include "qb/command.h"
#include "qb/counters.h"
#include "qb/matmul.h"
#include "qb/metrics.h"
#include "qb/peers.h"
#include "qb/plan.h"
#include "qb/report.h"
#include "qb/thread_pool.h"

namespace qb {

namespace fs = std::filesystem;

std::vector<BackendKind> all_backend_kinds() {
  std::vector<BackendKind> v;
  for (const auto& b : own_backends()) v.push_back({std::string(b.name), "qbench", ""});
  for (const auto& p : peer_backends()) v.push_back({p.name, p.kind, p.version});
  // The model suites run the whole model on llama.cpp (suites/model_speed.cpp).
  v.push_back({"llama.cpp", "framework", ""});
  return v;
}

std::vector<std::string> all_backend_names() {
  std::vector<std::string> v;
  for (const auto& b : all_backend_kinds()) v.push_back(b.name);
  return v;
}

nlohmann::json backends_json() {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& b : all_backend_kinds()) {
    nlohmann::json e = {{"name", b.name}, {"kind", b.kind}};
    if (!b.version.empty()) e["version"] = b.version;
    a.push_back(e);
  }
  return a;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

template <class F>
void check_names(const std::vector<std::string>& given, const std::vector<std::string>& valid, const char* what,
                 F&& canon) {
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

// One attempt of suite.measure; an exception becomes a failed cell (the run goes on).
CellResult measure_once(Suite& suite, const Cell& cell, RunContext& ctx) {
  CellResult r;
  try {
    r = suite.measure(cell, ctx);
    if (r.cell.key() != cell.key()) r.cell = cell;  // suites may add params, never change identity
  } catch (const std::exception& e) {
    r = CellResult{};
    r.cell = cell;
    r.status = CellStatus::Failed;
    r.error = e.what();
    r.valid = false;
    r.reasons = {std::string("failed: ") + e.what()};
  }
  return r;
}

// Measures a cell while watching the rest of the machine (/proc/stat, /proc/loadavg). A timed cell
// measured under interference is measured again after a back-off, at most max_retries times; if
// still disturbed it is kept, marked invalid with the reason. The numbers go to
// counters.interference either way.
CellResult measure_with_retries(Suite& suite, const Cell& cell, RunContext& ctx) {
  const MeasureOptions& mo = ctx.cfg.measure;
  nlohmann::json retried = nlohmann::json::array();
  for (int attempt = 0;; ++attempt) {
    const CpuSnapshot before = cpu_snapshot();
    CellResult r = measure_once(suite, cell, ctx);
    const Interference inter = assess_interference(before, cpu_snapshot());
    const bool timed = r.status == CellStatus::Ok && r.has_stats;
    if (inter.disturbed && timed && attempt < mo.max_retries) {
      retried.push_back(inter.reason);
      std::this_thread::sleep_for(std::chrono::duration<double>(mo.backoff_s * double(1 << attempt)));
      continue;
    }
    nlohmann::json ij = interference_json(inter);
    ij["attempts"] = attempt + 1;
    if (!retried.empty()) ij["retried_for"] = retried;
    if (!r.counters.is_object()) r.counters = nlohmann::json::object();
    r.counters["interference"] = ij;
    if (inter.disturbed && timed) {
      r.valid = false;
      r.reasons.push_back(attempt > 0 ? fmt::format("{} (still after {} retries)", inter.reason, attempt)
                                      : inter.reason);
    }
    return r;
  }
}

// One cell from its rounds: samples merged, statistics and sampling verdicts recomputed on the
// union; a suite's own reasons (e.g. a failed output check) and interference from any round kept.
// Throughput metrics are the median time or rates proportional to 1/median
// (suites/throughput.cpp), so they are rescaled to the merged median.
CellResult merge_rounds(std::vector<CellResult>& earlier, CellResult last, const MeasureOptions& opt) {
  if (earlier.empty()) return last;
  earlier.push_back(std::move(last));
  CellResult out = earlier.back();
  Measurement m;
  bool cap = false;
  std::vector<std::string> reasons;
  nlohmann::json per_round = nlohmann::json::array();
  for (const auto& r : earlier) {
    m.samples.insert(m.samples.end(), r.samples.begin(), r.samples.end());
    const auto stop = r.counters.value("stop", nlohmann::json::object());
    cap = cap || stop.value("cap_hit", false);
    m.total_time_s += stop.value("time_s", 0.0);
    for (const auto& why : r.reasons)
      if (!is_sampling_reason(why) && std::find(reasons.begin(), reasons.end(), why) == reasons.end())
        reasons.push_back(why);
    per_round.push_back({{"samples", r.samples.size()},
                         {"median_s", r.stats.median},
                         {"stop", stop},
                         {"interference", r.counters.value("interference", nlohmann::json())}});
  }
  judge(m, opt, cap);
  const double ratio = out.stats.median > 0 ? m.stats.median / out.stats.median : 1.0;
  for (const char* k : {metric::time_s})
    if (out.metrics.contains(k)) out.metrics[k] = out.metrics[k].get<double>() * ratio;
  for (const char* k : {metric::gb_per_s, metric::gflop_per_s, metric::bandwidth_pct, metric::roofline_pct})
    if (out.metrics.contains(k) && ratio > 0) out.metrics[k] = out.metrics[k].get<double>() / ratio;
  out.samples = std::move(m.samples);
  out.stats = m.stats;
  out.reasons = std::move(reasons);
  out.reasons.insert(out.reasons.end(), m.reasons.begin(), m.reasons.end());
  out.valid = out.reasons.empty();
  out.counters["samples"] = out.samples.size();
  out.counters["stop"] = {{"reason", cap ? "time cap in a round" : "precision reached"},
                          {"cap_hit", cap},
                          {"time_s", m.total_time_s},
                          {"target_ci_rel", opt.max_ci_rel}};
  out.counters["rounds"] = per_round;
  return out;
}

}  // namespace

void validate_config(const RunConfig& cfg) {
  std::vector<std::string> suites;
  for (Suite* s : all_suites()) suites.push_back(s->name());
  check_names(cfg.suites, suites, "suite", [](const std::string& s) { return s; });
  std::vector<std::string> formats;
  for (const auto& t : all_formats()) formats.emplace_back(t.name);
  // With --model, a selected model suite also takes preset names and `source` (the file as stored).
  bool presets_ok = false;
  for (Suite* s : selected_suites(cfg))
    if (s->takes_presets()) presets_ok = !cfg.model.empty();
  if (presets_ok) {
    formats.emplace_back("source");
    for (const auto& p : gguf::presets())
      if (std::find(formats.begin(), formats.end(), std::string(p.name)) == formats.end()) formats.emplace_back(p.name);
  }
  check_names(cfg.formats, formats, presets_ok ? "format or preset" : "format", lower);
  if (cfg.ctx < 4 || cfg.ctx > (int64_t(1) << 20))
    throw UsageError(fmt::format("bad --ctx {}: expected 4..1048576", cfg.ctx));
  if (cfg.chunks == 0 || cfg.chunks < -1)
    throw UsageError(fmt::format("bad --chunks {}: expected a positive count", cfg.chunks));
  if (!cfg.dataset.empty() && !fs::is_regular_file(cfg.dataset))
    throw UsageError(fmt::format("dataset '{}' does not exist or is not a file", cfg.dataset));
  check_names(cfg.backends, all_backend_names(), "backend", lower);
  std::vector<std::string> placements;
  for (Placement p : all_placements()) placements.emplace_back(placement_name(p));
  check_names(cfg.placements, placements, "placement", [](const std::string& s) { return s; });
  for (int t : cfg.threads)
    if (t < 1 || t > 4096) throw UsageError(fmt::format("bad thread count {}: expected 1..4096", t));
  for (int64_t n : cfg.batch)
    if (n < 1 || n > 65536) throw UsageError(fmt::format("bad batch size {}: expected 1..65536", n));
  if (!cfg.model.empty()) {
    if (!fs::exists(cfg.model)) throw UsageError(fmt::format("model file '{}' does not exist", cfg.model));
    // Parse header, metadata and tensor table now, so a bad file is refused before the first cell:
    // gguf::ParseError names the file, the byte offset and what was expected there.
    gguf::File::open(cfg.model);
  }
  if (!(cfg.measure.max_ci_rel > 0 && cfg.measure.max_ci_rel < 1))
    throw UsageError(
        fmt::format("bad CI target {}: expected a fraction in (0, 1), e.g. 0.02 for 2%", cfg.measure.max_ci_rel));
}

nlohmann::json config_to_json(const RunConfig& cfg) {
  nlohmann::json shapes = nlohmann::json::array();
  for (const auto& s : cfg.shapes)
    shapes.push_back({{"name", s.name}, {"m", s.m}, {"k", s.k}, {"model", s.model}, {"count", s.count}});
  nlohmann::json j = {{"suites", cfg.suites},
                      {"formats", cfg.formats},
                      {"backends", cfg.backends},
                      {"threads", cfg.threads},
                      {"placements", cfg.placements},
                      {"shapes", shapes},
                      {"batch", cfg.batch},
                      {"model", cfg.model},
                      {"prompt_len", cfg.prompt_len},
                      {"gen_len", cfg.gen_len},
                      {"depth", cfg.depth},
                      {"ctx", cfg.ctx},
                      {"chunks", cfg.chunks},
                      {"dataset", cfg.dataset},
                      {"cache_dir", cfg.cache_dir},
                      {"quick", cfg.quick},
                      {"measure",
                       {{"warmup", cfg.measure.warmup},
                        {"min_time_s", cfg.measure.min_time_s},
                        {"min_samples", cfg.measure.min_samples},
                        {"max_time_s", cfg.measure.max_time_s},
                        {"max_ci_rel", cfg.measure.max_ci_rel},
                        {"max_retries", cfg.measure.max_retries},
                        {"rounds", cfg.measure.rounds},
                        {"order_seed", cfg.measure.order_seed}}}};
  if (cfg.shard.count > 1) j["shard"] = {{"index", cfg.shard.index}, {"count", cfg.shard.count}};
  return j;
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
  c.prompt_len = j.value("prompt_len", c.prompt_len);
  c.gen_len = j.value("gen_len", c.gen_len);
  c.depth = j.value("depth", c.depth);
  c.ctx = j.value("ctx", int64_t(512));
  c.chunks = j.value("chunks", int64_t(-1));
  c.dataset = j.value("dataset", "");
  c.cache_dir = j.value("cache_dir", "");
  c.quick = j.value("quick", false);
  if (j.contains("shard")) c.shard = {j["shard"].value("index", 0), j["shard"].value("count", 1)};
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
    c.measure.max_ci_rel = m.value("max_ci_rel", c.measure.max_ci_rel);
    c.measure.max_retries = m.value("max_retries", c.measure.max_retries);
    c.measure.rounds = m.value("rounds", c.measure.rounds);
    c.measure.order_seed = m.value("order_seed", c.measure.order_seed);
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

RunSummary run_benchmarks(const RunConfig& cfg_in, bool resume, const RunOptions& opts) {
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
    // A resumed run continues the journaled plan, whatever the command line selected; without the
    // header (the first run stopped before writing it) there is no plan to continue.
    if (!header.contains("config"))
      throw UsageError(
          fmt::format("--resume: '{}' has no journal header (the run stopped before writing it): "
                      "nothing to continue; start the run again",
                      jpath));
    {
      const std::string out = cfg.out_dir;
      cfg = config_from_json(header["config"]);
      cfg.out_dir = out;
    }
    for (const auto& r : done)
      if (r.status != CellStatus::Failed) finished.insert(r.cell.key());
  } else if (fs::exists(jpath) && fs::file_size(jpath) > 0) {
    throw UsageError(fmt::format("'{}' already holds a journal: use --resume {} to continue it, or another --out",
                                 jpath, cfg.out_dir));
  }
  if (header.is_null() || header.empty()) {
    header = {{"qbench", qbench_build_info()}, {"machine", machine_fingerprint()}, {"config", config_to_json(cfg)}};
    header["machine"]["backends"] = backends_json();  // kinds tell the decision which framework a cell is
    // Cost of the thread pool's fork/join, to put the smallest measured times in perspective.
    nlohmann::json pf = nlohmann::json::object();
    for (int t : std::vector<int>{1, std::max(1, topo.pus)})
      pf[std::to_string(t)] = empty_parallel_for_us(t, "compact");
    header["run"] = {{"empty_parallel_for_us", pf}};
  }
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
  // Peaks (DRAM read, compute) published by the suites that probe them, resumed cells first.
  MachinePeaks peaks;
  auto publish = [&](const CellResult& r) {
    if (Suite* s = find_suite(r.cell.suite)) s->publish_peaks(r, peaks);
  };
  for (const auto& r : done) publish(r);
  RunContext ctx{topo, cfg, done, get_pool, peaks};

  // Plan everything first so progress has a total.
  Plan plan = make_plan(ctx);
  record_plan(cfg, plan, header);
  Journal journal(cfg.out_dir, header, opts.fsync);

  RunSummary sum;
  // The results database: per cell while it answers; the first error is kept and writing stops
  // until the final sync below tries again.
  int64_t db_run = -1;
  auto db_error = [&](const std::exception& e) {
    if (sum.results_error.empty() && !globals().quiet)
      std::fprintf(stderr, "\nqbench: warning: results database: %s (the journal keeps every cell)\n", e.what());
    sum.results_error = e.what();
    db_run = -1;
  };
  if (opts.results) {
    try {
      db_run = opts.results->put_run(run_record(header));
    } catch (const ResultsError& e) {
      db_error(e);
    }
  }

  sum.cells = int(plan.size());
  sum.journal_path = journal.path();
  Progress progress(int(plan.size()), globals().quiet);
  std::vector<double> append_s;  // cost of each journal line (write + fsync + close)

  // Records a finished cell: journal first (so a crash keeps it), then the summary and ctx.done.
  auto finish = [&](const Cell& cell, CellResult r, double wall_s) {
    const std::string key = cell.key();
    r.wall_s = wall_s;
    if (r.status == CellStatus::Ok && !r.has_stats && r.reasons.empty() && !r.valid) r.valid = true;
    const auto a0 = std::chrono::steady_clock::now();
    journal.append(r);
    append_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count());
    if (db_run >= 0) {
      try {
        opts.results->put_cell(db_run, header["machine"], r, cfg.shard.count > 1 ? cfg.shard.index : -1);
      } catch (const ResultsError& e) {
        db_error(e);
      }
    }
    if (r.status == CellStatus::Failed)
      ++sum.failed;
    else if (r.status == CellStatus::Ok && !r.valid)
      ++sum.invalid;
    ++sum.measured;
    publish(r);
    // Replace an older (failed) result of the same cell.
    auto it = std::find_if(done.begin(), done.end(), [&](const CellResult& d) { return d.cell.key() == key; });
    if (it != done.end())
      *it = std::move(r);
    else
      done.push_back(std::move(r));
  };

  // Interleaved cells: every not-yet-measured throughput GEMV cell (they are what the report
  // compares across formats and backends). Each is measured in `rounds` rounds of 1/rounds of its
  // budget; each round visits the cells in a fresh shuffle of one seeded generator, so drift hits
  // every cell alike, and a cell's samples from all rounds are merged.
  // Groups come from Suite::interleave_group(); each group is interleaved on its own.
  const auto groups = interleave_groups(plan, finished, cfg.measure.rounds);
  nlohmann::json order_log = nlohmann::json::array();
  std::set<std::string> groups_done;
  auto run_group = [&](const std::vector<size_t>& group) {
    const int R = cfg.measure.rounds;
    RunConfig rcfg = cfg;
    rcfg.measure.min_time_s = cfg.measure.min_time_s / R;
    rcfg.measure.max_time_s = cfg.measure.max_time_s / R;
    rcfg.measure.min_samples = std::max(2, (cfg.measure.min_samples + R - 1) / R);
    RunContext rctx{topo, rcfg, done, get_pool, peaks};
    std::mt19937_64 rng(cfg.measure.order_seed);
    std::map<size_t, std::vector<CellResult>> rounds;
    std::map<size_t, std::vector<int>> positions;
    std::map<size_t, double> wall;
    std::set<size_t> closed;  // failed or unsupported in an earlier round
    for (int round = 0; round < R; ++round) {
      std::vector<size_t> order = group;
      std::shuffle(order.begin(), order.end(), rng);
      nlohmann::json keys = nlohmann::json::array();
      for (size_t pos = 0; pos < order.size(); ++pos) {
        const size_t j = order[pos];
        if (closed.count(j)) continue;
        auto& [suite, cell] = plan[j];
        keys.push_back(cell.key());
        progress.start(int(j), fmt::format("{} (round {}/{})", cell.key(), round + 1, R));
        const auto t0 = std::chrono::steady_clock::now();
        CellResult r = measure_with_retries(*suite, cell, rctx);
        wall[j] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        positions[j].push_back(int(pos));
        const bool timed = r.status == CellStatus::Ok && r.has_stats && !r.samples.empty();
        if (!timed || round == R - 1) {
          const bool merged = timed && !rounds[j].empty();
          CellResult out = timed ? merge_rounds(rounds[j], std::move(r), cfg.measure) : std::move(r);
          if (merged) suite->rejudge(out, rctx);
          out.counters["interleave"] = {{"rounds", R},
                                        {"seed", cfg.measure.order_seed},
                                        {"group_size", group.size()},
                                        {"positions", positions[j]}};
          finish(cell, std::move(out), wall[j]);
          closed.insert(j);
        } else {
          rounds[j].push_back(std::move(r));
        }
      }
      order_log.push_back(keys);
    }
  };

  int i = 0;
  for (auto& [suite, cell] : plan) {
    const size_t j = size_t(i++);
    const std::string key = cell.key();
    if (finished.count(key)) {
      ++sum.skipped;
      continue;
    }
    if (auto g = groups.find(suite->interleave_group(cell));
        g != groups.end() && std::binary_search(g->second.begin(), g->second.end(), j)) {
      if (groups_done.insert(g->first).second) run_group(g->second);
      continue;
    }
    progress.start(int(j), key);
    const auto t0 = std::chrono::steady_clock::now();
    CellResult r = measure_with_retries(*suite, cell, ctx);
    finish(cell, std::move(r), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  progress.finish();
  pool.reset();

  // The report is built from the journal: what is there is what was measured.
  nlohmann::json jh;
  auto results = read_journal(journal.path(), &jh);
  jh["run"]["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count() +
                        jh["run"].value("wall_s", 0.0);
  jh["run"]["peak_rss_bytes"] = rusage_snapshot()["max_rss_bytes"];
  // What journaling cost this session, per cell (fsync included unless --no-fsync).
  std::vector<double> sorted_append = append_s;
  std::sort(sorted_append.begin(), sorted_append.end());
  double append_total = 0;
  for (double x : append_s) append_total += x;
  jh["run"]["journal"] = {{"fsync", opts.fsync},
                          {"appends", append_s.size()},
                          {"median_ms_per_cell", 1e3 * percentile(append_s, 0.5)},
                          {"max_ms_per_cell", append_s.empty() ? 0.0 : 1e3 * sorted_append.back()},
                          {"total_s", append_total}};
  jh["run"]["interleave"] = {
      {"groups",
       [&] {
         std::vector<std::string> names;  // empty: every cell ran once, in plan order
         for (const auto& kv : groups) names.push_back(kv.first);
         return names;
       }()},
      {"scope",
       "cells of one group (Suite::interleave_group: throughput GEMV cells; model prefill and "
       "decode cells per suite) are interleaved; every other cell runs once, in plan order"},
      {"rounds", cfg.measure.rounds},
      {"seed", cfg.measure.order_seed},
      {"method",
       "each round measures every cell of the group for 1/rounds of its budget, in a fresh shuffle "
       "(std::mt19937_64 seeded with `seed`, std::shuffle); a cell's samples from all rounds are merged "
       "and its statistics computed on the union"},
      {"order", order_log}};
  auto report = build_report(jh, results);
  sum.report_path = write_report_files(cfg.out_dir, report);
  if (opts.results) {
    try {
      store_report(*opts.results, report);  // resumed cells and any the database missed
      sum.results_error.clear();
    } catch (const ResultsError& e) {
      sum.results_error = e.what();
    }
  }
  sum.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return sum;
}

}  // namespace qb
