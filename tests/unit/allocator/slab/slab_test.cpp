// The SLAB model (mm/slab.c, v5.10): tunables, the array-cache paths, alien caches, node
// fallback, memory and CPU hotplug, cache_reap(), shrink/destroy, /proc/slabinfo, invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "slab_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// Nodes 0 and 1 with two CPUs each (CPUs 0,1 on node 0; 2,3 on node 1) and 8 blocks of 1024
// pages: 16384 pages, more than 32 MiB, so slab_max_order is SLAB_MAX_ORDER_HI (1).
MachineLayout two_nodes() {
  return small_layout(2, 2, 8);
}

// As two_nodes(), plus node 2: CPU-less, two blocks absent until hot-added.
MachineLayout with_absent_node() {
  MachineLayout l = small_layout(2, 2, 8);
  add_memory_node(l, 2, BlockPresence::absent);
  return l;
}

int first_block(const MachineLayout& l, int node) {
  for (std::size_t b = 0; b < l.blocks.size(); ++b)
    if (l.blocks[b].node == node) return static_cast<int>(b);
  return -1;
}

std::uint64_t counter(const CacheReport& r, const std::string& name) {
  for (const auto& [k, v] : r.counters)
    if (k == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

struct Layout {
  unsigned size, num, order, limit, batchcount, shared;
  SlabMgmt mgmt;
};

void expect_layout(const SlabCache* c, const Layout& want) {
  SCOPED_TRACE(c->name);
  EXPECT_EQ(c->size, want.size);
  EXPECT_EQ(c->num, want.num);
  EXPECT_EQ(c->gfporder, want.order);
  EXPECT_EQ(c->limit, want.limit);
  EXPECT_EQ(c->batchcount, want.batchcount);
  EXPECT_EQ(c->shared, want.shared);
  EXPECT_EQ(c->mgmt, want.mgmt);
}

// ---------------------------------------------------------------------------------------------
// Boot and derived tunables

// kmem_cache_init() (mm/slab.c v5.10): kmem_cache, then kmalloc-128 (INDEX_NODE), then
// create_kmalloc_caches(ARCH_KMALLOC_FLAGS) (mm/slab_common.c): SLAB's whole family, 19 sizes
// from kmalloc-32 to kmalloc-4M in the main loop's order for KMALLOC_NORMAL (128 already made)
// and KMALLOC_RECLAIM, then the DMA caches by index; slab_caches lists the newest first.
TEST(SlabBoot, CreatesKmemCacheAndKmallocCachesWithNodeStructsEverywhere) {
  SlabMachine m(two_nodes());
  std::vector<std::string> names;
  for (const SlabCache* c : m.slab.slab_caches())
    names.push_back(c->name);
  const std::vector<std::string> sizes = {"32",   "64",   "96",   "128", "192", "256", "512",
                                          "1k",   "2k",   "4k",   "8k",  "16k", "32k", "64k",
                                          "128k", "256k", "512k", "1M",  "2M",  "4M"};
  std::vector<std::string> want = {"kmem_cache", "kmalloc-128"};
  for (const std::string& s : sizes)
    if (s != "128") want.push_back("kmalloc-" + s);
  for (const std::string& s : sizes)
    want.push_back("kmalloc-rcl-" + s);
  want.push_back("dma-kmalloc-96");
  want.push_back("dma-kmalloc-192");
  for (const std::string& s : sizes)
    if (s != "96" && s != "192") want.push_back("dma-kmalloc-" + s);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(names, want);
  EXPECT_EQ(names.size(), 1u + 3 * 20);
  // The kmalloc caches are unmergeable by their usercopy whitelist, SLAB_CACHE_DMA and
  // SLAB_RECLAIM_ACCOUNT where new_kmalloc_cache() and the DMA loop set them.
  const SlabCache* dma = nullptr;
  const SlabCache* rcl = nullptr;
  for (const SlabCache* c : m.slab.slab_caches()) {
    if (c->name == "dma-kmalloc-4M") dma = c;
    if (c->name == "kmalloc-rcl-96") rcl = c;
    if (c->name != "kmem_cache") {
      EXPECT_EQ(c->usersize, c->object_size) << c->name;
    }
  }
  ASSERT_NE(dma, nullptr);
  ASSERT_NE(rcl, nullptr);
  EXPECT_TRUE(dma->flags.cache_dma);
  EXPECT_TRUE(rcl->flags.reclaim_account);
  EXPECT_TRUE(rcl->flags.hwcache_align);
  // SLAB's own kmalloc()s use the KMALLOC_NORMAL caches only.
  EXPECT_EQ(m.slab.kmalloc_slab(4u << 20)->name, "kmalloc-4M");
  EXPECT_EQ(m.slab.kmalloc_slab(100)->name, "kmalloc-128");
  EXPECT_EQ(m.slab.slab_max_order(), 1);
  for (const SlabCache* c : m.slab.slab_caches()) {
    for (int nid = 0; nid < 2; ++nid) {
      const SlabCacheNode* n = c->get_node(nid);
      ASSERT_NE(n, nullptr) << c->name;
      // Every node struct is a kmalloc-128 object on its own node.
      ASSERT_TRUE(n->backing) << c->name;
      EXPECT_EQ(n->backing.node, nid);
      EXPECT_EQ(static_cast<SlabPage*>(n->backing.slab)->cache->name, "kmalloc-128");
      ASSERT_NE(n->alien, nullptr);  // two nodes: alien caches on
      EXPECT_NE(n->alien->caches[1 - nid], nullptr);
      EXPECT_EQ(n->alien->caches[nid], nullptr);
    }
  }
  EXPECT_EQ(m.new_violations(), 0);
  EXPECT_TRUE(m.env.misuse.empty());
  EXPECT_FALSE(m.env.anything_held());
}

TEST(SlabBoot, SmallMachineKeepsOrderZeroAndOneNodeHasNoAlienCaches) {
  SlabMachine m(small_layout(1, 2, 8));  // 8192 pages: exactly 32 MiB, not more
  EXPECT_EQ(m.slab.slab_max_order(), 0);
  EXPECT_FALSE(m.slab.use_alien_caches());
  EXPECT_EQ(m.slab.kmem_cache_cache()->get_node(0)->alien, nullptr);
  SlabCache* c = m.create("c", 3000);
  EXPECT_EQ(c->gfporder, 0u);  // would be 1 with slab_max_order 1
  EXPECT_EQ(c->num, 1u);
  EXPECT_EQ(m.new_violations(), 0);
}

// Kernel arithmetic (x86_64, 4 KiB pages: freelist_idx_t is a byte, objects at least 16 bytes;
// SLAB creates its kmalloc caches with SLAB_HWCACHE_ALIGN), checked against published SLAB
// /proc/slabinfo rows: V. Babka, "[PATCH v2 0/7] kmalloc-reclaimable caches", linux-mm,
// 18 Jun 2018 (kmalloc-rcl-96 "128 32 1 : tunables 120 60 8", kmalloc-rcl-64 "64 64 1",
// kmalloc-rcl-32 "32 124 1", kmalloc-4M "4194304 1 1024 : tunables 1 1 0"), and rows quoted
// on linux-mm from SLAB machines (jbd2_revoke_table_s "16 240 1 : tunables 120 60 8",
// jbd2_journal_head "112 36 1", drm_i915_gem_request "576 7 1 : tunables 54 27 8",
// raid6-md0 "5984 1 2 : tunables 8 4 0", kvm_vcpu "16192 1 4 : tunables 8 4 0").
TEST(SlabTunables, KmallocCaches) {
  SlabMachine m(two_nodes());
  auto k = [&](unsigned size) { return m.slab.kmalloc_slab(size); };
  // kmalloc-32: OBJFREELIST needs 128 one-byte indices in a 32-byte object (no); off-slab
  // would need kmalloc-128 > 16 (no); on-slab: 4096 / 33 = 124.
  expect_layout(k(32), {32, 124, 0, 120, 60, 8, SlabMgmt::on_slab});
  expect_layout(k(64), {64, 64, 0, 120, 60, 8, SlabMgmt::objfreelist});  // 64 indices fit
  // 96 bytes are cache-line aligned to 128 (96 > 64 / 2): 32 per page.
  expect_layout(k(96), {128, 32, 0, 120, 60, 8, SlabMgmt::objfreelist});
  expect_layout(k(128), {128, 32, 0, 120, 60, 8, SlabMgmt::objfreelist});
  expect_layout(k(192), {192, 21, 0, 120, 60, 8, SlabMgmt::objfreelist});
  expect_layout(k(256), {256, 16, 0, 120, 60, 8, SlabMgmt::objfreelist});  // 256: not > 256
  expect_layout(k(512), {512, 8, 0, 54, 27, 8, SlabMgmt::objfreelist});
  expect_layout(k(1024), {1024, 4, 0, 54, 27, 8, SlabMgmt::objfreelist});
  expect_layout(k(2048), {2048, 2, 0, 24, 12, 8, SlabMgmt::objfreelist});
  expect_layout(k(4096), {4096, 1, 0, 24, 12, 8, SlabMgmt::objfreelist});
  // struct kmem_cache: 256 + 2 node pointers = 272, cache-line aligned to 320; 12 per page
  // with 256 bytes left (256 * 8 <= 4096: acceptable); 320 > 256: limit 54.
  expect_layout(m.slab.kmem_cache_cache(), {320, 12, 0, 54, 27, 8, SlabMgmt::objfreelist});
  // kmalloc-rcl-96 as published: 128 bytes, 32 per order-0 slab, tunables 120 60 8;
  // kmalloc-4M: one object in an order-10 slab, tunables 1 1 0.
  expect_layout(k(4u << 20), {4u << 20, 1, 10, 1, 1, 0, SlabMgmt::objfreelist});
  for (const SlabCache* c : m.slab.slab_caches())
    if (c->name == "kmalloc-rcl-96")
      expect_layout(c, {128, 32, 0, 120, 60, 8, SlabMgmt::objfreelist});
  EXPECT_EQ(m.slab.kmalloc_slab(4097), k(8192));
  EXPECT_EQ(m.slab.kmalloc_slab((4u << 20) + 1), nullptr);
  EXPECT_EQ(m.slab.kmalloc_slab(97), k(128));
}

TEST(SlabTunables, PublishedRows) {
  SlabMachine m(two_nodes());
  expect_layout(m.create("jbd2_revoke_table_s", 16), {16, 240, 0, 120, 60, 8, SlabMgmt::on_slab});
  expect_layout(m.create("jbd2_journal_head", 112),
                {112, 36, 0, 120, 60, 8, SlabMgmt::objfreelist});
  expect_layout(m.create("drm_i915_gem_request", 576),
                {576, 7, 0, 54, 27, 8, SlabMgmt::objfreelist});
  expect_layout(m.create("raid6-md0", 5984), {5984, 1, 1, 8, 4, 0, SlabMgmt::objfreelist});
  // Orders 0 and 1 hold no 16192-byte object; order 2 holds one and passes slab_max_order.
  expect_layout(m.create("kvm_vcpu", 16192), {16192, 1, 2, 8, 4, 0, SlabMgmt::objfreelist});
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabTunables, UserCaches) {
  SlabMachine m(two_nodes());
  // 8 bytes grow to SLAB_OBJ_MIN_SIZE 16; 256 objects exceed a byte index, so on-slab:
  // 4096 / 17 = 240.
  expect_layout(m.create("tiny", 8), {16, 240, 0, 120, 60, 8, SlabMgmt::on_slab});
  // 4 per page, 96 bytes left; 1000 > 256: limit 54, batchcount 27.
  expect_layout(m.create("k1000", 1000), {1000, 4, 0, 54, 27, 8, SlabMgmt::objfreelist});
  // 3000: order 0 leaves 1096 bytes (too much), order 1 holds 2 and stops at slab_max_order.
  expect_layout(m.create("k3000", 3000), {3000, 2, 1, 24, 12, 8, SlabMgmt::objfreelist});
  // Larger than a page: limit 8, and no shared array.
  expect_layout(m.create("k5000", 5000), {5000, 1, 1, 8, 4, 0, SlabMgmt::objfreelist});
  // SLAB_RECLAIM_ACCOUNT stops at the first order that fits.
  CacheFlags reclaim;
  reclaim.reclaim_account = true;
  expect_layout(m.create("reclaim3000", 3000, reclaim),
                {3000, 1, 0, 24, 12, 8, SlabMgmt::objfreelist});
  // SLAB_HWCACHE_ALIGN: 100 bytes align to a cache line, 128.
  CacheFlags hw;
  hw.hwcache_align = true;
  expect_layout(m.create("hw100", 100, hw), {128, 32, 0, 120, 60, 8, SlabMgmt::objfreelist});
  // A constructor forbids OBJFREELIST; 1024-byte objects leave no room for 4 indices on the
  // slab, and kmalloc-32 (<= 512) is worth it: OFF_SLAB.
  CacheFlags ctor;
  ctor.has_ctor = true;
  SlabCache* off = m.create("ctor1024", 1024, ctor);
  expect_layout(off, {1024, 4, 0, 54, 27, 8, SlabMgmt::off_slab});
  EXPECT_EQ(off->freelist_cache, m.slab.kmalloc_slab(32));
  // 200 bytes with a constructor: 20 indices fit in the 96 bytes left, so on-slab after all
  // (4096 / 201 = 20).
  expect_layout(m.create("ctor200", 200, ctor), {200, 20, 0, 120, 60, 8, SlabMgmt::on_slab});
  // The per-node limit: (1 + CPUs of the node) * batchcount + objects per slab.
  EXPECT_EQ(m.find("k1000")->get_node(1)->free_limit, 3u * 27 + 4);
  // The shared array holds shared * batchcount objects; alien caches 12.
  EXPECT_EQ(m.find("k1000")->get_node(0)->shared->limit, 8u * 27);
  EXPECT_EQ(m.find("k1000")->get_node(0)->alien->caches[1]->ac.limit, 12u);
  EXPECT_EQ(m.find("k5000")->get_node(0)->shared, nullptr);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabTunables, ImpossibleCachesFailAsTheKernelLogsIt) {
  SlabMachine m(two_nodes());
  EXPECT_EQ(m.slab.kmem_cache_create("zero", 0, 0, {}), nullptr);
  EXPECT_EQ(m.slab.kmem_cache_create("huge", 5u << 20, 0, {}), nullptr);
  ASSERT_EQ(m.slab.kernel_log().size(), 2u);
  EXPECT_EQ(m.slab.kernel_log()[0].rfind("kmem_cache_create(zero) failed with error -22", 0), 0u);
  EXPECT_EQ(m.slab.kernel_log()[1].rfind("kmem_cache_create(huge) failed with error -7", 0), 0u);
  EXPECT_EQ(m.new_violations(), 0);  // the kmem_cache objects went back
}

// ---------------------------------------------------------------------------------------------
// Allocation and free paths

TEST(SlabAlloc, HitMissAndRefillBatch) {
  SlabMachine m(two_nodes());
  CacheFlags hw;
  hw.hwcache_align = true;
  SlabCache* c = m.create("c", 100, hw);  // 128 bytes, 32 per slab, batchcount 60
  // First allocation: a miss; the untouched array refills at most BATCHREFILL_LIMIT (16); the
  // node has nothing, so one new slab gives 16 objects, one of which is returned.
  const ObjectRef first = m.alloc(c, 0);
  EXPECT_EQ(first.node, 0);
  EXPECT_EQ(c->allocmiss, 1u);
  EXPECT_EQ(c->cpu_cache[0].avail(), 15u);
  EXPECT_EQ(c->grown, 1u);
  EXPECT_EQ(c->num_allocations, 16u);
  const SlabCacheNode* n = c->get_node(0);
  EXPECT_EQ(n->free_objects, 16u);
  EXPECT_EQ(n->slabs_partial.size(), 1u);
  // 15 hits empty the array.
  for (int i = 0; i < 15; ++i)
    m.alloc(c, 0);
  EXPECT_EQ(c->allochit, 15u);
  EXPECT_EQ(c->cpu_cache[0].avail(), 0u);
  // The next miss refills a whole batchcount (the array is touched): the 16 left on the
  // partial slab, no more slabs, no growth.
  m.alloc(c, 0);
  EXPECT_EQ(c->allocmiss, 2u);
  EXPECT_EQ(c->grown, 1u);
  EXPECT_EQ(c->num_allocations, 32u);
  EXPECT_EQ(c->cpu_cache[0].avail(), 15u);
  EXPECT_EQ(n->free_objects, 0u);
  EXPECT_EQ(n->slabs_full.size(), 1u);
  EXPECT_TRUE(n->free_touched);  // get_first_slab() looked at the free list
  EXPECT_EQ(c->high_mark, 32u);
  const CacheReport r = m.slab.cache_report(c, {});
  EXPECT_EQ(r.objects_in_use, 17u);  // array-cached objects are not in use
  EXPECT_EQ(counter(r, "allochit"), 15u);
  EXPECT_EQ(counter(r, "allocmiss"), 2u);
  EXPECT_FALSE(r.alloc_node_mismatch.has_value());
  EXPECT_EQ(m.env.irq_depth, 0);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabFree, HitMissFlusharrayIntoSharedThenFreeBlock) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1500);  // 1504 bytes: limit 24, batchcount 12, shared 96
  ASSERT_EQ(c->limit, 24u);
  std::vector<ObjectRef> objs;
  for (int i = 0; i < 132; ++i)
    objs.push_back(m.alloc(c, 0));
  const SlabCacheNode* n = c->get_node(0);
  ASSERT_EQ(n->shared->limit, 96u);
  // CPU 1 (node 0) frees them all into its empty array: 24 hits fill it; then each miss moves
  // batchcount (12) objects, eight times into the shared array (96), the ninth time, with the
  // shared array full, into the slabs (free_block); 11 hits follow each miss.
  unsigned long free_before = 0;
  for (int i = 0; i < 132; ++i) {
    if (i == 24 + 12 * 8) free_before = n->free_objects;  // just before the ninth miss
    m.free(c, objs[i], 1);
  }
  EXPECT_EQ(c->freehit, 24u + 9 * 11);
  EXPECT_EQ(c->freemiss, 9u);
  EXPECT_EQ(n->shared->avail(), 96u);
  EXPECT_EQ(c->cpu_cache[1].avail(), 24u);
  EXPECT_EQ(n->free_objects, free_before + 12);
  EXPECT_EQ(c->node_frees, 0u);  // all local
  EXPECT_EQ(m.slab.cache_report(c, {}).objects_in_use, 0u);
  EXPECT_EQ(m.new_violations(), 0);
  // Another CPU of the node refills from the shared array first.
  const std::size_t shared_before = n->shared->avail();
  while (c->cpu_cache[0].avail())
    m.alloc(c, 0);  // CPU 0's leftovers from its refills
  const auto grown = c->grown;
  m.alloc(c, 0);
  EXPECT_EQ(c->grown, grown);
  EXPECT_LT(n->shared->avail(), shared_before);
  EXPECT_TRUE(n->shared->touched);
}

