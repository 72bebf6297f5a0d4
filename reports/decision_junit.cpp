// `qbench recommend --junit`: the decision as JUnit XML, so CI shows a failed recommendation (no
// candidate satisfies the constraints, with the nearest miss) or a failed default gate of the top
// candidate, each with its measured value and margin.
#include <fmt/format.h>

#include "decision_render.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {

namespace {
std::string testcase(const std::string& name, const char* status, const std::string& detail) {
  std::string o = fmt::format("    <testcase classname=\"qbench.recommend\" name=\"{}\" time=\"0\">", xml_escape(name));
  if (std::string(status) == "fail")
    o += fmt::format("\n      <failure message=\"{}\" type=\"decision\">{}</failure>\n    ", xml_escape(detail),
                     xml_escape(detail));
  else if (std::string(status) == "skipped")
    o += fmt::format("\n      <skipped message=\"{}\"/>\n    ", xml_escape(detail));
  else
    o += fmt::format("\n      <system-out>{}</system-out>\n    ", xml_escape(detail));
  return o + "</testcase>\n";
}
}  // namespace

std::string decision_junit(const Decision& d) {
  struct TC {
    std::string name;
    const char* status;
    std::string detail;
  };
  std::vector<TC> cases;
  auto t = d.top(1);
  if (d.unsatisfied)
    cases.push_back({"recommendation", "fail", d.unsatisfied->message()});
  else if (t.empty())
    cases.push_back({"recommendation", "fail", "no candidate cells in the report"});
  else {
    const Candidate& c = *t[0];
    cases.push_back({"recommendation", "pass", c.id() + ": " + c.why});
    for (const auto& k : c.constraints) cases.push_back({"constraint: " + k.name, k.pass ? "pass" : "fail", k.detail});
    for (const auto& g : c.gates)
      cases.push_back({"gate: " + g.name,
                       !g.evaluated ? "skipped"
                       : g.pass     ? "pass"
                                    : "fail",
                       c.id() + ": " + g.detail});
  }
  int failures = 0, skipped = 0;
  for (const auto& k : cases)
    failures += std::string(k.status) == "fail", skipped += std::string(k.status) == "skipped";
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += fmt::format("<testsuites name=\"qbench recommend\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                   cases.size(), failures, skipped);
  std::string suite = "decision";  // built without ?: over strings (GCC 12 -Wrestrict false positive)
  if (!d.opt.device_class.empty()) suite += fmt::format(" {}", xml_escape(d.opt.device_class));
  o += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\">\n",
                   suite, cases.size(), failures, skipped);
  for (const auto& k : cases) o += testcase(k.name, k.status, k.detail);
  return o + "  </testsuite>\n</testsuites>\n";
}

std::string DecisionJunitReporter::render(const Report& report) const { return decision_junit(report.decision); }

}  // namespace qb::rep
