// SLUB's allocation and free paths: the behaviours of reference/slub-hotplug.md section 10
// (1-5) with their exact stat_item increments, and the invariants after each scenario.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

class SlubPaths : public ::testing::Test {
 protected:
  SlubMachine m{small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8)};
  KmemCache* s = m.create("test-256", 256);
  void SetUp() override { ASSERT_NE(s, nullptr); }
  void TearDown() override {
    EXPECT_EQ(m.new_violations(), 0);
    for (const auto& v : m.slub.violations())
      ADD_FAILURE() << v.function << ": " << v.what;
    EXPECT_TRUE(m.env.misuse.empty());
    EXPECT_EQ(m.env.irq_depth, 0);
  }
  std::vector<Object> fill(int cpu, unsigned count, int node = numa_no_node) {
    std::vector<Object> out;
    for (unsigned i = 0; i < count; ++i)
      out.push_back(m.alloc(s, cpu, node));
    return out;
  }
};

// Behaviour 1: the fast path touches only per-CPU state; everything else goes through
// ___slab_alloc / __slab_free with the kernel's stat increments.
TEST_F(SlubPaths, FastPathIsPerCpuOnlyWithExactStats) {
  const unsigned per_slab = s->s.objects;
  const int syncs = m.env.syncs;
  auto objs = fill(0, 1);
  EXPECT_EQ(m.stat(s, ALLOC_SLOWPATH), 1u);
  EXPECT_EQ(m.stat(s, ALLOC_SLAB), 1u);
  const std::size_t lock_events = m.env.events.size();
  for (unsigned i = 1; i < per_slab; ++i)
    objs.push_back(m.alloc(s, 0));
  EXPECT_EQ(m.stat(s, ALLOC_FASTPATH), per_slab - 1);
  for (auto o : objs)
    m.free(s, o, 0);
  EXPECT_EQ(m.stat(s, FREE_FASTPATH), per_slab);
  EXPECT_EQ(m.env.events.size(), lock_events) << "the fast paths took a lock";
  // The first (slow) allocation synchronises twice: new_slab_objects() before the shared lists,
  // and allocate_slab() for the work it does with interrupts on; the fast paths never.
  EXPECT_EQ(m.env.syncs - syncs, 2) << "only the first (slow) allocation synchronised";
  EXPECT_EQ(m.stat(s, FREE_SLOWPATH), 0u);
  EXPECT_EQ(s->cpu_slab[0].stat[ALLOC_FASTPATH], per_slab - 1) << "stats are per CPU";
  EXPECT_EQ(s->cpu_slab[1].stat[ALLOC_FASTPATH], 0u);
}

// Behaviour 2: a frozen slab is on no node list; a remote free goes to page->freelist
// (FREE_FROZEN) and is harvested by ALLOC_REFILL, or seen as DEACTIVATE_REMOTE_FREES.
TEST_F(SlubPaths, RemoteFreesToAFrozenSlabAreHarvested) {
  auto objs = fill(0, s->s.objects);  // CPU 0's cpu slab is now fully handed out
  Slab* page = objs[0].slab;
  EXPECT_TRUE(page->frozen);
  EXPECT_EQ(page->where, Slab::Where::cpu_slab);
  EXPECT_EQ(s->node[0]->nr_partial, 0u);

  m.free(s, objs[3], /*cpu=*/1);  // another CPU frees into CPU 0's slab
  EXPECT_EQ(m.stat(s, FREE_SLOWPATH), 1u);
  EXPECT_EQ(m.stat(s, FREE_FROZEN), 1u);
  EXPECT_EQ(page->freelist, objs[3].index);

  Object again = m.alloc(s, 0);  // cpu freelist empty: refill from page->freelist
  EXPECT_EQ(m.stat(s, ALLOC_REFILL), 1u);
  EXPECT_EQ(again, objs[3]);

  m.free(s, objs[5], 1);  // a remote free, then CPU 0's slab is flushed
  m.env.cpu = 0;
  m.slub.flush_all(s);
  EXPECT_EQ(m.stat(s, CPUSLAB_FLUSH), 1u);
  EXPECT_EQ(m.stat(s, DEACTIVATE_REMOTE_FREES), 1u);
  EXPECT_EQ(m.stat(s, DEACTIVATE_TO_TAIL), 1u);
  EXPECT_FALSE(page->frozen);
  EXPECT_EQ(page->where, Slab::Where::node_partial);
  for (std::size_t i = 0; i < objs.size(); ++i)
    if (i != 5) m.free(s, objs[i], 0);
}

