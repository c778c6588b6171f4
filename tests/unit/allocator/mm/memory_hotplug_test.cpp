// offline_pages() of the memory hotplug model against the page allocator alone: the range is
// isolated before MEM_GOING_OFFLINE and stays so until it is offline or the isolation is undone
// (mm/memory_hotplug.c and mm/page_isolation.c, the same order in v5.10, v5.12 and v6.1).
#include "allocator/mm/memory_hotplug.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fake_environment.hpp"

namespace slabsim::alloc {
namespace {

using testing::FakeEnvironment;

constexpr std::uint64_t kPagesPerBlock = 1024;

// Two nodes with a CPU each, SLIT 10/20; node 0 has blocks 0 and 1, node 1 has block 2, all
// online ZONE_NORMAL.
MachineLayout two_nodes() {
  MachineLayout l;
  l.cpu_node = {0, 1};
  l.distance = {{10, 20}, {20, 10}};
  l.block_pages = kPagesPerBlock;
  l.blocks = {{0, ZoneType::normal, BlockPresence::online},
              {0, ZoneType::normal, BlockPresence::online},
              {1, ZoneType::normal, BlockPresence::online}};
  return l;
}

struct Machine {
  explicit Machine(MachineLayout l)
      : layout(std::move(l)),
        pages(layout),
        states(boot_node_states(layout)),
        env(layout),
        hotplug(env, pages, states) {}
  MachineLayout layout;
  PageAllocator pages;
  NodeStates states;
  FakeEnvironment env;
  MemoryHotplug hotplug;
};

// What a notifier saw of the block being offlined when it was called.
struct Seen {
  MemoryAction action;
  bool isolated;
  std::uint64_t node_free;
};

void observe(Machine& m, int block, std::vector<Seen>& seen, int going_offline_ret = 0) {
  m.hotplug.register_notifier(
      {"observer", 0, [&m, block, &seen, going_offline_ret](MemoryAction a, const MemoryNotify&) {
         const int nid = m.layout.blocks[block].node;
         seen.push_back({a, m.pages.block_isolated(block), m.pages.free_pages(nid)});
         return a == MemoryAction::going_offline ? going_offline_ret : 0;
       }});
}

// offline_pages() (v5.10, v5.12, v6.1) calls start_isolate_page_range() before
// memory_notify(MEM_GOING_OFFLINE): the callbacks already see the block isolated and its free
// pages out of the node's free count; MEM_OFFLINE comes after __offline_isolated_pages().
TEST(OfflinePagesIsolation, GoingOfflineCallbacksSeeTheBlockIsolated) {
  Machine m{two_nodes()};
  std::vector<Seen> seen;
  observe(m, 1, seen);
  std::vector<HotplugStep> steps;
  m.hotplug.on_step = [&](HotplugStep s) {
    steps.push_back(s);
    if (s == HotplugStep::locked) {
      EXPECT_FALSE(m.pages.block_isolated(1));
    }
    if (s == HotplugStep::isolated) {
      EXPECT_TRUE(m.pages.block_isolated(1));
    }
  };
  ASSERT_EQ(m.hotplug.offline_pages(1), 0);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].action, MemoryAction::going_offline);
  EXPECT_TRUE(seen[0].isolated);
  EXPECT_EQ(seen[0].node_free, kPagesPerBlock);  // block 0's pages only
  EXPECT_EQ(seen[1].action, MemoryAction::offline);
  EXPECT_FALSE(seen[1].isolated);
  EXPECT_EQ(steps.front(), HotplugStep::locked);
  EXPECT_EQ(steps[1], HotplugStep::isolated);
  // On success the pages are gone from the zone, none left isolated.
  EXPECT_EQ(m.pages.managed_pages(0, ZoneType::normal), kPagesPerBlock);
  EXPECT_EQ(m.pages.free_pages(0), kPagesPerBlock);
  EXPECT_EQ(m.pages.isolated_free_pages(0), 0u);
  EXPECT_EQ(m.pages.block_state(1), BlockPresence::offline);
}

// The window of offline_pages() (v5.10, v5.12, v6.1) after MEM_GOING_OFFLINE, while pages are
// migrated: the range is MIGRATE_ISOLATE, so a GFP_KERNEL allocation for the node being
// emptied falls back along its zonelist (zone_statistics(): numa_miss and other_node on node 1,
// numa_foreign on node 0), and no slab page can land on the block. Before isolation was
// modelled, such a page landed there and the offline failed with -EBUSY; the kernel succeeds.
TEST(OfflinePagesIsolation, AllocationDuringTheOfflineWorkFallsBackAndTheOfflineSucceeds) {
  Machine m{two_nodes()};  // block 2 is node 1's only memory
  std::vector<PageBlockRef> during;
  m.hotplug.on_step = [&](HotplugStep s) {
    if (s != HotplugStep::going_offline_notified) return;
    // A slab page wanted on node 1, by a CPU of node 1 (as SLUB's allocate_slab() asks).
    for (int i = 0; i < 3; ++i) {
      const auto p = m.pages.alloc_pages(1, 0, gfp_kernel, 1);
      ASSERT_TRUE(p);
      during.push_back(*p);
    }
  };
  ASSERT_EQ(m.hotplug.offline_pages(2), 0);
  ASSERT_EQ(during.size(), 3u);
  for (const auto& p : during) {
    EXPECT_EQ(p.node, 0);
    EXPECT_NE(p.block, 2);
  }
  EXPECT_EQ(m.pages.numastat(0).numa_miss, 3u);
  EXPECT_EQ(m.pages.numastat(0).other_node, 3u);
  EXPECT_EQ(m.pages.numastat(1).numa_foreign, 3u);
  EXPECT_EQ(m.pages.numastat(1).numa_hit, 0u);
  EXPECT_EQ(m.pages.block_state(2), BlockPresence::offline);
  EXPECT_FALSE(m.states.test(1, NodeState::memory));
  EXPECT_TRUE(m.hotplug.log().empty());
}

