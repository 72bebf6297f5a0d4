// The subprocess adapter's C++ side (see subprocess_peer.h): process, protocol, shared memory.
#include "subprocess_peer.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace qb::peers {

namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A unique file name for this process.
std::string unique_name(const char* what) {
  static std::atomic<unsigned> counter{0};
  return std::string("qbench-") + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::string temp_dir(bool shm) {
  if (shm && std::filesystem::is_directory("/dev/shm")) return "/dev/shm";
  return std::filesystem::temp_directory_path().string();
}

// The CPUs this process may use, read before any thread is bound (static initialisation runs on
// the main thread before main()).
const cpu_set_t& process_cpus() {
  static const cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (sched_getaffinity(0, sizeof s, &s) != 0) CPU_ZERO(&s);
    return s;
  }();
  return set;
}
[[maybe_unused]] const bool process_cpus_read_early = (process_cpus(), true);

// A child inherits the spawning thread's CPU binding, and a cell's thread pool binds its caller to
// one PU: a worker started there ran every framework thread on that PU (OpenVINO's INT4 GEMV 80x
// slower than the same process unbound). Workers start on the process's CPUs; the framework's own
// thread count (the cell's threads) bounds what they use.
class SpawnUnbound {
 public:
  SpawnUnbound() {
    const cpu_set_t& all = process_cpus();
    rebound_ = CPU_COUNT(&all) > 0 && pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0 &&
               !CPU_EQUAL(&saved_, &all) && pthread_setaffinity_np(pthread_self(), sizeof all, &all) == 0;
  }
  ~SpawnUnbound() {
    if (rebound_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  SpawnUnbound(const SpawnUnbound&) = delete;
  SpawnUnbound& operator=(const SpawnUnbound&) = delete;

 private:
  cpu_set_t saved_{};
  bool rebound_ = false;
};

}  // namespace

int process_cpu_count() { return CPU_COUNT(&process_cpus()); }

WorkerCommand framework_worker(const std::string& framework) {
  WorkerCommand c;
  c.framework = framework;
  c.argv = {env_or("QB_PYTHON", QB_WORKER_PYTHON), env_or("QB_WORKER_DIR", QB_WORKER_DIR) + "/qb_worker.py", framework};
  return c;
}

double worker_timeout(double fallback) {
  const char* v = std::getenv("QB_WORKER_TIMEOUT_S");
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double t = std::strtod(v, &end);
  if (end == v || *end || !(t > 0))
    throw std::runtime_error(std::string("QB_WORKER_TIMEOUT_S='") + v + "': expected a positive number of seconds");
  return t;
}

// ---------------------------------------------------------------- worker process
Worker::Worker(WorkerCommand cmd) : cmd_(std::move(cmd)) {
  int sv[2];
  // A socket, not pipes: send(MSG_NOSIGNAL) to a dead worker is an error, not a SIGPIPE.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(cmd_.framework + " worker: socketpair failed: " + std::strerror(errno));
  log_path_ = temp_dir(false) + "/" + unique_name("worker") + ".log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (auto& a : cmd_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const SpawnUnbound unbound;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    throw std::runtime_error(cmd_.framework + " worker: cannot start " + cmd_.argv[0] + ": " + std::strerror(rc));
  }
  pid_ = pid;
  fd_ = sv[0];
}

