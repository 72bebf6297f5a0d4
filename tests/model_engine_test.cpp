// The engines the model suites time (harness/model/engine.h) and the prefill/decode suites
// (suites/model_speed.cpp) on the real Gemma 3 270M: qbench and llama.cpp continue a prompt with
// the same greedy tokens; each suite cell's figures agree with its own samples and with physical
// bounds. Skips when the model (or, for llama.cpp, libllama) is not there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "model/engine.h"
#include "qb/measure.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"
#include "qb/topology.h"
#include "test_models.h"

namespace fs = std::filesystem;
using namespace qb;

namespace {

// Under AddressSanitizer llama.cpp (an uninstrumented library with its own OpenMP pool and
// process-lifetime allocations) is not exercised: its leak report would read as ours.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::vector<int32_t> greedy(model::Engine& e, const std::vector<int32_t>& prompt, int n) {
  std::vector<int32_t> out;
  int32_t next = e.append(prompt);
  for (int i = 0; i < n; ++i) {
    out.push_back(next);
    next = e.append(std::span<const int32_t>(&next, 1));
  }
  return out;
}

}  // namespace

TEST(ModelEngine, QbenchAndLlamaCppContinueAPromptAlike) {
  const std::string g = test::gemma_path();
  if (g.empty()) GTEST_SKIP() << test::kGemmaMissing;
  if (!model::llamacpp_unavailable().empty())
    GTEST_SKIP() << "llama.cpp unavailable: " << model::llamacpp_unavailable();
  if (kSanitized) GTEST_SKIP() << "llama.cpp is not run under AddressSanitizer (uninstrumented library)";
  model::EngineOptions o;
  o.path = g;
  o.threads = 2;
  o.n_ctx = 128;
  auto q = model::open_qbench_engine(o);
  auto l = model::open_llamacpp_engine(o);
  const std::string text = "The capital of France is Paris. The capital of Italy is Rome. The capital of Germany is";
  const auto tq = q->tokenize(text), tl = l->tokenize(text);
  ASSERT_EQ(tq, tl);  // same ids from both tokenizers
  EXPECT_EQ(q->n_vocab(), l->n_vocab());
  const int n = 12;
  const auto a = greedy(*q, tq, n), b = greedy(*l, tl, n);
  int same_prefix = 0;
  while (same_prefix < n && a[size_t(same_prefix)] == b[size_t(same_prefix)]) ++same_prefix;
  // Greedy decoding diverges for good after the first differing token; the logits agree to top-1
  // on ~98% of positions, so a dozen tokens of an easy continuation match.
  EXPECT_GE(same_prefix, 8) << "qbench and llama.cpp diverge after " << same_prefix << " tokens";
  // A reset restarts at position 0: the same prompt gives the same first token again.
  q->reset();
  l->reset();
  EXPECT_EQ(q->append(tq), a[0]);
  EXPECT_EQ(l->append(tl), b[0]);
}