// Behaviour 3: an empty slab is freed only when the node already has min_partial partial
// slabs; otherwise it stays, empty, on the partial list until shrink (which frees without
// FREE_SLAB: mistake 2).
TEST_F(SlubPaths, EmptySlabsStayUntilMinPartial) {
  const unsigned per_slab = s->s.objects;
  const unsigned slabs = static_cast<unsigned>(s->s.min_partial) + 3;
  auto objs = fill(0, per_slab * slabs);
  m.env.cpu = 0;
  m.slub.flush_all(s);  // the last cpu slab (full) goes to no list
  // Free everything from CPU 1: every slab goes full -> partial (cpu partial) -> empty.
  for (auto o : objs)
    m.free(s, o, 1);
  m.env.cpu = 1;
  m.slub.flush_all(s);
  const KmemCacheNode* n = s->node[0];
  EXPECT_EQ(n->nr_partial, s->s.min_partial) << "empty slabs kept up to min_partial";
  EXPECT_EQ(n->nr_slabs, static_cast<long>(s->s.min_partial));
  const std::uint64_t free_slab = m.stat(s, FREE_SLAB);
  EXPECT_EQ(free_slab, slabs - s->s.min_partial);

  m.env.cpu = 0;
  EXPECT_EQ(m.slub.kmem_cache_shrink(s), 0);
  EXPECT_EQ(n->nr_partial, 0u);
  EXPECT_EQ(n->nr_slabs, 0);
  EXPECT_EQ(m.stat(s, FREE_SLAB), free_slab) << "shrink discards without FREE_SLAB";
}

// Behaviour 4: the first free into a full slab freezes it onto the freeing CPU's partial list
// (CPU_PARTIAL_FREE); the list drains to the node when pobjects exceeds cpu_partial.
TEST_F(SlubPaths, FirstFreeIntoAFullSlabGoesToTheCpuPartialList) {
  const unsigned per_slab = s->s.objects;
  const unsigned slabs = s->s.cpu_partial + 2;  // one free object per slab
  auto objs = fill(0, per_slab * slabs);
  m.env.cpu = 0;
  m.slub.flush_all(s);
  for (unsigned k = 0; k < slabs; ++k)
    m.free(s, objs[k * per_slab], 1);
  EXPECT_EQ(m.stat(s, CPU_PARTIAL_FREE), slabs);
  // The drain happens on the free that finds pobjects > cpu_partial: after cpu_partial + 1.
  EXPECT_EQ(m.stat(s, CPU_PARTIAL_DRAIN), 1u);
  EXPECT_EQ(m.stat(s, FREE_ADD_PARTIAL), s->s.cpu_partial + 1);
  EXPECT_EQ(s->node[0]->nr_partial, s->s.cpu_partial + 1);
  int chain = 0;
  for (const Slab* p = s->cpu_slab[1].partial; p; p = p->next)
    ++chain;
  EXPECT_EQ(chain, 1);
  // The next allocation on CPU 1 takes its cpu partial slab.
  Object o = m.alloc(s, 1);
  EXPECT_EQ(m.stat(s, CPU_PARTIAL_ALLOC), 1u);
  m.free(s, o, 1);
  for (unsigned k = 0; k < objs.size(); ++k)
    if (k % per_slab != 0) m.free(s, objs[k], 0);
}