Worker::~Worker() {
  if (pid_ > 0) {
    const char quit[] = "{\"op\":\"quit\"}\n";
    (void)!::send(fd_, quit, sizeof quit - 1, MSG_NOSIGNAL);
    // Up to 2 s to exit on its own (frameworks' destructors), then SIGKILL.
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(log_path_, ec);
}

std::string Worker::stderr_tail() const {
  std::ifstream in(log_path_);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The last non-empty lines, up to 400 characters: usually the exception.
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  if (all.size() > 400) all = "..." + all.substr(all.size() - 400);
  std::replace(all.begin(), all.end(), '\n', '|');
  return all.empty() ? "" : "; its stderr ends: " + all;
}

void Worker::fail(const std::string& what) {
  std::string status;
  if (pid_ > 0) {
    int st = 0;
    bool exited = false;  // a worker whose socket closed is exiting: give it 1 s to say its status
    for (int i = 0; i < 100 && !(exited = waitpid(pid_, &st, WNOHANG) == pid_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (exited) {
      status = WIFEXITED(st)     ? " (exit status " + std::to_string(WEXITSTATUS(st)) + ")"
               : WIFSIGNALED(st) ? " (killed by signal " + std::to_string(WTERMSIG(st)) + ")"
                                 : "";
    } else {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      status = " (killed)";
    }
    pid_ = -1;
  }
  throw std::runtime_error(cmd_.framework + " worker " + what + status + stderr_tail());
}

nlohmann::json Worker::call(const nlohmann::json& request, double timeout_s) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string op = request.value("op", std::string("?"));
  if (pid_ <= 0) throw std::runtime_error(cmd_.framework + " worker is not running (it failed earlier)");
  const std::string line = request.dump() + "\n";
  for (size_t off = 0; off < line.size();) {
    const ssize_t w = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("died before request '" + op + "' could be sent");
    off += size_t(w);
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  size_t nl;
  while ((nl = buf_.find('\n')) == std::string::npos) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) fail("gave no answer to '" + op + "' within " + std::to_string(int(timeout_s)) + " s");
    pollfd p = {fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, int(std::min(left * 1000 + 1, 1e9)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    char chunk[65536];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail("died during '" + op + "'");
    buf_.append(chunk, size_t(got));
    if (buf_.size() > (size_t(16) << 20)) fail("answered more than 16 MiB without a newline to '" + op + "'");
  }
  const std::string ans = buf_.substr(0, nl);
  buf_.erase(0, nl + 1);
  nlohmann::json j = nlohmann::json::parse(ans, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
    fail("answered garbage to '" + op + "': '" + ans.substr(0, 200) + "' (expected a JSON object with \"ok\")");
  if (!j["ok"].get<bool>())
    throw std::runtime_error(cmd_.framework + " worker refused '" + op + "': " + j.value("error", std::string("?")));
  return j;
}

std::shared_ptr<Worker> shared_worker(const WorkerCommand& cmd) {
  static std::mutex mu;
  static std::map<std::vector<std::string>, std::shared_ptr<Worker>> workers;
  std::lock_guard<std::mutex> lock(mu);
  auto& w = workers[cmd.argv];
  if (!w || !w->alive()) w = std::make_shared<Worker>(cmd);
  return w;
}

// ---------------------------------------------------------------- shared memory
ShmFile::ShmFile(size_t bytes) : bytes_(std::max<size_t>(bytes, 4)) {
  path_ = temp_dir(true) + "/" + unique_name("buf");
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path_ + ": " + std::strerror(errno));
  if (::ftruncate(fd, off_t(bytes_)) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path_.c_str());
    throw std::runtime_error("cannot size " + path_ + " to " + std::to_string(bytes_) + " bytes: " + std::strerror(e));
  }
  p_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p_ == MAP_FAILED) {
    p_ = nullptr;
    ::unlink(path_.c_str());
    throw std::runtime_error("cannot map " + path_ + ": " + std::strerror(errno));
  }
}

void ShmFile::unlink_name() {
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

ShmFile::~ShmFile() {
  if (p_) ::munmap(p_, bytes_);
  unlink_name();
}

// ---------------------------------------------------------------- one prepared instance
namespace {

constexpr double kPrepareTimeout = 900, kRunTimeout = 120;

class SubprocessMatmul : public PeerMatmul {
 public:
  SubprocessMatmul(std::shared_ptr<Worker> w, int64_t m, int64_t k, int64_t max_n)
      : w_(std::move(w)),
        m_(m),
        k_(k),
        max_n_(max_n),
        x_(std::make_unique<ShmFile>(size_t(max_n * k) * 4)),
        y_(std::make_unique<ShmFile>(size_t(max_n * m) * 4)) {}
  ~SubprocessMatmul() override {
    if (id_ >= 0 && w_->alive()) try {
        w_->call({{"op", "free"}, {"id", id_}}, 10);
      } catch (const std::exception&) {  // a worker that fails here is replaced on next use
      }
  }

  void prepare(const std::string& variant, const float* W, int threads) {
    ShmFile wf(size_t(m_ * k_) * 4);
    std::memcpy(wf.data(), W, size_t(m_ * k_) * 4);
    auto a = w_->call({{"op", "prepare"},
                       {"variant", variant},
                       {"m", m_},
                       {"k", k_},
                       {"max_n", max_n_},
                       {"threads", threads},
                       {"w", wf.path()},
                       {"x", x_->path()},
                       {"y", y_->path()}},
                      worker_timeout(kPrepareTimeout));
    id_ = a.at("id").get<int64_t>();
    weight_bytes_ = a.at("weight_bytes").get<size_t>();
    x_->unlink_name();
    y_->unlink_name();
  }

  void run(const float* X, int64_t n, float* Y) override {
    if (n < 1 || n > max_n_) throw std::runtime_error("run with n outside 1.." + std::to_string(max_n_));
    std::memcpy(x_->data(), X, size_t(n * k_) * 4);
    const auto t0 = Clock::now();
    auto a = w_->call({{"op", "run"}, {"id", id_}, {"n", n}}, worker_timeout(kRunTimeout));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!a.contains("ns") || !a["ns"].is_number() || a["ns"].get<double>() < 0)
      throw std::runtime_error(w_->framework() + " worker answered 'run' without a time: " + a.dump());
    last_s_ = a["ns"].get<double>() * 1e-9;
    overhead_.push_back(wall - last_s_);
    std::memcpy(Y, y_->data(), size_t(n * m_) * 4);
  }
  double last_run_seconds() const override { return last_s_; }
  double protocol_overhead_seconds() const override {
    if (overhead_.empty()) return -1;
    std::vector<double> v = overhead_;
    std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  size_t weight_bytes() const override { return weight_bytes_; }
  std::unique_ptr<PeerMatmul> clone() const override {
    auto c = std::make_unique<SubprocessMatmul>(w_, m_, k_, max_n_);
    auto a = w_->call({{"op", "clone"}, {"id", id_}, {"x", c->x_->path()}, {"y", c->y_->path()}},
                      worker_timeout(kPrepareTimeout));
    c->id_ = a.at("id").get<int64_t>();
    c->weight_bytes_ = weight_bytes_;
    c->x_->unlink_name();
    c->y_->unlink_name();
    return c;
  }
  // Each copy is a framework instance in the worker (an ONNX Runtime session, an OpenVINO compiled
  // model with their own threads): a few dozen at most.
  int64_t max_copies() const override { return 32; }
  bool dequantized(std::vector<float>& w) const override {
    ShmFile f(size_t(m_ * k_) * 4);
    w_->call({{"op", "dequantized"}, {"id", id_}, {"path", f.path()}}, worker_timeout(kPrepareTimeout));
    w.assign(f.data(), f.data() + m_ * k_);
    return true;
  }

 private:
  std::shared_ptr<Worker> w_;
  int64_t m_, k_, max_n_, id_ = -1;
  std::unique_ptr<ShmFile> x_, y_;
  size_t weight_bytes_ = 0;
  double last_s_ = -1;
  std::vector<double> overhead_;
};

}  // namespace

std::unique_ptr<PeerMatmul> subprocess_create(const WorkerCommand& cmd, const std::string& variant, const float* W,
                                              int64_t m, int64_t k, int64_t max_n, int threads) {
  auto mm = std::make_unique<SubprocessMatmul>(shared_worker(cmd), m, k, std::max<int64_t>(1, max_n));
  mm->prepare(variant, W, threads);
  return mm;
}

std::vector<PeerVariant> subprocess_variants(const WorkerCommand& cmd) {
  auto a = shared_worker(cmd)->call({{"op", "hello"}}, worker_timeout(60));
  std::vector<PeerVariant> v;
  for (const auto& e : a.at("variants")) {
    const std::string f = e.at("qbench_format").get<std::string>();
    const FormatTraits* t = find_format(f);
    if (!t) throw std::runtime_error(cmd.framework + " worker names an unknown qbench format '" + f + "'");
    v.push_back({e.at("name").get<std::string>(), t->id, e.value("what", std::string()), e.value("bits", 0),
                 e.value("act_bits", 32), e.value("no_gemm", std::string())});
  }
  return v;
}

}  // namespace qb::peers
