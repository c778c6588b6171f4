// SLOB (mm/slob.c, v5.10) behind the Allocator interface: size classes, first fit with splitting
// and alignment, the list rotation, node-specific allocation and its fallback, merging on free,
// pages given back, large objects, the common create/destroy/shrink locking, hotplug without a
// callback, and the invariants after a random mix. Offsets and sizes are in SLOB_UNITs (2 bytes).
#include "allocator/slob/slob.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocator/mm/memory_hotplug.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc::testing {
namespace {

std::vector<SlobBlock> blocks(const SlobPage* sp) {
  return sp->free;
}

// 2 nodes with 2 CPUs each, plus node 2: CPU-less, its one block present but offline.
MachineLayout slob_layout() {
  MachineLayout l = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/2,
                                 /*block_pages=*/1024);
  add_memory_node(l, 1, BlockPresence::offline);
  return l;
}

class Slob : public ::testing::Test {
 protected:
  explicit Slob(const std::string& strategy = "hotplug_lock")
      : layout(slob_layout()),
        pages(layout),
        states(boot_node_states(layout)),
        env(layout),
        slob(env, pages, states, *find_strategy_preset(strategy)) {}

  void TearDown() override {
    EXPECT_EQ(slob.check_invariants("test"), 0);
    for (const auto& v : slob.violations())
      if (!expect_violations) ADD_FAILURE() << v.function << ": " << v.what;
    EXPECT_TRUE(env.misuse.empty());
    EXPECT_FALSE(env.anything_held());
    EXPECT_EQ(env.irq_depth, 0);
  }

  Cache* create(const std::string& name, unsigned size, unsigned align = 0, CacheFlags flags = {}) {
    Cache* c = slob.kmem_cache_create(name, size, align, flags);
    if (!c) throw std::runtime_error("kmem_cache_create failed");
    return c;
  }
  ObjectRef alloc(Cache* c, int cpu = 0, int node = numa_no_node) {
    env.cpu = cpu;
    ObjectRef x = node == numa_no_node ? slob.kmem_cache_alloc(c, gfp_kernel)
                                       : slob.kmem_cache_alloc_node(c, gfp_kernel, node);
    if (!x) throw std::runtime_error("allocation failed");
    return x;
  }
  void free(Cache* c, ObjectRef x, int cpu = 0) {
    env.cpu = cpu;
    slob.kmem_cache_free(c, x);
  }
  static const SlobPage* page(ObjectRef x) { return SlobAllocator::page_of(x); }

  MachineLayout layout;
  PageAllocator pages;
  NodeStates states;
  FakeEnvironment env;
  SlobAllocator slob;
  bool expect_violations = false;
};

// The struct kmem_cache of each cache is a 64-byte SLOB object of the static "kmem_cache" cache
// (32 units, on free_slob_small); freeing the last one gives its page back.
TEST_F(Slob, CacheStructsAreSlobObjects) {
  const std::uint64_t free_at_boot = pages.free_pages(0);
  Cache* a = create("a", 512);
  Cache* b = create("b", 512);
  EXPECT_EQ(slob.kmem_cache_cache()->live_objects, 2u);
  EXPECT_EQ(a->id, 1u);
  EXPECT_EQ(b->id, 2u);
  EXPECT_EQ(a->fallback_to_no_node, std::vector<std::uint64_t>(3, 0));
  const auto small = slob.free_list(SlobList::small);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0]->units, slob_page_units - 64);
  EXPECT_EQ(blocks(small[0]), (std::vector<SlobBlock>{{64, 1984}}));
  EXPECT_EQ(pages.free_pages(0), free_at_boot - 1);
  EXPECT_EQ(slob.kmem_cache_destroy(a), 0);
  EXPECT_EQ(slob.kmem_cache_destroy(b), 0);
  EXPECT_TRUE(slob.free_list(SlobList::small).empty());
  EXPECT_EQ(pages.free_pages(0), free_at_boot);
  EXPECT_EQ(slob.slabs_allocated(), 1u);
}

