#include "qb/catalogue.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "qb/command.h"

namespace qb {

std::string data_file(const std::string& rel) {
  if (const char* d = std::getenv("QBENCH_DATA_DIR")) return (std::filesystem::path(d) / rel).string();
  return (std::filesystem::path(QB_SOURCE_DIR) / "datasets" / rel).string();
}

std::vector<ModelShapes> load_catalogue(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read shape catalogue '{}'", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(fmt::format("{}: byte {}: not valid JSON", path, e.byte));
  }
  if (!j.contains("models") || !j["models"].is_array())
    throw UsageError(fmt::format("{}: field 'models' (array) missing", path));
  std::vector<ModelShapes> out;
  size_t mi = 0;
  for (const auto& m : j["models"]) {
    ModelShapes ms;
    try {
      ms.name = m.at("name").get<std::string>();
      ms.source = m.value("source", "");
      ms.layers = m.value("layers", 0);
      size_t si = 0;
      for (const auto& s : m.at("shapes")) {
        Shape sh;
        sh.name = ms.name + "." + s.at("name").get<std::string>();
        sh.m = s.at("m").get<int64_t>();
        sh.k = s.at("k").get<int64_t>();
        sh.count = s.value("count", 1);
        sh.model = ms.name;
        if (sh.m <= 0 || sh.k <= 0 || sh.count <= 0)
          throw std::invalid_argument(fmt::format("shapes[{}]: m, k and count must be positive", si));
        ms.shapes.push_back(sh);
        ++si;
      }
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("{}: models[{}]: {}", path, mi, e.what()));
    }
    out.push_back(std::move(ms));
    ++mi;
  }
  return out;
}

const std::vector<ModelShapes>& default_catalogue() {
  static const std::vector<ModelShapes> c = [] {
    const std::string p = data_file("shapes.json");
    if (!std::filesystem::exists(p)) return std::vector<ModelShapes>{};
    return load_catalogue(p);
  }();
  return c;
}

std::vector<Shape> resolve_shape_token(const std::string& token) {
  if (token.find_first_of("xX") != std::string::npos && std::isdigit((unsigned char)token[0]))
    return {parse_shape(token)};
  for (const auto& m : default_catalogue())
    if (m.name == token) return m.shapes;
  if (std::filesystem::exists(token)) {
    std::vector<Shape> v;
    for (const auto& m : load_catalogue(token)) v.insert(v.end(), m.shapes.begin(), m.shapes.end());
    return v;
  }
  std::string names;
  for (const auto& m : default_catalogue()) names += (names.empty() ? "" : ", ") + m.name;
  throw UsageError(
      fmt::format("unknown shape '{}': expected MxK (e.g. 4096x14336), a catalogue model ({}), or a JSON file", token,
                  names.empty() ? "none loaded" : names));
}

}  // namespace qb
