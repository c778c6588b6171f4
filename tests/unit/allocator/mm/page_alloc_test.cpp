// The buddy page allocator model: splitting/merging, zonelist fallback, numastat, zones,
// memory-block hotplug and node states.
#include "allocator/mm/page_alloc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "allocator/mm/zonelist.hpp"

namespace slabsim::alloc {
namespace {

constexpr std::uint64_t kBlock = 1024;  // one max-order chunk per block

// `nodes` nodes, SLIT 10 local / `remote` elsewhere, one CPU per entry of `cpus`, and
// `blocks_per_node` online ZONE_NORMAL blocks on each node, block ids node-major.
MachineLayout uniform_layout(int nodes, int blocks_per_node, std::vector<int> cpus,
                             std::uint64_t block_pages = kBlock, int remote = 20) {
  MachineLayout l;
  l.cpu_node = std::move(cpus);
  l.distance.assign(nodes, std::vector<int>(nodes, remote));
  for (int i = 0; i < nodes; ++i)
    l.distance[i][i] = 10;
  l.block_pages = block_pages;
  for (int n = 0; n < nodes; ++n)
    for (int b = 0; b < blocks_per_node; ++b)
      l.blocks.push_back({n, ZoneType::normal, BlockPresence::online});
  return l;
}

// Sum of a counter over all nodes.
template <typename F>
std::uint64_t sum(const PageAllocator& pa, F field) {
  std::uint64_t s = 0;
  for (int n = 0; n < pa.layout().nr_node_ids(); ++n)
    s += field(pa.numastat(n));
  return s;
}

// The first CPU on `node`: the allocating CPU of a test that only cares about numa_node_id().
int cpu_on(const PageAllocator& pa, int node) {
  const auto& cpus = pa.layout().cpu_node;
  for (std::size_t c = 0; c < cpus.size(); ++c)
    if (cpus[c] == node) return static_cast<int>(c);
  throw std::runtime_error("no CPU on node " + std::to_string(node));
}

PageBlockRef must_alloc(PageAllocator& pa, int nid, unsigned order, Gfp gfp, int cpu_node) {
  auto r = pa.alloc_pages(nid, order, gfp, cpu_on(pa, cpu_on(pa, cpu_node)));
  if (!r) throw std::runtime_error("allocation unexpectedly failed");
  return *r;
}

// ---------------------------------------------------------------------------------------
// Buddy mechanics

TEST(PageAllocatorBuddy, AllOrderZeroPagesThenShuffledFreeMergesBack) {
  for (std::uint64_t block_pages : {std::uint64_t{1024}, std::uint64_t{4096}}) {
    SCOPED_TRACE(block_pages);
    PageAllocator pa(uniform_layout(1, 1, {0}, block_pages));
    ASSERT_EQ(pa.free_pages(0), block_pages);
    std::vector<PageBlockRef> pages;
    for (std::uint64_t i = 0; i < block_pages; ++i) {
      pages.push_back(must_alloc(pa, 0, 0, gfp_kernel, 0));
      ASSERT_EQ(pages.back().pfn, i) << "lowest pfn first";
      EXPECT_EQ(pages.back().block, 0);
      EXPECT_EQ(pages.back().node, 0);
      EXPECT_EQ(pages.back().zone, ZoneType::normal);
    }
    EXPECT_EQ(pa.free_pages(0), 0u);
    EXPECT_EQ(pa.unmovable_pages(0), block_pages);
    EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel, cpu_on(pa, 0)));

    std::mt19937 rng(20240601);
    std::shuffle(pages.begin(), pages.end(), rng);
    for (const auto& p : pages)
      pa.free_pages(p, 0);
    EXPECT_EQ(pa.free_pages(0), block_pages);
    EXPECT_EQ(pa.unmovable_pages(0), 0u);

    // Everything merged back: the block is exactly block_pages / 1024 max-order chunks.
    for (std::uint64_t i = 0; i < block_pages / 1024; ++i) {
      const auto big = must_alloc(pa, 0, 10, gfp_kernel, 0);
      EXPECT_EQ(big.pfn, i * 1024);
      EXPECT_EQ(big.order, 10u);
    }
    EXPECT_EQ(pa.free_pages(0), 0u);
  }
}

TEST(PageAllocatorBuddy, SplitsLowestChunkAndPrefersSmallestOrder) {
  PageAllocator pa(uniform_layout(1, 2, {0}));
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 0u);  // 1024 -> 512 256 ... 2 1 free
  EXPECT_EQ(must_alloc(pa, 0, 1, gfp_kernel, 0).pfn, 2u);
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 1u);
  EXPECT_EQ(must_alloc(pa, 0, 3, gfp_kernel, 0).pfn, 8u);
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 4u);
  EXPECT_EQ(must_alloc(pa, 0, 2, gfp_kernel, 0).pfn, 16u);
  // A max-order request skips the split block 0 and takes block 1.
  const auto big = must_alloc(pa, 0, 10, gfp_kernel, 0);
  EXPECT_EQ(big.pfn, 1024u);
  EXPECT_EQ(big.block, 1);
  pa.free_pages(big, 0);
  // Order 0 takes the smallest free order (pfn 5, order 0), not a fresh block.
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 5u);
  EXPECT_EQ(pa.free_pages(0), 2048u - 1 - 2 - 1 - 8 - 1 - 4 - 1);
}

TEST(PageAllocatorBuddy, SameOperationsSameResult) {
  auto run = [] {
    PageAllocator pa(uniform_layout(2, 3, {0, 1}));
    std::mt19937 rng(7);
    std::vector<PageBlockRef> live;
    std::vector<std::uint64_t> trace;
    for (int i = 0; i < 3000; ++i) {
      if (!live.empty() && rng() % 3 == 0) {
        const std::size_t k = rng() % live.size();
        pa.free_pages(live[k], 0);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      } else if (auto r = pa.alloc_pages(static_cast<int>(rng() % 2), rng() % 4, gfp_kernel,
                                         static_cast<int>(rng() % 2))) {
        live.push_back(*r);
        trace.push_back(r->pfn);
      }
    }
    return trace;
  };
  EXPECT_EQ(run(), run());
}

