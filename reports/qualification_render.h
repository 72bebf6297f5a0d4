// The renderings of a Qualification (qualify.h), apart from the gates' evaluation: `qbench qualify`
// prints the text and writes the JUnit XML and JSON.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "qualify.h"

namespace qb::rep {

std::string qualification_text(const Qualification& q);     // one row per gate, then the verdict
std::string qualification_junit(const Qualification& q);    // one testcase per gate
nlohmann::json qualification_json(const Qualification& q);  // the verdicts, `--json`

}  // namespace qb::rep