TEST(SlabFree, FreeLimitReleasesSurplusFreeSlabs) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("big", 5000);  // 1 object per order-1 slab; limit 8, batchcount 4
  const SlabCacheNode* n = c->get_node(0);
  ASSERT_EQ(n->free_limit, 3u * 4 + 1);  // 13
  std::vector<ObjectRef> objs;
  const std::uint64_t slabs_before = m.slab.slabs_allocated();
  for (int i = 0; i < 40; ++i)
    objs.push_back(m.alloc(c, 0));
  // Each allocation finds nothing and grows a slab (one object each).
  EXPECT_EQ(c->allocmiss, 40u);
  EXPECT_EQ(c->grown, 40u);
  EXPECT_EQ(m.slab.slabs_allocated(), slabs_before + 40);
  const std::uint64_t free_pages_before = m.pages.free_pages(0);
  for (auto& o : objs)
    m.free(c, o, 0);
  // 8 hits fill the array, then 8 rounds of (miss: free_block() of batchcount 4; 3 hits).
  // free_block() keeps at most free_limit (13) free objects, one per free slab: 4, 8, 12,
  // then 16 -> 13 (3 slabs destroyed), then 17 -> 13 four times (4 each): 32 objects went
  // back, 13 free slabs stay, 19 were destroyed.
  EXPECT_EQ(c->freehit, 32u);
  EXPECT_EQ(c->freemiss, 8u);
  EXPECT_EQ(n->free_objects, 13u);
  EXPECT_EQ(n->free_slabs, 13u);
  EXPECT_EQ(n->total_slabs, 8u + 13);  // 8 full slabs behind the 8 array-cached objects
  EXPECT_EQ(c->max_freeable, 13u);
  EXPECT_EQ(m.pages.free_pages(0), free_pages_before + 19 * 2);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabFree, RemoteObjectGoesToTheAlienCacheAndOverflowDrainsItToTheSharedArray) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);  // alien caches of 12
  std::vector<ObjectRef> objs;
  for (int i = 0; i < 13; ++i) {
    objs.push_back(m.alloc(c, 0));
    ASSERT_EQ(objs.back().node, 0);
  }
  AlienCache* alc = c->get_node(1)->alien->caches[0].get();
  ASSERT_NE(alc, nullptr);
  const std::size_t events = m.env.events.size();
  for (int i = 0; i < 12; ++i)
    m.free(c, objs[i], 2);  // CPU 2 is on node 1
  EXPECT_EQ(c->node_frees, 12u);
  EXPECT_EQ(alc->ac.avail(), 12u);
  EXPECT_EQ(c->freehit + c->freemiss, 0u);
  EXPECT_EQ(c->cpu_cache[2].avail(), 0u);
  // The 13th finds the alien cache full: NODEOVERFLOW, and its 12 objects go to node 0's
  // shared array under node 0's list_lock.
  m.free(c, objs[12], 2);
  EXPECT_EQ(c->node_frees, 13u);
  EXPECT_EQ(c->node_overflow, 1u);
  EXPECT_EQ(alc->ac.avail(), 1u);
  EXPECT_EQ(c->get_node(0)->shared->avail(), 12u);
  std::vector<std::string> seq = m.env.acquisitions(events);
  EXPECT_EQ(seq.front(), "&alc->lock");
  EXPECT_EQ(seq.back(), "&parent->list_lock");  // nested inside the alien lock at the overflow
  // cache_reap() on CPU 2 drains the alien cache of its slab_reap_node (node 0) round robin.
  EXPECT_EQ(m.slab.reap_node(2), 0);
  m.env.cpu = 2;
  m.slab.cache_reap();
  EXPECT_EQ(alc->ac.avail(), 0u);
  EXPECT_EQ(c->get_node(0)->shared->avail(), 13u);
  EXPECT_EQ(m.slab.reap_node(2), 1);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabFree, WithoutAlienCachesARemoteFreeGoesStraightToTheSlab) {
  SlabParams p;
  p.use_alien_caches = false;
  SlabMachine m(two_nodes(), "slab_nodes_nocpu", p);
  SlabCache* c = m.create("c", 1000);
  EXPECT_EQ(c->get_node(0)->alien, nullptr);
  const ObjectRef o = m.alloc(c, 0);
  const unsigned long before = c->get_node(0)->free_objects;
  m.free(c, o, 2);
  EXPECT_EQ(c->node_frees, 1u);
  EXPECT_EQ(c->node_overflow, 0u);
  EXPECT_EQ(c->get_node(0)->free_objects, before + 1);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabAlloc, OffSlabFreelistsAreKmallocObjectsOfTheSlabsNode) {
  SlabMachine m(two_nodes());
  CacheFlags ctor;
  ctor.has_ctor = true;
  SlabCache* c = m.create("ctor1024", 1024, ctor);
  ASSERT_EQ(c->mgmt, SlabMgmt::off_slab);
  SlabCache* k32 = m.slab.kmalloc_slab(32);
  const std::uint64_t in_use = m.slab.cache_report(k32, {}).objects_in_use;
  const ObjectRef o = m.alloc(c, 2);  // a slab of node 1
  ASSERT_EQ(o.node, 1);
  const SlabPage* page = static_cast<const SlabPage*>(o.slab);
  ASSERT_TRUE(page->freelist_object);
  EXPECT_EQ(page->freelist_object.node, 1);  // alloc_slabmgmt() on the slab's node
  EXPECT_EQ(m.slab.cache_report(k32, {}).objects_in_use, in_use + 1);
  m.free(c, o, 2);
  m.env.cpu = 2;
  EXPECT_EQ(m.slab.kmem_cache_shrink(c), 0);  // slab_destroy() gives the index array back
  EXPECT_EQ(m.slab.cache_report(k32, {}).objects_in_use, in_use);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabAllocNode, RemoteNodeGrowsThereAndCountsNodeAllocs) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);
  // Node 1 from CPU 0: ____cache_alloc_node(); its lists are empty, so a slab of node 1 is
  // grown (__GFP_THISNODE) and the object taken before cache_grow_end(): no NODEALLOCS yet.
  const ObjectRef a = m.alloc(c, 0, 1);
  EXPECT_EQ(a.node, 1);
  EXPECT_EQ(c->grown, 1u);
  EXPECT_EQ(c->node_allocs, 0u);
  EXPECT_EQ(c->get_node(1)->free_objects, 3u);
  // The next comes from node 1's partial slab: NODEALLOCS.
  const ObjectRef b = m.alloc(c, 0, 1);
  EXPECT_EQ(b.node, 1);
  EXPECT_EQ(c->node_allocs, 1u);
  EXPECT_EQ(c->allochit + c->allocmiss, 0u);  // the per-CPU array was never used
  EXPECT_EQ(c->fallback_to_no_node[1], 0u);
  EXPECT_EQ(m.new_violations(), 0);
}

