// The perplexity suite's plan: one cell per format x backend, at the largest requested thread
// count (quality does not depend on threads; see suites/perplexity.cpp).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "qb/suite.h"
#include "qb/thread_pool.h"
#include "qb/topology.h"

using namespace qb;

TEST(PerplexityPlan, OneCellPerFormatAndBackendAtTheLargestThreadCount) {
  RunConfig cfg;
  cfg.model = "m.gguf";  // plan() does not open it
  cfg.formats = {"Q8_0", "Q4_0", "Q2_K"};
  cfg.backends = {"avx2", "scalar", "llama.cpp"};  // llama.cpp is not an own backend: no cell
  cfg.threads = {2, 4, 1};
  cfg.out_dir = "/tmp/qb_perplexity_plan_test";
  std::vector<CellResult> done;
  RunContext ctx{machine_topology(), cfg, done, [&](int, const std::string&) -> ThreadPool* { return nullptr; }};
  Suite* s = find_suite("perplexity");
  ASSERT_NE(s, nullptr);
  const auto cells = s->plan(ctx);
  ASSERT_EQ(cells.size(), 3u * 2u);
  std::set<std::string> seen;
  for (const auto& c : cells) {
    EXPECT_EQ(c.threads, 4) << c.key();
    EXPECT_TRUE(c.backend == "avx2" || c.backend == "scalar") << c.key();
    EXPECT_TRUE(seen.insert(c.format + "/" + c.backend).second) << "duplicate " << c.key();
  }
}
