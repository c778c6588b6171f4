// SLUB's __kmem_cache_alias() (mm/slub.c, v5.10-v6.1): a merged create raises the target's
// refcount, widens its object_size and inuse, and links the new name in sysfs; the `aliases`
// file shows refcount - 1. A merged create makes no kmem_cache_node, so a create during the
// 03afc0e25f7f window that merges into a cache the GOING_ONLINE callback already gave the node
// misses nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "allocator/cache_layout.hpp"
#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

std::string sysfs(SlubMachine& m, KmemCache* s, const char* file) {
  const std::vector<bool> online(m.layout.nr_cpu_slots(), true);
  return m.slub.slab_attr_show(s, file, online).value_or("(none)");
}

std::size_t live_node_structs(const KmemCache* s) {
  return static_cast<std::size_t>(
      std::count_if(s->node.begin(), s->node.end(), [](const KmemCacheNode* n) { return n; }));
}

class SlubMerge : public ::testing::TestWithParam<std::string> {
 protected:
  SlubMachine m{small_layout(2, 2, 8), GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Versions, SlubMerge, ::testing::Values("slab_nodes_nocpu", "v6.1"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// Two compatible creates: one struct with refcount 2, `aliases` "1", one set of kmem_cache_node
// structs (none allocated for the alias), object_size and inuse widened, merged_into named.
TEST_P(SlubMerge, TwoCompatibleCreatesShareOneCache) {
  KmemCache* a = m.create("a", 60);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->s.object_size, 60u);
  EXPECT_EQ(sysfs(m, a, "aliases"), "0\n");
  const std::size_t structs = a->node_store.size();
  KmemCache* b = m.create("b", 64);
  ASSERT_EQ(b, a);
  EXPECT_EQ(a->refcount, 2);
  EXPECT_EQ(sysfs(m, a, "aliases"), "1\n");
  EXPECT_EQ(a->node_store.size(), structs);
  EXPECT_EQ(live_node_structs(a), 2u);
  EXPECT_EQ(a->s.object_size, 64u);  // max(s->object_size, size)
  EXPECT_EQ(a->s.inuse, 64u);        // max(s->inuse, ALIGN(size, sizeof(void *)))
  EXPECT_EQ(sysfs(m, a, "object_size"), "64\n");
  EXPECT_EQ(merged_into(*b, "b"), "a");
  // Objects of either name come from the one cache.
  Object o = m.alloc(b, 0);
  EXPECT_EQ(o.slab->cache, a);
  m.free(a, o, 0);
  EXPECT_EQ(m.new_violations(), 0);
}

// Destroying the alias drops a reference: `aliases` back to "0", the target intact.
TEST_P(SlubMerge, DestroyingTheAliasOnlyDropsItsReference) {
  KmemCache* a = m.create("a", 64);
  KmemCache* b = m.create("b", 64);
  ASSERT_EQ(b, a);
  Object o = m.alloc(a, 0);
  m.env.cpu = 0;
  EXPECT_EQ(m.slub.kmem_cache_destroy(b), 1);
  EXPECT_EQ(sysfs(m, a, "aliases"), "0\n");
  EXPECT_FALSE(a->destroyed);
  EXPECT_EQ(live_node_structs(a), 2u);
  m.free(a, o, 0);
  EXPECT_EQ(m.new_violations(), 0);
}

// The 03afc0e25f7f window under mutex_only (v5.10 before the fix): a create between the
// GOING_ONLINE callbacks and node_states_set_node() that merges into a cache the callback
// already gave the new node neither misses it nor trips the NULL kmem_cache_node.
TEST(SlubMergeHotplug, MergingCreateInTheGoingOnlineWindowMissesNoNode) {
  MachineLayout l = small_layout(2, 2, 8);
  add_memory_node(l, 2, BlockPresence::offline, ZoneType::normal);
  SlubMachine m{l, "mutex_only"};
  int block2 = 0;
  while (m.layout.blocks[block2].node != 2)
    ++block2;
  KmemCache* early = m.create("early", 128);
  KmemCache* late = nullptr;
  KmemCache* unmergeable = nullptr;
  m.hotplug.on_step = [&](HotplugStep step) {
    if (step != HotplugStep::going_online_notified) return;
    m.env.cpu = 1;
    late = m.create("late", 128);
    unmergeable = m.create("late-ctor", 128, 0, {.has_ctor = true});
    m.env.cpu = 0;
  };
  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  m.hotplug.on_step = nullptr;
  ASSERT_EQ(late, early);
  EXPECT_NE(late->node[2], nullptr);
  // The same create made unmergeable by a ctor goes through create_cache() and hits the race.
  ASSERT_NE(unmergeable, nullptr);
  EXPECT_EQ(unmergeable->node[2], nullptr);
  Object o = m.alloc(late, 0, 2);
  EXPECT_EQ(o.slab->pages.node, 2);
  m.env.cpu = 0;
  m.slub.flush_all(late);
  for (const auto& v : m.slub.violations())
    EXPECT_EQ(v.what.find("cache late"), std::string::npos) << v.what;
  for (const auto& v : m.slub.violations())
    EXPECT_EQ(v.what.find("cache early"), std::string::npos) << v.what;
}

}  // namespace
}  // namespace slabsim::alloc::testing
