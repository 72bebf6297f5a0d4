// The framework decision: which framework each cell measures, and `recommend --frameworks`.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qb/result.h"

namespace qb::rep {

// backend name -> kind ("qbench", "peer", "framework"), as the report's machine.backends records it.
using BackendKinds = std::map<std::string, std::string>;
BackendKinds backend_kinds(const nlohmann::json& report);

// The framework a backend's cells measure: "qbench" for qbench's own kernels, "peer library" for
// OpenBLAS/oneDNN/XNNPACK, "llama.cpp/ggml" for the ggml adapter, "llama.cpp" for the model
// backend, the adapter's name for the other frameworks; "" for "-" (format-level cells). The kind
// comes from `kinds` (the report), else from this build's backends.
std::string framework_of(const std::string& backend, const BackendKinds& kinds);

// Every framework name this build or the report knows, sorted.
std::vector<std::string> known_frameworks(const BackendKinds& kinds);

// Comma-separated framework names (case-insensitive) -> their known spelling; throws UsageError
// naming the known ones.
std::vector<std::string> parse_frameworks(const std::string& list, const BackendKinds& kinds);

// The cells of the given frameworks plus the format-level cells (backend "-"); all of them when
// `frameworks` is empty.
std::vector<CellResult> select_frameworks(const std::vector<CellResult>& results,
                                          const std::vector<std::string>& frameworks, const BackendKinds& kinds);

}  // namespace qb::rep
