// The per-CPU page lists in front of the buddy lists (mm/page_alloc.c: rmqueue_pcplist(),
// free_unref_page(), free_pcppages_bulk(), drain_all_pages(), zone_pcp_disable()) and how
// offline_pages() drains them in v5.10, v5.12 and v6.1.
#include "allocator/mm/per_cpu_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc {
// Named, not anonymous: the sanitizer pass compiles this folder's tests as one unit.
namespace per_cpu_pages_test {

using testing::FakeEnvironment;

constexpr std::uint64_t kBlock = 32768;  // 128 MiB blocks, as on x86_64

// Two nodes with two CPUs each (CPUs 0, 1 on node 0; 2, 3 on node 1) and `blocks` online
// ZONE_NORMAL blocks per node, node-major.
MachineLayout two_nodes(int blocks = 1) {
  MachineLayout l;
  l.cpu_node = {0, 0, 1, 1};
  l.distance = {{10, 20}, {20, 10}};
  l.block_pages = kBlock;
  for (int n = 0; n < 2; ++n)
    for (int b = 0; b < blocks; ++b)
      l.blocks.push_back({n, ZoneType::normal, BlockPresence::online});
  return l;
}

PageBlockRef must_alloc(PageAllocator& pa, int nid, unsigned order, int cpu, Gfp gfp = gfp_kernel) {
  auto r = pa.alloc_pages(nid, order, gfp, cpu);
  if (!r) throw std::runtime_error("allocation unexpectedly failed");
  return *r;
}

TEST(PerCpuPagesSizes, ZoneBatchsizeAndHighFollowTheKernelFormulas) {
  // zone_batchsize(): managed / 1024 capped at 256, / 4, rounddown_pow_of_two(b + b / 2) - 1.
  EXPECT_EQ(zone_batchsize(2048), 0);       // 8 MiB: the boot pageset's batch
  EXPECT_EQ(zone_batchsize(32768), 7);      // 128 MiB: 32 / 4 = 8 -> 12 -> 8 - 1
  EXPECT_EQ(zone_batchsize(262144), 63);    // 1 GiB: 256 / 4 = 64 -> 96 -> 64 - 1
  EXPECT_EQ(zone_batchsize(1u << 24), 63);  // 64 GiB: capped at 1 MiB worth
  // calculate_min_free_kbytes(): int_sqrt(16 * 4 GiB in KiB) = 8192 KiB; khugepaged raises it
  // to 512 * 1 * 11 pages = 22528 KiB.
  EXPECT_EQ(min_free_kbytes(1048576, 1, 512), 22528u);
  EXPECT_EQ(min_free_kbytes(1048576, 1, 1), 8192u);         // no pageblock to speak of
  EXPECT_EQ(min_free_kbytes(256, 1, 512), 128u);            // 1 MiB: the floor
  EXPECT_EQ(min_free_kbytes(1ull << 36, 1, 512), 262144u);  // the ceiling
  // __setup_per_zone_wmarks(): the whole lowmem is this zone: min 5632 pages, low + 1408.
  EXPECT_EQ(low_wmark_pages(1048576, 1048576, 22528, false), 5632u + 1408u);
  // ZONE_MOVABLE: min is managed / 1024 clamped to [32, 128]; the scale term still applies.
  EXPECT_EQ(low_wmark_pages(1048576, 1048576, 22528, true), 128u + 1408u);
  EXPECT_EQ(zone_highsize(7040, 63, 4), 1760);
  EXPECT_EQ(zone_highsize(100, 63, 4), 252);  // at least 4 * batch
}

TEST(PerCpuPagesSizes, EachGenerationSizesTheZonesAsItsKernel) {
  PageAllocator pa(two_nodes());
  EXPECT_EQ(pa.pcp_high(0, ZoneType::normal), 0);  // the boot pageset until a version is set
  EXPECT_EQ(pa.pcp_batch(0, ZoneType::normal), 1);
  pa.set_pcp_version(PcpVersion::v5_10);
  EXPECT_EQ(pa.pcp_batch(0, ZoneType::normal), 7);
  EXPECT_EQ(pa.pcp_high(0, ZoneType::normal), 42);
  EXPECT_EQ(pa.pcp_high(0, ZoneType::movable), 0);  // unpopulated

  PageAllocator v61(two_nodes());
  v61.set_pcp_version(PcpVersion::v6_1);
  // lowmem 65536 pages: min_free_kbytes = max(int_sqrt(16 * 262144) = 2048, min(512 * 2 * 11,
  // 65536 / 20) * 4 = 13104); node 0's share of it: 3276 / 2 = 1638 min pages, low + 409; split
  // over its two CPUs.
  EXPECT_EQ(v61.pcp_batch(0, ZoneType::normal), 7);
  EXPECT_EQ(v61.pcp_high(0, ZoneType::normal), (1638 + 409) / 2);
  // page_alloc_cpu_dead(): high follows the node's online CPUs.
  v61.set_cpu_online(1, false);
  EXPECT_EQ(v61.pcp_high(0, ZoneType::normal), 1638 + 409);
}

TEST(PerCpuPagesLists, AnEmptyListIsRefilledWithABatchAndServedFromItsHead) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  const auto first = must_alloc(pa, 0, 0, 0);
  EXPECT_EQ(first.pfn, 0u);  // rmqueue_bulk() took pfns 0..6 in order; the first comes out
  EXPECT_EQ(pa.pcp_count(0, 0, ZoneType::normal), 6);
  EXPECT_EQ(pa.free_pages(0), kBlock - 7);  // NR_FREE_PAGES does not count the lists
  EXPECT_EQ(pa.pcp_pages(0), 6u);
  EXPECT_EQ(must_alloc(pa, 0, 0, 0).pfn, 1u);
  EXPECT_EQ(pa.free_pages(0), kBlock - 7);  // no buddy access
  // Another CPU has its own list: it refills from the buddy lists.
  EXPECT_EQ(must_alloc(pa, 0, 0, 1).pfn, 7u);
  EXPECT_EQ(pa.pcp_count(1, 0, ZoneType::normal), 6);
  // numastat counts each allocation, list or not.
  EXPECT_EQ(pa.numastat(0).numa_hit, 3u);
}