// slob_alloc() picks the list by size: < 256 small, < 1024 medium, the rest large.
TEST_F(Slob, SizeClassesSplitAt256And1024) {
  Cache* c255 = create("c255", 255);
  Cache* c256 = create("c256", 256);
  Cache* c1023 = create("c1023", 1023);
  Cache* c1024 = create("c1024", 1024);
  // The four cache structs fill units 0..127 of the one small page; 255 bytes join them.
  ObjectRef x255 = alloc(c255);
  ObjectRef x256 = alloc(c256);
  ObjectRef x1023 = alloc(c1023);
  ObjectRef x1024 = alloc(c1024);
  EXPECT_EQ(page(x255)->list, SlobList::small);
  EXPECT_EQ(x255.index, 128u);
  EXPECT_EQ(page(x255)->units, slob_page_units - 4 * 32 - 128);
  EXPECT_EQ(page(x256)->list, SlobList::medium);
  EXPECT_EQ(x256.index, 0u);
  EXPECT_EQ(page(x1023), page(x256)) << "1023 bytes share the medium page";
  EXPECT_EQ(x1023.index, 128u);
  EXPECT_EQ(page(x1023)->units, slob_page_units - 128 - 512);
  EXPECT_EQ(page(x1024)->list, SlobList::large);
  EXPECT_EQ(x1024.index, 0u);
  EXPECT_EQ(page(x1024)->units, slob_page_units - 512);
  EXPECT_EQ(slob.free_list(SlobList::small).size(), 1u);
  EXPECT_EQ(slob.free_list(SlobList::medium).size(), 1u);
  EXPECT_EQ(slob.free_list(SlobList::large).size(), 1u);
  EXPECT_EQ(slob.slabs_allocated(), 3u);
  EXPECT_EQ(slob_list_for(255), SlobList::small);
  EXPECT_EQ(slob_list_for(256), SlobList::medium);
  EXPECT_EQ(slob_list_for(1023), SlobList::medium);
  EXPECT_EQ(slob_list_for(1024), SlobList::large);
  free(c255, x255);
  free(c256, x256);
  free(c1023, x1023);
  free(c1024, x1024);
}

// slob_page_alloc(): the first free block that fits, split so its tail stays free.
TEST_F(Slob, FirstFitSplitsTheBlock) {
  Cache* c512 = create("c512", 512);  // 256 units
  Cache* c300 = create("c300", 300);  // 150 units, medium as well
  std::vector<ObjectRef> x;
  for (int i = 0; i < 4; ++i)
    x.push_back(alloc(c512));
  const SlobPage* sp = page(x[0]);
  EXPECT_EQ(x[3].index, 768u);
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{1024, 1024}}));
  free(c512, x[1]);
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{256, 256}, {1024, 1024}}));
  EXPECT_EQ(sp->units, 1280u);
  ObjectRef y = alloc(c300);  // fits the first block, not the larger second one
  EXPECT_EQ(page(y), sp);
  EXPECT_EQ(y.index, 256u);
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{406, 106}, {1024, 1024}}));
  ObjectRef z = alloc(c300);  // 106 units are too few: the next block
  EXPECT_EQ(z.index, 1024u);
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{406, 106}, {1174, 874}}));
  EXPECT_EQ(sp->units, 106u + 874u);
  for (ObjectRef o : {x[0], x[2], x[3]})
    free(c512, o);
  free(c300, y);
  free(c300, z);
}

// calculate_alignment(): SLAB_HWCACHE_ALIGN gives 300-byte objects 64-byte alignment; the head
// of a block that is not aligned is cut off and stays free.
TEST_F(Slob, AlignmentFragmentsTheBlockHead) {
  CacheFlags hw;
  hw.hwcache_align = true;
  auto* c = static_cast<SlobCache*>(create("c300hw", 300, 0, hw));
  EXPECT_EQ(c->align, 64u);
  EXPECT_EQ(static_cast<SlobCache*>(create("c300", 300))->align, 8u) << "ARCH_SLAB_MINALIGN";
  ObjectRef a = alloc(c);
  ObjectRef b = alloc(c);
  ObjectRef d = alloc(c);
  const SlobPage* sp = page(a);
  EXPECT_EQ(a.index, 0u);
  EXPECT_EQ(b.index, 160u) << "byte 300 rounded up to 320";
  EXPECT_EQ(d.index, 320u) << "byte 620 rounded up to 640";
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{150, 10}, {310, 10}, {470, 1578}}));
  EXPECT_EQ(sp->units, slob_page_units - 3 * 150);
  for (ObjectRef o : {a, b, d})
    free(c, o);
}

