// The node paths of each era (NodePaths): ___slab_alloc()'s answer to a request for a node
// without normal memory before and after 0715e6c516f1 (v5.6), and v3.14's node walks, which
// dereference get_node() unchecked where the 03afc0e25f7f race left a cache without a struct.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// Nodes 0 and 1 with CPUs and memory; node 2 CPU-less with one offline normal block.
MachineLayout layout_with_memoryless_node() {
  MachineLayout l = small_layout(2, 2, 8);
  add_memory_node(l, 1, BlockPresence::offline, ZoneType::normal);
  return l;
}

int first_block_of_node(const MachineLayout& l, int node) {
  for (std::size_t b = 0; b < l.blocks.size(); ++b)
    if (l.blocks[b].node == node) return static_cast<int>(b);
  return -1;
}

Strategy with_node_paths(const std::string& preset, NodePaths paths) {
  Strategy s = *find_strategy_preset(preset);
  s.node_paths = paths;
  return s;
}

struct Requests {
  std::uint64_t mismatches = 0, new_slabs = 0, fallbacks = 0;
};

// Five kmem_cache_alloc_node(node 2) calls on CPU 0, each object kept.
Requests five_requests_for_node_2(SlubMachine& m) {
  KmemCache* s = m.create("c", 256);
  EXPECT_NE(s, nullptr);
  for (int i = 0; i < 5; ++i) {
    const Object o = m.alloc(s, 0, 2);
    EXPECT_NE(o.slab->pages.node, 2) << "node 2 has no memory: the zonelist serves it";
  }
  return {m.stat(s, ALLOC_NODE_MISMATCH), m.stat(s, ALLOC_SLAB), s->fallback_to_no_node[2]};
}

// mm/slub.c v5.5 ___slab_alloc(): node_to_mem_node(2) is 2 on x86_64 (no
// CONFIG_HAVE_MEMORYLESS_NODES), so the CPU slab never matches: every request after the first
// deactivates it (ALLOC_NODE_MISMATCH) and takes a new slab, which the page allocator again
// places on another node; nothing falls back to NUMA_NO_NODE (the "memory leak" of 0715e6c516f1).
TEST(NodePaths, SlabAllocV5_5DeactivatesForAMemorylessNodeOnEveryRequest) {
  SlubMachine m{layout_with_memoryless_node(), "hotplug_lock_sysfs"};
  ASSERT_EQ(m.slub.strategy().node_paths, NodePaths::v5_5);
  const Requests r = five_requests_for_node_2(m);
  EXPECT_EQ(r.mismatches, 4u);
  EXPECT_EQ(r.new_slabs, 5u);
  EXPECT_EQ(r.fallbacks, 0u);
  EXPECT_EQ(m.new_violations(), 0);
}

// mm/slub.c v3.14 __slab_alloc(): the same, without even the node_to_mem_node() lookup.
TEST(NodePaths, SlabAllocV3_14DeactivatesForAMemorylessNodeOnEveryRequest) {
  SlubMachine m{layout_with_memoryless_node(), "mutex_only"};
  ASSERT_EQ(m.slub.strategy().node_paths, NodePaths::v3_14);
  const Requests r = five_requests_for_node_2(m);
  EXPECT_EQ(r.mismatches, 4u);
  EXPECT_EQ(r.new_slabs, 5u);
  EXPECT_EQ(r.fallbacks, 0u);
}

// mm/slub.c v5.6 ___slab_alloc() (0715e6c516f1): node 2 has no N_NORMAL_MEMORY, so every request
// drops the constraint (NUMA_NO_NODE) and is served from the one CPU slab.
TEST(NodePaths, SlabAllocV5_6FallsBackToNumaNoNodeForAMemorylessNode) {
  SlubMachine m{layout_with_memoryless_node(),
                with_node_paths("hotplug_lock_sysfs", NodePaths::v5_6)};
  const Requests r = five_requests_for_node_2(m);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_EQ(r.new_slabs, 1u);
  EXPECT_EQ(r.fallbacks, 5u);
  EXPECT_EQ(m.new_violations(), 0);
}

