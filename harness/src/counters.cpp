// PAPI hardware counters where they exist; rusage and RAPL energy always tried.
#include "qb/counters.h"

#include <papi.h>
#include <sys/resource.h>

#include <dirent.h>
#include <cstdint>
#include <fstream>
#include <mutex>

namespace qb {

namespace {

struct EventDef {
  int code;
  const char* name;
};
const EventDef kEvents[] = {
    {PAPI_TOT_CYC, "cycles"},   {PAPI_TOT_INS, "instructions"}, {PAPI_L1_DCM, "l1d_misses"},
    {PAPI_L2_TCM, "l2_misses"}, {PAPI_L3_TCM, "l3_misses"},     {PAPI_BR_MSP, "branch_misses"},
};

struct Papi {
  CounterAvailability avail;
  std::vector<int> codes;
  bool initialised = false;
};

Papi& papi() {
  static Papi p = [] {
    Papi p;
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT) {
      p.avail.reason = std::string("PAPI_library_init failed: ") + (rc > 0 ? "version mismatch" : PAPI_strerror(rc));
      return p;
    }
    p.initialised = true;
    PAPI_thread_init([]() -> unsigned long { return (unsigned long)pthread_self(); });
    const int ncomp = PAPI_num_components();
    int hw = 0;
    std::string cpu_reason;
    for (int c = 0; c < ncomp; ++c) {
      const PAPI_component_info_t* ci = PAPI_get_component_info(c);
      if (!ci) continue;
      if (std::string(ci->name) == "perf_event") {
        hw = ci->num_cntrs;
        if (ci->disabled) cpu_reason = std::string("perf_event component disabled: ") + ci->disabled_reason;
      }
    }
    p.avail.hw_counters = hw;
    if (hw == 0 && cpu_reason.empty())
      cpu_reason = "PAPI reports 0 hardware counters (virtual machine or perf_event_paranoid)";
    if (!cpu_reason.empty()) {
      p.avail.reason = cpu_reason;
      return p;
    }
    // Keep the events that this machine can count together.
    int set = PAPI_NULL;
    if (PAPI_create_eventset(&set) != PAPI_OK) {
      p.avail.reason = "PAPI_create_eventset failed";
      return p;
    }
    for (const auto& e : kEvents) {
      if (PAPI_query_event(e.code) != PAPI_OK) continue;
      if (PAPI_add_event(set, e.code) == PAPI_OK) {
        p.codes.push_back(e.code);
        p.avail.events.push_back(e.name);
      }
    }
    PAPI_cleanup_eventset(set);
    PAPI_destroy_eventset(&set);
    if (p.codes.empty()) {
      // Typical of virtual machines: the perf_event component is up but no event can be counted.
      p.avail.reason = "PAPI perf_event lists " + std::to_string(hw) +
                       " counters but none of the preset events (cycles, instructions, L1D/L2/L3 misses, "
                       "branch misses) is available: PAPI_query_event fails for all (no usable PMU, e.g. a VM)";
      return p;
    }
    p.avail.available = true;
    return p;
  }();
  return p;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// RAPL via powercap sysfs: every intel-rapl:* domain's energy_uj and the range it wraps at.
// Returns {"<dir>:<name>": {"uj": n, "max_uj": n}}.
nlohmann::json rapl_read(std::string* why) {
  nlohmann::json d = nlohmann::json::object();
  const std::string base = "/sys/class/powercap";
  DIR* dir = opendir(base.c_str());
  if (!dir) {
    if (why) *why = "no /sys/class/powercap (no RAPL exposed on this machine)";
    return d;
  }
  while (dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n.rfind("intel-rapl:", 0) != 0) continue;
    std::string v = read_line(base + "/" + n + "/energy_uj");
    if (v.empty()) {
      if (why) *why = "powercap " + n + "/energy_uj is not readable (needs root or is absent)";
      continue;
    }
    const std::string range = read_line(base + "/" + n + "/max_energy_range_uj");
    std::string name = read_line(base + "/" + n + "/name");
    d[n + ":" + name] = {{"uj", std::stoull(v)}, {"max_uj", range.empty() ? 0ull : std::stoull(range)}};
  }
  closedir(dir);
  if (d.empty() && why && why->empty()) *why = "no intel-rapl domain under /sys/class/powercap";
  return d;
}

}  // namespace

const CounterAvailability& papi_availability() { return papi().avail; }

