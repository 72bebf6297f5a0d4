// Persistent workers bound to PUs (hwloc), parallel-for with a barrier.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "qb/matmul.h"

namespace qb {

class ThreadPool {
 public:
  // One worker per PU; the calling thread is worker 0 and is bound to pus[0] during run().
  // An empty pus list means n unbound workers.
  explicit ThreadPool(std::vector<int> pus, int n = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  // Calls fn(task) for every task in [0, ntasks), tasks handed out dynamically; returns when all done.
  void parallel_for(int64_t ntasks, const std::function<void(int64_t task)>& fn);
  // Calls fn(thread_index) once on each worker.
  void run_on_all(const std::function<void(int thread)>& fn);
  // Adapter for qb::matmul.
  ParallelFor as_parallel_for();
  bool bound() const { return bound_; }

 private:
  struct State;
  std::unique_ptr<State> s_;
  int n_ = 1;
  bool bound_ = false;
};

// Peer libraries (OpenMP in oneDNN, pthreadpool in XNNPACK) start their own threads, which inherit
// the creating thread's CPU mask. A ThreadPool binds its caller to one PU, so before calling a
// peer, widen the calling thread to every PU this process may use (the next parallel_for binds
// it again).
void unbind_calling_thread();

}  // namespace qb
