// The one measurement loop: warm-up, then repeat until min time AND min samples, capped.
#pragma once
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
  double max_cv = 0.10;  // above this the result is flagged invalid
};

struct Measurement {
  std::vector<double> samples;  // seconds per call of body
  Stats stats;
  bool valid = true;
  std::vector<std::string> reasons;  // why not valid
  double total_time_s = 0;
  nlohmann::json counters;  // PAPI/rusage/energy over the timed loop (qb/counters.h)
};

// Times body() (one sample per call) with a steady clock.
Measurement measure(const MeasureOptions& opt, const std::function<void()>& body);
// Fills stats, valid and reasons from samples (used by measure, and by suites that time
// themselves, e.g. per-call latency).
void judge(Measurement& m, const MeasureOptions& opt, bool cap_hit);

MeasureOptions quick_options();    // --quick: shorter minimum times, still >= 5 samples
MeasureOptions default_options();

}  // namespace qb
