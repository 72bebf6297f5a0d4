// `qbench recommend REPORT.json`: the decision under the user's constraints, device class and
// weights, printed as text or JSON and written as HTML, Markdown or JUnit XML.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "decide.h"
#include "device_class.h"
#include "frameworks.h"
#include "qb/command.h"
#include "qb/report.h"
#include "report_common.h"
#include "reporter.h"

namespace qb::rep {

namespace {

struct RecommendArgs {
  std::string report, memory_budget, min_throughput, max_p99, max_quality_loss, device_class, weights, distribution,
      model;
  std::string html, md, junit, frameworks;
  bool json = false, include_invalid = false;
  double max_ppl_increase = 5.0, max_kld = 0.10;
  std::string phase;
};

DecisionOptions recommend_options(const RecommendArgs& a) {
  DecisionOptions o;
  o.gate_max_ppl_increase_pct = a.max_ppl_increase;
  o.gate_max_kld = a.max_kld;
  if (!a.phase.empty()) o.model_phase = a.phase;
  o.include_invalid = a.include_invalid;
  o.model = a.model;
  if (!a.memory_budget.empty()) {
    o.memory_budget_bytes = parse_bytes(a.memory_budget, "--memory-budget");
    o.memory_budget_explicit = true;
  }
  if (!a.min_throughput.empty()) parse_min_throughput(o, a.min_throughput);
  if (!a.max_p99.empty()) o.max_p99_us = parse_duration_us(a.max_p99, "--max-p99-latency");
  if (!a.max_quality_loss.empty()) parse_quality_loss(o, a.max_quality_loss);
  if (!a.weights.empty()) parse_weights(o, a.weights);
  apply_device_class(o, a.device_class, !a.weights.empty(), !a.phase.empty());
  o.distribution = a.distribution;
  return o;
}

void add_recommend(CLI::App& app) {
  auto a = std::make_shared<RecommendArgs>();
  auto* cmd = app.add_subcommand("recommend",
                                 "Rank (framework, format, backend, threads, placement) candidates under constraints "
                                 "(exit 0: a recommendation, 1: no candidate satisfies the constraints, 2: bad input)");
  cmd->add_option("report", a->report, "report.json of a run")->required();
  cmd->add_option("--memory-budget", a->memory_budget,
                  "Model weights (+ KV cache with model cells) must fit, e.g. 2GiB");
  cmd->add_option("--min-throughput", a->min_throughput,
                  "e.g. 20GB/s (throughput suite) or 15tokens/s (latency suite)");
  cmd->add_option("--max-p99-latency", a->max_p99, "e.g. 5ms (latency suite p99)");
  cmd->add_option("--max-quality-loss", a->max_quality_loss, "e.g. 3% (ppl increase or 1-cosine) or 1dB (SNR vs F16)");
  cmd->add_option("--device-class", a->device_class,
                  "Default memory budget, thread cap, weights and speed phase of a class; desktop and edge-server are "
                  "the old names "
                  "of laptop and server:\n" +
                      device_class_table());
  cmd->add_option("--weights", a->weights, "Score weights, e.g. quality=1,speed=1,memory=1");
  cmd->add_option("--distribution", a->distribution, "quant-error distribution for quality (default gaussian)");
  cmd->add_option("--model", a->model, "Model (memory suite workload) whose size must fit the budget");
  cmd->add_option("--frameworks", a->frameworks,
                  "Rank only candidates of these frameworks, comma-separated: qbench, peer library, llama.cpp/ggml, "
                  "llama.cpp, onnxruntime, openvino, mlx (as the report's backends name them)");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_option("--html", a->html,
                  "Write the decision as a self-contained HTML page (Pareto plot, ranked table, reasons)");
  cmd->add_option("--md", a->md, "Write the decision as Markdown");
  cmd->add_option("--junit", a->junit,
                  "Write JUnit XML: one testcase per constraint and gate of the top candidate, or the nearest miss");
  cmd->add_flag("--include-invalid", a->include_invalid, "Rank cells whose measurement is invalid too (marked)");
  cmd->add_option("--max-ppl-increase", a->max_ppl_increase,
                  "Gate on measured perplexity: % over the KLD base (default 5)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--max-kld", a->max_kld, "Gate on measured mean KL divergence, nats (default 0.10)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--phase", a->phase,
                  "Model speed axis: decode (interactive) or prefill (batch); default: the device class's, else decode")
      ->check(CLI::IsMember({"decode", "prefill"}));
  cmd->callback([a] {
    DecisionOptions o = recommend_options(*a);
    auto rep = load(a->report);
    const BackendKinds kinds = backend_kinds(rep.doc);
    if (!a->frameworks.empty()) o.frameworks = parse_frameworks(a->frameworks, kinds);
    const Report report = read_report(rep, o);
    if (!a->html.empty()) write_file_atomic(a->html, DecisionPageReporter().render(report));
    if (!a->md.empty()) write_file_atomic(a->md, DecisionMarkdownReporter().render(report));
    if (!a->junit.empty()) write_file_atomic(a->junit, DecisionJunitReporter().render(report));
    if (a->json)
      std::fputs(DecisionJsonReporter().render(report).c_str(), stdout);
    else
      std::fputs(DecisionTextReporter().render(report).c_str(), stdout);
    set_exit_code(report.decision.unsatisfied ? kExitVerdict : kExitOk);
  });
}

}  // namespace
QB_REGISTER_COMMAND(recommend, "recommend", 61, add_recommend);
}  // namespace qb::rep
