// Helpers shared by the peer backends (kernels/peers/*.cpp): symmetric int8 quantization.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace qb::peers {

inline float absmax(const float* x, int64_t n) {
  float a = 0;
  for (int64_t i = 0; i < n; ++i) a = std::max(a, std::fabs(x[i]));
  return a;
}

inline int8_t q8(float v, float inv_scale) {
  const float r = std::nearbyint(v * inv_scale);
  return int8_t(std::clamp(r, -127.f, 127.f));
}

// Per-row symmetric int8: scale[r] = max|W[r,:]| / 127.
inline void quantize_rows_s8(const float* W, int64_t m, int64_t k, std::vector<int8_t>& q, std::vector<float>& scale) {
  q.resize(size_t(m * k));
  scale.resize(size_t(m));
  for (int64_t r = 0; r < m; ++r) {
    const float a = absmax(W + r * k, k);
    const float s = a > 0 ? a / 127.f : 1.f;
    scale[size_t(r)] = s;
    const float inv = 1.f / s;
    for (int64_t c = 0; c < k; ++c) q[size_t(r * k + c)] = q8(W[r * k + c], inv);
  }
}

}  // namespace qb::peers