TEST(SlabAllocNode, NodeWithoutItsStructFallsBack) {
  SlabMachine m(with_absent_node());
  SlabCache* c = m.create("c", 1000);
  EXPECT_EQ(c->get_node(2), nullptr);  // node 2 is not online yet
  ASSERT_EQ(m.hotplug.add_memory(first_block(m.layout, 2)), 0);
  EXPECT_TRUE(m.states.test(2, NodeState::online));
  EXPECT_EQ(c->get_node(2), nullptr);  // hot-add runs no SLAB callback
  // An online node without memory or CPUs needs no struct yet: no violation.
  EXPECT_EQ(m.new_violations(), 0);
  // get_node() is NULL: fallback_alloc(): no node of CPU 0's zonelist has free objects, so a
  // slab grows where the page allocator puts it (node 0) and the object comes from there.
  const ObjectRef o = m.alloc(c, 0, 2);
  EXPECT_EQ(o.node, 0);
  EXPECT_EQ(c->fallback_to_no_node[2], 1u);
  EXPECT_EQ(c->node_allocs, 1u);
  EXPECT_EQ(c->grown, 1u);
  EXPECT_EQ(m.new_violations(), 0);
}

// ---------------------------------------------------------------------------------------------
// Memory hotplug

// try_remove_memory() (v6.1): an online block in the range refuses the whole removal with
// -EBUSY and a log line (check_memblock_offlined_cb()); offline blocks become absent, and
// try_offline_node() takes the node out of N_ONLINE once it has no block and no CPU left.
TEST(MemoryRemove, OnlyOfflineRangesGoAndAnEmptiedNodeGoesOffline) {
  SlabMachine m(with_absent_node());
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.add_memory(block), 0);
  ASSERT_EQ(m.hotplug.add_memory(block + 1), 0);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::movable), 0);
  EXPECT_EQ(m.hotplug.remove_memory({block, block + 1}), -16);
  EXPECT_EQ(m.pages.block_state(block + 1), BlockPresence::offline) << "nothing removed";
  ASSERT_FALSE(m.hotplug.log().empty());
  EXPECT_NE(m.hotplug.log().back().find("removing memory fails, because memory"),
            std::string::npos);
  EXPECT_EQ(m.hotplug.remove_memory({block + 1}), 0);
  EXPECT_EQ(m.pages.block_state(block + 1), BlockPresence::absent);
  EXPECT_TRUE(m.states.test(2, NodeState::online)) << "block is still present";
  ASSERT_EQ(m.hotplug.offline_pages(block), 0);
  EXPECT_EQ(m.hotplug.remove_memory({block}), 0);
  EXPECT_FALSE(m.states.test(2, NodeState::online));
  EXPECT_EQ(m.hotplug.remove_memory({block}), -16) << "absent: nothing to remove";
  // A node with a CPU stays online without memory (check_cpu_on_node()).
  MachineLayout with_cpu = with_absent_node();
  with_cpu.cpu_node.push_back(2);
  SlabMachine n(with_cpu);
  ASSERT_EQ(n.hotplug.add_memory(block), 0);
  EXPECT_EQ(n.hotplug.remove_memory({block}), 0);
  EXPECT_TRUE(n.states.test(2, NodeState::online));
}

