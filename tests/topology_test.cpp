// Placement plans on a fake topology and on this machine; counters-absent path.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "qb/counters.h"
#include "qb/thread_pool.h"
#include "qb/topology.h"

using namespace qb;

namespace {
// 2 packages × 2 cores × 2 SMT threads; OS numbering puts SMT siblings far apart (like Linux).
Topology fake() {
  Topology t;
  t.packages = 2;
  t.cores = 4;
  t.pus = 8;
  t.core_list = {{0, 0, 0, {0, 4}}, {1, 0, 0, {1, 5}}, {2, 1, 0, {2, 6}}, {3, 1, 0, {3, 7}}};
  return t;
}
}  // namespace

TEST(Placement, CompactFillsSmtSiblingsFirst) {
  EXPECT_EQ(placement_pus(fake(), Placement::Compact, 3), (std::vector<int>{0, 4, 1}));
  EXPECT_EQ(placement_pus(fake(), Placement::Compact, 8).size(), 8u);
}

TEST(Placement, SpreadAlternatesPackagesThenSmt) {
  EXPECT_EQ(placement_pus(fake(), Placement::Spread, 4), (std::vector<int>{0, 2, 1, 3}));
  EXPECT_EQ(placement_pus(fake(), Placement::Spread, 6), (std::vector<int>{0, 2, 1, 3, 4, 6}));
}

TEST(Placement, OnePerCoreNeverUsesSiblingsAndRefusesTooMany) {
  EXPECT_EQ(placement_pus(fake(), Placement::OnePerCore, 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(placement_pus(fake(), Placement::OnePerCore, 5).empty());
  EXPECT_TRUE(placement_pus(fake(), Placement::Compact, 9).empty());
}

TEST(Placement, ParseNames) {
  Placement p;
  EXPECT_TRUE(parse_placement("one-per-core", p));
  EXPECT_EQ(p, Placement::OnePerCore);
  EXPECT_FALSE(parse_placement("everywhere", p));
}

TEST(Topology, ThisMachineIsConsistent) {
  const Topology& t = machine_topology();
  EXPECT_GE(t.cores, 1);
  EXPECT_GE(t.pus, t.cores);
  EXPECT_EQ(int(t.core_list.size()), t.cores);
  EXPECT_GT(t.cache_size(1), 0u);
  EXPECT_GT(t.mem_total_bytes, 0u);
  EXPECT_FALSE(t.isa.empty());
  for (Placement p : all_placements()) {
    auto pus = placement_pus(t, p, t.cores);
    ASSERT_EQ(int(pus.size()), t.cores) << placement_name(p);
    EXPECT_EQ(std::set<int>(pus.begin(), pus.end()).size(), pus.size()) << "no PU twice";
  }
}

TEST(ThreadPool, ParallelForCoversEveryTaskOnce) {
  const Topology& t = machine_topology();
  ThreadPool pool(placement_pus(t, Placement::Compact, t.pus), t.pus);
  std::vector<std::atomic<int>> hits(1000);
  for (int rep = 0; rep < 50; ++rep) pool.parallel_for(1000, [&](int64_t i) { hits[size_t(i)]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 50);
  std::vector<int> seen(size_t(pool.size()), 0);
  pool.run_on_all([&](int tid) { seen[size_t(tid)] = 1; });
  for (int s : seen) EXPECT_EQ(s, 1);
}

// A region whose instruction count has a floor: 1000 dependent volatile adds (a load, an add and
// a store each) retire at least 3000 instructions on the calling thread.
nlohmann::json count_loop() {
  CounterScope s;
  s.start();
  volatile double x = 0;
  for (int i = 0; i < 1000; ++i) x = x + i;
  return s.stop();
}

TEST(Counters, RusageAndScopesAlwaysReported) {
  auto j = count_loop();
  ASSERT_TRUE(j.contains("available"));
  ASSERT_TRUE(j["rusage"].contains("max_rss_bytes"));
  EXPECT_GT(j["rusage"]["max_rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(j["rusage"]["minor_faults"].get<int64_t>(), 0) << "a delta, never negative";
  EXPECT_EQ(j.value("rusage_scope", ""), "process (all threads)");
}

TEST(Counters, AbsentPathSaysWhyAndNeverFakes) {
  const auto& a = papi_availability();
  if (a.available) GTEST_SKIP() << "PAPI counters are available here: the absent path is not exercised";
  EXPECT_FALSE(a.reason.empty()) << "unavailable counters must carry PAPI's reason";
  auto j = count_loop();
  EXPECT_FALSE(j["available"].get<bool>());
  EXPECT_FALSE(j.value("reason", "").empty());
  EXPECT_FALSE(j.contains("cycles")) << "never fake a counter";
  EXPECT_FALSE(j.contains("instructions")) << "never fake a counter";
}

TEST(Counters, PresentPathCountsTheCallingThread) {
  const auto& a = papi_availability();
  if (!a.available) GTEST_SKIP() << "PAPI counters unavailable, nothing to check: " << a.reason;
  EXPECT_FALSE(a.events.empty());
  const auto t0 = std::chrono::steady_clock::now();
  auto j = count_loop();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(j["available"].get<bool>()) << j.dump();
  EXPECT_EQ(j.value("scope", ""), "calling thread");
  if (j.contains("instructions")) {
    EXPECT_GE(j["instructions"].get<double>(), 3000);
  }
  // Physical bound: no core runs above 10 GHz.
  if (j.contains("cycles")) {
    EXPECT_GT(j["cycles"].get<double>(), 0);
    EXPECT_LE(j["cycles"].get<double>(), s * 10e9);
  }
}

TEST(Counters, RaplDeltaHandlesWrap) {
  const uint64_t range = 262143328850ull;  // a typical package max_energy_range_uj
  EXPECT_EQ(rapl_delta_uj(1000, 5000, range), 4000.0);
  EXPECT_EQ(rapl_delta_uj(range - 100, 50, range), 150.0) << "wrapped once past max_energy_range_uj";
  EXPECT_EQ(rapl_delta_uj(7, 7, range), 0.0);
  EXPECT_LT(rapl_delta_uj(5000, 1000, 0), 0.0) << "went backwards, range unknown: no number";
  EXPECT_LT(rapl_delta_uj(range + 10, 5, range), 0.0) << "a reading above the range is inconsistent";
}

TEST(Counters, EnergyDeltaIsNonNegativeWhereRaplReadable) {
  auto e = energy_probe();
  if (!e["available"].get<bool>()) GTEST_SKIP() << "RAPL not readable: " << e.value("reason", "");
  auto j = count_loop();
  ASSERT_TRUE(j["energy_j"].is_object()) << j.dump();
  for (auto& [k, v] : j["energy_j"].items()) EXPECT_GE(v.get<double>(), 0.0) << k;
}
