// SLUB's /proc/slabinfo counts (get_slabinfo(); slab_common_test.cpp checks the row layout) and
// /sys/kernel/slab/<cache>/ as SLUB prints them (reference/slub-hotplug.md
// 2.7, 8.5, 8.6 and mistake 1 of 11). Every expected number is worked out by hand from the
// scenario in the comments; the geometry used throughout:
//   2 nodes x 2 CPUs (CPUs 0, 1 on node 0; CPUs 2, 3 on node 1), so calculate_order() starts
//   from 4 * (fls(4) + 1) = 16 objects per slab.
//   256-byte cache: size 256, order 0, 16 objects per slab, min_partial 5, cpu_partial 13.
//   kmem_cache_node: 64 bytes, cache-line aligned: size 64, order 0, 64 objects per slab.
//   kmem_cache: 248 + 2 * 8 = 264 bytes, aligned to 64: size 320, order 1, 25 objects per slab.
#include "allocator/slub/slub_sysfs.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string name_of_row(const std::string& row) {
  return row.substr(0, row.find(' '));
}

class SlubSysfs : public ::testing::Test {
 protected:
  SlubMachine m{small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/4)};
  const std::vector<bool> all_online = std::vector<bool>(4, true);

  void TearDown() override {
    EXPECT_EQ(m.new_violations(), 0);
    for (const auto& v : m.slub.violations())
      ADD_FAILURE() << v.function << ": " << v.what;
    EXPECT_TRUE(m.env.misuse.empty());
  }

  KmemCache* create(const std::string& name, unsigned size, CacheFlags flags = {}) {
    m.env.cpu = 0;
    KmemCache* s = m.create(name, size, 0, flags);
    if (!s) throw std::runtime_error("kmem_cache_create failed");
    return s;
  }
  // A 256-byte cache, with the geometry the expected numbers assume.
  KmemCache* create256(const std::string& name) {
    KmemCache* s = create(name, 256);
    EXPECT_EQ(s->s.size, 256u);
    EXPECT_EQ(s->s.order, 0u);
    EXPECT_EQ(s->s.objects, 16u);
    EXPECT_EQ(s->s.cpu_partial, 13u);
    return s;
  }
  std::vector<Object> fill(KmemCache* s, int cpu, unsigned count, int node = numa_no_node) {
    std::vector<Object> out;
    for (unsigned i = 0; i < count; ++i)
      out.push_back(m.alloc(s, cpu, node));
    return out;
  }
  std::string row(KmemCache* s) {
    for (const auto& line : lines_of(m.slub.state().proc_slabinfo()))
      if (name_of_row(line) == s->name) return line + "\n";
    return "";
  }
  std::string file(KmemCache* s, SlabObjectsFile what) { return show_slab_objects(*s, what); }
};

// After boot (kmem_cache_init(), v5.12): SLUB's header (no CONFIG_DEBUG_SLAB), then the 39
// kmalloc caches of create_kmalloc_caches(), newest first, then the two boot caches.
TEST_F(SlubSysfs, SlabinfoAfterBootHoldsTheKmallocAndBootCaches) {
  const std::string text = m.slub.state().proc_slabinfo();
  const std::string header = print_slabinfo_header(/*debug_slab=*/false);
  EXPECT_EQ(text.substr(0, header.size()), header);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u + 39u + 2u);
  EXPECT_EQ(name_of_row(lines[2]), "dma-kmalloc-8k");
  EXPECT_EQ(name_of_row(lines[2 + 38]), "kmalloc-8");
  EXPECT_EQ(name_of_row(lines[2 + 39]), "kmem_cache_node");
}

// CPU 0 takes 20 objects: the first slab is handed out entirely and dropped (full, on no list)
// when the 17th allocation finds its freelist empty; the second slab has 4 objects out. No
// slab is on a node partial list, so all 32 objects count as active.
TEST_F(SlubSysfs, RowOfAKnownCacheState) {
  KmemCache* s = create256("row-256");
  EXPECT_EQ(row(s),
            "row-256                0      0    256   16    1 : tunables    0    0    0 : "
            "slabdata      0      0      0\n");
  fill(s, 0, 20);
  EXPECT_EQ(row(s),
            "row-256               32     32    256   16    1 : tunables    0    0    0 : "
            "slabdata      2      2      0\n");
  const SlabInfo info = m.slub.get_slabinfo(*s);
  EXPECT_EQ(info.num_objs, 32u);
  EXPECT_EQ(info.active_objs, 32u);
  EXPECT_EQ(info.num_slabs, 2u);
  EXPECT_EQ(info.active_slabs, 2u);
}

