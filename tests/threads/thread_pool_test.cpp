// The thread pool on its own and driving every kernel, the way the runner and the suites use it
// (pool.as_parallel_for() handed to qb::matmul). Small enough to build and run under
// ThreadSanitizer in CI (preset tsan, label "threads"): links qb_threads and qb_kernels only.
#include <gtest/gtest.h>

#include <sched.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/thread_pool.h"

using qb::ThreadPool;

namespace {

// Up to n CPUs this process may run on (binding needs real ones).
std::vector<int> allowed_cpus(size_t n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> v;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return v;
  for (int c = 0; c < CPU_SETSIZE && v.size() < n; ++c)
    if (CPU_ISSET(c, &set)) v.push_back(c);
  return v;
}

// Each task writes a plain (non-atomic) slot; the caller reads them after parallel_for returns,
// so the pool must publish the workers' writes (TSan reports a race if it does not).
void check_covers_every_task_once(ThreadPool& pool, int64_t ntasks, int reps) {
  std::vector<int> hits(size_t(ntasks), 0);
  for (int r = 0; r < reps; ++r) pool.parallel_for(ntasks, [&](int64_t t) { hits[size_t(t)] += 1; });
  for (int64_t t = 0; t < ntasks; ++t) ASSERT_EQ(hits[size_t(t)], reps) << "task " << t << " of " << ntasks;
}

}  // namespace

TEST(ThreadPool, UnboundPoolCoversEveryTaskOnceForAnyTaskCount) {
  ThreadPool pool({}, 4);  // more workers than this CI's 2 cores: workers interleave and sleep
  ASSERT_EQ(pool.size(), 4);
  EXPECT_FALSE(pool.bound());
  for (int64_t n : {0, 1, 2, 3, 4, 5, 17, 1000}) check_covers_every_task_once(pool, n, 20);
}

TEST(ThreadPool, BoundPoolCoversEveryTaskOnce) {
  const std::vector<int> pus = allowed_cpus(2);
  if (pus.empty()) GTEST_SKIP() << "sched_getaffinity failed: no CPU to bind to";
  ThreadPool pool(pus);
  EXPECT_TRUE(pool.bound());
  check_covers_every_task_once(pool, 257, 50);
}

TEST(ThreadPool, RunOnAllThenParallelForAlternate) {
  ThreadPool pool({}, 3);
  for (int rep = 0; rep < 30; ++rep) {
    std::vector<int> seen(3, 0);
    pool.run_on_all([&](int tid) { seen[size_t(tid)] += 1; });
    for (int s : seen) ASSERT_EQ(s, 1);
    std::vector<int64_t> v(64, 0);
    pool.parallel_for(64, [&](int64_t t) { v[size_t(t)] = t * t; });
    for (int64_t t = 0; t < 64; ++t) ASSERT_EQ(v[size_t(t)], t * t);
  }
}

TEST(ThreadPool, CreatedAndDestroyedRightAfterAJob) {
  // The runner replaces its pool whenever threads or placement change (runner.cpp get_pool):
  // stopping workers that have just finished, or never woke up, must be clean.
  for (int rep = 0; rep < 40; ++rep) {
    ThreadPool pool({}, 1 + rep % 4);
    std::atomic<int64_t> sum{0};
    if (rep % 3 != 0) pool.parallel_for(100, [&](int64_t t) { sum += t; });
    EXPECT_EQ(sum.load(), rep % 3 != 0 ? 4950 : 0);
  }
}

// Every kernel this CPU runs, on a GEMV and a small GEMM, through a 3-worker pool: bit-identical
// to the serial call (each output row is computed by one task, whatever the split).
TEST(ThreadPool, EveryKernelThroughThePoolMatchesSerial) {
  ThreadPool pool({}, 3);
  const qb::ParallelFor pf = pool.as_parallel_for();
  std::mt19937 rng(12);
  std::normal_distribution<float> nd(0.f, 1.f);
  int ran = 0, with_scalar = 0;
  for (const auto& f : qb::all_formats()) {
    const int64_t m = 37, k = f.block_size * ((512 + f.block_size - 1) / f.block_size);
    std::vector<float> wf(size_t(m * k));
    for (auto& x : wf) x = nd(rng);
    std::vector<uint8_t> w(f.row_bytes(k) * size_t(m));
    qb::quantize(f.id, wf.data(), w.data(), m, k);
    with_scalar += qb::find_kernel(f.id, qb::BackendId::Scalar) != nullptr;
    for (const auto& b : qb::own_backends()) {
      const qb::MatmulKernel* kern = b.available ? qb::find_kernel(f.id, b.id) : nullptr;
      if (!kern) continue;
      for (int64_t n : {1, 5}) {
        std::vector<float> x(size_t(n * k));
        for (auto& v : x) v = nd(rng);
        std::vector<uint8_t> xq1(size_t(n) * kern->act_row_bytes(k)), xq2(xq1.size());
        std::vector<float> y1(size_t(n * m), NAN), y2(y1.size(), NAN);
        qb::matmul(*kern, w.data(), m, k, x.data(), n, y1.data(), m, xq1.data());
        qb::matmul(*kern, w.data(), m, k, x.data(), n, y2.data(), m, xq2.data(), pf);
        ASSERT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0)
            << f.name << " on " << b.name << ", n=" << n;
        ++ran;
      }
    }
  }
  EXPECT_GT(with_scalar, 0);
  EXPECT_GE(ran, 2 * with_scalar) << "each format with a scalar kernel ran at least on scalar, n=1 and n=5";
}