// Behaviour 5: an explicit-node allocation never takes another node's partial slabs; when its
// node has no free memory the page allocator falls back, and every later kmalloc_node() of
// that node mismatches (ALLOC_NODE_MISMATCH).
TEST_F(SlubPaths, ExplicitNodeNeverSearchesOtherNodesButPagesMayFallBack) {
  // Node 0 keeps partial slabs with free objects.
  auto on0 = fill(0, s->s.objects * 3, 0);
  m.env.cpu = 0;
  m.slub.flush_all(s);
  for (std::size_t i = 0; i < on0.size(); i += 2)
    m.free(s, on0[i], 0);
  m.slub.flush_all(s);
  ASSERT_GT(s->node[0]->nr_partial, 0u);

  // Exhaust node 1's memory behind SLUB's back.
  std::vector<PageBlockRef> hog;
  while (auto p = m.pages.alloc_pages(1, 0, gfp_thisnode, 1))
    hog.push_back(*p);
  ASSERT_EQ(m.pages.free_pages(1), 0u);

  const std::uint64_t mismatch_before = m.stat(s, ALLOC_NODE_MISMATCH);
  std::vector<Object> asked1;
  for (int i = 0; i < 3; ++i)
    asked1.push_back(m.alloc(s, 2, /*node=*/1));
  for (auto o : asked1)
    EXPECT_EQ(o.slab->pages.node, 0) << "page allocator fell back to node 0";
  EXPECT_EQ(m.stat(s, ALLOC_FROM_PARTIAL), 0u) << "node 0's partial slabs were not taken";
  EXPECT_EQ(m.stat(s, ALLOC_NODE_MISMATCH) - mismatch_before, 2u);
  EXPECT_EQ(m.stat(s, ALLOC_SLAB), 3u + 3u) << "every node-1 request needed a new slab";
  EXPECT_EQ(s->fallback_to_no_node[1], 0u) << "node 1 is usable: no NUMA_NO_NODE fallback";
  for (auto o : asked1)
    m.free(s, o, 2);
  for (auto p : hog)
    m.pages.free_pages(p, 0);
  for (std::size_t i = 1; i < on0.size(); i += 2)
    m.free(s, on0[i], 0);
}

// Mistake 1 lives in the reports (slabinfo counts cpu-slab free objects as active); the model's
// own accounting: remote allocations and frees are counted by the CPU's node.
TEST_F(SlubPaths, RemoteObjectsAreCountedByTheCpusNode) {
  Object o = m.alloc(s, 0, 1);  // CPU 0 (node 0) asks for node 1
  EXPECT_EQ(o.slab->pages.node, 1);
  EXPECT_EQ(s->remote_allocs, 1u);
  m.free(s, o, 2);  // CPU 2 is on node 1: a local free
  EXPECT_EQ(s->remote_frees, 0u);
  EXPECT_GT((m.env.touches[{0, 1}]), 0u);
}

TEST_F(SlubPaths, DestroyFailsWhileObjectsRemainAndKeepsTheCache) {
  Object o = m.alloc(s, 0);
  m.env.cpu = 0;
  EXPECT_EQ(m.slub.kmem_cache_destroy(s), -ebusy);
  EXPECT_EQ(m.slub.slab_common().find_cache("test-256"), s);
  ASSERT_FALSE(m.slub.kernel_log().empty());
  EXPECT_EQ(m.slub.kernel_log().back(),
            "kmem_cache_destroy test-256: Slab cache still has objects");
  m.free(s, o, 0);
}

TEST_F(SlubPaths, DestroyReleasesEverything) {
  auto objs = fill(0, s->s.objects * 2 + 3);
  for (auto o : objs)
    m.free(s, o, 1);
  m.env.cpu = 0;
  const std::uint64_t node_objs =
      m.slub.kmem_cache_node_cache()->allocs - m.slub.kmem_cache_node_cache()->frees;
  m.slub.flush_all(s);  // the empty slabs move from CPU 1's partial list to node 0's
  ASSERT_GT(s->node[0]->nr_partial, 0u);
  const std::uint64_t free_slab = m.stat(s, FREE_SLAB);
  EXPECT_EQ(m.slub.kmem_cache_destroy(s), 0);
  EXPECT_EQ(m.stat(s, FREE_SLAB), free_slab) << "cache shutdown discards without FREE_SLAB";
  EXPECT_EQ(m.slub.slab_common().find_cache("test-256"), nullptr);
  EXPECT_TRUE(m.slub.slabs_of(s).empty());
  EXPECT_EQ(m.slub.kmem_cache_node_cache()->allocs - m.slub.kmem_cache_node_cache()->frees,
            node_objs - 2)
      << "the two kmem_cache_node structs went back to their cache";
  s = m.create("test-256", 256);  // for TearDown's checks
}

