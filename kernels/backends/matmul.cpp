// The generic matmul driver: quantize activations once, then split the output across tasks.
#include <algorithm>
#include <string>

#include "qb/matmul.h"

namespace qb {

void matmul(const MatmulKernel& kern, const void* W, int64_t m, int64_t k, const float* X, int64_t n, float* Y,
            int64_t ldy, void* xq_buf, const ParallelFor& pf) {
  const FormatTraits& t = traits(kern.weight);
  if (k <= 0 || k % t.block_size != 0)
    throw FormatError("matmul: k=" + std::to_string(k) + " is not a multiple of " + std::string(t.name) +
                      "'s block size " + std::to_string(t.block_size));
  const FormatTraits& at = traits(kern.act);
  if (k % at.block_size != 0)
    throw FormatError("matmul: k=" + std::to_string(k) + " is not a multiple of " + std::string(at.name) +
                      "'s block size " + std::to_string(at.block_size) + " (the activation format of " +
                      std::string(t.name) + " kernels)");
  if (kern.pack_rows > 0 && 16 % kern.pack_rows != 0)  // row chunks below are multiples of 16
    throw FormatError("matmul: " + std::string(kern.name) + " packs " + std::to_string(kern.pack_rows) +
                      " rows, which does not divide the row chunks of 16");
  if (m <= 0 || n <= 0) return;
  const size_t xq_stride = kern.act_row_bytes(k);
  auto* xq = static_cast<uint8_t*>(xq_buf);
  pf(n, [&](int64_t j) { kern.quantize_act(X + j * k, xq + j * xq_stride, k); });
  const size_t w_stride = t.row_bytes(k);
  if (n == 1) {
    // GEMV: row chunks (multiples of 16 rows for tiled kernels), ~32 of them: enough for load
    // balance, few enough that a kernel's per-call unpacking of the activation row stays small.
    const int64_t chunk = std::max<int64_t>(16, (m / 32 + 15) / 16 * 16);
    const int64_t ntasks = (m + chunk - 1) / chunk;
    pf(ntasks, [&](int64_t task) {
      const int64_t r0 = task * chunk, r1 = std::min(m, r0 + chunk);
      kern.compute(k, W, w_stride, r0, r1, xq, xq_stride, 1, Y, ldy);
    });
    return;
  }
  // GEMM: 2-D tiles of up to 512 rows x 64 columns. A kernel unpacks its columns' activations
  // once per task, so tasks must be tall enough to amortise that; 64 columns of activations
  // stay in L2 while a task's rows stream past them.
  const int64_t col_chunk = 64;
  const int64_t row_chunk = std::clamp<int64_t>((m / 8 + 15) / 16 * 16, 16, 512);
  const int64_t nr = (m + row_chunk - 1) / row_chunk, nc = (n + col_chunk - 1) / col_chunk;
  pf(nr * nc, [&](int64_t task) {
    const int64_t r0 = (task % nr) * row_chunk, r1 = std::min(m, r0 + row_chunk);
    const int64_t c0 = (task / nr) * col_chunk, c1 = std::min(n, c0 + col_chunk);
    kern.compute(k, W, w_stride, r0, r1, xq + c0 * xq_stride, xq_stride, c1 - c0, Y + c0 * ldy, ldy);
  });
}

}  // namespace qb
