// Placement plans on a fake topology and on this machine; counters-absent path.
#include <gtest/gtest.h>

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

TEST(Counters, AbsentPathSaysWhyAndCarriesOn) {
  const auto& a = papi_availability();
  if (a.available) {
    EXPECT_FALSE(a.events.empty());
  } else {
    EXPECT_FALSE(a.reason.empty()) << "unavailable counters must carry PAPI's reason";
  }
  CounterScope s;
  s.start();
  volatile double x = 0;
  for (int i = 0; i < 1000; ++i) x = x + i;
  auto j = s.stop();
  ASSERT_TRUE(j.contains("available"));
  if (!j["available"].get<bool>()) {
    EXPECT_TRUE(j.contains("reason"));
    EXPECT_FALSE(j.contains("cycles")) << "never fake a counter";
  }
  EXPECT_TRUE(j["rusage"].contains("max_rss_bytes"));
  EXPECT_GT(j["rusage"]["max_rss_bytes"].get<int64_t>(), 0);
}
