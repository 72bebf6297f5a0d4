#include "qualification_render.h"

#include <algorithm>

#include <fmt/format.h>

#include "report_common.h"

namespace qb::rep {

std::string qualification_text(const Qualification& q) {
  std::string o = fmt::format("profile: {} ({})\nreport: {}\n\n", q.profile_name, q.profile_path, q.report_path);
  o +=
      fmt::format("{:<8} {:<50} {:>12} {:>4} {:>10} {:>12}\n", "verdict", "gate", "value", "op", "threshold", "margin");
  for (const auto& g : q.gates)
    o += fmt::format("{:<8} {:<50} {:>12} {:>4} {:>10} {:>12}\n  {}\n",
                     g.status == "pass"   ? "PASS"
                     : g.status == "fail" ? "FAIL"
                                          : "skip",
                     g.name.substr(0, 50), g.value ? fmt_num(*g.value) : "—", g.op, fmt_num(g.threshold),
                     g.value ? fmt::format("{} ({:+.1f}%)", fmt_num(g.margin, 3), g.margin_pct) : "—", g.detail);
  int failed = 0;
  for (const auto& g : q.gates) failed += g.status == "fail";
  o += fmt::format("\n{}: {} of {} gates failed\n", q.pass() ? "QUALIFIED" : "NOT QUALIFIED", failed, q.gates.size());
  return o;
}

std::string qualification_junit(const Qualification& q) {
  int failures = 0, skipped = 0;
  for (const auto& g : q.gates) failures += g.status == "fail", skipped += g.status == "skipped";
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += fmt::format("<testsuites name=\"qbench qualify\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                   q.gates.size(), failures, skipped);
  o += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\">\n",
                   xml_escape(q.profile_name), q.gates.size(), failures, skipped);
  o += fmt::format(
      "    <properties><property name=\"profile\" value=\"{}\"/><property name=\"report\" "
      "value=\"{}\"/></properties>\n",
      xml_escape(q.profile_path), xml_escape(q.report_path));
  for (const auto& g : q.gates) {
    o += fmt::format("    <testcase classname=\"qbench.qualify.{}\" name=\"{}\" time=\"0\">",
                     xml_escape(q.profile_name), xml_escape(g.name));
    if (g.status == "fail")
      o += fmt::format("\n      <failure message=\"{}\" type=\"gate\">{}</failure>\n    ", xml_escape(g.detail),
                       xml_escape(g.detail));
    else if (g.status == "skipped")
      o += fmt::format("\n      <skipped message=\"{}\"/>\n    ", xml_escape(g.detail));
    else
      o += fmt::format("\n      <system-out>{}</system-out>\n    ", xml_escape(g.detail));
    o += "</testcase>\n";
  }
  o += "  </testsuite>\n</testsuites>\n";
  return o;
}

nlohmann::json qualification_json(const Qualification& q) {
  nlohmann::json j = {{"profile", q.profile_name},
                      {"profile_path", q.profile_path},
                      {"report", q.report_path},
                      {"verdict", q.pass() ? "pass" : "fail"}};
  auto& a = j["gates"] = nlohmann::json::array();
  for (const auto& g : q.gates)
    a.push_back({{"name", g.name},
                 {"status", g.status},
                 {"metric", g.metric},
                 {"aggregate", g.aggregate},
                 {"op", g.op},
                 {"threshold", g.threshold},
                 {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json(nullptr)},
                 {"baseline_value", g.baseline_value ? nlohmann::json(*g.baseline_value) : nlohmann::json(nullptr)},
                 {"margin", g.value ? nlohmann::json(g.margin) : nlohmann::json(nullptr)},
                 {"margin_pct", g.value ? nlohmann::json(g.margin_pct) : nlohmann::json(nullptr)},
                 {"cells", g.cells},
                 {"detail", g.detail}});
  return j;
}

}  // namespace qb::rep