TEST(PageAllocatorBuddy, BuddiesNeverMergeAcrossBlocks) {
  PageAllocator pa(uniform_layout(1, 2, {0}));
  const auto a = must_alloc(pa, 0, 10, gfp_kernel, 0);
  const auto b = must_alloc(pa, 0, 10, gfp_kernel, 0);
  pa.free_pages(a, 0);
  pa.free_pages(b, 0);
  // No order-10 chunk can hold 2048 pages; both come back as separate max-order chunks.
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_kernel, 0).block, 0);
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_kernel, 0).block, 1);
}

TEST(PageAllocatorBuddy, SmallBlocksCapTheOrder) {
  PageAllocator pa(uniform_layout(1, 2, {0}, 256));
  EXPECT_FALSE(pa.alloc_pages(0, 9, gfp_kernel, cpu_on(pa, 0)));
  EXPECT_FALSE(pa.alloc_pages(0, 10, gfp_kernel, cpu_on(pa, 0)));
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.numa_hit + s.numa_miss; }), 0u);
  std::vector<PageBlockRef> pages;
  for (int i = 0; i < 512; ++i)
    pages.push_back(must_alloc(pa, 0, 0, gfp_kernel, 0));
  EXPECT_EQ(pages.back().block, 1);
  std::mt19937 rng(3);
  std::shuffle(pages.begin(), pages.end(), rng);
  for (const auto& p : pages)
    pa.free_pages(p, 0);
  EXPECT_EQ(must_alloc(pa, 0, 8, gfp_kernel, 0).pfn, 0u);
  EXPECT_EQ(must_alloc(pa, 0, 8, gfp_kernel, 0).pfn, 256u);
  EXPECT_EQ(pa.free_pages(0), 0u);
}

TEST(PageAllocatorBuddy, LargeMachineIsCheap) {
  // 32 nodes x 64 GiB in 128 MiB blocks: 16 Mi pages per node, 16384 blocks.
  MachineLayout l = uniform_layout(32, 512, std::vector<int>(1024, 0), 32768);
  for (int c = 0; c < 1024; ++c)
    l.cpu_node[c] = c % 32;
  PageAllocator pa(l);
  EXPECT_EQ(pa.free_pages(5), std::uint64_t{16} << 20);
  std::vector<PageBlockRef> live;
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) {
    if (live.size() > 5000 || (!live.empty() && rng() % 2)) {
      const std::size_t k = rng() % live.size();
      pa.free_pages(live[k], 0);
      live[k] = live.back();
      live.pop_back();
    } else {
      const int cpu = static_cast<int>(rng() % 1024);
      const auto r = pa.alloc_pages(numa_no_node, rng() % 4, gfp_kernel, cpu);
      ASSERT_TRUE(r);
      live.push_back(*r);
    }
  }
  for (const auto& p : live)
    pa.free_pages(p, 0);
  for (int n = 0; n < 32; ++n)
    EXPECT_EQ(pa.free_pages(n), std::uint64_t{16} << 20);
}

// ---------------------------------------------------------------------------------------
// Zonelists and numastat

TEST(PageAllocatorZonelist, FallsBackAlongNodeOrderWhenPreferredIsFull) {
  // Node 0 is nearer to 2 than to 1: its zonelist is 0, 2, 1.
  MachineLayout l = uniform_layout(3, 1, {0, 1, 2});
  l.distance = {{10, 30, 20}, {30, 10, 20}, {20, 20, 10}};
  PageAllocator pa(l);
  ASSERT_EQ(pa.node_order(0), (std::vector<int>{0, 2, 1}));
  must_alloc(pa, 0, 10, gfp_kernel, 0);  // node 0 is now full

  const auto p = must_alloc(pa, 0, 0, gfp_kernel, 0);
  EXPECT_EQ(p.node, 2);
  EXPECT_EQ(pa.numastat(2).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(2).other_node, 1u);
  EXPECT_EQ(pa.numastat(0).numa_foreign, 1u);
  EXPECT_EQ(pa.numastat(0).numa_hit, 1u);  // the first allocation
  EXPECT_EQ(pa.numastat(0).local_node, 1u);
  EXPECT_EQ(pa.numastat(1), NumaStat{});
}

TEST(PageAllocatorZonelist, FallbackSkipsFragmentedNodeAndCountsPerRequest) {
  MachineLayout l = uniform_layout(3, 1, {0, 1, 2});
  l.distance = {{10, 30, 20}, {30, 10, 20}, {20, 20, 10}};
  PageAllocator pa(l);
  must_alloc(pa, 0, 0, gfp_kernel, 0);                  // node 0: order 10 no longer fits
  const auto p = must_alloc(pa, 0, 10, gfp_kernel, 1);  // lands on node 2
  EXPECT_EQ(p.node, 2);
  const auto q = must_alloc(pa, 0, 10, gfp_kernel, 1);  // then node 1, local to the CPU
  EXPECT_EQ(q.node, 1);
  EXPECT_FALSE(pa.alloc_pages(0, 10, gfp_kernel, cpu_on(pa, 0)));  // nothing left: no counter moves
  EXPECT_EQ(pa.numastat(2).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(1).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(1).local_node, 1u);
  EXPECT_EQ(pa.numastat(2).other_node, 1u);
  EXPECT_EQ(pa.numastat(0).numa_foreign, 2u);  // one per request, whatever the order
  EXPECT_EQ(pa.numastat(0).numa_hit, 1u);
}

TEST(PageAllocatorZonelist, ThisnodeFailsInsteadOfFallingBack) {
  PageAllocator pa(uniform_layout(2, 1, {0, 1}));
  must_alloc(pa, 0, 10, gfp_kernel, 0);
  const NumaStat before0 = pa.numastat(0), before1 = pa.numastat(1);
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel | gfp_thisnode, cpu_on(pa, 0)));
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_movable | gfp_thisnode, cpu_on(pa, 1)));
  EXPECT_EQ(pa.numastat(0), before0);
  EXPECT_EQ(pa.numastat(1), before1);
  EXPECT_EQ(pa.free_pages(1), kBlock);
  // The other node with __GFP_THISNODE works and is a hit there.
  const auto p = must_alloc(pa, 1, 0, gfp_kernel | gfp_thisnode, 0);
  EXPECT_EQ(p.node, 1);
  EXPECT_EQ(pa.numastat(1).numa_hit, 1u);
  EXPECT_EQ(pa.numastat(1).other_node, 1u);
}