TEST(SlabMemoryHotplug, GoingOnlineCreatesNodeStructsAndASecondOnlineReusesThem) {
  SlabMachine m(with_absent_node());
  m.slab.set_slab_nomerge(true);
  SlabCache* c = m.create("c", 1000);
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.add_memory(block), 0);
  ASSERT_EQ(m.hotplug.add_memory(block + 1), 0);
  // Created once the hot-add put node 2 in N_ONLINE: setup_kmem_cache_nodes() gives it its node
  // 2 struct, which the going-online callback then finds (init_cache_node()'s early return):
  // neither allocated there nor reused.
  SlabCache* after_add = m.create("after_add", 1000);
  ASSERT_NE(after_add->get_node(2), nullptr);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  const std::uint64_t caches = m.slab.slab_caches().size();
  EXPECT_EQ(m.slab.hotplug_node_structs().allocated, caches - 1);
  EXPECT_EQ(m.slab.hotplug_node_structs().reused, 0u);
  ASSERT_NE(c->get_node(2), nullptr);
  // init_cache_node() only: no shared array and no alien caches for a memory-only node.
  EXPECT_EQ(c->get_node(2)->shared, nullptr);
  EXPECT_EQ(c->get_node(2)->alien, nullptr);
  EXPECT_EQ(c->get_node(2)->free_limit, 1u * 27 + 4);  // no CPUs on node 2
  // The struct came from kmalloc_node() while node 2 had no memory: off-node.
  EXPECT_NE(c->get_node(2)->backing.node, 2);
  // A second block of a node with memory flips nothing: no callback work.
  ASSERT_EQ(m.hotplug.online_pages(block + 1, ZoneType::normal), 0);
  EXPECT_EQ(m.slab.hotplug_node_structs().allocated, caches - 1);
  // Both blocks offline (the node leaves N_MEMORY on the last) and online again: the structs
  // were never freed, so MEM_GOING_ONLINE reuses them.
  ASSERT_EQ(m.hotplug.offline_pages(block + 1), 0);
  ASSERT_EQ(m.hotplug.offline_pages(block), 0);
  EXPECT_FALSE(m.states.test(2, NodeState::memory));
  EXPECT_NE(c->get_node(2), nullptr);
  EXPECT_EQ(m.slab.hotplug_node_structs().freed, 0u);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  EXPECT_EQ(m.slab.hotplug_node_structs().reused, caches);
  EXPECT_EQ(m.slab.hotplug_node_structs().allocated, caches - 1);
  EXPECT_EQ(m.new_violations(), 0);
  EXPECT_FALSE(m.env.anything_held());
}