// After a hit on a page that is not the list's first, the list is rotated so that page is first
// (list_rotate_to_front), keeping the cyclic order; a free leaves the order alone.
TEST_F(Slob, HitRotatesItsPageToTheFront) {
  Cache* c1000 = create("c1000", 1000);  // 500 units: four per page, 48 units left over
  Cache* c256 = create("c256", 256);     // 128 units
  std::vector<ObjectRef> x;
  for (int i = 0; i < 12; ++i)
    x.push_back(alloc(c1000));
  const SlobPage* p1 = page(x[0]);
  const SlobPage* p2 = page(x[4]);
  const SlobPage* p3 = page(x[8]);
  EXPECT_EQ(p1->units, 48u) << "a page with too few units stays listed";
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{p3, p2, p1}));
  free(c1000, x[0]);
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{p3, p2, p1}));
  ObjectRef y = alloc(c256);  // p3 and p2 have 48 units: skipped without a walk
  EXPECT_EQ(page(y), p1);
  EXPECT_EQ(y.index, 0u);
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{p1, p3, p2}));
  ObjectRef z = alloc(c256);  // p1 is first now: no rotation
  EXPECT_EQ(page(z), p1);
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{p1, p3, p2}));
  free(c256, y);
  free(c256, z);
  for (std::size_t i = 1; i < x.size(); ++i)
    free(c1000, x[i]);
}

// A page filled to the last unit leaves its list; its first free puts it back at the head.
TEST_F(Slob, FullPageLeavesTheListAndReturnsAtTheHead) {
  Cache* c512 = create("c512", 512);
  std::vector<ObjectRef> x;
  for (int i = 0; i < 9; ++i)
    x.push_back(alloc(c512));
  const SlobPage* full = page(x[0]);
  const SlobPage* other = page(x[8]);
  EXPECT_FALSE(full->list.has_value());
  EXPECT_EQ(full->units, 0u);
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{other}));
  free(c512, x[3]);
  EXPECT_EQ(full->list, SlobList::medium);
  EXPECT_EQ(blocks(full), (std::vector<SlobBlock>{{768, 256}}));
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{full, other}));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (i != 3) free(c512, x[i]);
}

// slob_free(): address-ordered insertion merging with both neighbours; the last free gives the
// page back to the page allocator.
TEST_F(Slob, FreeMergesNeighboursAndGivesTheEmptyPageBack) {
  Cache* c512 = create("c512", 512);
  const std::uint64_t free_before = pages.free_pages(0);
  std::vector<ObjectRef> x;
  for (int i = 0; i < 4; ++i)
    x.push_back(alloc(c512));
  const SlobPage* sp = page(x[0]);
  EXPECT_EQ(pages.free_pages(0), free_before - 1);
  free(c512, x[1]);
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{256, 256}, {1024, 1024}}));
  free(c512, x[2]);  // merges with the block in front
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{256, 512}, {1024, 1024}}));
  free(c512, x[3]);  // merges with both
  EXPECT_EQ(blocks(sp), (std::vector<SlobBlock>{{256, 1792}}));
  EXPECT_EQ(sp->units, 1792u);
  EXPECT_EQ(slob.pages_in_use().size(), 2u);  // this one and the cache structs' page
  free(c512, x[0]);                           // wholly free: straight to the page allocator
  EXPECT_TRUE(slob.free_list(SlobList::medium).empty());
  EXPECT_EQ(slob.pages_in_use().size(), 1u);
  EXPECT_EQ(pages.free_pages(0), free_before);
  EXPECT_EQ(slob.cache_report(c512, {}).objects_in_use, 0u);
}

