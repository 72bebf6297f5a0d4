// Persistent bound workers. Workers spin briefly for a new job (a kernel call is often tens of
// microseconds), then sleep on a condition variable so an idle pool costs no CPU.
#include "qb/thread_pool.h"

#include <hwloc.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#if defined(__x86_64__)
#include "qb/x86_intrin.h"
#define QB_RELAX() _mm_pause()
#else
#define QB_RELAX() std::this_thread::yield()
#endif

namespace qb {

namespace {

hwloc_topology_t shared_topology() {
  static hwloc_topology_t topo = [] {
    hwloc_topology_t t;
    hwloc_topology_init(&t);
    hwloc_topology_load(t);
    return t;
  }();
  return topo;
}

bool bind_current_thread(int pu) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, unsigned(pu));
  const int rc = hwloc_set_cpubind(shared_topology(), set, HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(set);
  return rc == 0;
}

thread_local const void* tl_bound_pool = nullptr;
constexpr int kSpinIters = 20000;

}  // namespace

struct ThreadPool::State {
  std::vector<std::thread> threads;
  std::vector<int> pus;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};
  std::atomic<int64_t> next{0};
  int64_t ntasks = 0;
  const std::function<void(int64_t)>* task_fn = nullptr;
  const std::function<void(int)>* all_fn = nullptr;
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  hwloc_cpuset_t caller_original = nullptr;

  void work(int tid) {
    if (all_fn) {
      (*all_fn)(tid);
      return;
    }
    for (;;) {
      const int64_t t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= ntasks) break;
      (*task_fn)(t);
    }
  }

  void worker(int tid) {
    if (!pus.empty()) bind_current_thread(pus[size_t(tid)]);
    uint64_t seen = 0;
    for (;;) {
      for (int i = 0; i < kSpinIters && generation.load(std::memory_order_acquire) == seen && !stop; ++i) QB_RELAX();
      if (generation.load(std::memory_order_acquire) == seen && !stop) {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return generation.load(std::memory_order_acquire) != seen || stop.load(); });
      }
      if (stop) return;
      seen = generation.load(std::memory_order_acquire);
      work(tid);
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void dispatch_and_wait() {
    remaining.store(int(threads.size()), std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(m);
      generation.fetch_add(1, std::memory_order_acq_rel);
    }
    cv.notify_all();
    work(0);
    for (int i = 0; remaining.load(std::memory_order_acquire) != 0; ++i)
      if (i < kSpinIters)
        QB_RELAX();
      else
        std::this_thread::yield();
  }
};

ThreadPool::ThreadPool(std::vector<int> pus, int n) : s_(std::make_unique<State>()) {
  n_ = pus.empty() ? std::max(1, n) : int(pus.size());
  s_->pus = std::move(pus);
  bound_ = !s_->pus.empty();
  if (bound_) {
    s_->caller_original = hwloc_bitmap_alloc();
    hwloc_get_cpubind(shared_topology(), s_->caller_original, HWLOC_CPUBIND_THREAD);
  }
  for (int i = 1; i < n_; ++i) s_->threads.emplace_back([this, i] { s_->worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(s_->m);
    s_->stop = true;
  }
  s_->cv.notify_all();
  for (auto& t : s_->threads) t.join();
  if (s_->caller_original) {
    if (tl_bound_pool == this) {
      hwloc_set_cpubind(shared_topology(), s_->caller_original, HWLOC_CPUBIND_THREAD);
      tl_bound_pool = nullptr;
    }
    hwloc_bitmap_free(s_->caller_original);
  }
}

void ThreadPool::parallel_for(int64_t ntasks, const std::function<void(int64_t)>& fn) {
  if (ntasks <= 0) return;
  if (bound_ && tl_bound_pool != this) {  // the caller acts as worker 0
    bind_current_thread(s_->pus[0]);
    tl_bound_pool = this;
  }
  if (n_ == 1 || ntasks == 1) {
    for (int64_t t = 0; t < ntasks; ++t) fn(t);
    return;
  }
  s_->task_fn = &fn;
  s_->all_fn = nullptr;
  s_->ntasks = ntasks;
  s_->next.store(0, std::memory_order_relaxed);
  s_->dispatch_and_wait();
}

void ThreadPool::run_on_all(const std::function<void(int)>& fn) {
  if (bound_ && tl_bound_pool != this) {
    bind_current_thread(s_->pus[0]);
    tl_bound_pool = this;
  }
  if (n_ == 1) {
    fn(0);
    return;
  }
  s_->all_fn = &fn;
  s_->task_fn = nullptr;
  s_->dispatch_and_wait();
  s_->all_fn = nullptr;
}

void unbind_calling_thread() {
  hwloc_const_cpuset_t all = hwloc_topology_get_allowed_cpuset(shared_topology());
  hwloc_set_cpubind(shared_topology(), all, HWLOC_CPUBIND_THREAD);
  tl_bound_pool = nullptr;
}

ParallelFor ThreadPool::as_parallel_for() {
  return [this](int64_t n, const std::function<void(int64_t)>& fn) { parallel_for(n, fn); };
}

}  // namespace qb