// Mistake 1. Scenario (256-byte cache "m1-256"):
//   CPU 0 takes 8 objects: slab A (node 0) is CPU 0's cpu slab, half used.
//   CPU 2 takes 12 objects from node 0: slab B (node 0) becomes CPU 2's cpu slab.
//   CPU 2 then asks for node 1: B no longer matches and is deactivated onto node 0's partial
//   list with 4 free objects; slab C (node 1) becomes CPU 2's cpu slab with 1 object out.
// Objects in use: 8 + 12 + 1 = 21. SLUB only subtracts B's 4 free objects: active = 48 - 4 = 44.
TEST_F(SlubSysfs, CpuSlabFreeObjectsCountAsActiveButNodePartialOnesDoNot) {
  KmemCache* s = create256("m1-256");
  fill(s, 0, 8);
  fill(s, 2, 12, /*node=*/0);
  fill(s, 2, 1, /*node=*/1);
  ASSERT_EQ(s->node[0]->nr_partial, 1u);
  ASSERT_EQ(s->node[0]->partial.front()->inuse, 12);

  EXPECT_EQ(row(s),
            "m1-256                44     48    256   16    1 : tunables    0    0    0 : "
            "slabdata      3      3      0\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects), "44 N0=28 N1=16\n");
  EXPECT_EQ(file(s, SlabObjectsFile::total_objects), "48 N0=32 N1=16\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs), "3 N0=2 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::partial), "1 N0=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects_partial), "12 N0=12\n");
  EXPECT_EQ(file(s, SlabObjectsFile::cpu_slabs), "2 N0=1 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs_cpu_partial), "0(0)\n");

  // Flushing puts A (8 free) on node 0's list and C (15 free) on node 1's: now every free
  // object is on a node partial list and active = 48 - (4 + 8 + 15) = 21, the real count.
  m.env.cpu = 0;
  m.slub.flush_all(s);
  EXPECT_EQ(row(s),
            "m1-256                21     48    256   16    1 : tunables    0    0    0 : "
            "slabdata      3      3      0\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects), "21 N0=20 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::partial), "3 N0=2 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects_partial), "21 N0=20 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::cpu_slabs), "0\n");
}

// objperslab and pagesperslab come from s->oo even when the slab was allocated with the
// fallback order. A 512-byte cache prefers order 1 (16 objects); with every page taken but one
// order-0 page, its first slab falls back to order 0 (8 objects).
TEST_F(SlubSysfs, ObjperslabComesFromThePreferredOrderEvenAfterFallback) {
  KmemCache* s = create("fb-512", 512);
  ASSERT_EQ(s->s.order, 1u);
  ASSERT_EQ(s->s.objects, 16u);
  std::vector<PageBlockRef> hog;
  for (int node = 0; node < 2; ++node)
    while (auto p = m.pages.alloc_pages(node, 0, gfp_thisnode, node))
      hog.push_back(*p);
  m.pages.free_pages(hog.front(), 0);  // one lone order-0 page on node 0
  hog.erase(hog.begin());

  Object o = m.alloc(s, 0);
  EXPECT_EQ(m.stat(s, ORDER_FALLBACK), 1u);
  EXPECT_EQ(o.slab->objects, 8);
  EXPECT_EQ(row(s),
            "fb-512                 8      8    512   16    2 : tunables    0    0    0 : "
            "slabdata      1      1      0\n");
  EXPECT_EQ(file(s, SlabObjectsFile::total_objects), "8 N0=8\n");
  EXPECT_EQ(sysfs_file(*s, "objs_per_slab", all_online), "16\n");
  EXPECT_EQ(sysfs_file(*s, "order", all_online), "1\n");

  m.free(s, o, 0);
  for (const auto& p : hog)
    m.pages.free_pages(p, 0);
}