// A node-specific request skips pages of other nodes and takes a new page on its node; a
// NUMA_NO_NODE request takes the first page with room wherever it is.
TEST_F(Slob, NodeSpecificAllocationSkipsOtherNodes) {
  Cache* c = create("c512", 512);
  ObjectRef a = alloc(c, /*cpu=*/0, /*node=*/0);
  ObjectRef b = alloc(c, /*cpu=*/0, /*node=*/1);
  EXPECT_EQ(a.node, 0);
  EXPECT_EQ(b.node, 1);
  EXPECT_NE(page(a), page(b));
  EXPECT_EQ(b.index, 0u);
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{page(b), page(a)}));
  ObjectRef c0 = alloc(c, /*cpu=*/0, /*node=*/0);  // skips node 1's page, rotates node 0's
  EXPECT_EQ(page(c0), page(a));
  EXPECT_EQ(slob.free_list(SlobList::medium), (std::vector<const SlobPage*>{page(a), page(b)}));
  ObjectRef any = alloc(c, /*cpu=*/2);  // CPU 2 is on node 1, but node 0's page is first
  EXPECT_EQ(any.node, 0);
  EXPECT_EQ(page(any), page(a));
  EXPECT_EQ(slob.slabs_allocated(), 3u);  // cache struct page, two medium pages
  EXPECT_EQ(static_cast<const SlobCache*>(c)->fallback_to_no_node,
            std::vector<std::uint64_t>(3, 0));
  for (ObjectRef o : {a, b, c0, any})
    free(c, o);
}

// Node 2 has no memory: slob_new_pages() falls back along its zonelist, and since the page is
// then on another node, every request for node 2 takes yet another page.
TEST_F(Slob, MemorylessNodeFallsBackToAnotherNodeEachTime) {
  Cache* c = create("c512", 512);
  EXPECT_FALSE(slob.node_usable(2));
  EXPECT_TRUE(slob.node_usable(0));
  ObjectRef a = alloc(c, /*cpu=*/0, /*node=*/2);
  ObjectRef b = alloc(c, /*cpu=*/0, /*node=*/2);
  EXPECT_NE(a.node, 2);
  EXPECT_NE(b.node, 2);
  EXPECT_NE(page(a), page(b)) << "pages of other nodes are skipped for node 2";
  EXPECT_EQ(a.index, 0u);
  EXPECT_EQ(b.index, 0u);
  EXPECT_EQ(slob.free_list(SlobList::medium).size(), 2u);
  EXPECT_EQ(c->fallback_to_no_node, std::vector<std::uint64_t>(3, 0)) << "SLOB never redirects";
  free(c, a);
  free(c, b);
}

// A node that is not online (its memory never hot-added) has no pgdat: SLOB hands the node to
// __alloc_pages_node() unchecked, where the kernel oopses on NODE_DATA(node). The model records
// that and fails the allocation; SLUB and SLAB would fall back instead.
TEST(SlobOfflineNode, AllocationForANodeNotOnlineIsAViolation) {
  MachineLayout l = slob_layout();
  const int absent = add_memory_node(l, 1, BlockPresence::absent);
  PageAllocator pages(l);
  NodeStates states = boot_node_states(l);
  FakeEnvironment env(l);
  SlobAllocator slob(env, pages, states, *find_strategy_preset("slab_nodes"));
  ASSERT_FALSE(states.test(absent, NodeState::online));
  Cache* c = slob.kmem_cache_create("c", 128, 0, {});
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(slob.kmem_cache_alloc_node(c, gfp_kernel, absent));
  ASSERT_EQ(slob.violations().size(), 1u);
  EXPECT_EQ(slob.violations()[0].function, "slob_new_pages");
  EXPECT_NE(slob.violations()[0].what.find("NODE_DATA(3) is NULL"), std::string::npos);
  // Online nodes, memoryless ones included, still work.
  EXPECT_TRUE(slob.kmem_cache_alloc_node(c, gfp_kernel, 2));
  EXPECT_EQ(slob.violations().size(), 1u);
}

