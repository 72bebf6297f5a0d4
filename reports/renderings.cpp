// What `qbench run` writes beside report.json: the JSON is read into the typed Report (and its
// decision made) once, and each Reporter renders from that one reading.
#include <memory>

#include "qb/report.h"
#include "render.h"
#include "reporter.h"

namespace qb::rep {
namespace {

const bool kRegistered = [] {
  register_renderings([](const nlohmann::json& doc) {
    auto report = std::make_shared<const Report>(read_report(doc));
    return std::vector<Rendering>{
        {"html", "report.html", [report] { return HtmlReporter(load_chartjs()).render(*report); }},
        {"markdown", "report.md", [report] { return MarkdownReporter().render(*report); }},
        {"csv", "report.csv", [report] { return CsvReporter().render(*report); }},
    };
  });
  return true;
}();

}  // namespace
}  // namespace qb::rep
