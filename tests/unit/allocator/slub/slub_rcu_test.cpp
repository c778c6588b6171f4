// SLAB_TYPESAFE_BY_RCU in SLUB and slab_common (issue #14 item 6): free_slab() hands a slab's
// pages back from an RCU callback, so they keep memory offline from isolating their block for a
// grace period; shutdown_cache() leaves the release of such a cache to
// slab_caches_to_rcu_destroy_workfn(), after rcu_barrier().
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// Nodes 0 and 1 with CPUs and memory; node 2 CPU-less with two offline normal blocks.
MachineLayout rcu_layout() {
  MachineLayout l = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/4);
  add_memory_node(l, 2, BlockPresence::offline, ZoneType::normal);
  return l;
}

CacheFlags rcu_flags() {
  CacheFlags f;
  f.typesafe_by_rcu = true;
  return f;
}

// A removal drains every file of the directory; counting the drains of one file counts them.
const LockClass shrink_file = kernfs_active_class(slab_attribute_index("shrink"));

int kernfs_removals(const FakeEnvironment& env, std::uint64_t id) {
  return static_cast<int>(std::count_if(env.events.begin(), env.events.end(), [&](const auto& e) {
    return e.acquire && e.cls == shrink_file && e.instance == id && e.function == "kernfs_remove";
  }));
}

class SlubRcu : public ::testing::TestWithParam<const char*> {
 protected:
  SlubMachine m{rcu_layout(), GetParam()};
  void TearDown() override {
    EXPECT_EQ(m.new_violations(), 0);
    EXPECT_TRUE(m.env.misuse.empty());
    EXPECT_FALSE(m.env.anything_held());
    EXPECT_EQ(m.env.irq_depth, 0);
  }
  // One slab of `s` on `node`, all of its objects freed again and the slab discarded by a shrink.
  Slab* discard_one_slab(KmemCache* s, int node) {
    std::vector<Object> objs;
    for (unsigned i = 0; i < s->s.objects; ++i)
      objs.push_back(m.alloc(s, 0, node));
    Slab* page = objs[0].slab;
    for (auto o : objs)
      m.free(s, o, 0);
    m.env.cpu = 0;
    m.slub.kmem_cache_shrink(s);
    return page;
  }
};

INSTANTIATE_TEST_SUITE_P(Versions, SlubRcu, ::testing::Values("slab_nodes", "v6.1"));

// free_slab() (mm/slub.c, v5.10, v5.12, v6.1): call_rcu(&page->rcu_head, rcu_free_slab) for a
// SLAB_TYPESAFE_BY_RCU cache; dec_slabs_node() in discard_slab() comes first, at once.
TEST_P(SlubRcu, FreeSlabOfTypesafeByRcuCacheWaitsAGracePeriod) {
  KmemCache* s = m.create("rcu-256", 256, 0, rcu_flags());
  ASSERT_NE(s, nullptr);
  const std::uint64_t free_before = m.pages.free_pages(0);
  discard_one_slab(s, 0);
  EXPECT_EQ(s->node[0]->nr_slabs, 0u) << "dec_slabs_node() does not wait";
  EXPECT_EQ(s->rcu_pending_slabs, 1u);
  ASSERT_EQ(m.env.rcu_callbacks.size(), 1u);
  EXPECT_LT(m.pages.free_pages(0), free_before) << "the pages wait for the grace period";
  m.env.end_grace_period();
  EXPECT_EQ(s->rcu_pending_slabs, 0u);
  EXPECT_EQ(m.pages.free_pages(0), free_before) << "rcu_free_slab() gave the pages back";
}

// The same cache without the flag frees its pages at once: __free_slab() from free_slab().
TEST_P(SlubRcu, FreeSlabWithoutTheFlagFreesAtOnce) {
  KmemCache* s = m.create("plain-256", 256);
  ASSERT_NE(s, nullptr);
  const std::uint64_t free_before = m.pages.free_pages(0);
  discard_one_slab(s, 0);
  EXPECT_TRUE(m.env.rcu_callbacks.empty());
  EXPECT_EQ(m.pages.free_pages(0), free_before);
}

