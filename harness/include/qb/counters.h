// Hardware counters through PAPI where the machine has them, plus getrusage and RAPL energy.
// Never fakes a counter: on machines without them, available=false with PAPI's reason.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qb {

struct CounterAvailability {
  bool available = false;
  std::string reason;               // why not, from PAPI
  int hw_counters = 0;              // PAPI_num_hwctrs-like figure
  std::vector<std::string> events;  // the events that could be added
};

const CounterAvailability& papi_availability();  // probed once

// Counts one region: start() ... stop() → json {cycles, instructions, ipc, ..., rusage..., energy_j}.
// Scopes differ and are written into the json: PAPI events count the thread that calls start()
// and stop() only ("scope": "calling thread"; pool workers are not attached), rusage covers the
// whole process ("rusage_scope"), RAPL energy the whole package ("energy_scope").
class CounterScope {
 public:
  CounterScope();
  ~CounterScope();
  void start();
  nlohmann::json stop();  // {"available":bool, "reason"?:..., events..., "rusage":{...}, "energy": {...}}
 private:
  struct Impl;
  Impl* p_;
};

nlohmann::json rusage_snapshot();  // max_rss_bytes, minor/major faults, voluntary/involuntary ctx switches
nlohmann::json energy_probe();     // {"available":bool, "reason"|"domains"}

// Microjoules between two reads of a RAPL energy_uj counter that wraps to 0 past max_range_uj
// (the domain's max_energy_range_uj). One wrap at most; -1 when it went backwards and the range
// is unknown (0) or inconsistent.
double rapl_delta_uj(uint64_t before, uint64_t after, uint64_t max_range_uj);

}  // namespace qb
