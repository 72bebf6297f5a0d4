// Device classes of `qbench recommend --device-class`: the one table of truth for what each class
// means (memory budget, thread cap, score weights, speed phase). README and --help are built from it.
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace qb::rep {

struct DeviceClass {
  const char* name;
  const char* alias;         // an older name that still works ("" = none)
  double memory_budget_gib;  // model weights + KV cache must fit
  int max_threads;           // 0 = no cap
  double w_quality, w_speed, w_memory;
  const char* phase;  // model speed axis: "decode" (interactive) or "prefill" (batch)
  const char* what;   // one line for --help and the docs
};

std::span<const DeviceClass> device_classes();
// The class named `name` or whose alias is `name`; nullptr when unknown.
const DeviceClass* find_device_class(std::string_view name);
// "mobile | laptop (alias desktop) | server (alias edge-server) | embedded"
std::string device_class_names();
// One line per class, for --help.
std::string device_class_table();

}  // namespace qb::rep