TEST(SlabMemoryHotplug, GoingOfflineVetoesWhileSlabsAreInUseAndDrainsFreeSlabs) {
  SlabMachine m(with_absent_node());
  m.slab.set_slab_nomerge(true);  // "late" would otherwise be "early" (__kmem_cache_alias())
  SlabCache* early = m.create("early", 1000);  // before node 2: no shared/alien caches for it
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.add_memory(block), 0);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  SlabCache* late = m.create("late", 1000);  // node 2 online: shared array and alien caches
  ASSERT_EQ(early->get_node(2)->shared, nullptr);
  ASSERT_NE(late->get_node(2)->shared, nullptr);
  const ObjectRef a = m.alloc(early, 0, 2), b = m.alloc(early, 0, 2);
  const ObjectRef x = m.alloc(late, 0, 2), y = m.alloc(late, 0, 2);
  ASSERT_EQ(a.node, 2);
  ASSERT_EQ(x.node, 2);
  // offline_pages() cannot even isolate a block with slab pages, so SLAB's veto is driven
  // through the callback directly, as offlining node 2's last block would call it.
  MemoryNotify arg;
  arg.status_change_nid = 2;
  m.env.cpu = 0;
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, arg), -ebusy);
  // Other actions do nothing; the structs survive MEM_OFFLINE.
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::offline, arg), 0);
  EXPECT_NE(early->get_node(2), nullptr);
  // Freed on CPU 0: node 0's alien array of "early" predates node 2, so its objects go
  // straight back to their slab, which becomes free (free_limit 31 keeps it).
  m.free(early, a, 0);
  m.free(early, b, 0);
  EXPECT_EQ(early->get_node(2)->slabs_free.size(), 1u);
  // "late" parks them in node 0's alien cache for node 2; they still pin the slab, since
  // drain_cache_node_node() looks at no array cache.
  m.free(late, x, 0);
  m.free(late, y, 0);
  EXPECT_EQ(late->get_node(0)->alien->caches[2]->ac.avail(), 2u);
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, arg), -ebusy);
  // cache_reap() on CPU 0 drains alien caches round robin: node 1 first, then node 2, into
  // node 2's shared array (no CPU of node 2 ever reaps it): still pinned.
  m.env.cpu = 0;
  m.slab.cache_reap();
  EXPECT_EQ(late->get_node(0)->alien->caches[2]->ac.avail(), 2u);
  m.slab.cache_reap();
  EXPECT_EQ(late->get_node(0)->alien->caches[2]->ac.avail(), 0u);
  EXPECT_EQ(late->get_node(2)->shared->avail(), 2u);
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, arg), -ebusy);
  // kmem_cache_shrink() empties every array, but "late" was set up with node 2 online, so its
  // node struct, shared array and alien caches for node 2 are kmalloc objects ON node 2: they
  // pin kmalloc slabs there.
  EXPECT_EQ(m.slab.kmem_cache_shrink(late), 0);
  EXPECT_EQ(late->get_node(2)->backing.node, 2);
  const std::uint64_t free_before = m.pages.free_pages(2);
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, arg), -ebusy);
  // The vetoing call still drained the free lists of the caches it walked before the busy
  // one (newest first: "late", then "early", then the kmalloc caches): early's slab is gone.
  EXPECT_EQ(early->get_node(2)->total_slabs, 0u);
  EXPECT_EQ(m.pages.free_pages(2), free_before + 1);
  // Destroying "late" frees its structs (straight back to node 2's slabs: the kmalloc caches
  // predate node 2 and have no alien caches for it); the callback then frees those slabs and
  // node 2 is all free again.
  EXPECT_EQ(m.slab.kmem_cache_destroy(late), 0);
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, arg), 0);
  EXPECT_EQ(m.pages.free_pages(2), m.pages.managed_pages(2, ZoneType::normal));
  // status_change_nid -1 (the node keeps memory): nothing at all.
  EXPECT_EQ(m.slab.slab_memory_callback(MemoryAction::going_offline, MemoryNotify{}), 0);
  EXPECT_EQ(m.new_violations(), 0);
  EXPECT_FALSE(m.env.anything_held());
}

