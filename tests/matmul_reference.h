// The error measure the peer and framework-adapter tests hold a matmul to, against an independent
// double-precision product: max |y - ref| / rms(ref), ref = A (m x k, row-major) times X (n x k),
// y and ref laid out n x m.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace qbt {
inline double matmul_rel_err(const std::vector<float>& y, const std::vector<float>& a, const std::vector<float>& x,
                             int64_t m, int64_t k, int64_t n) {
  double ss = 0, mx = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < m; ++r) {
      double ref = 0;
      for (int64_t c = 0; c < k; ++c) ref += double(a[size_t(r * k + c)]) * x[size_t(j * k + c)];
      ss += ref * ref;
      mx = std::max(mx, std::fabs(double(y[size_t(j * m + r)]) - ref));
    }
  return mx / std::sqrt(ss / double(n * m));
}
}  // namespace qbt