// kmem_cache objects of PAGE_SIZE or more come straight from the page allocator with
// get_order(size); 4095 bytes is still a SLOB block, and takes a whole page.
TEST_F(Slob, LargeObjectsGoStraightToThePageAllocator) {
  Cache* c4095 = create("c4095", 4095);
  Cache* c4096 = create("c4096", 4096);
  Cache* c5000 = create("c5000", 5000);
  const std::uint64_t free_before = pages.free_pages(0);
  const std::uint64_t allocated_before = slob.slabs_allocated();
  ObjectRef s = alloc(c4095);
  EXPECT_FALSE(page(s)->large);
  EXPECT_EQ(page(s)->units, 0u);
  EXPECT_FALSE(page(s)->list.has_value()) << "2048 units fill the page at once";
  ObjectRef one = alloc(c4096);
  ObjectRef two = alloc(c5000);
  EXPECT_TRUE(page(one)->large);
  EXPECT_EQ(page(one)->pages.order, 0u);
  EXPECT_EQ(page(two)->pages.order, 1u);
  EXPECT_TRUE(slob.free_list(SlobList::large).empty());
  EXPECT_EQ(pages.free_pages(0), free_before - 4);
  EXPECT_EQ(slob.slabs_allocated(), allocated_before + 3);
  EXPECT_EQ(slob.cache_report(c5000, {}).objects_in_use, 1u);
  free(c4095, s);
  free(c4096, one);
  free(c5000, two);
  EXPECT_EQ(pages.free_pages(0), free_before);
}

// __kmem_cache_shrink() does nothing and returns 0, but kmem_cache_shrink() still takes the
// strategy's lock nest; create and destroy take theirs too.
class SlobLocks : public Slob, public ::testing::WithParamInterface<const char*> {
 protected:
  SlobLocks() : Slob(GetParam()) {}
};

TEST_P(SlobLocks, ShrinkIsANoOpUnderTheStrategysLocks) {
  const std::string preset = GetParam();
  const std::vector<std::string> create_locks =
      preset == "hotplug_lock"
          ? std::vector<std::string>{"cpu_hotplug_lock(R)", "mem_hotplug_lock(R)", "slab_mutex",
                                     "slob_lock"}
          : std::vector<std::string>{"cpu_hotplug_lock(R)", "slab_mutex", "slob_lock"};
  const std::vector<std::string> shrink_locks =
      preset == "hotplug_lock"
          ? std::vector<std::string>{"cpu_hotplug_lock(R)", "mem_hotplug_lock(R)"}
          : std::vector<std::string>{"cpu_hotplug_lock(R)"};
  std::size_t from = env.events.size();
  Cache* first = create("first", 64);
  std::vector<std::string> twice = create_locks;
  twice.push_back("slob_lock");
  EXPECT_EQ(env.acquisitions(from), twice)
      << "no page yet: slob_lock is dropped around slob_new_pages() and taken again";
  from = env.events.size();
  Cache* c = create("c", 100);
  EXPECT_EQ(env.acquisitions(from), create_locks) << "kmem_cache_zalloc() nests slob_lock";
  ObjectRef x = alloc(c);
  free(c, x);
  ObjectRef y = alloc(c);
  const std::uint64_t free_pages = pages.free_pages(0);
  const auto in_use = slob.pages_in_use();
  from = env.events.size();
  EXPECT_EQ(slob.kmem_cache_shrink(c), 0);
  EXPECT_EQ(env.acquisitions(from), shrink_locks);
  EXPECT_EQ(pages.free_pages(0), free_pages);
  EXPECT_EQ(slob.pages_in_use(), in_use);
  free(c, y);
  from = env.events.size();
  EXPECT_EQ(slob.kmem_cache_destroy(c), 0);
  EXPECT_EQ(env.acquisitions(from), create_locks) << "the struct goes back under slob_lock";
  EXPECT_EQ(slob.kmem_cache_destroy(first), 0);
  EXPECT_TRUE(slob.pages_in_use().empty());
}