TEST(PerCpuPagesLists, AFreedPageIsTheNextOneItsCpuGets) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  const auto a = must_alloc(pa, 0, 0, 0);
  const auto b = must_alloc(pa, 0, 0, 0);
  pa.free_pages(a, 0);
  EXPECT_EQ(must_alloc(pa, 0, 0, 0).pfn, a.pfn);  // list_add() at the head, taken from it
  pa.free_pages(b, 2);  // freed on a node 1 CPU: its list for node 0's zone
  EXPECT_EQ(pa.pcp_count(2, 0, ZoneType::normal), 1);
  EXPECT_EQ(must_alloc(pa, 0, 0, 2).pfn, b.pfn);
}

TEST(PerCpuPagesLists, PastHighABatchOfTheOldestPagesGoesBack) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  std::vector<PageBlockRef> pages;
  for (int i = 0; i < 42; ++i)
    pages.push_back(must_alloc(pa, 0, 0, 1));
  for (const auto& p : pages)
    pa.free_pages(p, 0);
  // CPU 0's list reached high (42) with the last free and returned batch (7) pages from its
  // tail: the first seven freed.
  EXPECT_EQ(pa.pcp_count(0, 0, ZoneType::normal), 35);
  EXPECT_EQ(pa.pcp_count(1, 0, ZoneType::normal), 0);  // six refills of 7, all handed out
  EXPECT_EQ(must_alloc(pa, 0, 0, 0).pfn, pages.back().pfn);
}

TEST(PerCpuPagesLists, HigherOrdersUseTheListsFromV6_1Only) {
  PageAllocator v510(two_nodes());
  v510.set_pcp_version(PcpVersion::v5_10);
  must_alloc(v510, 0, 1, 0);
  EXPECT_EQ(v510.pcp_count(0, 0, ZoneType::normal), 0);
  EXPECT_EQ(v510.free_pages(0), kBlock - 2);

  PageAllocator v61(two_nodes());
  v61.set_pcp_version(PcpVersion::v6_1);
  const auto p = must_alloc(v61, 0, 1, 0);
  // max(batch >> order, 2) = 3 order-1 pages taken, one handed out.
  EXPECT_EQ(v61.pcp_count(0, 0, ZoneType::normal), 4);
  EXPECT_EQ(v61.free_pages(0), kBlock - 6);
  EXPECT_EQ(p.pfn, 0u);
  must_alloc(v61, 0, 4, 0);  // above PAGE_ALLOC_COSTLY_ORDER: the buddy lists
  EXPECT_EQ(v61.pcp_count(0, 0, ZoneType::normal), 4);
}

