#include "frameworks.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/runner.h"

namespace qb::rep {

namespace {
std::string lower(std::string s) {
  for (auto& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
}  // namespace

BackendKinds backend_kinds(const nlohmann::json& report) {
  BackendKinds k;
  const auto m = report.value("machine", nlohmann::json::object());
  if (!m.is_object() || !m.contains("backends") || !m["backends"].is_array()) return k;
  for (const auto& b : m["backends"])
    if (b.is_object() && b.contains("name") && b["name"].is_string() && b.contains("kind") && b["kind"].is_string())
      k[b["name"].get<std::string>()] = b["kind"].get<std::string>();
  return k;
}

std::string framework_of(const std::string& backend, const BackendKinds& kinds) {
  if (backend.empty() || backend == "-") return "";
  std::string kind;
  if (auto it = kinds.find(backend); it != kinds.end()) {
    kind = it->second;
  } else {
    for (const auto& b : all_backend_kinds())
      if (b.name == backend) kind = b.kind;
  }
  if (kind == "qbench") return "qbench";
  if (kind == "peer") return "peer library";
  if (backend == "ggml") return "llama.cpp/ggml";  // llama.cpp's kernels, through libggml
  return backend;                                  // a framework (or a backend no table knows) is named after itself
}

std::vector<std::string> known_frameworks(const BackendKinds& kinds) {
  std::set<std::string> s;
  for (const auto& b : all_backend_kinds()) s.insert(framework_of(b.name, kinds));
  for (const auto& [name, kind] : kinds) s.insert(framework_of(name, kinds));
  return {s.begin(), s.end()};
}

std::vector<std::string> parse_frameworks(const std::string& list, const BackendKinds& kinds) {
  const auto known = known_frameworks(kinds);
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    name = trim(name);
    auto it = std::find_if(known.begin(), known.end(), [&](const std::string& k) { return lower(k) == lower(name); });
    if (it == known.end())
      throw UsageError(fmt::format("--frameworks: unknown framework '{}': use {}", name, fmt::join(known, ", ")));
    if (std::find(out.begin(), out.end(), *it) == out.end()) out.push_back(*it);
  }
  if (out.empty()) throw UsageError(fmt::format("--frameworks: empty list: use {}", fmt::join(known, ", ")));
  return out;
}

std::vector<CellResult> select_frameworks(const std::vector<CellResult>& results,
                                          const std::vector<std::string>& frameworks, const BackendKinds& kinds) {
  if (frameworks.empty()) return results;
  std::vector<CellResult> v;
  for (const auto& r : results) {
    const std::string f = framework_of(r.cell.backend, kinds);
    if (f.empty() || std::find(frameworks.begin(), frameworks.end(), f) != frameworks.end()) v.push_back(r);
  }
  return v;
}

}  // namespace qb::rep