class SlabPerStrategy : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Presets, SlabPerStrategy,
                         ::testing::Values("mutex_only", "hotplug_lock_sysfs", "hotplug_lock",
                                           "shrink_slab_mutex", "slab_nodes", "slab_nodes_nocpu"),
                         [](const auto& info) { return info.param; });

// The 03afc0e25f7f window does not exist in SLAB: N_ONLINE is set at hot-add, long before
// MEM_GOING_ONLINE, and setup_kmem_cache_nodes() walks N_ONLINE.
TEST_P(SlabPerStrategy, CacheCreatedWhileANodeGoesOnlineHasTheNode) {
  SlabMachine m(with_absent_node(), GetParam());
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.add_memory(block), 0);
  Cache* late = nullptr;
  bool blocked = false;
  m.hotplug.on_step = [&](HotplugStep step) {
    if (step != HotplugStep::going_online_notified) return;
    m.env.cpu = 1;  // another CPU creates a cache right now
    try {
      late = m.slab.kmem_cache_create("late", 128, 0, {});
    } catch (const WouldBlock&) {
      blocked = true;  // the strategy's get_online_mems() waits for online_pages()
      m.env.release(1, LockClass::cpu_hotplug_lock, LockMode::read);
    }
    m.env.cpu = 0;
  };
  m.env.cpu = 0;
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  m.hotplug.on_step = nullptr;
  EXPECT_TRUE(m.env.misuse.empty());
  const Strategy& s = m.slab.strategy();
  bool takes_mems = false;
  for (const LockStep& step : s.create_locks)
    takes_mems |= step.cls == LockClass::mem_hotplug_lock;
  EXPECT_EQ(blocked, takes_mems);
  if (blocked) late = m.slab.kmem_cache_create("late", 128, 0, {});  // after the wait
  ASSERT_NE(late, nullptr);
  EXPECT_NE(static_cast<SlabCache*>(late)->get_node(2), nullptr);
  EXPECT_TRUE(m.slab.node_usable(2));
  EXPECT_EQ(m.new_violations(), 0);
  for (const auto& v : m.slab.violations())
    ADD_FAILURE() << v.what;
  // Allocating on the new node works without fallback.
  const ObjectRef o = m.alloc(static_cast<SlabCache*>(late), 0, 2);
  EXPECT_EQ(o.node, 2);
  EXPECT_EQ(late->fallback_to_no_node[2], 0u);
}

// ---------------------------------------------------------------------------------------------
// CPU hotplug