// Node 2 has CPUs and no memory; it is nearer to node 1 than to node 0.
MachineLayout memoryless_layout() {
  MachineLayout l = uniform_layout(3, 1, {0, 1, 2, 2});
  l.distance = {{10, 20, 30}, {20, 10, 15}, {30, 15, 10}};
  l.blocks.resize(2);  // blocks 0 (node 0) and 1 (node 1)
  return l;
}

TEST(PageAllocatorZonelist, MemorylessPreferredNodeIsAHitOnItsNearestMemoryNode) {
  PageAllocator pa(memoryless_layout());
  EXPECT_EQ(pa.node_order(2), (std::vector<int>{1, 0}));
  EXPECT_EQ(pa.numa_mem_node(2), 1);
  EXPECT_EQ(pa.numa_mem_node(0), 0);

  // A CPU on the memoryless node, no node asked for.
  const auto p = must_alloc(pa, numa_no_node, 0, gfp_kernel, 2);
  EXPECT_EQ(p.node, 1);
  EXPECT_EQ(pa.numastat(1).numa_hit, 1u);
  EXPECT_EQ(pa.numastat(1).numa_miss, 0u);
  EXPECT_EQ(pa.numastat(1).other_node, 1u);  // the CPU is on node 2, not 1
  EXPECT_EQ(pa.numastat(2), NumaStat{});
  // Asked for node 2 by a CPU on node 1: hit and local on node 1.
  must_alloc(pa, 2, 0, gfp_kernel, 1);
  EXPECT_EQ(pa.numastat(1).numa_hit, 2u);
  EXPECT_EQ(pa.numastat(1).local_node, 1u);
  // __GFP_THISNODE on a memoryless node has no zone to use.
  EXPECT_FALSE(pa.alloc_pages(2, 0, gfp_kernel | gfp_thisnode, cpu_on(pa, 2)));

  // When node 1 is full the page comes from node 0: the miss is charged to node 0 and the
  // foreign to node 1 (the preferred zone's node), never to node 2.
  while (pa.free_pages(1) > 0)
    must_alloc(pa, 1, 0, gfp_kernel, 1);
  const auto q = must_alloc(pa, numa_no_node, 0, gfp_kernel, 2);
  EXPECT_EQ(q.node, 0);
  EXPECT_EQ(pa.numastat(0).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(1).numa_foreign, 1u);
  EXPECT_EQ(pa.numastat(2), NumaStat{});
}

TEST(PageAllocatorZonelist, OfflineNodeHasNoZonelist) {
  MachineLayout l = memoryless_layout();
  l.cpu_node = {0, 1};  // node 2 now has neither CPUs nor memory: not N_ONLINE
  PageAllocator pa(l);
  EXPECT_TRUE(pa.node_order(2).empty());
  EXPECT_EQ(pa.numa_mem_node(2), numa_no_node);
  EXPECT_FALSE(pa.alloc_pages(2, 0, gfp_kernel, cpu_on(pa, 0)));
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.numa_foreign; }), 0u);
}

TEST(PageAllocatorZonelist, NodeOrderIsBuildNodeOrdersRestrictedToPopulatedNodes) {
  MachineLayout l = uniform_layout(4, 1, {0, 1, 2, 3});
  l.distance = {{10, 20, 20, 30}, {20, 10, 30, 20}, {20, 30, 10, 20}, {30, 20, 20, 10}};
  l.blocks[3].state = BlockPresence::absent;  // node 3: CPUs only
  PageAllocator pa(l);
  const NodeStates st = boot_node_states(l);
  ZonelistInput in;
  in.distance = &l.distance;
  for (int n = 0; n < 4; ++n) {
    in.online.push_back(st.test(n, NodeState::online));
    in.has_memory.push_back(st.test(n, NodeState::memory));
    in.has_cpus.push_back(true);
  }
  const auto orders = build_node_orders(in);
  for (int n = 0; n < 4; ++n) {
    std::vector<int> expected;
    for (int m : orders[n])
      if (m != 3) expected.push_back(m);
    EXPECT_EQ(pa.node_order(n), expected) << "node " << n;
  }
  EXPECT_EQ(pa.node_order(3).front(), pa.numa_mem_node(3));
}

// ---------------------------------------------------------------------------------------
// Zones

// Node 0: block 0 normal, block 1 movable. Node 1: block 2 movable only.
MachineLayout zoned_layout() {
  MachineLayout l = uniform_layout(2, 0, {0, 1});
  l.blocks = {{0, ZoneType::normal, BlockPresence::online},
              {0, ZoneType::movable, BlockPresence::online},
              {1, ZoneType::movable, BlockPresence::online}};
  return l;
}

TEST(PageAllocatorZones, KernelAllocationsNeverTakeMovablePages) {
  PageAllocator pa(zoned_layout());
  EXPECT_EQ(pa.managed_pages(0, ZoneType::normal), kBlock);
  EXPECT_EQ(pa.managed_pages(0, ZoneType::movable), kBlock);
  for (std::uint64_t i = 0; i < kBlock; ++i) {
    const auto p = must_alloc(pa, 0, 0, gfp_kernel, 0);
    ASSERT_EQ(p.zone, ZoneType::normal);
    ASSERT_EQ(p.block, 0);
  }
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel, cpu_on(pa, 0)));
  EXPECT_FALSE(pa.alloc_pages(1, 0, gfp_kernel, cpu_on(pa, 1)));
  EXPECT_EQ(pa.free_pages(0, ZoneType::movable), kBlock);
  EXPECT_EQ(pa.free_pages(1), kBlock);
}

