// Machine peaks measured in this run: the suites that probe them (bandwidth, compute) publish each
// finished cell's figure here, and the suites that set their numbers against them (rooflines,
// bandwidth shares) read them, without matching each other's suite or workload names.
#pragma once
#include <map>
#include <string>
#include <tuple>

namespace qb {

// What a peak measures.
enum class PeakKind {
  ReadGBps,      // GB/s read from a memory level ("L1", "L2", "L3", "DRAM")
  ComputeGflops  // GFLOP/s or GOP/s of a compute probe ("fp32_fma", "int8_dot")
};

class MachinePeaks {
 public:
  // Keeps the largest value published for (kind, where, threads).
  void publish(PeakKind kind, const std::string& where, int threads, double value);
  // The largest published value; 0 when none was (the probing suite did not run).
  double get(PeakKind kind, const std::string& where, int threads) const;
  double dram_read_gb_per_s(int threads) const { return get(PeakKind::ReadGBps, "DRAM", threads); }
  static const MachinePeaks& none();  // nothing published

 private:
  std::map<std::tuple<PeakKind, std::string, int>, double> best_;
};

}  // namespace qb
