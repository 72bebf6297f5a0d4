// Robust statistics of timing samples.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb {

struct Stats {
  int64_t n = 0;
  double min = 0, max = 0, median = 0, mean = 0, p90 = 0, p99 = 0;
  double stdev = 0;                           // sample standard deviation (n-1), computed two-pass
  double cv = 0;                              // stdev / mean
  double median_ci_lo = 0, median_ci_hi = 0;  // bootstrap 95% CI of the median
  // Precision of the reported statistic: (ci_hi - ci_lo) / 2 / median. Validity is gated on it.
  double median_ci_rel = 0;
  double mad = 0;        // median absolute deviation (unscaled)
  int64_t outliers = 0;  // samples above median + kOutlierK * 1.4826 * MAD: counted, never dropped
};

// Outlier fence in robust standard deviations (1.4826 * MAD estimates sigma for normal data).
constexpr double kOutlierK = 3.0;

// Percentile with linear interpolation between closest ranks (q in [0,1]); v need not be sorted.
double percentile(std::vector<double> v, double q);
// Stats of the samples; the bootstrap uses a fixed seed so results are reproducible.
Stats compute_stats(const std::vector<double>& samples, int bootstrap_resamples = 1000);
// Distribution-free 95% CI of the median from order statistics (binomial ranks), as a relative
// half-width; O(n), cheap enough to check while sampling (the adaptive stop). n < 6: [min, max].
double median_ci_rel_order_stat(std::vector<double> samples);

void to_json(nlohmann::json& j, const Stats& s);
void from_json(const nlohmann::json& j, Stats& s);

}  // namespace qb
