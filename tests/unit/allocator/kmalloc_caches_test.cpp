// create_kmalloc_caches() (mm/slab_common.c): the kmalloc family per generation, its names
// (kmalloc_info[]) and its place in SLUB's boot (kmem_cache_init()).
#include "allocator/kmalloc_caches.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "allocator/cache_layout.hpp"
#include "slub/slub_machine.hpp"

using namespace slabsim::alloc;
using namespace slabsim::alloc::testing;

namespace {

std::vector<std::string> family_names(const KmallocFamily& f) {
  std::vector<std::string> names;
  for (const KmallocCache& c : kmalloc_boot_caches(f))
    names.push_back(c.name);
  return names;
}

}  // namespace

// v5.10/v5.12 (and v4.20-v5.13): KMALLOC_NORMAL then KMALLOC_RECLAIM, each from 8 bytes with
// kmalloc-96 after kmalloc-64 and kmalloc-192 after kmalloc-128, then the DMA loop by index from
// 0, so dma-kmalloc-96 and dma-kmalloc-192 come first.
TEST(KmallocFamily, V5_10CreatesNormalThenReclaimThenDmaByIndex) {
  const auto names = family_names(slub_kmalloc_family(SlubVersion::v5_10));
  ASSERT_EQ(names.size(), 39u);
  const std::vector<std::string> normal = {
      "kmalloc-8",   "kmalloc-16",  "kmalloc-32",  "kmalloc-64",  "kmalloc-96",
      "kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
      "kmalloc-2k",  "kmalloc-4k",  "kmalloc-8k"};
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 13), normal);
  EXPECT_EQ(names[13], "kmalloc-rcl-8");
  EXPECT_EQ(names[17], "kmalloc-rcl-96");
  EXPECT_EQ(names[26], "dma-kmalloc-96");
  EXPECT_EQ(names[27], "dma-kmalloc-192");
  EXPECT_EQ(names[28], "dma-kmalloc-8");
  EXPECT_EQ(names.back(), "dma-kmalloc-8k");
  EXPECT_EQ(family_names(slub_kmalloc_family(SlubVersion::v5_12)), names);
}

// v6.1 (v5.14+): one loop over enum kmalloc_cache_type, NORMAL, CGROUP, RECLAIM, DMA; normal
// caches get refcount -1 under CONFIG_MEMCG_KMEM; each type its flag.
TEST(KmallocFamily, V6_1CreatesNormalCgroupReclaimDmaInOneLoop) {
  const auto caches = kmalloc_boot_caches(slub_kmalloc_family(SlubVersion::v6_1));
  ASSERT_EQ(caches.size(), 52u);
  EXPECT_EQ(caches[0].name, "kmalloc-8");
  EXPECT_EQ(caches[0].refcount, -1);
  EXPECT_EQ(caches[13].name, "kmalloc-cg-8");
  EXPECT_TRUE(caches[13].flags.account);
  EXPECT_EQ(caches[13].refcount, 1);
  EXPECT_EQ(caches[26].name, "kmalloc-rcl-8");
  EXPECT_TRUE(caches[26].flags.reclaim_account);
  EXPECT_EQ(caches[39].name, "dma-kmalloc-8");
  EXPECT_EQ(caches[43].name, "dma-kmalloc-96");
  EXPECT_TRUE(caches[43].flags.cache_dma);
  for (const KmallocCache& c : caches)
    EXPECT_FALSE(c.flags.hwcache_align) << c.name << ": SLUB passes no flags";
}

// SLAB (v5.10): KMALLOC_SHIFT_LOW 5 and KMALLOC_SHIFT_HIGH 22, with ARCH_KMALLOC_FLAGS.
TEST(KmallocFamily, SlabRunsFrom32BytesTo4MWithHwcacheAlign) {
  const auto caches = kmalloc_boot_caches(slab_kmalloc_family());
  ASSERT_EQ(caches.size(), 3u * 20u);
  EXPECT_EQ(caches[0].name, "kmalloc-32");
  EXPECT_EQ(caches[19].name, "kmalloc-4M");
  EXPECT_TRUE(caches[0].flags.hwcache_align);
}