TEST(PerCpuPagesLists, AHighOrderFreeAfterFreesEmptiesTheListInV6_1) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v6_1);
  const int high = pa.pcp_high(0, ZoneType::normal);
  std::vector<PageBlockRef> pages;
  for (int i = 0; i < high; ++i)
    pages.push_back(must_alloc(pa, 0, 0, 1));
  const auto big = must_alloc(pa, 0, 1, 1);
  for (const auto& p : pages)
    pa.free_pages(p, 0);
  // The list reached high: nr_pcp_free() returned batch pages and raised free_factor.
  EXPECT_EQ(pa.pcp_count(0, 0, ZoneType::normal), high - 7);
  // free_high: an order-1 free while free_factor is up frees everything.
  pa.free_pages(big, 0);
  EXPECT_EQ(pa.pcp_count(0, 0, ZoneType::normal), 0);
}

TEST(PerCpuPagesLists, PagesOnAListDoNotStopAnIsolationButDoStopTheOffline) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  pa.free_pages(must_alloc(pa, 1, 0, 2), 2);
  EXPECT_EQ(pa.pcp_pages_in_block(1), 7u);
  ASSERT_TRUE(pa.isolate_block(1));  // has_unmovable_pages() skips pages with no reference
  EXPECT_THROW(pa.offline_block(1), std::logic_error);
  EXPECT_EQ(pa.cpus_with_pcps(1, ZoneType::normal, false), std::vector<int>{2});
  EXPECT_EQ(pa.drain_pages_zone(2, 1, ZoneType::normal), 7u);
  EXPECT_EQ(pa.isolated_free_pages(1), kBlock);  // drained onto the isolate lists
  pa.offline_block(1);
}

TEST(PerCpuPagesLists, AFreeIntoAnIsolatedBlockBypassesTheLists) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  const auto user = must_alloc(pa, 1, 0, 2, gfp_movable);  // movable: no bar to isolation
  EXPECT_EQ(pa.drain_pages(2), 6u);
  ASSERT_TRUE(pa.isolate_block(1));
  pa.free_pages(user, 2);
  EXPECT_EQ(pa.pcp_pages_in_block(1), 0u);
  EXPECT_EQ(pa.isolated_free_pages(1), kBlock);
}