// The 03afc0e25f7f race under mutex_only: "late" is created between MEM_GOING_ONLINE and
// node_states_set_node(), so it has no struct for node 2 once node 2 has normal memory.
KmemCache* create_during_going_online(SlubMachine& m) {
  KmemCache* late = nullptr;
  m.hotplug.on_step = [&](HotplugStep step) {
    if (step != HotplugStep::going_online_notified) return;
    m.env.cpu = 1;
    late = m.create("late", 128);
    m.env.cpu = 0;
  };
  m.env.cpu = 0;
  EXPECT_EQ(m.hotplug.online_pages(first_block_of_node(m.layout, 2), ZoneType::normal), 0);
  m.hotplug.on_step = nullptr;
  EXPECT_NE(late, nullptr);
  EXPECT_EQ(late->node[2], nullptr);
  EXPECT_TRUE(m.states.test(2, NodeState::normal_memory));
  return late;
}

std::vector<Violation> violations_in(const SlubMachine& m, const std::string& function) {
  std::vector<Violation> out;
  for (const auto& v : m.slub.violations())
    if (v.function == function) out.push_back(v);
  return out;
}

// mm/slub.c v3.14 kmem_cache_shrink(): for_each_node_state(node, N_NORMAL_MEMORY) with
// n = get_node(s, node); if (!n->nr_partial) ...: node 2's missing struct is dereferenced.
TEST(NodePaths, KmemCacheShrinkV3_14DereferencesTheMissingNodeStruct) {
  SlubMachine m{layout_with_memoryless_node(), "mutex_only"};
  KmemCache* late = create_during_going_online(m);
  m.env.cpu = 0;
  m.slub.kmem_cache_shrink(late);
  const auto found = violations_in(m, "kmem_cache_shrink");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, ViolationKind::missing_node);
  EXPECT_NE(found[0].what.find("node 2"), std::string::npos) << found[0].what;
  EXPECT_NE(found[0].what.find("the kernel dereferences NULL here"), std::string::npos);
}

// mm/slub.c v3.14 show_slab_objects(): the same walk, for the files that count objects; the
// CPU-only file (cpu_slabs) walks no node.
TEST(NodePaths, ShowSlabObjectsV3_14DereferencesTheMissingNodeStruct) {
  SlubMachine m{layout_with_memoryless_node(), "mutex_only"};
  KmemCache* late = create_during_going_online(m);
  const std::vector<bool> online(late->cpu_slab.size(), true);
  m.env.cpu = 0;
  m.slub.slab_attr_show(late, "cpu_slabs", online);
  EXPECT_TRUE(violations_in(m, "show_slab_objects").empty());
  m.slub.slab_attr_show(late, "objects", online);
  const auto found = violations_in(m, "show_slab_objects");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, ViolationKind::missing_node);
}

// mm/slub.c v3.14 kmem_cache_close() (kmem_cache_destroy()): the same walk.
TEST(NodePaths, KmemCacheCloseV3_14DereferencesTheMissingNodeStruct) {
  SlubMachine m{layout_with_memoryless_node(), "mutex_only"};
  KmemCache* late = create_during_going_online(m);
  m.env.cpu = 0;
  m.slub.kmem_cache_destroy(late);
  EXPECT_EQ(violations_in(m, "kmem_cache_close").size(), 1u);
}

// for_each_kmem_cache_node() (fa45dc254bcf, v3.16) skips the missing struct: the v5.5 paths on
// the same race shrink and read without a NULL dereference.
TEST(NodePaths, KmemCacheShrinkV5_5SkipsTheMissingNodeStruct) {
  SlubMachine m{layout_with_memoryless_node(), with_node_paths("mutex_only", NodePaths::v5_5)};
  KmemCache* late = create_during_going_online(m);
  const std::vector<bool> online(late->cpu_slab.size(), true);
  m.env.cpu = 0;
  m.slub.kmem_cache_shrink(late);
  m.slub.slab_attr_show(late, "objects", online);
  EXPECT_TRUE(violations_in(m, "kmem_cache_shrink").empty());
  EXPECT_TRUE(violations_in(m, "show_slab_objects").empty());
}

}  // namespace
}  // namespace slabsim::alloc::testing