// slab_caches is walked from its head: newest first, the boot caches last. Creating a cache
// takes a kmem_cache object and one kmem_cache_node object per node, all on CPU 0, as the 39
// kmalloc caches did at boot:
//   kmem_cache: 42 objects, a full slab and 17 of the cpu slab of CPU 0: 50 active of 50.
//   kmem_cache_node: slab N1 (node 0) and N2 (node 1) take turns as CPU 0's cpu slab, each
//   node request deactivating the other; after 42 caches N1 sits on node 0's partial list
//   with 42 objects out (22 free) and N2 is the cpu slab: active = 128 - 22 = 106.
// Booted with slab_nomerge, so that the three caches of one size stay three.
TEST_F(SlubSysfs, CachesAreListedNewestFirstWithBootCachesLast) {
  m.slub.set_slab_nomerge(true);
  create("first", 256);
  create("second", 256);
  create("third", 256);
  const auto lines = lines_of(m.slub.state().proc_slabinfo());
  constexpr std::size_t kmalloc_caches = 39;  // v5.12: normal, -rcl-, dma-
  ASSERT_EQ(lines.size(), 2u + 5u + kmalloc_caches);
  std::vector<std::string> names;
  for (std::size_t i = 2; i < lines.size(); ++i)
    names.push_back(name_of_row(lines[i]));
  EXPECT_EQ(names[0], "third");
  EXPECT_EQ(names[1], "second");
  EXPECT_EQ(names[2], "first");
  // create_kmalloc_caches() adds the kmalloc family after bootstrap() added kmem_cache, then
  // kmem_cache_node, at the head of slab_caches.
  EXPECT_EQ(names[3], "dma-kmalloc-8k");
  EXPECT_EQ(names[3 + kmalloc_caches], "kmem_cache_node");
  EXPECT_EQ(names[4 + kmalloc_caches], "kmem_cache");
  EXPECT_EQ(m.slub.kmem_cache_cache()->refcount, -1) << "boot caches are exempt from merging";
  EXPECT_EQ(sysfs_file(*m.slub.kmem_cache_cache(), "aliases", {true, true, true, true}), "0\n");
  // Exactly the order of slab_caches.
  std::vector<std::string> listed;
  for (const KmemCache* s : m.slub.slab_caches())
    listed.push_back(s->name);
  EXPECT_EQ(names, listed);

  EXPECT_EQ(row(m.slub.kmem_cache_cache()),
            "kmem_cache            50     50    320   25    2 : tunables    0    0    0 : "
            "slabdata      2      2      0\n");
  EXPECT_EQ(row(m.slub.kmem_cache_node_cache()),
            "kmem_cache_node      106    128     64   64    1 : tunables    0    0    0 : "
            "slabdata      2      2      0\n");
  EXPECT_EQ(file(m.slub.kmem_cache_node_cache(), SlabObjectsFile::partial), "1 N0=1\n");
  EXPECT_EQ(file(m.slub.kmem_cache_node_cache(), SlabObjectsFile::cpu_slabs), "1 N1=1\n");
}

// A cache whose destroy failed stays on slab_caches (refcount 0) and keeps its row; aliases_show
// prints refcount - 1 = -1 for it (only a negative refcount is shown as 0).
TEST_F(SlubSysfs, FailedDestroyKeepsTheRowAndShowsMinusOneAliases) {
  KmemCache* s = create256("busy-256");
  EXPECT_EQ(sysfs_file(*s, "aliases", all_online), "0\n");
  Object o = m.alloc(s, 0);
  m.env.cpu = 0;
  EXPECT_EQ(m.slub.kmem_cache_destroy(s), -ebusy);
  EXPECT_EQ(sysfs_file(*s, "aliases", all_online), "-1\n");
  // The destroy flushed CPU 0's slab onto node 0's partial list: 15 free, 1 active.
  EXPECT_EQ(row(s),
            "busy-256               1     16    256   16    1 : tunables    0    0    0 : "
            "slabdata      1      1      0\n");
  EXPECT_EQ(name_of_row(lines_of(m.slub.state().proc_slabinfo())[2]), "busy-256");
  m.free(s, o, 0);
}

