// The shape catalogue (datasets/shapes.json): linear-layer shapes of real edge models.
// File format: {"models": [{"name", "source", "layers", "shapes": [{"name","m","k","count"}]}]}
// where count = occurrences per forward pass (e.g. layers × 1), m = output features, k = input.
#pragma once
#include <string>
#include <vector>

#include "qb/suite.h"

namespace qb {

struct ModelShapes {
  std::string name;    // e.g. "llama3-8b"
  std::string source;  // where the numbers come from (published config)
  int layers = 0;
  std::vector<Shape> shapes;  // Shape::model = name, Shape::count set
};

// Path of a data file shipped with qbench (QBENCH_DATA_DIR env, else the source tree's datasets/).
std::string data_file(const std::string& rel);
std::vector<ModelShapes> load_catalogue(const std::string& path);  // throws UsageError
const std::vector<ModelShapes>& default_catalogue();               // datasets/shapes.json
// Resolves a --shapes token: "MxK", a catalogue model name, or a JSON file in catalogue format.
std::vector<Shape> resolve_shape_token(const std::string& token);

}  // namespace qb