double rapl_delta_uj(uint64_t before, uint64_t after, uint64_t max_range_uj) {
  if (after >= before) return double(after - before);
  // energy_uj counts up to max_energy_range_uj and restarts at 0: one wrap happened in between.
  if (max_range_uj == 0 || before > max_range_uj) return -1;
  return double(max_range_uj - before) + double(after);
}

nlohmann::json rusage_snapshot() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {{"max_rss_bytes", int64_t(ru.ru_maxrss) * 1024},
          {"minor_faults", ru.ru_minflt},
          {"major_faults", ru.ru_majflt},
          {"voluntary_ctx_switches", ru.ru_nvcsw},
          {"involuntary_ctx_switches", ru.ru_nivcsw}};
}

nlohmann::json energy_probe() {
  std::string why;
  auto d = rapl_read(&why);
  if (d.empty()) return {{"available", false}, {"reason", why}};
  nlohmann::json joules = nlohmann::json::object();  // domain -> cumulative J, as before
  for (auto& [k, v] : d.items()) joules[k] = v["uj"].get<double>() * 1e-6;
  return {{"available", true}, {"domains", joules}};
}

struct CounterScope::Impl {
  int set = PAPI_NULL;
  bool running = false;
  nlohmann::json ru0, energy0;
};

CounterScope::CounterScope() : p_(new Impl) {}
CounterScope::~CounterScope() {
  if (p_->set != PAPI_NULL) {
    if (p_->running) {
      std::vector<long long> v(papi().codes.size());
      PAPI_stop(p_->set, v.data());
    }
    PAPI_cleanup_eventset(p_->set);
    PAPI_destroy_eventset(&p_->set);
  }
  delete p_;
}

void CounterScope::start() {
  p_->ru0 = rusage_snapshot();
  std::string why;
  p_->energy0 = rapl_read(&why);
  Papi& pp = papi();
  if (!pp.avail.available) return;
  if (p_->set == PAPI_NULL) {
    if (PAPI_create_eventset(&p_->set) != PAPI_OK) return;
    for (int c : pp.codes) PAPI_add_event(p_->set, c);
  }
  p_->running = PAPI_start(p_->set) == PAPI_OK;
}

nlohmann::json CounterScope::stop() {
  nlohmann::json j;
  Papi& pp = papi();
  if (p_->running) {
    std::vector<long long> v(pp.codes.size());
    p_->running = false;
    if (PAPI_stop(p_->set, v.data()) == PAPI_OK) {
      j["available"] = true;
      // PAPI's event set is attached to the thread that called start(), not to the pool workers.
      j["scope"] = "calling thread";
      for (size_t i = 0; i < v.size(); ++i) j[pp.avail.events[i]] = v[i];
      if (j.contains("cycles") && j.contains("instructions") && j["cycles"].get<double>() > 0)
        j["ipc"] = j["instructions"].get<double>() / j["cycles"].get<double>();
    } else {
      j["available"] = false;
      j["reason"] = "PAPI_stop failed";
    }
  } else {
    j["available"] = false;
    j["reason"] = pp.avail.available ? "PAPI_start failed for this cell" : pp.avail.reason;
  }
  auto ru1 = rusage_snapshot();
  nlohmann::json ru;
  for (auto& [k, v] : ru1.items())
    ru[k] = k == "max_rss_bytes" ? v.get<int64_t>() : v.get<int64_t>() - p_->ru0[k].get<int64_t>();
  j["rusage"] = ru;
  j["rusage_scope"] = "process (all threads)";
  std::string why;
  auto e1 = rapl_read(&why);
  if (!e1.empty() && !p_->energy0.empty()) {
    nlohmann::json e = nlohmann::json::object();
    for (auto& [k, v] : e1.items()) {
      if (!p_->energy0.contains(k)) continue;
      const double d =
          rapl_delta_uj(p_->energy0[k]["uj"].get<uint64_t>(), v["uj"].get<uint64_t>(), v["max_uj"].get<uint64_t>());
      if (d >= 0)
        e[k] = d * 1e-6;
      else
        j["energy_reason"] = k + " went backwards and max_energy_range_uj is unknown";
    }
    j["energy_j"] = e;
    j["energy_scope"] = "RAPL domain (whole package: every process on it)";
  } else {
    j["energy_j"] = nullptr;
    j["energy_reason"] = why.empty() ? "RAPL not readable" : why;
  }
  return j;
}

}  // namespace qb