// show_stat(): the sum, then " C<cpu>=<n>" for each online CPU with a non-zero count.
// CPU 0 takes and frees 3 objects, CPU 2 takes and frees 2: every free hits its own cpu slab.
TEST_F(SlubSysfs, StatFileLayout) {
  KmemCache* s = create256("st-256");
  auto a = fill(s, 0, 3);
  auto b = fill(s, 2, 2);
  for (auto o : a)
    m.free(s, o, 0);
  for (auto o : b)
    m.free(s, o, 2);
  EXPECT_EQ(sysfs_stat_file(*s, FREE_FASTPATH, all_online), "5 C0=3 C2=2\n");
  // The first allocation of each CPU went through the slow path, the others were fast.
  EXPECT_EQ(sysfs_stat_file(*s, ALLOC_FASTPATH, all_online), "3 C0=2 C2=1\n");
  EXPECT_EQ(sysfs_stat_file(*s, ALLOC_SLOWPATH, all_online), "2 C0=1 C2=1\n");
  EXPECT_EQ(sysfs_stat_file(*s, FREE_SLAB, all_online), "0\n");
  EXPECT_EQ(sysfs_file(*s, "free_fastpath", all_online), "5 C0=3 C2=2\n");
  EXPECT_EQ(sysfs_file(*s, "cmpxchg_double_cpu_fail", all_online), "0\n");

  // Offline CPUs are neither listed nor summed.
  const std::vector<bool> cpu2_offline = {true, true, false, true};
  EXPECT_EQ(sysfs_stat_file(*s, FREE_FASTPATH, cpu2_offline), "3 C0=3\n");
  const std::vector<bool> only_cpu2 = {false, false, true};  // CPU 3 beyond the end: offline
  EXPECT_EQ(sysfs_stat_file(*s, FREE_FASTPATH, only_cpu2), "2 C2=2\n");
}

// show_stat() reads each CPU's counter into an unsigned int.
TEST_F(SlubSysfs, StatFileReadsEachCpuCounterAsUnsignedInt) {
  KmemCache* s = create256("wrap-256");
  s->cpu_slab[1].stat[DEACTIVATE_BYPASS] = (std::uint64_t{1} << 32) + 7;
  s->cpu_slab[3].stat[DEACTIVATE_BYPASS] = 0xFFFFFFFFu;
  EXPECT_EQ(sysfs_stat_file(*s, DEACTIVATE_BYPASS, all_online), "4294967302 C1=7 C3=4294967295\n");
  s->cpu_slab[1].stat[DEACTIVATE_BYPASS] = 0;
  s->cpu_slab[3].stat[DEACTIVATE_BYPASS] = 0;
}

// show_stat() and slabs_cpu_partial_show() stop appending per-CPU entries once the text reaches
// PAGE_SIZE - 20 = 4076 bytes; the sum still covers every online CPU.
TEST_F(SlubSysfs, PerCpuEntriesStopNearPageSize) {
  KmemCache s;
  s.cpu_slab.resize(1000);
  for (auto& c : s.cpu_slab)
    c.stat[FREE_FASTPATH] = 1;
  const std::string text = sysfs_stat_file(s, FREE_FASTPATH, std::vector<bool>(1000, true));
  std::string expected = "1000";
  for (int cpu = 0; cpu < 1000; ++cpu)
    if (expected.size() < 4076) expected += " C" + std::to_string(cpu) + "=1";
  expected += "\n";
  EXPECT_EQ(text, expected);
  EXPECT_LE(text.size(), 4096u);
  EXPECT_EQ(text.find(" C999=1"), std::string::npos);
}

