// The renderings of a Decision (decide.h), apart from the Decision itself: the Reporters of
// reporter.h and the report's own sections call these.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "decide.h"

namespace qb::rep {

std::string decision_text(const Decision& d);         // decision_text.cpp: `qbench recommend`'s output
std::string decision_markdown(const Decision& d);     // decision_text.cpp: top recommendations + matrix
std::string decision_matrix_html(const Decision& d);  // decision_html.cpp: <table class="decision sortable">
nlohmann::json decision_json(const Decision& d);      // decision_json.cpp: `qbench recommend --json`
std::string decision_junit(const Decision& d);        // decision_junit.cpp: one testcase per check
// "Default gates vs F16: ...\n" (decision_text.cpp).
std::string gates_line(const Decision& d);

// A candidate's columns as the decision matrix shows them, in text, Markdown and HTML alike
// (decision_text.cpp).
std::string opt_str(std::optional<double> v, int sig = 4);  // "—" when absent
std::string quality_str(const Candidate& c);                // "ppl 8.1", "lossless", "21.3 dB"
std::string speed_str(const Candidate& c);                  // "12.3 GB/s, 45.6 tok/s (estimate)"
std::string speedup_str(const Candidate& c);                // "2.10x"
std::string mem_str(const Candidate& c);                    // "−47%"
std::string gate_str(const Check& g);                       // "pass", "FAIL", "n/a"
std::string marked_id(const Candidate& c);                  // id, marked when invalid cells count

}  // namespace qb::rep
