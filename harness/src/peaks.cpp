#include "qb/peaks.h"

#include <algorithm>

namespace qb {

void MachinePeaks::publish(PeakKind kind, const std::string& where, int threads, double value) {
  double& best = best_[{kind, where, threads}];
  best = std::max(best, value);
}

double MachinePeaks::get(PeakKind kind, const std::string& where, int threads) const {
  auto it = best_.find({kind, where, threads});
  return it == best_.end() ? 0.0 : it->second;
}

const MachinePeaks& MachinePeaks::none() {
  static const MachinePeaks empty;
  return empty;
}

}  // namespace qb