// The cpu_slabs quirk. Scenario (256-byte cache "q-256"):
//   CPU 0 takes 33 objects: slabs A1 and A2 are handed out completely and dropped (full, on no
//   list), slab B is CPU 0's cpu slab with 1 object out.
//   CPU 1, which has no cpu slab, frees one object of A1 and one of A2: each free into a full
//   slab freezes it onto CPU 1's partial list: chain A2 -> A1, pages 2, pobjects 2.
// show_slab_objects(SO_CPU) skips CPU 1 entirely because c->page is NULL.
TEST_F(SlubSysfs, CpuSlabsSkipsACpuThatOnlyHasCpuPartialSlabs) {
  KmemCache* s = create256("q-256");
  auto objs = fill(s, 0, 33);
  m.free(s, objs[0], 1);
  m.free(s, objs[16], 1);
  ASSERT_EQ(m.stat(s, CPU_PARTIAL_FREE), 2u);
  ASSERT_EQ(s->cpu_slab[1].page, nullptr);

  EXPECT_EQ(file(s, SlabObjectsFile::cpu_slabs), "1 N0=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs_cpu_partial), "2(2) C1=2(2)\n");
  EXPECT_EQ(slabs_cpu_partial_show(*s, {true, false, true, true}), "0(0)\n");
  // Nothing is on a node list: all 48 objects are "active" although 31 are in use.
  EXPECT_EQ(file(s, SlabObjectsFile::objects), "48 N0=48\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs), "3 N0=3\n");
  EXPECT_EQ(file(s, SlabObjectsFile::partial), "0\n");
  EXPECT_EQ(row(s),
            "q-256                 48     48    256   16    1 : tunables    0    0    0 : "
            "slabdata      3      3      0\n");
}

// The same with CPU 1 holding a cpu slab D on node 1 first: CPU 1 now counts 1 for D (N1) plus
// the chain head's page->pages = 2, all charged to the head's node (A2, node 0).
TEST_F(SlubSysfs, CpuSlabsCountsTheWholeChainOnTheHeadsNode) {
  KmemCache* s = create256("q2-256");
  auto objs = fill(s, 0, 33);
  Object d = m.alloc(s, 1, /*node=*/1);
  ASSERT_EQ(d.slab->pages.node, 1);
  m.free(s, objs[0], 1);
  m.free(s, objs[16], 1);

  EXPECT_EQ(file(s, SlabObjectsFile::cpu_slabs), "4 N0=3 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs_cpu_partial), "2(2) C1=2(2)\n");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs), "4 N0=3 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::total_objects), "64 N0=48 N1=16\n");
}

// The N<node>= suffixes list only nodes with a non-zero count; a cache whose slabs all live on
// node 1 prints no N0 entry.
TEST_F(SlubSysfs, NodeSuffixesOnlyForNonZeroNodes) {
  KmemCache* s = create256("n1-256");
  EXPECT_EQ(file(s, SlabObjectsFile::slabs), "0\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects), "0\n");
  fill(s, 2, 3);  // CPU 2 is on node 1
  EXPECT_EQ(file(s, SlabObjectsFile::slabs), "1 N1=1\n");
  EXPECT_EQ(file(s, SlabObjectsFile::total_objects), "16 N1=16\n");
  EXPECT_EQ(file(s, SlabObjectsFile::objects), "16 N1=16\n");
  EXPECT_EQ(file(s, SlabObjectsFile::cpu_slabs), "1 N1=1\n");
  EXPECT_EQ(sysfs_file(*s, "objects_partial", all_online), "0\n");
}

// The scalar files. A 200-byte cache-line aligned cache: align 64, size 256, order 0,
// 16 objects, min_partial clamp(ilog2(256) / 2 = 4) = 5, cpu_partial 13 (size >= 256),
// remote_node_defrag_ratio 1000 / 10.
TEST_F(SlubSysfs, ScalarFiles) {
  CacheFlags flags;
  flags.hwcache_align = true;
  KmemCache* s = create("attr-200", 200, flags);
  const SysfsAttributes a = sysfs_attributes(*s);
  EXPECT_EQ(a.slab_size, 256u);
  EXPECT_EQ(a.object_size, 200u);
  EXPECT_EQ(a.objs_per_slab, 16u);
  EXPECT_EQ(a.order, 0u);
  EXPECT_EQ(a.min_partial, 5u);
  EXPECT_EQ(a.cpu_partial, 13u);
  EXPECT_EQ(a.align, 64u);
  EXPECT_EQ(a.aliases, 0);
  EXPECT_EQ(a.remote_node_defrag_ratio, 100u);
  EXPECT_EQ(sysfs_file(*s, "slab_size", all_online), "256\n");
  EXPECT_EQ(sysfs_file(*s, "object_size", all_online), "200\n");
  EXPECT_EQ(sysfs_file(*s, "objs_per_slab", all_online), "16\n");
  EXPECT_EQ(sysfs_file(*s, "order", all_online), "0\n");
  EXPECT_EQ(sysfs_file(*s, "min_partial", all_online), "5\n");
  EXPECT_EQ(sysfs_file(*s, "cpu_partial", all_online), "13\n");
  EXPECT_EQ(sysfs_file(*s, "align", all_online), "64\n");
  EXPECT_EQ(sysfs_file(*s, "aliases", all_online), "0\n");
  EXPECT_EQ(sysfs_file(*s, "remote_node_defrag_ratio", all_online), "100\n");
  EXPECT_EQ(sysfs_file(*s, "hwcache_align", all_online), "1\n");
  EXPECT_EQ(sysfs_file(*s, "red_zone", all_online), "0\n");

  // A 1024-byte cache: order 2, cpu_partial 6; a red-zoned (debug) cache has no cpu partial.
  KmemCache* big = create("big-1024", 1024);
  EXPECT_EQ(sysfs_file(*big, "order", all_online), "2\n");
  EXPECT_EQ(sysfs_file(*big, "cpu_partial", all_online), "6\n");
  EXPECT_EQ(sysfs_file(*big, "min_partial", all_online), "5\n");
  CacheFlags debug;
  debug.red_zone = true;
  KmemCache* dbg = create("dbg-64", 64, debug);
  EXPECT_EQ(sysfs_file(*dbg, "cpu_partial", all_online), "0\n");
  EXPECT_EQ(sysfs_file(*dbg, "red_zone", all_online), "1\n");
  // The boot caches (refcount -1 in the kernel, never merged) show no aliases either.
  EXPECT_EQ(sysfs_attributes(*m.slub.kmem_cache_cache()).aliases, 0);
}

// Every listed file reads; unknown names do not; the attribute order follows slab_attrs[].
TEST_F(SlubSysfs, SysfsFileNames) {
  KmemCache* s = create256("names-256");
  const auto& names = sysfs_file_names();
  for (std::string_view name : names)
    EXPECT_TRUE(sysfs_file(*s, name, all_online).has_value()) << name;
  EXPECT_FALSE(sysfs_file(*s, "ctor", all_online).has_value());
  EXPECT_FALSE(sysfs_file(*s, "no_such_file", all_online).has_value());
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(names[0], "slab_size");
  EXPECT_EQ(names.back(), "cpu_partial_drain");
  const auto fail = std::find(names.begin(), names.end(), "cmpxchg_double_fail");
  const auto cpu_fail = std::find(names.begin(), names.end(), "cmpxchg_double_cpu_fail");
  EXPECT_LT(fail, cpu_fail);
  for (SlabObjectsFile what :
       {SlabObjectsFile::slabs, SlabObjectsFile::objects, SlabObjectsFile::objects_partial,
        SlabObjectsFile::partial, SlabObjectsFile::total_objects, SlabObjectsFile::cpu_slabs,
        SlabObjectsFile::slabs_cpu_partial})
    EXPECT_NE(std::find(names.begin(), names.end(), slab_objects_file_name(what)), names.end());
}

}  // namespace
}  // namespace slabsim::alloc::testing