TEST(PerCpuPagesLists, ADeadCpuIsDrainedAndLeavesTheDrainSet) {
  PageAllocator pa(two_nodes());
  pa.set_pcp_version(PcpVersion::v5_10);
  pa.free_pages(must_alloc(pa, 0, 0, 1), 1);
  EXPECT_EQ(pa.cpus_with_pcps(0, ZoneType::normal, true), (std::vector<int>{0, 1, 2, 3}));
  pa.set_cpu_online(1, false);
  EXPECT_EQ(pa.drain_pages(1), 7u);
  EXPECT_EQ(pa.cpus_with_pcps(0, ZoneType::normal, true), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(pa.free_pages(0), kBlock);
}

// offline_pages() with the lists of each generation.
struct Machine {
  explicit Machine(PcpVersion v, int blocks = 1)
      : layout(two_nodes(blocks)),
        pages(layout),
        states(boot_node_states(layout)),
        env(layout),
        hotplug(env, pages, states) {
    pages.set_pcp_version(v);
  }
  MachineLayout layout;
  PageAllocator pages;
  NodeStates states;
  FakeEnvironment env;
  MemoryHotplug hotplug;

  [[nodiscard]] std::vector<std::string> taken() const {
    std::vector<std::string> out;
    for (const auto& e : env.events)
      if (e.acquire &&
          (e.cls == LockClass::pcpu_drain_mutex || e.cls == LockClass::pcp_batch_high_lock))
        out.push_back(std::string(lock_class_name(e.cls)) + " " + e.function);
    return out;
  }
};

TEST(OfflinePcp, V5_10DrainsAfterIsolating) {
  Machine m(PcpVersion::v5_10);
  m.pages.free_pages(must_alloc(m.pages, 1, 0, 3), 3);
  int pcp_at_going_offline = -1;
  m.hotplug.register_notifier({"observer", 0, [&](MemoryAction a, const MemoryNotify&) {
                                 if (a == MemoryAction::going_offline)
                                   pcp_at_going_offline =
                                       static_cast<int>(m.pages.pcp_pages_in_block(1));
                                 return 0;
                               }});
  m.env.cpu = 0;
  EXPECT_EQ(m.hotplug.offline_pages(1), 0);
  EXPECT_EQ(pcp_at_going_offline, 0);
  EXPECT_EQ(m.taken(), (std::vector<std::string>{"pcpu_drain_mutex __drain_all_pages"}));
  // drain_all_pages(zone): a work only where pcp->count is not 0.
  EXPECT_EQ(m.env.work_cpus, (std::vector<std::vector<int>>{{3}}));
  EXPECT_FALSE(m.env.anything_held());
}

TEST(OfflinePcp, V5_12AndV6_1DisableTheListsAroundTheOffline) {
  for (PcpVersion v : {PcpVersion::v5_12, PcpVersion::v6_1}) {
    SCOPED_TRACE(pcp_version_name(v));
    Machine m(v, 2);
    m.pages.free_pages(must_alloc(m.pages, 1, 0, 3), 3);
    int high_at_going_offline = -1;
    std::uint64_t kept = 1;
    m.hotplug.register_notifier({"observer", 0, [&](MemoryAction a, const MemoryNotify&) {
                                   if (a != MemoryAction::going_offline) return 0;
                                   high_at_going_offline = m.pages.pcp_high(1, ZoneType::normal);
                                   // A free meanwhile does not stay on a list.
                                   m.pages.free_pages(must_alloc(m.pages, 1, 0, 2), 2);
                                   kept = m.pages.pcp_pages(1);
                                   return 0;
                                 }});
    m.env.cpu = 0;
    EXPECT_EQ(m.hotplug.offline_pages(2), 0);
    EXPECT_EQ(high_at_going_offline, 0);
    EXPECT_EQ(kept, 0u);
    EXPECT_GT(m.pages.pcp_high(1, ZoneType::normal), 0);  // enabled again
    EXPECT_EQ(m.taken(), (std::vector<std::string>{"pcp_batch_high_lock zone_pcp_disable",
                                                   "pcpu_drain_mutex __drain_all_pages",
                                                   "pcp_batch_high_lock zone_pcp_update"}));
    // __drain_all_pages(zone, true): every online CPU, its list empty or not; v6.1 drains them
    // from the caller.
    if (v == PcpVersion::v5_12)
      EXPECT_EQ(m.env.work_cpus, (std::vector<std::vector<int>>{{0, 1, 2, 3}}));
    else
      EXPECT_TRUE(m.env.work_cpus.empty());
    EXPECT_FALSE(m.env.anything_held());
  }
}

TEST(OfflinePcp, V5_10RetriesWhileACpuHoldsAPageItTookAfterTheIsolation) {
  // CPU 2's list holds pages of block 1 when the offline isolates it; before the drain reaches
  // it, CPU 2 takes one for a slab (the race zone_pcp_disable() closed in v5.11). The offline
  // then waits for that page: it fails after the passes, or succeeds once the page is freed.
  for (bool freed : {false, true}) {
    SCOPED_TRACE(freed);
    Machine m(PcpVersion::v5_10);
    m.pages.free_pages(must_alloc(m.pages, 1, 0, 2), 2);
    std::optional<PageBlockRef> slab;
    m.env.before_lock = [&](LockClass cls, std::uint64_t, const char*) {
      if (cls == LockClass::pcpu_drain_mutex && !slab) slab = must_alloc(m.pages, 1, 0, 2);
    };
    int syncs = 0;
    m.env.on_sync = [&] {
      if (freed && slab && ++syncs == 3 && m.pages.allocated(*slab)) m.pages.free_pages(*slab, 2);
    };
    m.env.cpu = 0;
    const int ret = m.hotplug.offline_pages(1);
    if (freed) {
      EXPECT_EQ(ret, 0);
      EXPECT_EQ(m.pages.block_state(1), BlockPresence::offline);
    } else {
      EXPECT_EQ(ret, -eintr);
      EXPECT_EQ(m.hotplug.log().back(),
                "memory offlining [mem 0x8000000-0xfffffff] failed due to signal backoff");
      EXPECT_FALSE(m.pages.block_isolated(1));
      EXPECT_EQ(m.pages.block_state(1), BlockPresence::online);
    }
    EXPECT_FALSE(m.env.anything_held());
  }
}

TEST(OfflinePcp, CpuHotplugDrainsTheDeadCpu) {
  Machine m(PcpVersion::v6_1);
  m.pages.free_pages(must_alloc(m.pages, 0, 0, 1), 1);
  m.env.cpu = 3;
  m.hotplug.page_alloc_cpu_dead(1);
  EXPECT_EQ(m.pages.pcp_pages(0), 0u);
  EXPECT_FALSE(m.pages.cpu_online(1));
  m.hotplug.page_alloc_cpu_online(1);
  EXPECT_TRUE(m.pages.cpu_online(1));
  EXPECT_EQ(m.taken(), (std::vector<std::string>{"pcp_batch_high_lock zone_pcp_update",
                                                 "pcp_batch_high_lock zone_pcp_update"}));
}

}  // namespace per_cpu_pages_test
}  // namespace slabsim::alloc
