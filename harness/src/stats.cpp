#include "qb/stats.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

namespace qb {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

namespace {
double median_of_sorted(const std::vector<double>& s) {
  const size_t n = s.size();
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}
}  // namespace

Stats compute_stats(const std::vector<double>& samples, int bootstrap_resamples) {
  Stats st;
  st.n = int64_t(samples.size());
  if (samples.empty()) return st;
  std::vector<double> s = samples;
  std::sort(s.begin(), s.end());
  st.min = s.front();
  st.max = s.back();
  st.median = median_of_sorted(s);
  st.p90 = percentile(s, 0.90);
  st.p99 = percentile(s, 0.99);
  // Two-pass mean/variance: a one-pass sum of squares cancels catastrophically when the mean is
  // large and the spread tiny (typical of timings in nanoseconds).
  double sum = 0;
  for (double x : s) sum += x;
  st.mean = sum / double(s.size());
  double ss = 0, comp = 0;
  for (double x : s) {
    const double d = x - st.mean;
    ss += d * d;
    comp += d;
  }
  if (s.size() > 1) {
    const double var = (ss - comp * comp / double(s.size())) / double(s.size() - 1);
    st.stdev = std::sqrt(std::max(0.0, var));
  }
  st.cv = st.mean != 0 ? st.stdev / std::fabs(st.mean) : 0;
  // Percentile bootstrap of the median, fixed seed for reproducible reports.
  if (s.size() >= 2 && bootstrap_resamples > 0) {
    std::mt19937_64 rng(0x5eed);
    std::uniform_int_distribution<size_t> pick(0, s.size() - 1);
    std::vector<double> meds(static_cast<size_t>(bootstrap_resamples));
    std::vector<double> tmp(s.size());
    for (auto& m : meds) {
      for (auto& t : tmp) t = s[pick(rng)];
      std::nth_element(tmp.begin(), tmp.begin() + tmp.size() / 2, tmp.end());
      double hi = tmp[tmp.size() / 2];
      if (tmp.size() % 2 == 0) {
        double lo = *std::max_element(tmp.begin(), tmp.begin() + tmp.size() / 2);
        m = 0.5 * (lo + hi);
      } else {
        m = hi;
      }
    }
    st.median_ci_lo = percentile(meds, 0.025);
    st.median_ci_hi = percentile(meds, 0.975);
  } else {
    st.median_ci_lo = st.median_ci_hi = st.median;
  }
  st.median_ci_rel = st.median != 0 ? (st.median_ci_hi - st.median_ci_lo) / 2 / std::fabs(st.median) : 0;
  std::vector<double> dev(s.size());
  for (size_t i = 0; i < s.size(); ++i) dev[i] = std::fabs(s[i] - st.median);
  std::sort(dev.begin(), dev.end());
  st.mad = median_of_sorted(dev);
  const double fence = st.median + kOutlierK * 1.4826 * st.mad;
  st.outliers = int64_t(s.end() - std::upper_bound(s.begin(), s.end(), fence));
  return st;
}

double median_ci_rel_order_stat(std::vector<double> v) {
  const size_t n = v.size();
  if (n < 2) return 0;
  // Ranks n/2 -+ 1.96 sqrt(n)/2 (normal approximation of Binomial(n, 1/2)), 0-based, clamped.
  const double h = 1.96 * std::sqrt(double(n)) / 2;
  const size_t lo = size_t(std::max(0.0, std::floor(double(n) / 2 - h)));
  const size_t hi = size_t(std::min(double(n - 1), std::ceil(double(n) / 2 + h) - 1));
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double a = v[lo];
  std::nth_element(v.begin() + lo, v.begin() + hi, v.end());
  const double b = v[hi];
  std::nth_element(v.begin() + lo, v.begin() + (n / 2), v.begin() + hi + 1);
  const double med = v[n / 2];
  return med != 0 ? (b - a) / 2 / std::fabs(med) : 0;
}

void to_json(nlohmann::json& j, const Stats& s) {
  j = {{"n", s.n},
       {"min", s.min},
       {"max", s.max},
       {"median", s.median},
       {"mean", s.mean},
       {"p90", s.p90},
       {"p99", s.p99},
       {"stdev", s.stdev},
       {"cv", s.cv},
       {"median_ci95", {s.median_ci_lo, s.median_ci_hi}},
       {"median_ci_rel", s.median_ci_rel},
       {"mad", s.mad},
       {"outliers", s.outliers},
       {"outlier_rule", "x > median + 3 * 1.4826 * MAD"}};
}

void from_json(const nlohmann::json& j, Stats& s) {
  s.n = j.value("n", int64_t(0));
  s.min = j.value("min", 0.0);
  s.max = j.value("max", 0.0);
  s.median = j.value("median", 0.0);
  s.mean = j.value("mean", 0.0);
  s.p90 = j.value("p90", 0.0);
  s.p99 = j.value("p99", 0.0);
  s.stdev = j.value("stdev", 0.0);
  s.cv = j.value("cv", 0.0);
  if (j.contains("median_ci95") && j["median_ci95"].size() == 2) {
    s.median_ci_lo = j["median_ci95"][0].get<double>();
    s.median_ci_hi = j["median_ci95"][1].get<double>();
  }
  s.median_ci_rel =
      j.value("median_ci_rel", s.median != 0 ? (s.median_ci_hi - s.median_ci_lo) / 2 / std::fabs(s.median) : 0.0);
  s.mad = j.value("mad", 0.0);
  s.outliers = j.value("outliers", int64_t(0));
}

}  // namespace qb
