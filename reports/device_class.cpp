#include "device_class.h"

#include <algorithm>

#include <fmt/format.h>

namespace qb::rep {

namespace {
// Budgets are what a model may take of the device's memory, not the device's RAM: the OS and the
// application keep the rest. Interactive classes rank on decode tokens/s (one user waiting on each
// token), the server class on prefill tokens/s (batches of prompts).
const DeviceClass kClasses[] = {
    {"mobile", "", 4, 4, 1, 1, 2, "decode", "phone or tablet: 4 GiB, 4 threads, memory weighted x2"},
    {"laptop", "desktop", 16, 8, 1, 1, 1, "decode", "laptop or desktop: 16 GiB, 8 threads, equal weights"},
    {"server", "edge-server", 64, 0, 1, 2, 0.5, "prefill", "edge server: 64 GiB, all threads, speed weighted x2"},
    {"embedded", "", 1, 2, 1, 1, 3, "decode",
     "single-board computer (Raspberry Pi class): 1 GiB, 2 threads, memory weighted x3"},
};
}  // namespace

std::span<const DeviceClass> device_classes() { return kClasses; }

const DeviceClass* find_device_class(std::string_view name) {
  auto it = std::find_if(std::begin(kClasses), std::end(kClasses),
                         [&](const DeviceClass& c) { return name == c.name || (*c.alias && name == c.alias); });
  return it == std::end(kClasses) ? nullptr : it;
}

std::string device_class_names() {
  std::string o;
  for (const auto& c : kClasses)
    o += fmt::format("{}{}{}", o.empty() ? "" : " | ", c.name, *c.alias ? fmt::format(" (alias {})", c.alias) : "");
  return o;
}

std::string device_class_table() {
  std::string o;
  for (const auto& c : kClasses)
    o += fmt::format("{}{}{}: {}; speed axis {} tokens/s", o.empty() ? "" : "\n", c.name,
                     *c.alias ? fmt::format(" (alias {})", c.alias) : "", c.what, c.phase);
  return o;
}

}  // namespace qb::rep
