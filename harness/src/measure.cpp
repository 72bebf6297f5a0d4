#include "qb/measure.h"

#include <chrono>

#include <fmt/format.h>

#include "qb/counters.h"

namespace qb {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

void judge(Measurement& m, const MeasureOptions& opt, bool cap_hit) {
  m.stats = compute_stats(m.samples);
  m.reasons.clear();
  if (int(m.samples.size()) < opt.min_samples)
    m.reasons.push_back(fmt::format("too few samples: {} < {}", m.samples.size(), opt.min_samples));
  if (cap_hit && m.total_time_s < opt.min_time_s)
    m.reasons.push_back(fmt::format("time cap hit after {:.3f} s before the minimum time {:.3f} s",
                                    m.total_time_s, opt.min_time_s));
  if (m.stats.cv > opt.max_cv)
    m.reasons.push_back(fmt::format("CV {:.1f}% over the {:.1f}% threshold", 100 * m.stats.cv, 100 * opt.max_cv));
  m.valid = m.reasons.empty();
}

Measurement measure(const MeasureOptions& opt, const std::function<void()>& body) {
  Measurement m;
  for (int i = 0; i < opt.warmup; ++i) body();
  CounterScope counters;
  counters.start();
  const auto start = Clock::now();
  bool cap_hit = false;
  for (;;) {
    const auto t0 = Clock::now();
    body();
    m.samples.push_back(seconds_since(t0));
    const double total = seconds_since(start);
    const bool enough = total >= opt.min_time_s && int(m.samples.size()) >= opt.min_samples;
    if (enough) break;
    if (total >= opt.max_time_s || int(m.samples.size()) >= opt.max_samples) {
      cap_hit = true;
      break;
    }
  }
  m.total_time_s = seconds_since(start);
  m.counters = counters.stop();
  m.counters["samples"] = m.samples.size();
  judge(m, opt, cap_hit);
  return m;
}

MeasureOptions default_options() { return MeasureOptions{}; }

MeasureOptions quick_options() {
  MeasureOptions o;
  o.warmup = 1;
  o.min_time_s = 0.05;
  o.min_samples = 5;
  o.max_time_s = 2.0;
  o.max_cv = 0.15;
  return o;
}

}  // namespace qb
