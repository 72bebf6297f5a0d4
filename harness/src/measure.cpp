#include "qb/measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "qb/counters.h"

namespace qb {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// judge()'s reasons start with one of these (is_sampling_reason relies on it).
constexpr const char* kTooFew = "too few samples";
constexpr const char* kCapBeforeMin = "time cap hit";
constexpr const char* kImprecise = "median imprecise";

// The adaptive stop checks the cheap order-statistic CI; the gate uses the reported bootstrap CI,
// which can be a rank wider. Stopping at 90% of the target keeps the two verdicts in agreement.
constexpr double kStopMargin = 0.9;
}  // namespace

void judge(Measurement& m, const MeasureOptions& opt, bool cap_hit) {
  m.stats = compute_stats(m.samples);
  m.cap_hit = cap_hit;
  m.reasons.clear();
  if (int(m.samples.size()) < opt.min_samples)
    m.reasons.push_back(fmt::format("{}: {} < {}", kTooFew, m.samples.size(), opt.min_samples));
  if (cap_hit && m.total_time_s < opt.min_time_s)
    m.reasons.push_back(fmt::format("{} after {:.3f} s before the minimum time {:.3f} s", kCapBeforeMin, m.total_time_s,
                                    opt.min_time_s));
  if (m.stats.median_ci_rel > opt.max_ci_rel)
    m.reasons.push_back(
        fmt::format("{}: 95% CI of the median is +-{:.2f}%, over the +-{:.1f}% target{}", kImprecise,
                    100 * m.stats.median_ci_rel, 100 * opt.max_ci_rel,
                    cap_hit ? fmt::format(" (cap hit after {} samples, {:.2f} s)", m.samples.size(), m.total_time_s)
                            : std::string()));
  m.valid = m.reasons.empty();
}

bool is_sampling_reason(const std::string& r) {
  for (const char* p : {kTooFew, kCapBeforeMin, kImprecise})
    if (r.rfind(p, 0) == 0) return true;
  return false;
}

Measurement measure(const MeasureOptions& opt, const std::function<void()>& body) {
  return measure_self_timed(opt, [&] {
    body();
    return -1.0;
  });
}

Measurement measure_self_timed(const MeasureOptions& opt, const std::function<double()>& body) {
  Measurement m;
  for (int i = 0; i < opt.warmup; ++i) body();
  CounterScope counters;
  counters.start();
  const auto start = Clock::now();
  bool cap_hit = false;
  size_t next_check = 0;  // checks at geometric sample counts keep the O(n) CI check O(1) per sample
  double ci_rel = 0;
  for (;;) {
    const auto t0 = Clock::now();
    const double own = body();
    m.samples.push_back(own >= 0 ? own : seconds_since(t0));
    const double total = seconds_since(start);
    const bool minimums = total >= opt.min_time_s && int(m.samples.size()) >= opt.min_samples;
    if (minimums && m.samples.size() >= next_check) {
      ci_rel = median_ci_rel_order_stat(m.samples);
      if (ci_rel <= kStopMargin * opt.max_ci_rel) break;
      next_check = m.samples.size() + std::max<size_t>(1, m.samples.size() / 4);
    }
    if (total >= opt.max_time_s || int(m.samples.size()) >= opt.max_samples) {
      cap_hit = true;
      break;
    }
  }
  m.total_time_s = seconds_since(start);
  m.counters = counters.stop();
  m.counters["samples"] = m.samples.size();
  judge(m, opt, cap_hit);
  m.counters["stop"] = {{"reason", cap_hit ? (int(m.samples.size()) >= opt.max_samples ? "sample cap" : "time cap")
                                           : "precision reached"},
                        {"cap_hit", cap_hit},
                        {"time_s", m.total_time_s},
                        {"target_ci_rel", opt.max_ci_rel}};
  return m;
}

MeasureOptions default_options() { return MeasureOptions{}; }

MeasureOptions quick_options() {
  MeasureOptions o;
  o.warmup = 1;
  o.min_time_s = 0.05;
  o.min_samples = 5;
  o.max_time_s = 2.0;
  o.rounds = 2;
  return o;
}

// ---- interference -------------------------------------------------------------------------

