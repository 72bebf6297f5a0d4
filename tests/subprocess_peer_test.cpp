// The subprocess adapter's protocol handling (kernels/peers/subprocess_peer.cpp) against fake
// workers written in sh: one that dies, one that hangs, one that answers garbage, one that refuses,
// and one that answers correctly. Each failure must be one clear exception, quickly; never a hang.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "subprocess_peer.h"

using namespace qb;
using namespace qb::peers;

namespace {

namespace fs = std::filesystem;

// A fake worker: /bin/sh running `body`, its stdin/stdout the protocol socket.
WorkerCommand fake(const std::string& name, const std::string& body) {
  const fs::path dir = fs::temp_directory_path() / ("qbench-fake-workers-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path script = dir / (name + ".sh");
  std::ofstream(script) << body << "\n";
  return {name, {"/bin/sh", script.string()}};
}

std::string error_of(const WorkerCommand& cmd) {
  const std::vector<float> w(16 * 32, 0.5f);
  try {
    auto mm = subprocess_create(cmd, "v", w.data(), 16, 32, 2, 1);
    std::vector<float> x(64, 1.f), y(32);
    mm->run(x.data(), 1, y.data());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

using Clock = std::chrono::steady_clock;

}  // namespace

TEST(SubprocessPeer, WorkerThatExitsGivesItsStatusAndStderr) {
  const std::string e = error_of(fake("dies", "read line; echo 'cannot import the framework' >&2; exit 3"));
  EXPECT_NE(e.find("dies worker died during 'prepare'"), std::string::npos) << e;
  EXPECT_NE(e.find("exit status 3"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot import the framework"), std::string::npos) << e;
}

TEST(SubprocessPeer, WorkerThatHangsIsKilledAfterTheTimeout) {
  setenv("QB_WORKER_TIMEOUT_S", "1", 1);
  const auto t0 = Clock::now();
  const std::string e = error_of(fake("hangs", "read line; exec sleep 60"));
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  unsetenv("QB_WORKER_TIMEOUT_S");
  EXPECT_NE(e.find("gave no answer to 'prepare' within 1 s"), std::string::npos) << e;
  EXPECT_NE(e.find("(killed)"), std::string::npos) << e;
  EXPECT_LT(s, 30.0) << "the timeout did not stop the wait";
}

TEST(SubprocessPeer, GarbageAnswerIsRefused) {
  const std::string e = error_of(fake("garbage", "read line; echo 'Applying Weight Compression 100%'; exec sleep 60"));
  EXPECT_NE(e.find("answered garbage to 'prepare'"), std::string::npos) << e;
  EXPECT_NE(e.find("Applying Weight Compression"), std::string::npos) << e;
}

TEST(SubprocessPeer, RefusalCarriesTheWorkersReason) {
  const std::string e = error_of(fake("refuses", R"(read line; echo '{"ok": false, "error": "unknown variant v"}')"));
  EXPECT_NE(e.find("refuses worker refused 'prepare': unknown variant v"), std::string::npos) << e;
}

TEST(SubprocessPeer, BadTimeoutSettingIsOneClearError) {
  setenv("QB_WORKER_TIMEOUT_S", "soon", 1);
  EXPECT_THROW(worker_timeout(5), std::runtime_error);
  unsetenv("QB_WORKER_TIMEOUT_S");
  EXPECT_EQ(worker_timeout(5), 5);
}

// A worker that answers by the protocol: the in-worker time is what run() reports, the rest of the
// round trip is the protocol's overhead; a worker that dies after measuring fails the next call
// only (what was measured stays measured).
TEST(SubprocessPeer, InWorkerTimeAndOverheadThenDeath) {
  const auto cmd = fake("good", R"(n=0
while read line; do
  case "$line" in
    *'"prepare"'*) echo '{"ok": true, "id": 7, "weight_bytes": 256}' ;;
    *'"run"'*) n=$((n+1)); if [ $n -gt 3 ]; then exit 9; fi; echo '{"ok": true, "ns": 1500}' ;;
    *) echo '{"ok": true}' ;;
  esac
done)");
  const std::vector<float> w(16 * 32, 0.5f);
  auto mm = subprocess_create(cmd, "v", w.data(), 16, 32, 2, 1);
  EXPECT_EQ(mm->weight_bytes(), 256u);
  std::vector<float> x(64, 1.f), y(32);
  for (int i = 0; i < 3; ++i) {
    mm->run(x.data(), 2, y.data());
    EXPECT_DOUBLE_EQ(mm->last_run_seconds(), 1.5e-6);
  }
  EXPECT_GE(mm->protocol_overhead_seconds(), 0.0);
  EXPECT_LT(mm->protocol_overhead_seconds(), 5.0);
  try {
    mm->run(x.data(), 1, y.data());
    FAIL() << "a dead worker's run returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("died during 'run' (exit status 9)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mm->run(x.data(), 1, y.data()), std::runtime_error);  // stays failed, no hang
  EXPECT_THROW(mm->run(x.data(), 3, y.data()), std::runtime_error);  // n above max_n
}

// A worker started from a thread bound to one PU (as a cell's pool binds its caller) still gets the
// process's CPUs; the spawning thread keeps its binding. The fake worker reports `nproc` (which
// honours its affinity) as weight_bytes.
TEST(SubprocessPeer, WorkerIsNotConfinedToTheSpawningThreadsPU) {
  const int all = process_cpu_count();
  if (all < 2) GTEST_SKIP() << "this process may use " << all << " CPU(s): binding cannot narrow it";
  cpu_set_t saved, one;
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof saved, &saved), 0);
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &saved)) {
      CPU_SET(c, &one);
      break;
    }
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
  const auto cmd = fake("nproc", R"(while read line; do
  case "$line" in
    *'"prepare"'*) echo "{\"ok\": true, \"id\": 1, \"weight_bytes\": $(nproc)}" ;;
    *) echo '{"ok": true}' ;;
  esac
done)");
  const std::vector<float> w(16 * 32, 0.5f);
  uint64_t worker_cpus = 0;
  cpu_set_t after;
  {
    auto mm = subprocess_create(cmd, "v", w.data(), 16, 32, 2, 1);
    worker_cpus = mm->weight_bytes();
    pthread_getaffinity_np(pthread_self(), sizeof after, &after);
  }
  pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  EXPECT_EQ(worker_cpus, uint64_t(all));
  EXPECT_EQ(CPU_COUNT(&after), 1) << "the spawning thread's binding was not restored";
}