TEST(PageAllocatorZones, MovableAllocationsPreferZoneMovable) {
  PageAllocator pa(zoned_layout());
  const auto p = must_alloc(pa, 0, 0, gfp_movable, 0);
  EXPECT_EQ(p.zone, ZoneType::movable);
  EXPECT_EQ(p.block, 1);
  EXPECT_EQ(p.pfn, kBlock);
  EXPECT_EQ(pa.unmovable_pages(1), 0u);
  // Movable exhausted on node 0: ZONE_NORMAL of the same node comes before node 1.
  for (std::uint64_t i = 1; i < kBlock; ++i)
    must_alloc(pa, 0, 0, gfp_movable, 0);
  const auto q = must_alloc(pa, 0, 0, gfp_movable, 0);
  EXPECT_EQ(q.zone, ZoneType::normal);
  EXPECT_EQ(q.node, 0);
  EXPECT_EQ(pa.numastat(0).numa_hit, kBlock + 1);
  EXPECT_EQ(pa.unmovable_pages(0), 0u);
}

TEST(PageAllocatorZones, MovableOnlyNodeSendsKernelAllocationsToItsNormalFallback) {
  PageAllocator pa(zoned_layout());
  EXPECT_EQ(pa.node_order(1), (std::vector<int>{1, 0}));
  EXPECT_EQ(pa.numa_mem_node(1), 0);
  EXPECT_EQ(pa.numa_mem_node(0), 0);
  // The first ZONE_NORMAL-eligible zone of node 1's zonelist is node 0's: a hit there.
  const auto p = must_alloc(pa, 1, 0, gfp_kernel, 1);
  EXPECT_EQ(p.node, 0);
  EXPECT_EQ(pa.numastat(0).numa_hit, 1u);
  EXPECT_EQ(pa.numastat(0).other_node, 1u);
  EXPECT_EQ(pa.numastat(1), NumaStat{});
  // A movable request prefers node 1's ZONE_MOVABLE.
  EXPECT_EQ(must_alloc(pa, 1, 0, gfp_movable, 1).node, 1);
  EXPECT_EQ(pa.numastat(1).numa_hit, 1u);
  EXPECT_EQ(pa.numastat(1).local_node, 1u);
}

// ---------------------------------------------------------------------------------------
// Memory-block hotplug

// mm/page_isolation.c (v5.10 to v6.1): set_migratetype_isolate() fails with -EBUSY, changing
// nothing, when has_unmovable_pages() finds an allocated slab page in the pageblock.
// ---------------------------------------------------------------------------------------
// Grouping by mobility (mm/page_alloc.c v5.10: __rmqueue(), __rmqueue_fallback(),
// steal_suitable_fallback())

// Every pageblock starts movable. The first unmovable request finds no unmovable page and
// steals the largest movable chunk, the lowest-pfn free max-order chunk (block 1 here: block 0's
// was split by a movable page), claiming its pageblocks; unmovable requests then stay there,
// while movable ones keep to movable pageblocks. So block 0 holds no slab page and isolates.
TEST(PageAllocatorMobility, FallbackStealsTheLargestChunkAndUnmovablePagesStayTogether) {
  PageAllocator pa(uniform_layout(1, 3, {0}));
  ASSERT_EQ(pa.pageblock_pages(), 512u);
  for (std::uint64_t pfn = 0; pfn < 3 * kBlock; pfn += 512)
    EXPECT_EQ(pa.pageblock_migratetype(pfn), MigrateType::movable);
  const auto user = must_alloc(pa, 0, 0, gfp_movable, 0);
  EXPECT_EQ(user.pfn, 0u);
  std::vector<PageBlockRef> slab;
  for (int i = 0; i < 8; ++i)
    slab.push_back(must_alloc(pa, 0, 1, gfp_kernel, 0));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(slab[static_cast<std::size_t>(i)].pfn, kBlock + 2u * static_cast<unsigned>(i));
  EXPECT_EQ(pa.pageblock_migratetype(kBlock), MigrateType::unmovable);
  EXPECT_EQ(pa.pageblock_migratetype(kBlock + 512), MigrateType::unmovable);
  EXPECT_EQ(pa.pageblock_migratetype(2 * kBlock), MigrateType::movable);
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_movable, 0).pfn, 1u);  // the movable lists, not block 1
  EXPECT_TRUE(pa.isolate_block(0));
  EXPECT_FALSE(pa.isolate_block(1));
  // A reclaimable request also starts from the largest order: there the first fallback type
  // with a chunk (fallbacks[]: unmovable, then movable) is movable, block 2's free block, whose
  // pageblocks it claims, although block 1's unmovable pageblocks have smaller chunks.
  const auto reclaimable = must_alloc(pa, 0, 0, gfp_reclaimable, 0);
  EXPECT_EQ(reclaimable.pfn, 2 * kBlock);
  EXPECT_EQ(pa.pageblock_migratetype(2 * kBlock), MigrateType::reclaimable);
  // Freed pages go to the list of their pageblock's type and merge back.
  for (const auto& p : slab)
    pa.free_pages(p, 0);
  pa.free_pages(reclaimable, 0);
  EXPECT_EQ(pa.free_pages(0), 2 * kBlock);  // block 0 is isolated: blocks 1 and 2, all free
  EXPECT_EQ(pa.unmovable_pages(1), 0u);
  EXPECT_TRUE(pa.isolate_block(1));
}

