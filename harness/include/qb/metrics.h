// The one vocabulary of metric names: snake_case with the unit as suffix. The JSON schema
// (reports/schema/report.schema.json) lists the same names; tests/schema_test checks both agree.
#pragma once
#include <span>
#include <string_view>

namespace qb {

struct MetricDef {
  std::string_view name;
  std::string_view unit;
  bool higher_is_better;
  std::string_view description;
};

std::span<const MetricDef> all_metrics();
const MetricDef* find_metric(std::string_view name);  // nullptr when not in the vocabulary

}  // namespace qb