// offline_pages() (v5.10, v5.12, v6.1), failed_removal_isolated: a notifier's veto of
// MEM_GOING_OFFLINE undoes the isolation (undo_isolate_page_range() ->
// unset_migratetype_isolate(), __mod_zone_freepage_state(+nr_pages)) before MEM_CANCEL_OFFLINE
// is sent: the block is allocatable again, with every free page counted.
TEST(OfflinePagesIsolation, NotifierVetoUndoesTheIsolationBeforeCancel) {
  Machine m{two_nodes()};
  const auto user = m.pages.alloc_pages(0, 0, gfp_movable, 0);  // block 0
  ASSERT_TRUE(user);
  std::vector<Seen> seen;
  observe(m, 0, seen, -enomem);
  ASSERT_EQ(m.hotplug.offline_pages(0), -enomem);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].action, MemoryAction::going_offline);
  EXPECT_TRUE(seen[0].isolated);
  EXPECT_EQ(seen[0].node_free, kPagesPerBlock);
  EXPECT_EQ(seen[1].action, MemoryAction::cancel_offline);
  EXPECT_FALSE(seen[1].isolated);
  EXPECT_EQ(seen[1].node_free, 2 * kPagesPerBlock - 1);
  ASSERT_FALSE(m.hotplug.log().empty());
  EXPECT_NE(m.hotplug.log().back().find("notifier failure"), std::string::npos);

  EXPECT_EQ(m.pages.block_state(0), BlockPresence::online);
  EXPECT_FALSE(m.pages.block_isolated(0));
  EXPECT_EQ(m.pages.isolated_free_pages(0), 0u);
  EXPECT_EQ(m.pages.free_pages(0), 2 * kPagesPerBlock - 1);
  // A movable request takes the smallest movable chunk: block 0's, split by the first page.
  // (An unmovable one would steal the largest chunk, block 1's whole free block.)
  const auto again = m.pages.alloc_pages(0, 0, gfp_movable, 0);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->block, 0);
  EXPECT_EQ(m.pages.numastat(0).numa_miss, 0u);
  m.pages.free_pages(*user, 0);  // the movable page was not migrated away
}

// start_isolate_page_range() (v5.10, v5.12, v6.1) fails on a slab page (has_unmovable_pages()):
// -EBUSY, "failure to isolate range", no notifier, and nothing stays isolated.
TEST(OfflinePagesIsolation, SlabPageFailsIsolationWithoutANotifier) {
  Machine m{two_nodes()};
  const auto slab = m.pages.alloc_pages(0, 0, gfp_kernel, 0);
  ASSERT_TRUE(slab);
  ASSERT_EQ(slab->block, 0);
  std::vector<Seen> seen;
  observe(m, 0, seen);
  EXPECT_EQ(m.hotplug.offline_pages(0), -ebusy);
  EXPECT_TRUE(seen.empty());
  EXPECT_FALSE(m.pages.block_isolated(0));
  EXPECT_EQ(m.pages.free_pages(0), 2 * kPagesPerBlock - 1);
  ASSERT_FALSE(m.hotplug.log().empty());
  EXPECT_NE(m.hotplug.log().back().find("failure to isolate range"), std::string::npos);
  EXPECT_FALSE(m.env.anything_held());
}

}  // namespace
}  // namespace slabsim::alloc

namespace slabsim::alloc {
namespace {

// The locks an online takes, in order, under each hotplug side.
std::vector<std::pair<LockClass, LockMode>> online_locks(HotplugSide side) {
  MachineLayout l = two_nodes();
  l.blocks.push_back({1, ZoneType::normal, BlockPresence::offline});
  PageAllocator pages(l);
  NodeStates states = boot_node_states(l);
  testing::FakeEnvironment env(l);
  MemoryHotplug hotplug(env, pages, states, {}, side);
  EXPECT_EQ(hotplug.online_pages(3, ZoneType::normal), 0);
  std::vector<std::pair<LockClass, LockMode>> taken;
  for (const auto& e : env.events)
    if (e.acquire && e.cls != LockClass::memory_chain) taken.emplace_back(e.cls, e.mode);
  EXPECT_FALSE(env.anything_held());
  return taken;
}

// v3.14's online_pages() takes lock_memory_hotplug(), a plain mutex and nothing else;
// mem_hotplug_begin() (v4.13+) takes cpus_read_lock() and mem_hotplug_lock for write.
TEST(HotplugSide, V3_14TakesThePlainMutexOnly) {
  using P = std::pair<LockClass, LockMode>;
  EXPECT_EQ(online_locks(HotplugSide::mem_hotplug_mutex),
            (std::vector<P>{{LockClass::mem_hotplug_mutex, LockMode::exclusive}}));
  EXPECT_EQ(online_locks(HotplugSide::mem_hotplug_lock),
            (std::vector<P>{{LockClass::cpu_hotplug_lock, LockMode::read},
                            {LockClass::mem_hotplug_lock, LockMode::write}}));
}

}  // namespace
}  // namespace slabsim::alloc