// A steal of less than a pageblock moves all of the pageblock's free pages to the request's
// lists, and claims the pageblock only when its free pages and the pages of a compatible type
// make half of it (steal_suitable_fallback(): free_pages + alike_pages >= 1 << (pageblock_order
// - 1); from a movable pageblock, alike pages are those neither free nor movable).
TEST(PageAllocatorMobility, SmallStealClaimsThePageblockOnlyIfHalfOfItIsFreeOrAlike) {
  for (const int users : {300, 200}) {
    SCOPED_TRACE(users);
    PageAllocator pa(uniform_layout(1, 1, {0}, 512));  // one block, one pageblock
    ASSERT_EQ(pa.pageblock_pages(), 512u);
    std::vector<PageBlockRef> user;
    for (int i = 0; i < users; ++i)
      user.push_back(must_alloc(pa, 0, 0, gfp_movable, 0));
    // The largest free chunk is [384, 512) (300 users) or [256, 512) (200); all 212 or 312
    // free pages move to the unmovable lists, and the smallest chunk there serves the request.
    const auto slab = must_alloc(pa, 0, 0, gfp_kernel, 0);
    EXPECT_EQ(slab.pfn, static_cast<std::uint64_t>(users));
    EXPECT_EQ(pa.pageblock_migratetype(0),
              users == 300 ? MigrateType::movable : MigrateType::unmovable);
    EXPECT_EQ(pa.free_pages(0), 512u - static_cast<unsigned>(users) - 1u);
    if (users == 300) {
      // Not claimed, but the moved pages stay on the unmovable lists: the next unmovable
      // request takes them (the rest of [300, 304), split for the first) with no second steal,
      // and a movable one finds no movable page left and falls back to them in turn.
      EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 301u);
      EXPECT_EQ(pa.pageblock_migratetype(0), MigrateType::movable);
      EXPECT_EQ(must_alloc(pa, 0, 0, gfp_movable, 0).pfn, 302u);
      EXPECT_EQ(pa.pageblock_migratetype(0), MigrateType::movable);
    }
  }
}

TEST(PageAllocatorHotplug, SlabPageBlocksIsolationUntilFreed) {
  PageAllocator pa(uniform_layout(1, 2, {0}));
  const auto slab = must_alloc(pa, 0, 1, gfp_kernel, 0);
  EXPECT_EQ(pa.unmovable_pages(0), 2u);
  EXPECT_FALSE(pa.isolate_block(0));
  EXPECT_FALSE(pa.block_isolated(0));
  EXPECT_EQ(pa.free_pages(0), 2 * kBlock - 2);
  EXPECT_EQ(pa.isolated_free_pages(0), 0u);
  EXPECT_THROW(pa.offline_block(0), std::logic_error);  // __offline_isolated_pages needs it
  EXPECT_EQ(pa.block_state(0), BlockPresence::online);
  pa.free_pages(slab, 0);
  EXPECT_TRUE(pa.isolate_block(0));
  pa.offline_block(0);
  EXPECT_EQ(pa.block_state(0), BlockPresence::offline);
  EXPECT_FALSE(pa.block_isolated(0));
}

TEST(PageAllocatorHotplug, MovablePagesDoNotBlockOfflineAndAreDropped) {
  PageAllocator pa(uniform_layout(1, 1, {0}));
  const auto user = must_alloc(pa, 0, 0, gfp_movable, 0);
  ASSERT_TRUE(pa.isolate_block(0));
  pa.offline_block(0);
  EXPECT_EQ(pa.free_pages(0), 0u);
  EXPECT_EQ(pa.managed_pages(0, ZoneType::normal), 0u);
  EXPECT_THROW(pa.free_pages(user, 0), std::invalid_argument);  // migrated away
  pa.online_block(0, ZoneType::normal);
  EXPECT_EQ(pa.free_pages(0), kBlock);
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_kernel, 0).pfn, 0u);
}

TEST(PageAllocatorHotplug, OfflineBlockRemovesItsFreePages) {
  PageAllocator pa(uniform_layout(1, 3, {0}));
  // Fragment block 1: allocate it all in order-0 pages, free every other one... then the rest.
  std::vector<PageBlockRef> pages;
  must_alloc(pa, 0, 10, gfp_kernel, 0);  // block 0 stays busy
  for (std::uint64_t i = 0; i < kBlock; ++i)
    pages.push_back(must_alloc(pa, 0, 0, gfp_movable, 0));
  ASSERT_EQ(pages.back().block, 1);
  for (std::size_t i = 0; i < pages.size(); i += 2)
    pa.free_pages(pages[i], 0);
  EXPECT_EQ(pa.free_pages(0), kBlock / 2 + kBlock);

  ASSERT_TRUE(pa.isolate_block(1));
  pa.offline_block(1);
  EXPECT_EQ(pa.free_pages(0), kBlock);
  EXPECT_EQ(pa.managed_pages(0, ZoneType::normal), 2 * kBlock);
  // Every remaining order-0 allocation comes from block 2.
  for (std::uint64_t i = 0; i < kBlock; ++i)
    ASSERT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).block, 2);
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel, cpu_on(pa, 0)));

  // Onlined again (into ZONE_MOVABLE this time) it is whole and unfragmented.
  pa.online_block(1, ZoneType::movable);
  EXPECT_EQ(pa.block_zone(1), ZoneType::movable);
  EXPECT_EQ(pa.free_pages(0, ZoneType::movable), kBlock);
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_movable, 0).pfn, kBlock);
}

// Every page of a node is allocated, free (NR_FREE_PAGES) or free in an isolated block.
void expect_pages_balance(const PageAllocator& pa, int node, std::uint64_t allocated) {
  EXPECT_EQ(pa.managed_pages(node, ZoneType::normal) + pa.managed_pages(node, ZoneType::movable),
            pa.free_pages(node) + pa.isolated_free_pages(node) + allocated);
}

