// Machine topology from hwloc, ISA from cpuid, memory/cgroup/OS from /proc and /sys.
#include "qb/topology.h"

#include <hwloc.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "qb/cpu_features.h"

namespace qb {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

uint64_t meminfo_kb(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  uint64_t v;
  std::string unit;
  while (in >> k >> v) {
    std::getline(in, unit);
    if (k == key + ":") return v * 1024;
  }
  return 0;
}

std::vector<int> cpuset_pus(hwloc_const_cpuset_t set) {
  std::vector<int> v;
  unsigned i;
  hwloc_bitmap_foreach_begin(i, set) { v.push_back(int(i)); }
  hwloc_bitmap_foreach_end();
  return v;
}

void cgroup_limits(Topology& t) {
  // cgroup v2 first, then v1.
  std::string cpu = read_first_line("/sys/fs/cgroup/cpu.max");
  if (!cpu.empty()) {
    std::istringstream ss(cpu);
    std::string quota;
    double period = 0;
    ss >> quota >> period;
    if (quota != "max" && period > 0) t.cgroup_cpu_limit = std::stod(quota) / period;
  } else {
    std::string q = read_first_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
    std::string p = read_first_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    if (!q.empty() && !p.empty() && std::stol(q) > 0) t.cgroup_cpu_limit = std::stod(q) / std::stod(p);
  }
  std::string mem = read_first_line("/sys/fs/cgroup/memory.max");
  if (mem.empty()) mem = read_first_line("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (!mem.empty() && mem != "max") {
    uint64_t v = std::stoull(mem);
    if (v < (uint64_t(1) << 60)) t.cgroup_mem_limit_bytes = v;
  }
}

Topology detect() {
  Topology t;
  const CpuFeatures& f = cpu_features();
  t.cpu_model = f.model;
  t.vendor = f.vendor;
  t.isa = f.names();
  t.hypervisor = f.hypervisor;

  hwloc_topology_t topo;
  hwloc_topology_init(&topo);
  hwloc_topology_load(topo);
  t.packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  t.numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  t.cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  t.pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  for (int i = 0; i < t.numa_nodes; ++i) {
    hwloc_obj_t n = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, unsigned(i));
    t.numa_memory_bytes.push_back(n->attr ? n->attr->numanode.local_memory : 0);
  }
  for (int i = 0; i < t.cores; ++i) {
    hwloc_obj_t c = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, unsigned(i));
    CoreInfo ci;
    ci.core_id = i;
    ci.pus = cpuset_pus(c->cpuset);
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, c);
    ci.package = pkg ? int(pkg->logical_index) : 0;
    // NUMA node: the first node whose cpuset includes this core.
    for (int n = 0; n < t.numa_nodes; ++n) {
      hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, unsigned(n));
      if (hwloc_bitmap_isincluded(c->cpuset, node->cpuset)) {
        ci.numa_node = n;
        break;
      }
    }
    t.core_list.push_back(ci);
  }
  const hwloc_obj_type_t cache_types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE};
  for (hwloc_obj_type_t ct : cache_types) {
    const int n = hwloc_get_nbobjs_by_type(topo, ct);
    for (int i = 0; i < n; ++i) {
      hwloc_obj_t o = hwloc_get_obj_by_type(topo, ct, unsigned(i));
      CacheInfo c;
      c.level = int(o->attr->cache.depth);
      c.type = o->attr->cache.type == HWLOC_OBJ_CACHE_DATA          ? "data"
               : o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? "instruction"
                                                                    : "unified";
      c.size_bytes = o->attr->cache.size;
      c.line_bytes = int(o->attr->cache.linesize);
      c.pus = cpuset_pus(o->cpuset);
      t.caches.push_back(c);
    }
  }
  hwloc_topology_destroy(topo);

  t.mem_total_bytes = meminfo_kb("MemTotal");
  t.mem_available_bytes = meminfo_kb("MemAvailable");
  cgroup_limits(t);
  struct utsname u;
  if (uname(&u) == 0) {
    t.kernel = std::string(u.sysname) + " " + u.release;
  }
  std::ifstream osr("/etc/os-release");
  for (std::string line; std::getline(osr, line);)
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      t.os = line.substr(12);
      t.os.erase(std::remove(t.os.begin(), t.os.end(), '"'), t.os.end());
    }
  t.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (t.governor.empty()) t.governor = "unknown (no cpufreq)";
  return t;
}

}  // namespace

uint64_t Topology::cache_size(int level) const {
  uint64_t best = 0;
  for (const auto& c : caches)
    if (c.level == level && c.type != "instruction" && (best == 0 || c.size_bytes < best)) best = c.size_bytes;
  return best;
}

const Topology& machine_topology() {
  static const Topology t = detect();
  return t;
}

void to_json(nlohmann::json& j, const Topology& t) {
  nlohmann::json cores = nlohmann::json::array();
  for (const auto& c : t.core_list)
    cores.push_back({{"core", c.core_id}, {"package", c.package}, {"numa_node", c.numa_node}, {"pus", c.pus}});
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : t.caches)
    caches.push_back({{"level", c.level},
                      {"type", c.type},
                      {"size_bytes", c.size_bytes},
                      {"line_bytes", c.line_bytes},
                      {"pus", c.pus}});
  j = {{"cpu_model", t.cpu_model},
       {"vendor", t.vendor},
       {"isa", t.isa},
       {"packages", t.packages},
       {"numa_nodes", t.numa_nodes},
       {"numa_memory_bytes", t.numa_memory_bytes},
       {"cores", t.cores},
       {"pus", t.pus},
       {"smt", t.cores > 0 ? t.pus / t.cores : 1},
       {"core_list", cores},
       {"caches", caches},
       {"mem_total_bytes", t.mem_total_bytes},
       {"mem_available_bytes", t.mem_available_bytes},
       {"cgroup_cpu_limit", t.cgroup_cpu_limit},
       {"cgroup_mem_limit_bytes", t.cgroup_mem_limit_bytes},
       {"hypervisor", t.hypervisor},
       {"os", t.os},
       {"kernel", t.kernel},
       {"governor", t.governor}};
}

