// The generic matmul driver: quantize activations once, then split rows across tasks.
#include <algorithm>
#include <string>

#include "qb/matmul.h"

namespace qb {

void matmul(const MatmulKernel& kern, const void* W, int64_t m, int64_t k, const float* X,
            int64_t n, float* Y, int64_t ldy, void* xq_buf, const ParallelFor& pf) {
  const FormatTraits& t = traits(kern.weight);
  if (k % t.block_size != 0)
    throw FormatError("matmul: k=" + std::to_string(k) + " is not a multiple of " +
                      std::string(t.name) + "'s block size " + std::to_string(t.block_size));
  const size_t xq_stride = kern.act_row_bytes(k);
  auto* xq = static_cast<uint8_t*>(xq_buf);
  pf(n, [&](int64_t j) { kern.quantize_act(X + j * k, xq + j * xq_stride, k); });
  // Row chunks: enough tasks for load balance, each a multiple of 16 rows for tiled kernels.
  const int64_t chunk = std::max<int64_t>(16, (m / 64 + 15) / 16 * 16);
  const int64_t ntasks = (m + chunk - 1) / chunk;
  const size_t w_stride = t.row_bytes(k);
  pf(ntasks, [&](int64_t task) {
    const int64_t r0 = task * chunk, r1 = std::min(m, r0 + chunk);
    kern.compute(k, W, w_stride, r0, r1, xq, xq_stride, n, Y, ldy);
  });
}

}  // namespace qb