// set_migratetype_isolate() (mm/page_isolation.c, v5.10, v5.12, v6.1): move_freepages_block()
// and __mod_zone_freepage_state(zone, -nr_pages, mt) take the block's free pages out of the
// zone's free count, and the page allocator never hands them out: a request preferring the node
// falls back along the zonelist, and zone_statistics() counts it as a miss there (the isolated
// zone is still the zonelist's preferred zone). undo_isolate_page_range() gives them back.
TEST(PageAllocatorIsolation, IsolatedBlockIsNeverHandedOutAndLeavesTheFreeCount) {
  PageAllocator pa(uniform_layout(2, 1, {0, 1}));
  const auto before = pa.numastat(0);
  ASSERT_TRUE(pa.isolate_block(0));
  EXPECT_TRUE(pa.block_isolated(0));
  EXPECT_EQ(pa.free_pages(0), 0u);
  EXPECT_EQ(pa.isolated_free_pages(0), kBlock);
  EXPECT_EQ(pa.managed_pages(0, ZoneType::normal), kBlock);  // still in the zone
  EXPECT_EQ(pa.node_order(0), (std::vector<int>{0, 1}));     // and in the zonelists

  const auto p = must_alloc(pa, 0, 0, gfp_kernel, 0);
  EXPECT_EQ(p.node, 1);
  EXPECT_EQ(pa.numastat(1).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(1).other_node, 1u);
  EXPECT_EQ(pa.numastat(0).numa_foreign, before.numa_foreign + 1);
  EXPECT_EQ(pa.numastat(0).numa_hit, before.numa_hit);
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel | gfp_thisnode, cpu_on(pa, 0)));
  expect_pages_balance(pa, 0, 0);
  expect_pages_balance(pa, 1, 1);

  pa.undo_isolate_block(0);
  EXPECT_FALSE(pa.block_isolated(0));
  EXPECT_EQ(pa.free_pages(0), kBlock);
  EXPECT_EQ(pa.isolated_free_pages(0), 0u);
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_kernel, 0).node, 0);  // whole again, unfragmented
}

// __free_one_page() (v5.10 to v6.1) counts a freed page into NR_FREE_PAGES only when its
// pageblock is not MIGRATE_ISOLATE: a page freed into an isolated block stays on the isolate
// lists, merges there, and is counted free only by the undo; offlining drops it with the rest.
TEST(PageAllocatorIsolation, PagesFreedIntoAnIsolatedBlockStayOutOfTheFreeCount) {
  PageAllocator pa(uniform_layout(1, 2, {0}));
  std::vector<PageBlockRef> user;
  for (int i = 0; i < 4; ++i)
    user.push_back(must_alloc(pa, 0, 0, gfp_movable, 0));
  ASSERT_EQ(user.back().block, 0);
  ASSERT_TRUE(pa.isolate_block(0));
  EXPECT_EQ(pa.free_pages(0), kBlock);  // block 1 only
  EXPECT_EQ(pa.isolated_free_pages(0), kBlock - 4);
  pa.free_pages(user[0], 0);
  pa.free_pages(user[1], 0);
  EXPECT_EQ(pa.free_pages(0), kBlock);
  EXPECT_EQ(pa.isolated_free_pages(0), kBlock - 2);
  expect_pages_balance(pa, 0, 2);
  // Nothing comes from block 0 while it is isolated, whatever the order.
  for (unsigned order = 0; order < 3; ++order)
    EXPECT_EQ(must_alloc(pa, 0, order, gfp_kernel, 0).block, 1);

  pa.undo_isolate_block(0);
  EXPECT_EQ(pa.isolated_free_pages(0), 0u);
  pa.free_pages(user[2], 0);
  pa.free_pages(user[3], 0);
  // Merged back into one top-order chunk: block 0 serves an order-10 request again.
  EXPECT_EQ(must_alloc(pa, 0, 10, gfp_kernel, 0).pfn, 0u);
}

TEST(PageAllocatorHotplug, AddedAndOnlinedBlockServesItsNodeAfterRebuild) {
  // Node 1 starts with one absent block and no CPUs: not even N_ONLINE.
  MachineLayout l = uniform_layout(2, 1, {0, 0});
  l.blocks[1].state = BlockPresence::absent;
  PageAllocator pa(l);
  NodeStates st = boot_node_states(l);
  ASSERT_FALSE(st.test(1, NodeState::online));
  EXPECT_EQ(pa.node_order(0), std::vector<int>{0});
  EXPECT_TRUE(pa.node_order(1).empty());
  EXPECT_EQ(pa.block_state(1), BlockPresence::absent);

  EXPECT_THROW(pa.online_block(1, ZoneType::normal), std::logic_error);  // absent
  pa.add_block(1);
  EXPECT_EQ(pa.block_state(1), BlockPresence::offline);
  EXPECT_THROW(pa.add_block(1), std::logic_error);
  st.set(1, NodeState::online);  // add_memory -> node_set_online

  pa.online_block(1, ZoneType::normal);
  EXPECT_EQ(pa.block_state(1), BlockPresence::online);
  EXPECT_EQ(pa.free_pages(1), kBlock);
  EXPECT_THROW(pa.online_block(1, ZoneType::normal), std::logic_error);  // already online
  // Until the zonelists are rebuilt node 1 is in no other node's zonelist.
  must_alloc(pa, 0, 10, gfp_kernel, 0);
  EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel, cpu_on(pa, 0)));

  st.set(1, NodeState::normal_memory);
  st.set(1, NodeState::memory);
  pa.build_all_zonelists(st);
  EXPECT_EQ(pa.node_order(0), (std::vector<int>{0, 1}));
  EXPECT_EQ(pa.node_order(1), (std::vector<int>{1, 0}));
  EXPECT_EQ(pa.numa_mem_node(1), 1);
  const auto p = must_alloc(pa, 0, 0, gfp_kernel, 0);
  EXPECT_EQ(p.node, 1);
  EXPECT_EQ(p.block, 1);
  EXPECT_EQ(pa.numastat(1).numa_miss, 1u);
  EXPECT_EQ(pa.numastat(0).numa_foreign, 1u);
}

TEST(PageAllocatorHotplug, OfflinedNodeLeavesZonelistsAndNumaMem) {
  PageAllocator pa(memoryless_layout());
  ASSERT_EQ(pa.numa_mem_node(2), 1);
  ASSERT_TRUE(pa.isolate_block(1));
  pa.offline_block(1);  // node 1 loses its only memory
  EXPECT_EQ(pa.node_order(2), std::vector<int>{0});
  EXPECT_EQ(pa.numa_mem_node(2), 0);
  EXPECT_EQ(pa.numa_mem_node(1), 0);
  EXPECT_EQ(must_alloc(pa, 1, 0, gfp_kernel, 1).node, 0);
  EXPECT_EQ(pa.numastat(0).numa_hit, 1u);  // node 1 is memoryless now: hit on node 0
  // The kernel rebuilds with the node still in N_MEMORY (offline_pages rebuilds before
  // node_states_clear_node); the unpopulated node stays out of the zonelists either way.
  NodeStates st = boot_node_states(memoryless_layout());
  pa.build_all_zonelists(st);
  EXPECT_EQ(pa.node_order(2), std::vector<int>{0});
  st.clear(1, NodeState::memory);
  st.clear(1, NodeState::normal_memory);
  pa.build_all_zonelists(st);
  EXPECT_EQ(pa.node_order(1), std::vector<int>{0});
}

