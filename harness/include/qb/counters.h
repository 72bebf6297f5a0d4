// Hardware counters through PAPI where the machine has them, plus getrusage and RAPL energy.
// Never fakes a counter: on machines without them, available=false with PAPI's reason.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qb {

struct CounterAvailability {
  bool available = false;
  std::string reason;                 // why not, from PAPI
  int hw_counters = 0;                // PAPI_num_hwctrs-like figure
  std::vector<std::string> events;    // the events that could be added
};

const CounterAvailability& papi_availability();  // probed once

// Counts one region: start() ... stop() → json {cycles, instructions, ipc, ..., rusage..., energy_j}.
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

nlohmann::json rusage_snapshot();   // max_rss_bytes, minor/major faults, voluntary/involuntary ctx switches
nlohmann::json energy_probe();      // {"available":bool, "reason"|"domains"}

}  // namespace qb
