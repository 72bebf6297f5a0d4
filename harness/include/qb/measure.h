// The one measurement loop: warm-up, then repeat until min time AND min samples AND the median is
// known precisely enough (adaptive stop), capped in time and samples.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/stats.h"

namespace qb {

struct MeasureOptions {
  int warmup = 2;
  double min_time_s = 0.5;
  int min_samples = 10;
  double max_time_s = 10.0;
  int max_samples = 100000;
  // Validity gate: relative half-width of the median's 95% CI, (hi - lo) / 2 / median. Sampling
  // goes on (up to the caps) until it is reached. CV is reported, not gated: a few slow samples
  // (preemption) inflate it while the median stays known to a fraction of a percent.
  double max_ci_rel = 0.02;
  // Interference (qb::assess_interference): a disturbed attempt is retried this many times, the
  // k-th retry after backoff_s * 2^(k-1) seconds of rest.
  int max_retries = 2;
  double backoff_s = 0.25;
  // Interleaving of comparable cells (runner): rounds per cell and the seed of each round's order.
  int rounds = 3;
  uint64_t order_seed = 0x9b3c'2024;
};

struct Measurement {
  std::vector<double> samples;  // seconds per call of body
  Stats stats;
  bool valid = true;
  std::vector<std::string> reasons;  // why not valid
  double total_time_s = 0;
  bool cap_hit = false;     // stopped by max_time_s / max_samples, not by reaching the targets
  nlohmann::json counters;  // PAPI/rusage/energy over the timed loop (qb/counters.h), and "stop"
};

// Times body() (one sample per call) with a steady clock.
Measurement measure(const MeasureOptions& opt, const std::function<void()>& body);
// The same loop for calls that time themselves: body() returns the seconds it measured (e.g. a
// framework call timed inside its own process), or a negative number to take the loop's clock.
Measurement measure_self_timed(const MeasureOptions& opt, const std::function<double()>& body);
// Fills stats, valid and reasons from samples (used by measure, and by suites that time
// themselves, e.g. per-call latency).
void judge(Measurement& m, const MeasureOptions& opt, bool cap_hit);
// True for the reasons judge() writes (so samples merged from several runs can be judged again
// without losing a suite's own reasons, e.g. a failed output check).
bool is_sampling_reason(const std::string& reason);

MeasureOptions quick_options();  // --quick: shorter minimum times, still >= 5 samples
MeasureOptions default_options();

// ---- interference -------------------------------------------------------------------------
// What the rest of the machine did while a cell ran: /proc/stat (all CPUs), /proc/loadavg and our
// own CPU time (getrusage), read before and after.
struct CpuSnapshot {
  bool ok = false;        // /proc/stat readable
  uint64_t busy = 0;      // user+nice+system+irq+softirq jiffies, all CPUs (steal excluded)
  uint64_t steal = 0;     // jiffies the hypervisor ran someone else
  uint64_t total = 0;     // every field of the "cpu" line
  double load1 = 0;       // /proc/loadavg, 1 minute
  int runnable = 0;       // /proc/loadavg 4th field, before the '/'
  double self_cpu_s = 0;  // this process (all threads) and its live children, user + system
  double t = 0;           // steady clock, seconds
};
CpuSnapshot cpu_snapshot();
// Parses the two files' text (exposed for tests).
CpuSnapshot parse_cpu_snapshot(const std::string& proc_stat, const std::string& loadavg);

struct InterferenceLimits {
  double max_steal = 0.05;  // share of all CPUs' time stolen by the hypervisor
  double max_other = 0.10;  // share of all CPUs' time used by other processes
  // /proc/stat counts in jiffies (10 ms): fewer than this many are below its resolution.
  uint64_t min_jiffies = 3;
};

struct Interference {
  double wall_s = 0;
  double steal = 0, other = 0;  // shares of all CPUs' time over the interval
  uint64_t steal_jiffies = 0, other_jiffies = 0, total_jiffies = 0;
  double load1_before = 0, load1_after = 0;
  int runnable_before = 0, runnable_after = 0;
  bool measured = false;  // false when /proc/stat was unreadable
  bool disturbed = false;
  std::string reason;  // set when disturbed
};
Interference assess_interference(const CpuSnapshot& before, const CpuSnapshot& after,
                                 const InterferenceLimits& lim = {});
nlohmann::json interference_json(const Interference& i);

}  // namespace qb
