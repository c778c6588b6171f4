// The SLUB paths mm/slub.c v6.1 changed, each run under the v6.1 preset and under v5.12
// (slab_nodes_nocpu) on the same machine: per-CPU partial lists bounded in slabs, the
// slabs_cpu_partial file that follows from it, and deactivate_slab()'s freelist splice. The
// expected numbers are worked out from the kernel's formulas in the comments, not taken from runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "allocator/slub/slub_sysfs.hpp"
#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// 2 nodes x 2 CPUs: nr_cpus 4, so calculate_order() starts from 4 * (fls(4) + 1) = 16 objects; a
// 256-byte cache gets order 0 (16 * 256 = 4096, no leftover) and 16 objects per slab. v6.1:
// set_cpu_partial() gives 52 objects (256 <= size < 1024), slub_set_cpu_partial()
// DIV_ROUND_UP(52 * 2, 16) = 7 slabs. v5.12: cpu_partial 13 objects.
SlubMachine machine(const std::string& preset) {
  return SlubMachine{small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8), preset};
}

void no_violations(SlubMachine& m) {
  EXPECT_EQ(m.new_violations(), 0);
  for (const auto& v : m.slub.violations())
    ADD_FAILURE() << v.function << ": " << v.what;
  EXPECT_TRUE(m.env.misuse.empty());
  EXPECT_EQ(m.env.irq_depth, 0);
}

// put_cpu_partial() v6.1 drains the old chain when it already holds cpu_partial_slabs slabs;
// v5.12 when its free objects exceed cpu_partial. Freeing one object of each of 8 full slabs
// from another CPU freezes each onto that CPU's partial list (CPU_PARTIAL_FREE): v6.1 drains the
// first 7 at the 8th push (7 >= 7), v5.12 never (8 free objects, not > 13).
TEST(V61CpuPartial, DrainsAtCpuPartialSlabs) {
  for (const std::string preset : {"hotplug_lock", "slab_nodes_nocpu", "v6.1"}) {
    SCOPED_TRACE(preset);
    const bool v6 = preset == "v6.1";
    auto m = machine(preset);
    KmemCache* s = m.create("test-256", 256);
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->s.objects, 16u);
    EXPECT_EQ(s->s.cpu_partial, v6 ? 52u : 13u);
    EXPECT_EQ(s->s.cpu_partial_slabs, v6 ? 7u : 0u);
    std::vector<Object> objs;
    for (int i = 0; i < 9 * 16; ++i)  // 9 slabs on CPU 0; the 9th stays its cpu slab
      objs.push_back(m.alloc(s, 0));
    for (int k = 0; k < 7; ++k)
      m.free(s, objs[16 * k], 1);
    // slabs_cpu_partial_show(): v6.1 prints slabs * objs_per_slab / 2 = 7 * 16 / 2 = 56 objects;
    // v5.12 the chain's pobjects, one free object per slab.
    EXPECT_EQ(show_slab_objects(*s, SlabObjectsFile::slabs_cpu_partial),
              v6 ? "56(7) C1=56(7)\n" : "7(7) C1=7(7)\n");
    m.free(s, objs[16 * 7], 1);
    EXPECT_EQ(m.stat(s, CPU_PARTIAL_FREE), 8u);
    EXPECT_EQ(m.stat(s, CPU_PARTIAL_DRAIN), v6 ? 1u : 0u);
    EXPECT_EQ(m.stat(s, FREE_ADD_PARTIAL), v6 ? 7u : 0u);
    EXPECT_EQ(s->node[0]->nr_partial, v6 ? 7u : 0u);
    ASSERT_NE(s->cpu_slab[1].partial, nullptr);
    EXPECT_EQ(s->cpu_slab[1].partial->chain_pages, v6 ? 1 : 8);
    for (std::size_t i = 0; i < objs.size(); ++i)
      if (i % 16 != 0 || i >= 16 * 8) m.free(s, objs[i], 0);
    no_violations(m);
  }
}

// get_partial_node() v6.1 stops taking node partial slabs once more than cpu_partial_slabs / 2
// (7 / 2 = 3) went to the CPU partial list, so it takes 1 cpu slab + 4 partial ones; v5.12 stops
// once the free objects taken exceed cpu_partial / 2 (13 / 2 = 6): with 15 free objects per slab
// the first slab already does, so it takes the cpu slab only.
TEST(V61CpuPartial, GetPartialNodeTakesHalfOfCpuPartialSlabs) {
  for (const std::string preset : {"hotplug_lock", "slab_nodes_nocpu", "v6.1"}) {
    SCOPED_TRACE(preset);
    const bool v6 = preset == "v6.1";
    auto m = machine(preset);
    KmemCache* s = m.create("test-256", 256);
    ASSERT_NE(s, nullptr);
    std::vector<Object> objs;
    for (int i = 0; i < 11 * 16; ++i)
      objs.push_back(m.alloc(s, 0));
    // Free 15 objects of each of the first 10 slabs from CPU 0; each slab goes to CPU 0's
    // partial list, and drains send them to node 0's partial list; flush the rest there too.
    for (int k = 0; k < 10; ++k)
      for (int j = 1; j < 16; ++j)
        m.free(s, objs[16 * k + j], 0);
    m.env.cpu = 0;
    m.slub.flush_all(s);
    ASSERT_EQ(s->node[0]->nr_partial, 10u);
    const auto node_before = m.stat(s, CPU_PARTIAL_NODE);
    m.alloc(s, 1);  // CPU 1 (node 0) has nothing: get_partial() -> get_partial_node(node 0)
    EXPECT_EQ(m.stat(s, ALLOC_FROM_PARTIAL), 1u);
    EXPECT_EQ(m.stat(s, CPU_PARTIAL_NODE) - node_before, v6 ? 4u : 0u);
    no_violations(m);
  }
}

// deactivate_slab() since d930ff03c4d1 (v5.12-rc1; v6.1 too) splices the CPU freelist, in its
// order, in front of the slab's freelist; v5.10's moves the objects one by one (each to the head,
// reversing them) and adds the last one in the final cmpxchg. After 4 allocations from a fresh
// slab the CPU freelist is 4, 5, ..., 15: the next allocation from the deactivated slab gets
// object 4 under v5.12 and v6.1, and object 15 under v5.10 (hotplug_lock).
TEST(V61Deactivate, SplicesTheCpuFreelistInOrder) {
  for (const std::string preset : {"hotplug_lock", "slab_nodes_nocpu", "v6.1"}) {
    SCOPED_TRACE(preset);
    auto m = machine(preset);
    KmemCache* s = m.create("test-256", 256);
    ASSERT_NE(s, nullptr);
    std::vector<Object> objs;
    for (int i = 0; i < 4; ++i)
      objs.push_back(m.alloc(s, 0));
    ASSERT_EQ(objs.back().index, 3);
    m.env.cpu = 0;
    m.slub.flush_all(s);
    EXPECT_EQ(m.stat(s, DEACTIVATE_TO_HEAD), 1u);
    EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 0u);
    EXPECT_EQ(objs[0].slab->inuse, 4);
    const Object next = m.alloc(s, 0);
    EXPECT_EQ(next.slab, objs[0].slab);
    EXPECT_EQ(next.index, preset == "hotplug_lock" ? 15 : 4);
    m.free(s, next, 0);
    for (auto o : objs)
      m.free(s, o, 0);
    no_violations(m);
  }
}

}  // namespace
}  // namespace slabsim::alloc::testing