namespace slabsim::alloc::testing {
namespace {

// The layout the result records: each number field named after a sysfs file holds what the file
// shows; flags by the kernel's names in bit order; v5.12 has no cpu_partial_slabs; a cache
// returned for its own name is merged into nothing, one returned for another name (what
// __kmem_cache_alias() would do) names the cache it got.
TEST_F(SlubSysfs, LayoutIsWhatTheSysfsFilesShow) {
  CacheFlags flags;
  flags.hwcache_align = true;
  flags.red_zone = true;
  flags.reclaim_account = true;
  KmemCache* s = create("layout-200", 200, flags);
  const auto& fields = slub_layout_fields();
  const auto values = cache_layout(fields, *s, "layout-200");
  ASSERT_EQ(values.size(), fields.size());
  const auto& files = sysfs_file_names();
  int from_files = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (std::find(files.begin(), files.end(), fields[i].name) == files.end()) continue;
    ASSERT_EQ(fields[i].type, LayoutType::number) << fields[i].name;
    ASSERT_TRUE(values[i].number) << fields[i].name;
    EXPECT_EQ(sysfs_file(*s, fields[i].name, all_online), fmt::format("{}\n", *values[i].number))
        << fields[i].name;
    ++from_files;
  }
  EXPECT_EQ(from_files, 7);  // order, objs_per_slab, object_size, slab_size, align, min/cpu_partial
  auto value = [&](std::string_view name) {
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [&](const LayoutField& f) { return f.name == name; });
    return values[static_cast<std::size_t>(it - fields.begin())];
  };
  EXPECT_EQ(value("flags").flags, (std::vector<std::string>{"SLAB_RED_ZONE", "SLAB_HWCACHE_ALIGN",
                                                            "SLAB_RECLAIM_ACCOUNT"}));
  EXPECT_FALSE(value("cpu_partial_slabs").number);
  EXPECT_FALSE(value("merged_into").cache);
  EXPECT_EQ(cache_layout(fields, *s, "asked-for-this")[fields.size() - 1].cache, "layout-200");
}

