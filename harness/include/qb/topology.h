// The machine: hwloc topology, ISA, memory, cgroup limits, OS. Detected once per run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb {

struct CacheInfo {
  int level = 0;     // 1, 2, 3
  std::string type;  // "data", "unified", "instruction"
  uint64_t size_bytes = 0;
  int line_bytes = 0;
  std::vector<int> pus;  // OS indexes of the PUs sharing it
};

struct CoreInfo {
  int core_id = 0;  // logical index
  int package = 0;
  int numa_node = 0;
  std::vector<int> pus;  // OS indexes of its hardware threads
};

struct Topology {
  std::string cpu_model, vendor;
  std::vector<std::string> isa;  // feature names present
  int packages = 0, numa_nodes = 0, cores = 0, pus = 0;
  std::vector<uint64_t> numa_memory_bytes;
  std::vector<CoreInfo> core_list;
  std::vector<CacheInfo> caches;  // data/unified caches, one entry per instance
  uint64_t mem_total_bytes = 0, mem_available_bytes = 0;
  double cgroup_cpu_limit = 0;          // CPUs allowed by cgroup quota, 0 = none
  uint64_t cgroup_mem_limit_bytes = 0;  // 0 = none
  bool hypervisor = false;
  std::string os, kernel;
  std::string governor;  // cpufreq governor or "unknown"

  // Size of the per-core cache of a level (the smallest instance), 0 if absent.
  uint64_t cache_size(int level) const;
};

// Detects the machine with hwloc (plus /proc, /sys, cpuid).
const Topology& machine_topology();

void to_json(nlohmann::json& j, const Topology& t);
std::string topology_tree(const Topology& t);  // readable tree for `qbench topology`

// Thread placement: the PU (OS index) each of N workers is bound to.
enum class Placement { Compact, Spread, OnePerCore };
const char* placement_name(Placement p);
bool parse_placement(const std::string& s, Placement& out);
std::vector<Placement> all_placements();
// PUs for n threads, or an empty vector when the plan cannot place n threads
// (one-per-core with n > cores).
std::vector<int> placement_pus(const Topology& t, Placement p, int n);

}  // namespace qb