namespace {
std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CpuSnapshot parse_cpu_snapshot(const std::string& proc_stat, const std::string& loadavg) {
  CpuSnapshot s;
  std::istringstream st(proc_stat);
  std::string tag;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already
  // inside user/nice, so it is not added to the total twice).
  uint64_t f[8] = {};
  if (st >> tag && tag == "cpu") {
    int got = 0;
    while (got < 8 && st >> f[got]) ++got;
    if (got >= 4) {
      s.ok = true;
      s.busy = f[0] + f[1] + f[2] + f[5] + f[6];
      s.steal = f[7];
      s.total = f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
    }
  }
  std::istringstream la(loadavg);
  double l5, l15;
  std::string run;
  if (la >> s.load1 >> l5 >> l15 >> run) s.runnable = std::atoi(run.c_str());
  return s;
}

namespace {
// CPU seconds of this process's live children: the framework workers (kernels/peers/
// subprocess_peer.cpp) compute a cell in a child process, and that is the cell's own work, not
// interference. A child that exits between two snapshots drops out (its time then counts as other).
double live_children_cpu_s() {
  static const double hz = double(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  double ticks = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::istringstream kids(slurp((task.path() / "children").c_str()));
    for (std::string pid; kids >> pid;) {
      const std::string st = slurp(("/proc/" + pid + "/stat").c_str());
      const size_t close = st.rfind(')');  // the command name may hold spaces
      if (close == std::string::npos) continue;
      std::istringstream f(st.substr(close + 2));
      std::string field;
      for (int i = 3; i <= 13 && f >> field; ++i) {  // fields 3..13 (state .. majflt of children)
      }
      double utime = 0, stime = 0;
      if (f >> utime >> stime) ticks += utime + stime;
    }
  }
  return ticks / hz;
}
}  // namespace

CpuSnapshot cpu_snapshot() {
  CpuSnapshot s = parse_cpu_snapshot(slurp("/proc/stat"), slurp("/proc/loadavg"));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.self_cpu_s = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) + live_children_cpu_s();
  s.t = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  return s;
}

Interference assess_interference(const CpuSnapshot& a, const CpuSnapshot& b, const InterferenceLimits& lim) {
  Interference i;
  i.wall_s = b.t - a.t;
  i.load1_before = a.load1;
  i.load1_after = b.load1;
  i.runnable_before = a.runnable;
  i.runnable_after = b.runnable;
  if (!a.ok || !b.ok || b.total < a.total) return i;
  i.measured = true;
  i.total_jiffies = b.total - a.total;
  i.steal_jiffies = b.steal - a.steal;
  static const double hz = double(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  const double self_j = std::max(0.0, (b.self_cpu_s - a.self_cpu_s) * hz);
  const double busy_j = double(b.busy - a.busy);
  i.other_jiffies = uint64_t(std::max(0.0, busy_j - self_j));
  if (i.total_jiffies == 0) return i;
  i.steal = double(i.steal_jiffies) / double(i.total_jiffies);
  i.other = double(i.other_jiffies) / double(i.total_jiffies);
  if (i.steal_jiffies >= lim.min_jiffies && i.steal > lim.max_steal) {
    i.disturbed = true;
    i.reason = fmt::format("interference: hypervisor steal {:.1f}% of CPU time (limit {:.0f}%)", 100 * i.steal,
                           100 * lim.max_steal);
  } else if (i.other_jiffies >= lim.min_jiffies && i.other > lim.max_other) {
    i.disturbed = true;
    i.reason =
        fmt::format("interference: other processes used {:.1f}% of CPU time (limit {:.0f}%), load {:.2f} -> {:.2f}",
                    100 * i.other, 100 * lim.max_other, i.load1_before, i.load1_after);
  }
  return i;
}

nlohmann::json interference_json(const Interference& i) {
  nlohmann::json j = {{"measured", i.measured},
                      {"wall_s", i.wall_s},
                      {"steal_pct", 100 * i.steal},
                      {"other_cpu_pct", 100 * i.other},
                      {"jiffies", {{"total", i.total_jiffies}, {"steal", i.steal_jiffies}, {"other", i.other_jiffies}}},
                      {"load1", {i.load1_before, i.load1_after}},
                      {"runnable", {i.runnable_before, i.runnable_after}},
                      {"disturbed", i.disturbed}};
  if (i.disturbed) j["reason"] = i.reason;
  return j;
}

}  // namespace qb
