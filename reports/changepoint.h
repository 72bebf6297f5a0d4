// Change points in a series by E-divisive means with a permutation test (Matteson & James, "A
// Nonparametric Approach for Multiple Change Point Analysis of Multivariate Data", JASA 2014; the
// method Apache Otava/Hunter applies to performance histories). Written from the paper.
#pragma once
#include <cstdint>
#include <vector>

namespace qb::rep {

struct ChangePointOptions {
  double alpha = 1.0;          // exponent of the distance |x - y|^alpha, in (0, 2)
  int min_size = 5;            // fewest points on either side of a split
  int permutations = 199;      // R of the permutation test
  double significance = 0.01;  // p-value above which the search stops
  uint64_t seed = 0x5eed;      // permutations are seeded: the same series gives the same answer
};

struct ChangePoint {
  int index = 0;  // first point of the new segment
  double p = 0;   // permutation p-value when it was accepted
  double q = 0;   // the divergence statistic Q-hat of the split
};

// Change points sorted by index. Each step splits the segment whose best split (tau, with the end
// kappa searched too, as in the paper) has the largest Q-hat, if the permutation test (points
// shuffled within each current segment, R times) gives p <= significance; otherwise it stops.
std::vector<ChangePoint> e_divisive(const std::vector<double>& x, const ChangePointOptions& opt = {});

}  // namespace qb::rep