INSTANTIATE_TEST_SUITE_P(SlobPresets, SlobLocks, ::testing::Values("hotplug_lock", "slab_nodes"));

// __kmem_cache_shutdown() cannot see live objects: destroy succeeds and frees the struct; a
// later free of an object reads the freed struct (a violation) and still returns the memory.
TEST_F(Slob, DestroyWithLiveObjectsSucceedsAndALaterFreeIsAUseAfterFree) {
  Cache* keep = create("keep", 512);  // keeps the cache-struct page alive
  const std::uint64_t free_before = pages.free_pages(0);
  Cache* c = create("doomed", 512);
  ObjectRef x = alloc(c);
  EXPECT_EQ(slob.kmem_cache_destroy(c), 0);
  EXPECT_TRUE(slob.kernel_log().empty()) << "SLOB cannot tell objects remain";
  EXPECT_EQ(slob.slab_common().slab_caches(), std::vector<Cache*>{keep});
  EXPECT_EQ(slob.kmem_cache_cache()->live_objects, 1u);
  EXPECT_TRUE(slob.violations().empty());
  expect_violations = true;
  free(c, x);
  ASSERT_EQ(slob.violations().size(), 1u);
  EXPECT_EQ(slob.violations()[0].function, "kmem_cache_free");
  EXPECT_EQ(slob.violations()[0].kind, ViolationKind::use_after_free);
  EXPECT_EQ(pages.free_pages(0), free_before) << "the block went back; its page with it";
  EXPECT_THROW(slob.kmem_cache_destroy(c), std::invalid_argument);
  EXPECT_EQ(slob.kmem_cache_destroy(keep), 0);
}

// SLOB registers no memory notifier; a node onlined later is usable at once.
TEST_F(Slob, MemoryHotplugNeedsNoCallback) {
  MemoryHotplug hotplug(env, pages, states);
  register_memory_callback(hotplug, slob);
  Cache* c = create("c", 200);
  const int block = static_cast<int>(layout.blocks.size()) - 1;  // node 2's block
  EXPECT_FALSE(slob.node_usable(2));
  ASSERT_EQ(hotplug.online_pages(block, ZoneType::normal), 0);
  EXPECT_TRUE(slob.node_usable(2));
  EXPECT_EQ(slob.hotplug_node_structs().allocated, 0u);
  ObjectRef x = alloc(c, /*cpu=*/0, /*node=*/2);
  EXPECT_EQ(x.node, 2);
  EXPECT_EQ(page(x)->pages.node, 2);
  free(c, x);
  EXPECT_EQ(pages.free_pages(2), layout.block_pages);
}

// What SLOB does not have.
TEST_F(Slob, NoSysfsNoSlabinfoNoCounters) {
  Cache* c = create("c", 64);
  ObjectRef x = alloc(c);
  Allocator& a = slob;
  EXPECT_EQ(a.memory_callback(), nullptr);
  EXPECT_EQ(a.cpuhp_prepare(), nullptr);
  EXPECT_EQ(a.cpuhp_dead(), nullptr);
  EXPECT_EQ(a.cache_reaper(), nullptr);
  EXPECT_EQ(a.sysfs(), nullptr);
  EXPECT_EQ(a.slabinfo_source(), nullptr);
  EXPECT_EQ(slob.state().proc_slabinfo(), "");
  const CacheReport r = slob.cache_report(c, {true, true, true, true});
  EXPECT_TRUE(r.counters.empty());
  EXPECT_EQ(r.counters_text, "");
  EXPECT_EQ(r.objects_in_use, 1u);
  EXPECT_EQ(r.alloc_node_mismatch, std::nullopt);
  EXPECT_EQ(slob.kind(), AllocatorKind::slob);
  free(c, x);
}

// The checker finds a broken page (so the random test below can fail).
TEST_F(Slob, InvariantCheckerFindsACorruptedPage) {
  Cache* c = create("c", 512);
  ObjectRef x = alloc(c);
  auto* sp = const_cast<SlobPage*>(page(x));
  sp->units -= 2;  // sp->units no longer matches the free blocks
  EXPECT_GT(slob.check_invariants("test"), 0);
  expect_violations = true;
  sp->units += 2;
  free(c, x);
  EXPECT_EQ(slob.check_invariants("test"), 0);
}