namespace {
std::string human_bytes(uint64_t b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  return i == 0 ? fmt::format("{} B", b) : fmt::format("{:.{}f} {}", v, v < 10 ? 1 : 0, u[i]);
}
std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (int x : v) {
    if (!s.empty()) s += ',';
    s += std::to_string(x);
  }
  return s;
}
}  // namespace

std::string topology_tree(const Topology& t) {
  std::string s;
  s += fmt::format("Machine: {} ({})\n", t.cpu_model, t.vendor);
  s += fmt::format("  OS {} | {} | governor {} | hypervisor {}\n", t.os, t.kernel, t.governor,
                   t.hypervisor ? "yes" : "no");
  s += fmt::format("  Memory {} total, {} available", human_bytes(t.mem_total_bytes),
                   human_bytes(t.mem_available_bytes));
  if (t.cgroup_mem_limit_bytes) s += fmt::format(", cgroup limit {}", human_bytes(t.cgroup_mem_limit_bytes));
  if (t.cgroup_cpu_limit > 0) s += fmt::format(", cgroup CPU limit {:.2f}", t.cgroup_cpu_limit);
  s += "\n";
  std::string isa;
  for (const auto& i : t.isa) isa += (isa.empty() ? "" : " ") + i;
  s += fmt::format("  ISA: {}\n", isa);
  s +=
      fmt::format("  {} package(s), {} NUMA node(s), {} core(s), {} PU(s)\n", t.packages, t.numa_nodes, t.cores, t.pus);
  for (int p = 0; p < std::max(1, t.packages); ++p) {
    s += fmt::format("  Package {}\n", p);
    for (const auto& c : t.caches)
      if (c.level >= 3)
        s += fmt::format("    L{} {} {} shared by PUs {}\n", c.level, c.type, human_bytes(c.size_bytes),
                         join_ints(c.pus));
    for (const auto& core : t.core_list) {
      if (core.package != p) continue;
      std::string caches;
      for (const auto& c : t.caches)
        if (c.level < 3 && !c.pus.empty() &&
            std::includes(c.pus.begin(), c.pus.end(), core.pus.begin(), core.pus.end()))
          caches += fmt::format(" L{}{} {}", c.level,
                                c.type == "data"          ? "d"
                                : c.type == "instruction" ? "i"
                                                          : "",
                                human_bytes(c.size_bytes));
      s +=
          fmt::format("    Core {} (NUMA {}): PUs {} |{}\n", core.core_id, core.numa_node, join_ints(core.pus), caches);
    }
  }
  for (size_t n = 0; n < t.numa_memory_bytes.size(); ++n)
    s += fmt::format("  NUMA node {}: {}\n", n, human_bytes(t.numa_memory_bytes[n]));
  return s;
}

const char* placement_name(Placement p) {
  switch (p) {
    case Placement::Compact:
      return "compact";
    case Placement::Spread:
      return "spread";
    case Placement::OnePerCore:
      return "one-per-core";
  }
  return "?";
}

bool parse_placement(const std::string& s, Placement& out) {
  for (Placement p : all_placements())
    if (s == placement_name(p)) {
      out = p;
      return true;
    }
  return false;
}

std::vector<Placement> all_placements() { return {Placement::Compact, Placement::Spread, Placement::OnePerCore}; }

std::vector<int> placement_pus(const Topology& t, Placement p, int n) {
  std::vector<int> pus;
  if (n <= 0) return pus;
  // PUs in core order: core 0's PUs, core 1's PUs, ...
  std::vector<std::vector<int>> by_core;
  for (const auto& c : t.core_list) by_core.push_back(c.pus);
  if (by_core.empty()) return pus;
  switch (p) {
    case Placement::Compact:  // fill each core's hardware threads before the next core
      for (const auto& c : by_core)
        for (int pu : c)
          if (int(pus.size()) < n) pus.push_back(pu);
      break;
    case Placement::OnePerCore:  // first PU of each core only; no SMT siblings
      for (const auto& c : by_core)
        if (int(pus.size()) < n && !c.empty()) pus.push_back(c[0]);
      break;
    case Placement::Spread: {  // round-robin over packages, then cores, SMT siblings last
      std::map<int, std::vector<int>> cores_by_pkg;
      for (size_t i = 0; i < t.core_list.size(); ++i) cores_by_pkg[t.core_list[i].package].push_back(int(i));
      size_t max_smt = 0;
      for (const auto& c : by_core) max_smt = std::max(max_smt, c.size());
      size_t max_cores = 0;
      for (auto& [pkg, cs] : cores_by_pkg) max_cores = std::max(max_cores, cs.size());
      for (size_t s = 0; s < max_smt; ++s)
        for (size_t ci = 0; ci < max_cores; ++ci)
          for (auto& [pkg, cs] : cores_by_pkg)
            if (ci < cs.size() && s < by_core[size_t(cs[ci])].size() && int(pus.size()) < n)
              pus.push_back(by_core[size_t(cs[ci])][s]);
      break;
    }
  }
  if (int(pus.size()) < n) return {};
  return pus;
}

}  // namespace qb