TEST(ModelEngine, PrefillAndDecodeCellsAgreeWithTheirSamples) {
  const std::string g = test::gemma_path();
  if (g.empty()) GTEST_SKIP() << test::kGemmaMissing;
  RunConfig cfg;
  cfg.model = g;
  cfg.quick = true;
  cfg.measure = quick_options();
  cfg.measure.min_time_s = 0;
  cfg.threads = {1};
  cfg.formats = {"source"};  // the file as stored: no variant to make
  cfg.out_dir = (fs::temp_directory_path() / "qb_model_engine_test").string();
  cfg.prompt_len = 8;
  cfg.gen_len = 4;
  std::vector<CellResult> done;
  std::unique_ptr<ThreadPool> pool;
  RunContext ctx{machine_topology(), cfg, done, [&](int, const std::string&) -> ThreadPool* { return nullptr; }};
  for (const char* sname : {"prefill", "decode"}) {
    Suite* s = find_suite(sname);
    ASSERT_NE(s, nullptr) << sname;
    const auto cells = s->plan(ctx);
    ASSERT_EQ(cells.size(), 2u) << "one qbench and one llama.cpp cell per thread count";
    for (const auto& c : cells) {
      SCOPED_TRACE(c.key());
      if (c.backend == "llama.cpp" && kSanitized) continue;
      CellResult r = s->measure(c, ctx);
      if (c.backend == "llama.cpp" && !model::llamacpp_unavailable().empty()) {
        EXPECT_EQ(qb::status_name(r.status), "unsupported");
        EXPECT_NE(r.error.find("llama.cpp unavailable"), std::string::npos) << r.error;
        continue;
      }
      ASSERT_EQ(qb::status_name(r.status), "ok") << r.error;
      const bool decode = std::string(sname) == "decode";
      const double tokens = decode ? 4 : 8;
      // Prefill: a sample per pass of the prompt, at least two passes. Decode: a sample per token
      // step, at least one whole generation.
      ASSERT_GE(r.samples.size(), decode ? 4u : 2u);
      if (decode) {
        EXPECT_EQ(r.samples.size() % 4, 0u) << "whole generations of gen_len steps";
      }
      const double sampled_s = std::accumulate(r.samples.begin(), r.samples.end(), 0.0);
      const double passes = decode ? double(r.samples.size()) / tokens : double(r.samples.size());
      const auto& m = r.metrics;
      if (decode) {
        EXPECT_NEAR(m["tokens_per_s"].get<double>(), double(r.samples.size()) / sampled_s,
                    1e-9 * m["tokens_per_s"].get<double>());
        EXPECT_NEAR(m["time_s"].get<double>(), sampled_s / passes, 1e-9 * sampled_s);
      } else {
        EXPECT_NEAR(m["tokens_per_s"].get<double>() * r.stats.median, tokens, 1e-9 * tokens);
        EXPECT_DOUBLE_EQ(m["time_s"].get<double>(), r.stats.median);
      }
      // Resident memory holds at least the weights the forward pass read (mapped or copied).
      // The phase split: qbench cells have it, llama.cpp cells do not. Shares are fractions that
      // sum to 1, and the matmuls (every weight byte of the model streamed per step, the 168 MB
      // output layer included) outweigh attention over at most a dozen positions.
      if (c.backend == "qbench") {
        EXPECT_GE(m["peak_rss_bytes"].get<double>(), m["weight_bytes"].get<double>());
        double sum = 0;
        for (const char* k : {"time_share_matmul", "time_share_attention", "time_share_other"}) {
          ASSERT_TRUE(m.contains(k)) << k;
          const double v = m[k];
          EXPECT_GE(v, 0.0) << k;
          EXPECT_LE(v, 1.0) << k;
          sum += v;
        }
        EXPECT_NEAR(sum, 1.0, 1e-6);
        EXPECT_GT(m["time_share_matmul"].get<double>(), m["time_share_attention"].get<double>());
        EXPECT_GT(m["time_share_matmul"].get<double>(), 0.5);
        const auto& split = r.cell.params["time_split_ms_per_token"];
        EXPECT_GT(split["matmul_output"].get<double>(), 0.0);
        EXPECT_NEAR(split["total"].get<double>() * tokens * passes, 1e3 * sampled_s, 0.05 * 1e3 * sampled_s)
            << "the timed phases cover the measured samples";
      } else {
        EXPECT_FALSE(m.contains("time_share_matmul"));
      }
      if (std::string(sname) == "decode") {
        const double p50 = m["p50_us"], p90 = m["p90_us"], p99 = m["p99_us"], mx = m["max_us"];
        EXPECT_LE(p50, p90);
        EXPECT_LE(p90, p99);
        EXPECT_LE(p99, mx);
        // The percentiles are of the samples themselves (nearest rank), and the mean step lies
        // between the fastest and the slowest.
        EXPECT_DOUBLE_EQ(mx, 1e6 * *std::max_element(r.samples.begin(), r.samples.end()));
        EXPECT_LE(sampled_s / double(r.samples.size()), mx * 1e-6 * (1 + 1e-9));
        EXPECT_GT(p50, 0);
        // Merged from interleaved rounds, the minimum is one generation per round: the samples of
        // one pass, presented as if three rounds had run, are too few.
        CellResult merged = r;
        merged.counters["rounds"] = nlohmann::json::array({{}, {}, {}});
        s->rejudge(merged, ctx);
        const size_t need = 3 * 4;
        if (r.samples.size() < need) {
          EXPECT_FALSE(merged.valid);
          const std::string want = fmt::format("too few samples: {} < {}", r.samples.size(), need);
          EXPECT_TRUE(std::any_of(merged.reasons.begin(), merged.reasons.end(), [&](const std::string& why) {
            return why.find(want) != std::string::npos;
          })) << want;
        }
      } else {
        EXPECT_NEAR(m["ttft_ms"].get<double>(), 1e3 * r.stats.median, 1e-9);
      }
    }
  }
}