TEST(SlabCpuHotplug, DeadCpuEmptiesItsArrayAndTheLastOneOfANodeDropsSharedAndAlien) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);
  SlabCacheNode* n = c->get_node(1);
  ASSERT_EQ(n->free_limit, 85u);  // (1 + 2) * 27 + 4
  m.alloc(c, 3);                  // leaves 3 objects in CPU 3's array
  ASSERT_EQ(c->cpu_cache[3].avail(), 3u);
  m.env.cpu = 0;  // the CPU running the hotplug operation
  m.slab.dead_cpu(3);
  EXPECT_FALSE(m.slab.cpu_online(3));
  EXPECT_EQ(c->cpu_cache[3].avail(), 0u);
  EXPECT_EQ(n->free_limit, 58u);
  EXPECT_NE(n->shared, nullptr);  // CPU 2 is still on node 1
  // The dead CPU's 3 objects went back and the free slab was then drained.
  EXPECT_EQ(n->total_slabs, 1u);
  EXPECT_EQ(n->free_objects, 3u);
  m.slab.dead_cpu(2);
  EXPECT_EQ(n->free_limit, 31u);
  EXPECT_EQ(n->shared, nullptr);
  EXPECT_EQ(n->alien, nullptr);
  EXPECT_EQ(c->get_node(1), n);  // node structs survive
  EXPECT_EQ(m.new_violations(), 0);
  // Coming back: cpuup_prepare() recreates the shared array and alien caches; free_limit is
  // computed before the CPU joins its node mask.
  EXPECT_EQ(m.slab.prepare_cpu(2), 0);
  EXPECT_TRUE(m.slab.cpu_online(2));
  EXPECT_NE(n->shared, nullptr);
  ASSERT_NE(n->alien, nullptr);
  EXPECT_NE(n->alien->caches[0], nullptr);
  EXPECT_EQ(n->free_limit, 31u);
  EXPECT_EQ(m.slab.prepare_cpu(3), 0);
  EXPECT_EQ(n->free_limit, 58u);
  const auto seq = m.env.acquisitions();
  EXPECT_NE(std::find(seq.begin(), seq.end(), "slab_mutex"), seq.end());
  EXPECT_FALSE(m.env.anything_held());
  EXPECT_EQ(m.new_violations(), 0);
}

// ---------------------------------------------------------------------------------------------
// cache_reap()

TEST(SlabReap, SkipsTheRoundWhenSlabMutexIsHeld) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);
  m.alloc(c, 0);
  c->cpu_cache[0].touched = false;
  m.env.hold(1, LockClass::slab_mutex, LockMode::exclusive);
  m.env.cpu = 0;
  m.slab.cache_reap();
  EXPECT_EQ(m.slab.reap_rounds_skipped(), 1u);
  EXPECT_EQ(c->cpu_cache[0].avail(), 3u);  // untouched: nothing drained
  m.env.release(1, LockClass::slab_mutex, LockMode::exclusive);
  m.slab.cache_reap();
  EXPECT_EQ(m.slab.reap_rounds_skipped(), 1u);
  EXPECT_EQ(c->cpu_cache[0].avail(), 1u);  // (3 + 1) / 2 freed: (limit + 4) / 5 = 11 > 3
  EXPECT_EQ(m.slab.reap_interval_ns(), 2'000'000'000);
}

TEST(SlabReap, TouchedArraysAreSkippedOnceAndFreeSlabsReapedByTheKernelCount) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("big", 5000);  // 1 object per slab, limit 8, batchcount 4
  SlabCacheNode* n = c->get_node(0);
  ASSERT_EQ(n->free_limit, 13u);
  std::vector<ObjectRef> objs;
  for (int i = 0; i < 20; ++i)
    objs.push_back(m.alloc(c, 0));
  for (auto& o : objs)
    m.free(c, o, 0);
  // 8 hits and 3 flushes of 4: 12 free slabs, 8 objects in CPU 0's array.
  ASSERT_EQ(n->slabs_free.size(), 12u);
  ASSERT_EQ(c->cpu_cache[0].avail(), 8u);
  ASSERT_TRUE(c->cpu_cache[0].touched);  // the allocations touched it
  ASSERT_FALSE(n->free_touched);         // every refill grew directly, never looked
  m.env.cpu = 0;
  m.env.time = n->next_reap;  // the node's REAPTIMEOUT_NODE is due
  const std::int64_t start = m.env.time;
  m.slab.cache_reap();
  // Touched: left alone this round, flag cleared. Node part: (13 + 5 - 1) / 5 = 3 free slabs.
  EXPECT_EQ(c->cpu_cache[0].avail(), 8u);
  EXPECT_FALSE(c->cpu_cache[0].touched);
  EXPECT_EQ(c->reaped, 3u);
  EXPECT_EQ(n->slabs_free.size(), 9u);
  EXPECT_GE(n->next_reap, start + m.slab.reap_node_interval_ns());
  EXPECT_LE(n->next_reap, m.env.time + m.slab.reap_node_interval_ns());
  // One REAPTIMEOUT_AC later: the array gives (8 + 4) / 5 = 2; the node part is not due.
  m.env.time += m.slab.reap_interval_ns();
  m.slab.cache_reap();
  EXPECT_EQ(c->cpu_cache[0].avail(), 6u);
  EXPECT_EQ(n->slabs_free.size(), 11u);
  EXPECT_EQ(c->reaped, 3u);
  // Another one: 2 more from the array, and the node part again.
  m.env.time += m.slab.reap_interval_ns();
  m.slab.cache_reap();
  EXPECT_EQ(c->cpu_cache[0].avail(), 4u);
  EXPECT_EQ(c->reaped, 6u);
  EXPECT_EQ(n->slabs_free.size(), 10u);
  // A node whose free list was looked at since is skipped once.
  n->free_touched = true;
  m.env.time += m.slab.reap_node_interval_ns();
  m.slab.cache_reap();
  EXPECT_EQ(c->reaped, 6u);
  EXPECT_FALSE(n->free_touched);
  EXPECT_EQ(m.new_violations(), 0);
}

// ---------------------------------------------------------------------------------------------
// Shrink and destroy

