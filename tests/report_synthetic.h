// Synthetic reports for the reports/ tests (compare, recommend, qualify, renderers).
#pragma once
#include <sys/wait.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/command.h"
#include "qb/report.h"
#include "qb/result.h"
#include "qb/stats.h"

namespace qbt {

inline std::vector<double> timing_samples(double median_s, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(median_s * (1.0 + noise(rng)));
  return v;
}

inline qb::CellResult cell(const std::string& suite, const std::string& format, const std::string& backend,
                           const std::string& workload, int threads, const std::string& placement,
                           nlohmann::json metrics, std::vector<double> samples = {}) {
  qb::CellResult r;
  r.cell.suite = suite;
  r.cell.format = format;
  r.cell.backend = backend;
  r.cell.workload = workload;
  r.cell.threads = threads;
  r.cell.placement = placement;
  r.metrics = std::move(metrics);
  r.samples = std::move(samples);
  if (!r.samples.empty()) {
    r.has_stats = true;
    r.stats = qb::compute_stats(r.samples, 50);
  }
  r.valid = true;
  return r;
}

// A throughput cell whose time is `t` seconds for `bytes` of weights (so gb_per_s = bytes/t).
inline qb::CellResult tp(const std::string& format, const std::string& backend, const std::string& workload,
                         int threads, double t, double bpw, unsigned seed = 1, double scale = 1.0) {
  auto s = timing_samples(t, 20, seed);
  for (auto& x : s) x *= scale;
  double med = qb::percentile(s, 0.5);
  double bytes = 4096.0 * 4096.0 * bpw / 8;
  // n from the workload name, as the throughput suite writes it: gemv_MxK (n=1) or gemmN_MxK.
  int64_t n = workload.rfind("gemm", 0) == 0 ? std::atoll(workload.c_str() + 4) : 1;
  auto r = cell(
      "throughput", format, backend, workload, threads, "compact",
      {{"gb_per_s", bytes / med / 1e9}, {"time_s", med}, {"gflop_per_s", 2 * 4096.0 * 4096 * double(n) / med / 1e9}},
      s);
  r.cell.params = {{"m", 4096}, {"k", 4096}, {"n", n}};
  return r;
}

// A latency suite decode-step estimate of `model` (params.estimate, as the latency suite writes it).
inline qb::CellResult decode_estimate(const std::string& format, const std::string& backend, double tokens_per_s,
                                      const std::string& model = "llama3.2-1b") {
  auto r = cell("latency", format, backend, "decode_" + model, 2, "compact",
                {{"decode_ms", 1e3 / tokens_per_s}, {"tokens_per_s", tokens_per_s}});
  r.cell.params = {{"model", model}, {"estimate", true}};
  return r;
}

// A cell marked invalid with one reason.
inline qb::CellResult invalid(qb::CellResult r, const std::string& reason = "CV 41% over threshold 5%") {
  r.valid = false;
  r.reasons = {reason};
  return r;
}

inline qb::CellResult qe(const std::string& format, double snr_db, double bpw, const std::string& dist = "gaussian") {
  nlohmann::json m = {{"bits_per_weight", bpw}, {"rmse", std::isinf(snr_db) ? 0.0 : std::pow(10.0, -snr_db / 20)}};
  if (!std::isinf(snr_db)) {
    m["snr_db"] = snr_db;
    m["cosine"] = 1.0 / std::sqrt(1.0 + std::pow(10.0, -snr_db / 10));
  } else {
    m["cosine"] = 1.0;
  }
  return cell("quant-error", format, "-", dist, 1, "-", m);
}

// Full synthetic report: F16 baseline + 4 quantized formats on one backend, 2 threads.
inline std::vector<qb::CellResult> sample_results() {
  std::vector<qb::CellResult> v;
  struct F {
    const char* name;
    double bpw, snr, speed;
  };
  // speed: relative to F16 (time = base / speed)
  const F fs[] = {{"F16", 16, 75, 1.0},
                  {"Q8_0", 8.5, 42, 1.8},
                  {"Q4_K", 4.5, 21, 3.2},
                  {"Q4_0", 4.5, 19, 3.0},
                  {"Q2_K", 2.625, 9, 4.5}};
  unsigned seed = 1;
  for (const auto& f : fs) {
    for (const char* w : {"gemv_4096x4096", "gemv_4096x14336"})
      v.push_back(tp(f.name, "avx2", w, 2, 0.004 / f.speed, f.bpw, seed++));
    v.push_back(qe(f.name, f.snr, f.bpw));
  }
  v.push_back(qe("F32", INFINITY, 32));
  return v;
}

inline nlohmann::json make_report(const std::vector<qb::CellResult>& results) {
  nlohmann::json header = {{"created", "2026-01-01T00:00:00Z"},
                           {"machine", {{"topology", {{"cpu_model", "Synthetic CPU"}, {"cores", 2}, {"pus", 2}}}}},
                           {"config", {{"quick", true}}},
                           {"run", {{"wall_s", 1.0}}},
                           {"qbench", {{"version", "test"}}}};
  return qb::build_report(header, results);
}

inline std::string tmpdir() {
  auto d = std::filesystem::temp_directory_path() / ("qb_report_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string write(const std::string& name, const std::string& text) {
  std::string p = tmpdir() + "/" + name;
  std::ofstream(p) << text;
  return p;
}

// Runs the qbench binary (env QBENCH) with args, in directory cwd when given; returns the exit
// status, output in *out.
inline int run_qbench(const std::string& args, std::string* out = nullptr, const std::string& cwd = "") {
  const char* bin = std::getenv("QBENCH");
  std::string exe = bin ? bin : std::string(QB_BINARY_DIR) + "/qbench";
  std::string log = tmpdir() + "/qbench_out.txt";
  const std::string cd = cwd.empty() ? "" : "cd '" + cwd + "' && ";
  int st = std::system((cd + exe + " " + args + " > " + log + " 2>&1").c_str());
  if (out) {
    std::ifstream in(log);
    out->assign(std::istreambuf_iterator<char>(in), {});
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace qbt
