// Subprocess framework adapters: a framework with no C/C++ API in its Python wheel (ONNX Runtime,
// OpenVINO here) runs in a Python worker (kernels/peers/workers/qb_worker.py) that speaks
// JSON lines over a socket on its stdin/stdout. Arrays go through files in /dev/shm that both
// sides map; each run is timed inside the worker (perf_counter_ns around the framework call) and
// the round trip minus that time is the protocol's overhead, reported beside the cell.
// A worker that dies, stops answering (timeout) or answers garbage makes the call throw one
// std::runtime_error saying which and why (with the tail of the worker's stderr); the worker is
// then killed and the next call starts a fresh one.
#pragma once
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/peers.h"

namespace qb::peers {

// How to start a worker: argv[0] is the program (python), the rest its arguments.
struct WorkerCommand {
  std::string framework;  // for messages: "onnxruntime"
  std::vector<std::string> argv;
};

// The worker of `framework` as this build runs it: $QB_PYTHON (else the Python that configured
// the build) on $QB_WORKER_DIR/qb_worker.py (else the source tree's kernels/peers/workers).
WorkerCommand framework_worker(const std::string& framework);

// Seconds a request may take before the worker is declared hung: $QB_WORKER_TIMEOUT_S, else
// `fallback` (prepare quantizes the weights and may take minutes; run is one matmul).
double worker_timeout(double fallback);

// How many CPUs this process was started with: what a worker gets, whatever thread spawns it.
int process_cpu_count();

class Worker {
 public:
  explicit Worker(WorkerCommand cmd);  // starts the process; throws when it cannot
  ~Worker();                           // asks it to quit, kills it if it does not
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // One request, one answer ({"ok": true, ...}); throws std::runtime_error on a refusal
  // ({"ok": false, "error": ...}), death, timeout or garbage. After death/timeout/garbage the
  // worker is killed and every later call throws.
  nlohmann::json call(const nlohmann::json& request, double timeout_s);
  bool alive() const { return pid_ > 0; }
  const std::string& framework() const { return cmd_.framework; }

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string stderr_tail() const;
  WorkerCommand cmd_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buf_, log_path_;
  std::mutex mu_;
};

// The worker shared by every instance of one command (importing a framework costs seconds, so one
// process serves all cells of a run, instances named by id); a dead one is replaced on next use.
std::shared_ptr<Worker> shared_worker(const WorkerCommand& cmd);

// A file in /dev/shm (else the temp directory) of `bytes` bytes, mapped shared; removed on destruction.
class ShmFile {
 public:
  explicit ShmFile(size_t bytes);
  ~ShmFile();
  ShmFile(const ShmFile&) = delete;
  ShmFile& operator=(const ShmFile&) = delete;
  float* data() const { return static_cast<float*>(p_); }
  const std::string& path() const { return path_; }
  // Removes the name once the worker has mapped the file: both mappings stay, and nothing is left
  // in /dev/shm if qbench is killed.
  void unlink_name();

 private:
  std::string path_;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// Prepares `variant` of W (m × k) in the worker and returns the instance (run, clone, dequantized).
std::unique_ptr<PeerMatmul> subprocess_create(const WorkerCommand& cmd, const std::string& variant, const float* W,
                                              int64_t m, int64_t k, int64_t max_n, int threads);

// The worker's variant list ({"op": "hello"}).
std::vector<PeerVariant> subprocess_variants(const WorkerCommand& cmd);

}  // namespace qb::peers