// allocate_slab() (mm/slub.c v5.10-v5.12): gfpflags_allow_blocking() -> local_irq_enable()
// before the page allocation, local_irq_disable() at `out:`; so the slow path's interrupts are on
// while a new slab is made for GFP_KERNEL (an IPI can run then), and stay off for GFP_ATOMIC.
TEST_F(SlubPaths, AllocateSlabEnablesInterruptsForABlockingGfp) {
  std::vector<int> depth_at_sync;
  m.env.on_sync = [&] { depth_at_sync.push_back(m.env.irq_depth); };
  m.env.cpu = 0;
  const ObjectRef blocking = m.slub.kmem_cache_alloc(s, gfp_kernel);
  ASSERT_TRUE(blocking);
  EXPECT_EQ(m.stat(s, ALLOC_SLAB), 1u);
  EXPECT_NE(std::find(depth_at_sync.begin(), depth_at_sync.end(), 0), depth_at_sync.end())
      << "GFP_KERNEL: the new slab is made with interrupts on";
  depth_at_sync.clear();
  m.env.cpu = 1;
  const ObjectRef atomic = m.slub.kmem_cache_alloc(s, gfp_atomic);
  ASSERT_TRUE(atomic);
  EXPECT_EQ(m.stat(s, ALLOC_SLAB), 2u);
  EXPECT_FALSE(depth_at_sync.empty());
  EXPECT_EQ(std::find(depth_at_sync.begin(), depth_at_sync.end(), 0), depth_at_sync.end())
      << "GFP_ATOMIC: interrupts stay off";
  m.env.on_sync = nullptr;
  m.env.cpu = 0;
  m.slub.kmem_cache_free(s, blocking);
  m.env.cpu = 1;
  m.slub.kmem_cache_free(s, atomic);
}

// A remote free landing while deactivate_slab() waits for the list_lock makes its cmpxchg
// fail (CMPXCHG_DOUBLE_FAIL) and redo, and no object is lost.
TEST_F(SlubPaths, ConcurrentFreeDuringDeactivateIsACmpxchgFailure) {
  auto objs = fill(0, s->s.objects / 2);
  bool injected = false;
  m.env.before_lock = [&](LockClass cls, std::uint64_t, const char* function) {
    if (injected || cls != LockClass::list_lock || std::string(function) != "deactivate_slab")
      return;
    injected = true;
    const int saved = m.env.cpu;
    m.env.cpu = 3;  // another CPU frees into the still-frozen slab meanwhile
    m.slub.kmem_cache_free(s, object_ref(objs[0]));
    m.env.cpu = saved;
  };
  m.env.cpu = 0;
  m.slub.flush_all(s);
  m.env.before_lock = nullptr;
  EXPECT_TRUE(injected);
  EXPECT_EQ(m.stat(s, FREE_FROZEN), 1u);
  EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 1u);
  for (std::size_t i = 1; i < objs.size(); ++i)
    m.free(s, objs[i], 0);
}

TEST_F(SlubPaths, DebugCachesDeactivateAfterEveryAllocation) {
  CacheFlags debug;
  debug.store_user = true;
  KmemCache* d = m.create("debug-64", 64, 0, debug);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->s.cpu_partial, 0u);
  std::vector<Object> objs;
  for (int i = 0; i < 5; ++i)
    objs.push_back(m.alloc(d, 0));
  EXPECT_EQ(m.stat(d, ALLOC_FASTPATH), 0u);
  EXPECT_EQ(m.stat(d, ALLOC_SLOWPATH), 5u);
  EXPECT_EQ(d->cpu_slab[0].page, nullptr);
  EXPECT_EQ(d->node[0]->nr_partial, 1u);
  for (auto o : objs)
    m.free(d, o, 0);
}

}  // namespace
}  // namespace slabsim::alloc::testing
