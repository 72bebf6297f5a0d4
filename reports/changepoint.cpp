#include "changepoint.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qb::rep {
namespace {

// 2-D prefix sums of the distance matrix of a segment: any block sum in O(1).
class DistanceSums {
 public:
  DistanceSums(const double* x, int n, double alpha) : n_(n), p_(size_t(n + 1) * size_t(n + 1), 0.0) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double d = alpha == 1.0 ? std::abs(x[i] - x[j]) : std::pow(std::abs(x[i] - x[j]), alpha);
        at(i + 1, j + 1) = d + at(i, j + 1) + at(i + 1, j) - at(i, j);
      }
  }
  // Sum of d(i, j) for i in [a, b), j in [c, e).
  double block(int a, int b, int c, int e) const { return at(b, e) - at(a, e) - at(b, c) + at(a, c); }

 private:
  double& at(int i, int j) { return p_[size_t(i) * size_t(n_ + 1) + size_t(j)]; }
  double at(int i, int j) const { return p_[size_t(i) * size_t(n_ + 1) + size_t(j)]; }
  int n_;
  std::vector<double> p_;
};

struct Split {
  int tau = -1;  // relative to the segment start
  double q = -1;
};

// Best split of x[0, n): maximise Q-hat(X, Y) = m n / (m + n) * E-hat over tau and kappa, with
// X = x[0, tau), Y = x[tau, kappa), E-hat = 2/(mn) sum|X-Y|^a - 1/C(m,2) sum|X-X'|^a - 1/C(n,2) sum|Y-Y'|^a.
Split best_split(const double* x, int n, const ChangePointOptions& opt) {
  Split best;
  if (n < 2 * opt.min_size) return best;
  const DistanceSums d(x, n, opt.alpha);
  for (int tau = opt.min_size; tau <= n - opt.min_size; ++tau) {
    const double m = tau;
    const double within_x = d.block(0, tau, 0, tau) / 2 / (m * (m - 1) / 2);
    for (int kappa = tau + opt.min_size; kappa <= n; ++kappa) {
      const double k = kappa - tau;
      const double between = d.block(0, tau, tau, kappa) * 2 / (m * k);
      const double within_y = d.block(tau, kappa, tau, kappa) / 2 / (k * (k - 1) / 2);
      const double q = m * k / (m + k) * (between - within_x - within_y);
      if (q > best.q) best = {tau, q};
    }
  }
  return best;
}

// Over every segment (bounds b[i]..b[i+1]): the largest best split, as (segment, split).
std::pair<int, Split> best_over_segments(const std::vector<double>& x, const std::vector<int>& bounds,
                                         const ChangePointOptions& opt) {
  std::pair<int, Split> best{-1, {}};
  for (size_t s = 0; s + 1 < bounds.size(); ++s) {
    const Split sp = best_split(x.data() + bounds[s], bounds[s + 1] - bounds[s], opt);
    if (sp.tau >= 0 && sp.q > best.second.q) best = {int(s), sp};
  }
  return best;
}

}  // namespace

std::vector<ChangePoint> e_divisive(const std::vector<double>& x, const ChangePointOptions& opt) {
  std::vector<ChangePoint> found;
  std::vector<int> bounds{0, int(x.size())};
  std::mt19937_64 rng(opt.seed);
  while (true) {
    const auto [seg, sp] = best_over_segments(x, bounds, opt);
    if (seg < 0) break;
    // Permutation test: shuffle within each current segment, so only the new split is tested.
    int at_least = 0;
    std::vector<double> perm = x;
    for (int r = 0; r < opt.permutations; ++r) {
      for (size_t s = 0; s + 1 < bounds.size(); ++s)
        std::shuffle(perm.begin() + bounds[s], perm.begin() + bounds[s + 1], rng);
      if (best_over_segments(perm, bounds, opt).second.q >= sp.q) ++at_least;
    }
    const double p = double(at_least + 1) / double(opt.permutations + 1);
    if (p > opt.significance) break;
    const int cp = bounds[size_t(seg)] + sp.tau;
    found.push_back({cp, p, sp.q});
    bounds.insert(std::upper_bound(bounds.begin(), bounds.end(), cp), cp);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return found;
}

}  // namespace qb::rep
