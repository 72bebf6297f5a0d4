// One interface for every output of a report, as Google Benchmark's reporters: each format is a
// class rendering the typed Report (typed_report.h), none re-reads the JSON or decides again.
#pragma once
#include <string>
#include <utility>

#include "typed_report.h"

namespace qb::rep {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual std::string render(const Report& report) const = 0;
};

// The report (`qbench run`, `qbench report`).
class HtmlReporter : public Reporter {  // render_html.cpp
 public:
  // chartjs: the Chart.js UMD source to inline; "" = tables only, with a visible note.
  explicit HtmlReporter(std::string chartjs) : chartjs_(std::move(chartjs)) {}
  std::string render(const Report& report) const override;

 private:
  std::string chartjs_;
};
class MarkdownReporter : public Reporter {  // render_markdown.cpp
 public:
  std::string render(const Report& report) const override;
};
class CsvReporter : public Reporter {  // render_csv.cpp: one row per cell
 public:
  std::string render(const Report& report) const override;
};

// The report's decision (`qbench recommend`): its text, Markdown, JSON, JUnit XML and HTML page.
class DecisionTextReporter : public Reporter {  // decision_text.cpp
 public:
  std::string render(const Report& report) const override;
};
class DecisionMarkdownReporter : public Reporter {  // decision_text.cpp
 public:
  std::string render(const Report& report) const override;
};
class DecisionJsonReporter : public Reporter {  // decision_json.cpp
 public:
  std::string render(const Report& report) const override;
};
class DecisionJunitReporter : public Reporter {  // decision_junit.cpp
 public:
  std::string render(const Report& report) const override;
};
class DecisionPageReporter : public Reporter {  // decision_html.cpp
 public:
  std::string render(const Report& report) const override;
};

}  // namespace qb::rep
