// The HTML "Decision" section of a report with model cells (and `qbench recommend --html`): an inline
// SVG Pareto plot of KLD (log) vs model tokens/s with bits/weight as point size, the ranked table
// with every gate's value and margin, one sentence per top candidate, and per format a stacked bar
// of where the time goes (time_share_* metrics of the model cells). No script, no external asset.
#pragma once
#include <string>
#include <vector>

#include "decide.h"
#include "qb/result.h"

namespace qb::rep {

std::string decision_section_html(const Decision& d, const std::vector<CellResult>& results);
// A self-contained page: the section above and the full decision matrix.
std::string decision_page_html(const Decision& d, const std::vector<CellResult>& results);
// Styles of the section (the report page includes them in its own <style>).
const char* decision_css();

// One sentence per top candidate, e.g. "Q4_K_M / avx512 / 2t / compact: 1.9x Q8_0's decode speed at
// KLD 0.035, within every gate; 40% of Q8_0's weight bytes".
std::vector<std::string> decision_sentences(const Decision& d, int n = 3);

}  // namespace qb::rep
