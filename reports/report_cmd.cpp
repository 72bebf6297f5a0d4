// `qbench report RESULTS.json [--html F] [--md F] [--csv F]`: render a report again.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/report.h"
#include "render.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {
namespace {

struct ReportArgs {
  std::string report, html, md, csv;
};

void add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Render a report.json as HTML, Markdown and/or CSV");
  cmd->add_option("report", a->report, "report.json of a run")->required();
  cmd->add_option("--html", a->html, "Write a self-contained HTML report (Chart.js inlined when installed)");
  cmd->add_option("--md", a->md, "Write a Markdown report");
  cmd->add_option("--csv", a->csv, "Write CSV, one row per cell");
  cmd->callback([a] {
    auto rep = load(a->report);  // validates; results parse errors name the file
    if (a->html.empty() && a->md.empty() && a->csv.empty()) {
      // Default: all three beside the report.
      auto dir = std::filesystem::path(a->report).parent_path();
      a->html = (dir / "report.html").string();
      a->md = (dir / "report.md").string();
      a->csv = (dir / "report.csv").string();
    }
    auto out = [&](const std::string& path, const std::string& text, const char* what) {
      write_file_atomic(path, text);
      if (!globals().quiet) std::printf("%s: %s\n", what, path.c_str());
    };
    const Report report = read_report(rep);
    if (!a->html.empty()) {
      std::string js = load_chartjs();
      if (js.empty() && !globals().quiet)
        std::fprintf(stderr, "qbench: note: Chart.js not found (install libjs-chart.js): HTML has tables only\n");
      out(a->html, HtmlReporter(js).render(report), "html");
    }
    if (!a->md.empty()) out(a->md, MarkdownReporter().render(report), "markdown");
    if (!a->csv.empty()) out(a->csv, CsvReporter().render(report), "csv");
    set_exit_code(kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(report, "report", 59, add_report);
}  // namespace qb::rep
