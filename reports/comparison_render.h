// The renderings of a Comparison (compare.h), apart from the comparison itself: `qbench compare`
// prints the text and writes the Markdown and JSON.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "compare.h"

namespace qb::rep {

std::string comparison_text(const Comparison& cmp);      // one row per gated metric, then the verdict
std::string comparison_markdown(const Comparison& cmp);  // the same table in Markdown, `--md`
nlohmann::json comparison_json(const Comparison& cmp);   // every cell and metric, `--json`

}  // namespace qb::rep