// kmalloc_info[]'s INIT_KMALLOC_INFO() names, and their inverse.
TEST(KmallocFamily, NamesFollowKmallocInfo) {
  EXPECT_EQ(kmalloc_cache_name(KmallocType::reclaim, 1024), "kmalloc-rcl-1k");
  EXPECT_EQ(kmalloc_cache_name(KmallocType::dma, 4U << 20), "dma-kmalloc-4M");
  EXPECT_EQ(kmalloc_cache_name(KmallocType::cgroup, 192), "kmalloc-cg-192");
  EXPECT_EQ(kmalloc_cache_size("kmalloc-rcl-1k"), 1024u);
  EXPECT_EQ(kmalloc_cache_size("kmalloc-96"), 96u);
  for (const char* name : {"kmalloc-1024", "kmalloc-100", "kmalloc-", "kmalloc-08", "kmalloc-4",
                           "kmalloc-rcl-", "vm_area_struct", "kmalloc-cg-2048k"})
    EXPECT_FALSE(is_kmalloc_cache_name(name)) << name;
  EXPECT_TRUE(is_kmalloc_cache_name("dma-kmalloc-8k"));
  // kmalloc_slab() on SLUB: size_index[] below 192, fls() above.
  EXPECT_EQ(slub_kmalloc_size(1), 8u);
  EXPECT_EQ(slub_kmalloc_size(65), 96u);
  EXPECT_EQ(slub_kmalloc_size(97), 128u);
  EXPECT_EQ(slub_kmalloc_size(129), 192u);
  EXPECT_EQ(slub_kmalloc_size(193), 256u);
  EXPECT_EQ(slub_kmalloc_size(8192), 8192u);
  EXPECT_EQ(slub_kmalloc_size(8193), 0u);
}

// SLUB's kmem_cache_init() makes the family through the normal create path: each cache has its
// struct from kmem_cache, a node struct per node and usersize = size, and none is a merge
// target (usersize, and in v6.1 the normal ones' refcount -1).
TEST(KmallocFamily, SlubBootsTheFamilyOfItsGeneration) {
  for (const char* strategy : {"hotplug_lock", "slab_nodes_nocpu", "v6.1"}) {
    SlubMachine m(small_layout(2, 2, 4), strategy);
    const bool v6_1 = std::string(strategy) == "v6.1";
    const auto* k64 = static_cast<const KmemCache*>(m.slub.slab_common().find_cache("kmalloc-64"));
    ASSERT_NE(k64, nullptr) << strategy;
    EXPECT_EQ(k64->usersize, 64u);
    EXPECT_EQ(k64->refcount, v6_1 ? -1 : 1);
    EXPECT_TRUE(k64->backing) << "struct kmem_cache from the kmem_cache cache";
    EXPECT_NE(k64->node[0], nullptr);
    EXPECT_NE(k64->node[1], nullptr);
    EXPECT_EQ(m.slub.slab_common().find_cache("kmalloc-cg-64") != nullptr, v6_1) << strategy;
    const Cache* dma = m.slub.slab_common().find_cache("dma-kmalloc-8");
    ASSERT_NE(dma, nullptr);
    EXPECT_EQ(slab_flag_names(dma->flags, {}), std::vector<std::string>{"SLAB_CACHE_DMA"});
    EXPECT_EQ(
        sysfs_file(*static_cast<const KmemCache*>(dma), "cache_dma", {true, true, true, true}),
        "1\n");
    // kmem_cache_create("like-64", 64): nothing to merge into among the kmalloc caches.
    KmemCache* s = m.create("like-64", 64);
    ASSERT_NE(s, nullptr);
    EXPECT_NE(static_cast<const Cache*>(s), static_cast<const Cache*>(k64));
    EXPECT_EQ(s->usersize, 0u);
  }
}

// kmem_cache_create() charges the per-CPU allocation and sysfs_slab_add() (directory and one
// kernfs file per attribute) inside the strategy's locks; a merged create the sysfs link only.
TEST(KmallocFamily, CreateChargesPercpuAndSysfsWork) {
  SlubMachine m(small_layout(2, 2, 4));
  const std::int64_t before = m.env.time;
  ASSERT_NE(m.create("a", 100), nullptr);
  const std::int64_t created = m.env.time - before;
  const SlubCosts costs;
  const std::int64_t fixed =
      costs.alloc_percpu + costs.sysfs_directory +
      costs.sysfs_file * static_cast<std::int64_t>(sysfs_file_names().size());
  EXPECT_GE(created, fixed);
  const std::int64_t before_alias = m.env.time;
  ASSERT_NE(m.create("b", 100), nullptr);
  EXPECT_LT(m.env.time - before_alias, fixed);
  EXPECT_GE(m.env.time - before_alias, costs.sysfs_link);
}