TEST(PageAllocatorHotplug, NewZoneOnPopulatedNodeNeedsNoRebuild) {
  MachineLayout l = uniform_layout(1, 2, {0});
  l.blocks[1].state = BlockPresence::offline;
  PageAllocator pa(l);
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_movable, 0).zone, ZoneType::normal);
  pa.online_block(1, ZoneType::movable);  // N_MEMORY unchanged: no rebuild
  EXPECT_EQ(must_alloc(pa, 0, 0, gfp_movable, 0).zone, ZoneType::movable);
}

// ---------------------------------------------------------------------------------------
// Node states at boot

TEST(PageAllocatorBoot, NodeStatesFollowCpusAndBlocks) {
  MachineLayout l;
  l.distance.assign(7, std::vector<int>(7, 20));
  for (int i = 0; i < 7; ++i)
    l.distance[i][i] = 10;
  l.cpu_node = {0, 0, 4, 6};
  l.block_pages = kBlock;
  l.blocks = {
      {0, ZoneType::normal, BlockPresence::online},   // 0: CPUs and normal memory
      {1, ZoneType::normal, BlockPresence::offline},  // 1: present memory, none online
      {2, ZoneType::normal, BlockPresence::absent},   // 2: nothing present
      {3, ZoneType::movable, BlockPresence::online},  // 3: movable-only memory
      {5, ZoneType::normal, BlockPresence::online},   // 5: memory, no CPUs
      {5, ZoneType::movable, BlockPresence::offline},
      {6, ZoneType::movable, BlockPresence::online},  // 6: CPUs, movable memory
      {6, ZoneType::normal, BlockPresence::online},
  };  // 4: CPUs, memoryless
  const NodeStates st = boot_node_states(l);
  EXPECT_EQ(st.nodes(NodeState::online), (std::vector<int>{0, 1, 3, 4, 5, 6}));
  EXPECT_EQ(st.nodes(NodeState::memory), (std::vector<int>{0, 3, 5, 6}));
  EXPECT_EQ(st.nodes(NodeState::normal_memory), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(st.nodes(NodeState::cpu), (std::vector<int>{0, 4, 6}));

  PageAllocator pa(l);  // the constructor leaves node states to the caller, uses these
  EXPECT_TRUE(pa.node_order(2).empty());  // not online: no zonelist
  for (int n : {1, 3, 4}) {
    // Nodes without memory (1, 4) or without normal memory (3) get their memory elsewhere.
    std::vector<int> order = pa.node_order(n);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<int>{0, 3, 5, 6})) << n;
    const int mem = pa.numa_mem_node(n);
    EXPECT_TRUE(mem == 0 || mem == 5 || mem == 6) << n << " -> " << mem;
    EXPECT_EQ(mem, pa.node_order(n)[pa.node_order(n).front() == 3 ? 1 : 0]) << n;
  }
  for (int n : {0, 5, 6})
    EXPECT_EQ(pa.numa_mem_node(n), n);
  EXPECT_EQ(pa.managed_pages(6, ZoneType::movable), kBlock);
  EXPECT_EQ(pa.managed_pages(5, ZoneType::movable), 0u);
  EXPECT_EQ(pa.block_state(5), BlockPresence::offline);
  EXPECT_EQ(pa.block_state(2), BlockPresence::absent);
  for (int n = 0; n < 7; ++n)
    for (int m : pa.node_order(n))
      EXPECT_TRUE(st.test(m, NodeState::memory)) << n << " -> " << m;
}

// ---------------------------------------------------------------------------------------
// Counters over a random workload

TEST(PageAllocatorNumastat, CountersBalance) {
  MachineLayout l = uniform_layout(4, 2, {0, 1, 2, 3, 3});
  l.distance = {{10, 20, 30, 30}, {20, 10, 30, 30}, {30, 30, 10, 20}, {30, 30, 20, 10}};
  l.blocks[6].zone = ZoneType::movable;
  l.blocks.push_back({3, ZoneType::movable, BlockPresence::online});
  PageAllocator pa(l);
  std::mt19937 rng(99);
  std::vector<PageBlockRef> live;
  std::uint64_t ok = 0, failed = 0;
  for (int i = 0; i < 20000; ++i) {
    if (!live.empty() && rng() % 5 < 2) {
      const std::size_t k = rng() % live.size();
      pa.free_pages(live[k], 0);
      live[k] = live.back();
      live.pop_back();
      continue;
    }
    const int cpu = static_cast<int>(rng() % l.cpu_node.size());
    const int nid = rng() % 3 == 0 ? numa_no_node : static_cast<int>(rng() % 4);
    Gfp gfp = rng() % 4 == 0 ? gfp_movable : gfp_kernel;
    if (rng() % 8 == 0) gfp = gfp | gfp_thisnode;
    if (auto r = pa.alloc_pages(nid, rng() % 4, gfp, cpu)) {
      ++ok;
      live.push_back(*r);
    } else {
      ++failed;
    }
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);  // the machine is small enough to run out
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.numa_hit + s.numa_miss; }), ok);
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.local_node + s.other_node; }), ok);
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.numa_foreign; }),
            sum(pa, [](const NumaStat& s) { return s.numa_miss; }));
  EXPECT_EQ(sum(pa, [](const NumaStat& s) { return s.interleave_hit; }), 0u);
  for (const auto& p : live)
    pa.free_pages(p, 0);
  for (int n = 0; n < 4; ++n)
    EXPECT_EQ(pa.free_pages(n),
              pa.managed_pages(n, ZoneType::normal) + pa.managed_pages(n, ZoneType::movable));
}

// ---------------------------------------------------------------------------------------
// Bad arguments throw, never UB