// A seeded mix of allocations and frees over many sizes, CPUs and nodes keeps every invariant,
// and once everything is freed and destroyed the page allocator has all its pages back.
TEST_F(Slob, InvariantsHoldAfterARandomMix) {
  const std::uint64_t free0 = pages.free_pages(0), free1 = pages.free_pages(1);
  CacheFlags hw;
  hw.hwcache_align = true;
  CacheFlags rcu;
  rcu.typesafe_by_rcu = true;
  std::vector<Cache*> caches = {
      create("s8", 8),        create("s24", 24, 0, hw),    create("s100", 100),
      create("s255", 255),    create("s256", 256, 0, rcu), create("s700", 700, 0, hw),
      create("s1023", 1023),  create("s1024", 1024),       create("s3000", 3000),
      create("s4095", 4095),  create("s4096", 4096),       create("s6000", 6000),
      create("a128", 40, 128)};
  std::mt19937 rng(20240601);
  std::vector<std::pair<Cache*, ObjectRef>> live;
  for (int op = 0; op < 4000; ++op) {
    const int cpu = static_cast<int>(rng() % 4);
    if (live.empty() || rng() % 100 < 55) {
      Cache* c = caches[rng() % caches.size()];
      const int node = rng() % 3 == 0 ? static_cast<int>(rng() % 2) : numa_no_node;
      live.emplace_back(c, alloc(c, cpu, node));
      if (node != numa_no_node) {
        ASSERT_EQ(live.back().second.node, node);
      }
    } else {
      const std::size_t i = rng() % live.size();
      free(live[i].first, live[i].second, cpu);
      live[i] = live.back();
      live.pop_back();
    }
    if (op % 250 == 0) {
      ASSERT_EQ(slob.check_invariants("random"), 0) << "after op " << op;
    }
  }
  EXPECT_GT(slob.slabs_allocated(), 20u);
  env.end_grace_period();  // s256's frees wait for one (kmem_rcu_free())
  for (Cache* c : caches) {
    std::uint64_t count = 0;
    for (const auto& [owner, x] : live)
      count += owner == c;
    EXPECT_EQ(slob.cache_report(c, {}).objects_in_use, count) << c->name;
  }
  ASSERT_EQ(slob.check_invariants("random"), 0);
  for (const auto& [c, x] : live)
    free(c, x);
  for (Cache* c : caches)
    EXPECT_EQ(slob.kmem_cache_destroy(c), 0);
  env.run_works();  // slab_caches_to_rcu_destroy_workfn(): rcu_barrier(), then s256's release
  EXPECT_TRUE(slob.pages_in_use().empty());
  EXPECT_EQ(pages.free_pages(0), free0);
  EXPECT_EQ(pages.free_pages(1), free1);
}

// kmem_cache_free() (mm/slob.c v5.10): a SLAB_TYPESAFE_BY_RCU cache frees each object from an
// RCU callback (kmem_rcu_free() -> __kmem_cache_free()), so its block stays allocated until
// the grace period ends.
TEST_F(Slob, KmemCacheFreeV5_10DefersTypesafeByRcuObjectsByAGracePeriod) {
  CacheFlags rcu;
  rcu.typesafe_by_rcu = true;
  Cache* c = create("rcu-100", 100, 0, rcu);
  const ObjectRef x = alloc(c);
  auto* sp = static_cast<SlobPage*>(x.slab);
  const auto offset = static_cast<std::uint16_t>(x.index);
  free(c, x);
  EXPECT_EQ(env.rcu_callbacks.size(), 1u);
  EXPECT_TRUE(sp->allocated.contains(offset)) << "the block waits for the grace period";
  env.end_grace_period();
  EXPECT_TRUE(env.rcu_callbacks.empty());
  EXPECT_FALSE(sp->live && sp->allocated.contains(offset)) << "__kmem_cache_free() ran";
}

}  // namespace
}  // namespace slabsim::alloc::testing
