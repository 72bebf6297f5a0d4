// One kernel's GEMV (or GEMM with N activation columns) in a loop, single thread, weights
// cache-resident unless m*k is large:
//   gemv_loop FORMAT BACKEND M K REPS [N]
// BACKEND with the suffix "packed" (e.g. avx2packed) runs the backend's packed kernel on weights
// repacked once before the loop (find_packed_kernel; not counted in the timing).
// prints the fastest repetition (ns per weight and column). Under `valgrind --tool=callgrind` the
// difference of two REPS counts gives instructions per weight, which a loaded machine does not
// change (docs/performance.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "qb/formats.h"
#include "qb/matmul.h"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s FORMAT BACKEND M K REPS [N]\n", argv[0]);
    return 2;
  }
  const auto* fmt = qb::find_format(argv[1]);
  std::string be_name = argv[2];
  const bool packed = be_name.ends_with("packed");
  if (packed) be_name.resize(be_name.size() - 6);
  const auto* be = qb::find_backend(be_name);
  const int64_t m = std::atoll(argv[3]), k = std::atoll(argv[4]);
  const int reps = std::atoi(argv[5]);
  const int64_t n = argc == 7 ? std::atoll(argv[6]) : 1;
  const qb::MatmulKernel* kern =
      fmt && be ? (packed ? qb::find_packed_kernel(fmt->id, be->id) : qb::find_kernel(fmt->id, be->id)) : nullptr;
  if (!kern || m <= 0 || k <= 0 || k % fmt->block_size != 0 || reps <= 0 || n <= 0) {
    std::fprintf(stderr, "no kernel for %s on %s, or bad M/K/REPS/N\n", argv[1], argv[2]);
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> wf(size_t(m * k)), x(size_t(n * k)), y(size_t(m * n));
  for (auto& v : wf) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  std::vector<uint8_t> w(fmt->row_bytes(k) * size_t(m)), xq(kern->act_row_bytes(k) * size_t(n));
  qb::quantize(fmt->id, wf.data(), w.data(), m, k);
  if (packed) {
    std::vector<uint8_t> p(qb::packed_bytes(*kern, m, k));
    kern->pack(w.data(), fmt->row_bytes(k), m, k, p.data());
    w = std::move(p);
  }
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    qb::matmul(*kern, w.data(), m, k, x.data(), n, y.data(), m, xq.data());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("%s: %.3f ns/weight, %.2f GB/s (fastest of %d), y[0] = %g\n", std::string(kern->name).c_str(),
              best * 1e9 / double(m * k * n), double(w.size()) / best / 1e9, reps, double(y[0]));
}