// offline_pages() (mm/memory_hotplug.c, v5.10): start_isolate_page_range() fails with -EBUSY
// while a slab page lies in the block (has_unmovable_pages()); a SLAB_TYPESAFE_BY_RCU slab
// discarded before the offline is such a page until rcu_free_slab() has run.
TEST_P(SlubRcu, PendingRcuSlabKeepsOfflineFromIsolatingItsBlock) {
  const int first = 8;  // node 2's blocks follow the 2 x 4 of nodes 0 and 1
  // Created first, so slab_mem_going_online_callback() allocates its node 2 struct on the
  // onlining CPU's node (kmem_cache_alloc()), outside the block.
  KmemCache* s = m.create("rcu-256", 256, 0, rcu_flags());
  ASSERT_NE(s, nullptr);
  m.env.cpu = 0;
  ASSERT_EQ(m.hotplug.online_pages(first, ZoneType::normal), 0);
  const int block = discard_one_slab(s, 2)->pages.block;
  ASSERT_EQ(block, first);
  EXPECT_EQ(m.hotplug.offline_pages(block), -ebusy) << "the slab page is still allocated";
  m.env.end_grace_period();
  EXPECT_EQ(m.hotplug.offline_pages(block), 0) << "after the grace period the block is free";
}

// shutdown_cache() and slab_caches_to_rcu_destroy_workfn() (mm/slab_common.c, v5.10-v5.12 and
// v6.1): the cache leaves slab_caches at once, the work takes slab_mutex to take the list, then
// rcu_barrier(), then the release. v5.10-v5.12 remove the sysfs directory in shutdown_cache(),
// under the destroy locks; v6.1 only in the work's kmem_cache_release(), and v6.1's
// kmem_cache_destroy() has no rcu_barrier() of its own.
TEST_P(SlubRcu, DestroyOfTypesafeByRcuCacheReleasesFromTheWorkAfterRcuBarrier) {
  const bool v6_1 = std::string(GetParam()) == "v6.1";
  KmemCache* s = m.create("rcu-256", 256, 0, rcu_flags());
  ASSERT_NE(s, nullptr);
  const auto obj = m.alloc(s, 0);
  m.free(s, obj, 0);
  m.env.cpu = 0;
  const std::size_t events = m.env.events.size();
  ASSERT_EQ(m.slub.kmem_cache_destroy(s), 0);
  EXPECT_EQ(m.slub.slab_common().find_cache("rcu-256"), nullptr) << "list_del() at once";
  EXPECT_FALSE(s->destroyed) << "the release waits for the work";
  EXPECT_EQ(m.env.rcu_barriers, 0);
  EXPECT_EQ(kernfs_removals(m.env, s->id), v6_1 ? 0 : 1);
  EXPECT_EQ(m.slub.sysfs_slab_linked(s), v6_1) << "v6.1: /sys/kernel/slab/rcu-256 is still there";
  ASSERT_EQ(m.env.works.size(), 1u);
  EXPECT_FALSE(m.env.rcu_callbacks.empty()) << "__kmem_cache_shutdown()'s slabs wait";
  const std::size_t work_events = m.env.events.size();
  m.env.run_works();
  EXPECT_TRUE(s->destroyed);
  EXPECT_EQ(m.env.rcu_barriers, 1);
  EXPECT_TRUE(m.env.rcu_callbacks.empty()) << "rcu_barrier() waited for every callback";
  EXPECT_EQ(kernfs_removals(m.env, s->id), 1);
  EXPECT_FALSE(m.slub.sysfs_slab_linked(s));
  const auto taken = m.env.acquisitions(work_events);
  ASSERT_FALSE(taken.empty());
  EXPECT_EQ(taken.front(), "slab_mutex") << "the work takes the list under slab_mutex";
  EXPECT_GT(m.env.events.size(), events);
}