TEST(SlabFlagNames, BitOrderAndCreateMask) {
  CacheFlags all;
  all.red_zone = all.poison = all.hwcache_align = all.store_user = all.reclaim_account =
      all.typesafe_by_rcu = all.has_ctor = true;
  EXPECT_EQ(slab_flag_names(all, {}),
            (std::vector<std::string>{"SLAB_RED_ZONE", "SLAB_POISON", "SLAB_HWCACHE_ALIGN",
                                      "SLAB_STORE_USER", "SLAB_RECLAIM_ACCOUNT",
                                      "SLAB_TYPESAFE_BY_RCU"}));
  // SLOB's CACHE_CREATE_MASK: SLAB_CORE_FLAGS only.
  EXPECT_EQ(slab_flag_names(all, {.debug_flags = false, .cache_flags = false}),
            (std::vector<std::string>{"SLAB_HWCACHE_ALIGN", "SLAB_TYPESAFE_BY_RCU"}));
  EXPECT_TRUE(slab_flag_names({}, {}).empty());
}

// show_slab_objects() SO_ALL (mm/slub.c v5.10): for_each_kmem_cache_node() loads the struct, then
// reads n->nr_slabs with no lock (get_online_mems() left in e4f8e513c3d3, v5.4); under the
// v5.10 preset hotplug_lock slab_mem_offline_callback() frees the struct, so an offline between
// the load and the read is a use-after-free, reported as such.
TEST(SlubSysfsLockless, ShowSlabObjectsV5_10LocklessReadOfAFreedNodeIsAUseAfterFree) {
  MachineLayout l = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/4);
  const int block = static_cast<int>(l.blocks.size());
  add_memory_node(l, 1, BlockPresence::offline);
  SlubMachine m{l, "hotplug_lock"};
  KmemCache* s = m.create("test-256", 256);
  ASSERT_NE(s, nullptr);
  m.env.cpu = 0;
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  ASSERT_NE(s->node[2], nullptr);
  const std::vector<bool> online(s->cpu_slab.size(), true);
  bool fired = false;
  int reads = 0;
  // The lockless reads touch each struct's line, then pay for it: nodes 0 and 1 first, then node
  // 2, whose struct an offline on CPU 3 frees meanwhile.
  m.env.on_sync = [&] {
    if (fired || m.env.touches.empty() || ++reads < 3) return;
    fired = true;
    m.env.cpu = 3;
    EXPECT_EQ(m.hotplug.offline_pages(block), 0);
    m.env.cpu = 0;
  };
  m.env.touches.clear();
  const std::size_t before = m.slub.violations().size();
  m.slub.slab_attr_show(s, "slabs", online);
  m.env.on_sync = nullptr;
  ASSERT_TRUE(fired);
  ASSERT_EQ(m.slub.violations().size(), before + 1);
  const Violation& v = m.slub.violations().back();
  EXPECT_EQ(v.function, "show_slab_objects");
  EXPECT_EQ(v.kind, ViolationKind::use_after_free);
  EXPECT_NE(v.what.find("nr_slabs/total_objects of node 2"), std::string::npos) << v.what;
}

}  // namespace
}  // namespace slabsim::alloc::testing