TEST(PageAllocatorErrors, BadArgumentsThrow) {
  PageAllocator pa(uniform_layout(2, 1, {0, 1}));
  for (int b : {-1, 2, 1000}) {
    EXPECT_THROW(pa.add_block(b), std::out_of_range);
    EXPECT_THROW(pa.online_block(b, ZoneType::normal), std::out_of_range);
    EXPECT_THROW(pa.offline_block(b), std::out_of_range);
    EXPECT_THROW((void)pa.isolate_block(b), std::out_of_range);
    EXPECT_THROW(pa.undo_isolate_block(b), std::out_of_range);
    EXPECT_THROW((void)pa.block_isolated(b), std::out_of_range);
    EXPECT_THROW((void)pa.block_state(b), std::out_of_range);
    EXPECT_THROW((void)pa.block_zone(b), std::out_of_range);
    EXPECT_THROW((void)pa.unmovable_pages(b), std::out_of_range);
    EXPECT_THROW(pa.free_pages(PageBlockRef{0, 0, 0, b, ZoneType::normal}, 0), std::out_of_range);
  }
  for (int n : {-2, 2, 64}) {
    EXPECT_THROW((void)pa.alloc_pages(n, 0, gfp_kernel, 0), std::out_of_range);
    EXPECT_THROW((void)pa.alloc_pages(0, 0, gfp_kernel, n), std::out_of_range);
    EXPECT_THROW((void)pa.node_order(n), std::out_of_range);
    EXPECT_THROW((void)pa.numa_mem_node(n), std::out_of_range);
    EXPECT_THROW((void)pa.numastat(n), std::out_of_range);
    EXPECT_THROW((void)pa.free_pages(n), std::out_of_range);
    EXPECT_THROW((void)pa.isolated_free_pages(n), std::out_of_range);
    EXPECT_THROW((void)pa.free_pages(n, ZoneType::normal), std::out_of_range);
    EXPECT_THROW((void)pa.managed_pages(n, ZoneType::movable), std::out_of_range);
  }
  EXPECT_THROW((void)pa.alloc_pages(numa_no_node, 0, gfp_kernel, numa_no_node), std::out_of_range);
  EXPECT_THROW((void)pa.alloc_pages(0, 11, gfp_kernel, 0), std::invalid_argument);
  EXPECT_THROW((void)pa.alloc_pages(0, 1000, gfp_kernel, 0), std::invalid_argument);
  EXPECT_THROW(pa.online_block(0, static_cast<ZoneType>(7)), std::invalid_argument);
  EXPECT_THROW(pa.build_all_zonelists(NodeStates(3)), std::invalid_argument);

  // Frees that do not match a live allocation.
  const auto p = must_alloc(pa, 0, 1, gfp_kernel, 0);
  EXPECT_THROW(pa.free_pages(PageBlockRef{p.pfn, 11, 0, 0, ZoneType::normal}, 0),
               std::invalid_argument);
  EXPECT_THROW(pa.free_pages(PageBlockRef{p.pfn, 0, 0, 0, ZoneType::normal}, 0),
               std::invalid_argument);  // wrong order
  EXPECT_THROW(pa.free_pages(PageBlockRef{p.pfn + 2, 1, 0, 0, ZoneType::normal}, 0),
               std::invalid_argument);  // free page
  EXPECT_THROW(pa.free_pages(PageBlockRef{p.pfn, 1, 0, 1, ZoneType::normal}, 0),
               std::invalid_argument);  // wrong block
  EXPECT_THROW(pa.free_pages(PageBlockRef{p.pfn, 1, 1, 0, ZoneType::normal}, 0),
               std::invalid_argument);  // wrong node
  pa.free_pages(p, 0);
  EXPECT_THROW(pa.free_pages(p, 0), std::invalid_argument);  // double free
  EXPECT_EQ(pa.free_pages(0), kBlock);

  // Hotplug state errors.
  EXPECT_THROW(pa.add_block(0), std::logic_error);
  EXPECT_THROW(pa.online_block(0, ZoneType::normal), std::logic_error);
  EXPECT_THROW(pa.undo_isolate_block(0), std::logic_error);  // not isolated
  ASSERT_TRUE(pa.isolate_block(0));
  EXPECT_FALSE(pa.isolate_block(0));  // already MIGRATE_ISOLATE: -EBUSY
  pa.offline_block(0);
  EXPECT_THROW(pa.offline_block(0), std::logic_error);
  EXPECT_THROW((void)pa.isolate_block(0), std::logic_error);  // offline
}

TEST(PageAllocatorErrors, BadLayoutsThrow) {
  {
    MachineLayout l = uniform_layout(2, 1, {0, 1});
    l.distance[1].pop_back();
    EXPECT_THROW(PageAllocator{l}, std::invalid_argument);
    EXPECT_THROW(boot_node_states(l), std::invalid_argument);
  }
  {
    MachineLayout l = uniform_layout(2, 1, {0, 2});
    EXPECT_THROW(PageAllocator{l}, std::out_of_range);
  }
  {
    MachineLayout l = uniform_layout(2, 1, {0, 1});
    l.blocks[1].node = -1;
    EXPECT_THROW(PageAllocator{l}, std::out_of_range);
  }
  for (std::uint64_t pages : {std::uint64_t{0}, std::uint64_t{1000}, std::uint64_t{3}}) {
    MachineLayout l = uniform_layout(1, 1, {0}, pages);
    EXPECT_THROW(PageAllocator{l}, std::invalid_argument) << pages;
  }
  {
    MachineLayout l = uniform_layout(1, 1, {0}, 1);  // one page per block still works
    PageAllocator pa(l);
    EXPECT_EQ(must_alloc(pa, 0, 0, gfp_kernel, 0).pfn, 0u);
    EXPECT_FALSE(pa.alloc_pages(0, 0, gfp_kernel, cpu_on(pa, 0)));
    EXPECT_FALSE(pa.alloc_pages(0, 1, gfp_kernel, cpu_on(pa, 0)));
  }
}

}  // namespace
}  // namespace slabsim::alloc