int removals_by_name(const FakeEnvironment& env, std::uint64_t id) {
  return static_cast<int>(std::count_if(env.events.begin(), env.events.end(), [&](const auto& e) {
    return e.acquire && e.cls == shrink_file && e.instance == id &&
           e.function == "kernfs_remove_by_name";
  }));
}

// sysfs_slab_add() (v5.10-v6.1) starts with sysfs_remove_link(&slab_kset->kobj, s->name), which
// is kernfs_remove_by_name() and removes whatever node has the name, a directory included. In
// v6.1 a cache of the same name created while the destroyed one waits for its release work
// takes the name over, the old directory's active references drained first; the work's
// kmem_cache_release() then has nothing left to remove. In v5.12 the name is free already.
TEST_P(SlubRcu, CreateOfTheNameWhileTheReleaseWaitsTakesTheDirectoryOver) {
  const bool v6_1 = std::string(GetParam()) == "v6.1";
  KmemCache* old = m.create("rcu-256", 256, 0, rcu_flags());
  ASSERT_NE(old, nullptr);
  m.env.cpu = 0;
  ASSERT_EQ(m.slub.kmem_cache_destroy(old), 0);
  KmemCache* again = m.create("rcu-256", 256, 0, rcu_flags());
  ASSERT_NE(again, nullptr) << "no -EEXIST: the old directory is removed, not refused";
  EXPECT_NE(again, old);
  EXPECT_EQ(removals_by_name(m.env, old->id), v6_1 ? 1 : 0);
  EXPECT_FALSE(m.slub.sysfs_slab_linked(old));
  EXPECT_TRUE(m.slub.sysfs_slab_linked(again));
  m.env.run_works();
  EXPECT_TRUE(old->destroyed);
  EXPECT_EQ(kernfs_removals(m.env, old->id), v6_1 ? 0 : 1) << "nothing left for the release";
  EXPECT_TRUE(m.slub.sysfs_slab_linked(again));
  EXPECT_EQ(m.slub.slab_common().find_cache("rcu-256"), again);
}

// The same for two live caches of one name (kmem_cache_sanity_check() has no duplicate test):
// the second's directory replaces the first's, which stays listed and usable.
TEST_P(SlubRcu, ASecondCacheOfTheSameNameTakesTheNameOver) {
  KmemCache* first = m.create("dup", 256, 0, rcu_flags());
  KmemCache* second = m.create("dup", 256, 0, rcu_flags());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_FALSE(m.slub.sysfs_slab_linked(first));
  EXPECT_TRUE(m.slub.sysfs_slab_linked(second));
  EXPECT_EQ(removals_by_name(m.env, first->id), 1);
  const auto obj = m.alloc(first, 0);
  ASSERT_TRUE(obj);
  m.free(first, obj, 0);
  m.env.cpu = 0;
  ASSERT_EQ(m.slub.kmem_cache_destroy(first), 0);
  ASSERT_EQ(m.slub.kmem_cache_destroy(second), 0);
  m.env.run_works();
  EXPECT_EQ(kernfs_removals(m.env, first->id), 0) << "its directory was gone already";
  EXPECT_EQ(kernfs_removals(m.env, second->id), 1);
}

// One work item: two destroys before it runs are released by one run, after one rcu_barrier().
TEST_P(SlubRcu, OneRcuDestroyWorkReleasesEveryCacheQueued) {
  KmemCache* a = m.create("rcu-a", 256, 0, rcu_flags());
  KmemCache* b = m.create("rcu-b", 512, 0, rcu_flags());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  m.env.cpu = 0;
  ASSERT_EQ(m.slub.kmem_cache_destroy(a), 0);
  ASSERT_EQ(m.slub.kmem_cache_destroy(b), 0);
  EXPECT_EQ(m.env.works.size(), 1u) << "schedule_work() of a work already queued does nothing";
  m.env.run_works();
  EXPECT_TRUE(a->destroyed);
  EXPECT_TRUE(b->destroyed);
  EXPECT_EQ(m.env.rcu_barriers, 1);
}

}  // namespace
}  // namespace slabsim::alloc::testing