TEST(SlabShrinkDestroy, ShrinkDrainsEveryArrayAndDestroyFailsWithObjects) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);
  std::vector<ObjectRef> objs;
  for (int i = 0; i < 10; ++i)
    objs.push_back(m.alloc(c, 0));
  const ObjectRef keep = m.alloc(c, 2);
  for (auto& o : objs)
    m.free(c, o, 1);
  m.env.cpu = 0;
  EXPECT_EQ(m.slab.kmem_cache_shrink(c), 1);  // `keep` holds a slab of node 1
  for (const ArrayCache& ac : c->cpu_cache)
    EXPECT_EQ(ac.avail(), 0u);
  EXPECT_EQ(c->get_node(0)->shared->avail(), 0u);
  EXPECT_EQ(c->get_node(0)->total_slabs, 0u);
  EXPECT_EQ(c->get_node(1)->total_slabs, 1u);
  EXPECT_EQ(m.new_violations(), 0);

  EXPECT_EQ(m.slab.kmem_cache_destroy(c), -ebusy);
  ASSERT_FALSE(m.slab.kernel_log().empty());
  EXPECT_EQ(m.slab.kernel_log().back(), "kmem_cache_destroy c: Slab cache still has objects");
  EXPECT_EQ(m.slab.slab_common().find_cache("c"), c);  // stays listed
  m.free(c, keep, 2);
  m.env.cpu = 0;
  EXPECT_EQ(m.slab.kmem_cache_shrink(c), 0);

  // A clean destroy gives everything back: the struct, node structs, arrays, slabs.
  SlabCache* d = m.create("d", 1000);
  const std::uint64_t kmem_in_use =
      m.slab.cache_report(m.slab.kmem_cache_cache(), {}).objects_in_use;
  const std::uint64_t k128_in_use =
      m.slab.cache_report(m.slab.kmalloc_slab(128), {}).objects_in_use;
  m.free(d, m.alloc(d, 0), 0);
  m.env.cpu = 0;
  std::vector<std::pair<LockClass, std::uint64_t>> locks;  // what the release frees
  for (int nid = 0; nid < 2; ++nid) {
    locks.emplace_back(d->get_node(nid)->lock_class, d->get_node(nid)->lock_instance);
    locks.emplace_back(LockClass::alien_lock,
                       d->get_node(nid)->alien->caches[1 - nid]->lock_instance);
  }
  EXPECT_EQ(m.slab.kmem_cache_destroy(d), 0);
  for (const auto& [cls, instance] : locks)
    EXPECT_TRUE(m.env.lock_was_freed(cls, instance)) << lock_class_name(cls) << instance;
  EXPECT_EQ(m.slab.slab_common().find_cache("d"), nullptr);
  EXPECT_EQ(m.slab.cache_report(m.slab.kmem_cache_cache(), {}).objects_in_use, kmem_in_use - 1);
  // Two node structs and two alien caches of 12 (120 bytes each) were kmalloc-128 objects.
  EXPECT_EQ(m.slab.cache_report(m.slab.kmalloc_slab(128), {}).objects_in_use, k128_in_use - 4);
  EXPECT_EQ(m.new_violations(), 0);
  EXPECT_FALSE(m.env.anything_held());
}

// ---------------------------------------------------------------------------------------------
// /proc/slabinfo and invariants

TEST(SlabSlabinfo, ExactText) {
  SlabMachine m(two_nodes());
  m.create("idle", 64);
  SlabCache* t = m.create("test", 1000);
  for (int i = 0; i < 3; ++i)
    m.alloc(t, 0);
  // "test": one miss grows one slab of 4 and moves all 4 to CPU 0's array (listallocs 4,
  // maxobjs 4, grown 1), two hits follow. The slab is full: free_objects 0, so active_objs
  // = num_objs = 4 (one array-cached object counts as active); 1 active slab of 1; tunables
  // 54 27 8. "idle": 64 bytes, 64 per slab, 120 60 8, nothing else.
  const std::string header =
      "slabinfo - version: 2.1 (statistics)\n"
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
      "tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
      "<sharedavail> : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> "
      "<maxfreeable> <nodeallocs> <remotefrees> <alienoverflow> : cpustat <allochit> "
      "<allocmiss> <freehit> <freemiss>\n";
  const std::string test_row =
      "test                   4      4   1000    4    1 : tunables   54   27    8 : slabdata"
      "      1      1      0 : globalstat       4      4     1    0    0    0    0    0    0"
      " : cpustat      2      1      0      0\n";
  const std::string idle_row =
      "idle                   0      0     64   64    1 : tunables  120   60    8 : slabdata"
      "      0      0      0 : globalstat       0      0     0    0    0    0    0    0    0"
      " : cpustat      0      0      0      0\n";
  const std::string text = m.slab.state().proc_slabinfo();
  ASSERT_EQ(text.substr(0, header.size() + test_row.size() + idle_row.size()),
            header + test_row + idle_row);
  // Then the boot caches, newest first.
  std::vector<std::string> rest;
  for (std::size_t pos = header.size() + test_row.size() + idle_row.size(); pos < text.size();) {
    const std::size_t end = text.find('\n', pos);
    rest.push_back(text.substr(pos, text.find(' ', pos) - pos));
    pos = end + 1;
  }
  ASSERT_EQ(rest.size(), 61u);
  EXPECT_EQ(rest.front(), "dma-kmalloc-4M");
  EXPECT_EQ(rest.back(), "kmem_cache");
  // A remote free and an alien overflow show in globalstat.
  SlabMachine m2(two_nodes());
  SlabCache* r = m2.create("r", 1000);
  m2.free(r, m2.alloc(r, 0), 2);
  const std::string text2 = m2.slab.state().proc_slabinfo();
  const std::string row2 =
      text2.substr(header.size(), text2.find('\n', header.size()) + 1 - header.size());
  EXPECT_EQ(row2,
            "r                      4      4   1000    4    1 : tunables   54   27    8 : slabdata"
            "      1      1      0 : globalstat       4      4     1    0    0    0    0    1    0"
            " : cpustat      0      1      0      0\n");
}

TEST(SlabInvariants, CatchADoubleFree) {
  SlabMachine m(two_nodes());
  SlabCache* c = m.create("c", 1000);
  const ObjectRef o = m.alloc(c, 0);
  m.alloc(c, 0);
  m.free(c, o, 0);
  EXPECT_EQ(m.new_violations(), 0);
  m.free(c, o, 0);  // the kernel would corrupt its array; the model records it
  EXPECT_GE(m.new_violations(), 1);
  bool found = false;
  for (const auto& v : m.slab.violations())
    found |= v.what.find("cached twice") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(SlabInvariants, CatchAMissingNodeStructWhenTheCallbackIsNotRegistered) {
  SlabMachine m(with_absent_node(), "slab_nodes_nocpu", {}, /*register_callback=*/false);
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.add_memory(block), 0);
  EXPECT_EQ(m.new_violations(), 0);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);  // no MEM_GOING_ONLINE work
  EXPECT_GE(m.new_violations(), 1);
  ASSERT_FALSE(m.slab.violations().empty());
  EXPECT_EQ(m.slab.violations()[0].kind, ViolationKind::missing_node);
  EXPECT_NE(m.slab.violations()[0].what.find("no kmem_cache_node for node 2"), std::string::npos);
  EXPECT_EQ(static_cast<Allocator&>(m.slab).sysfs(), nullptr);
}

}  // namespace
}  // namespace slabsim::alloc::testing
