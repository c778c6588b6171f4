// derive_cache_settings() against published slab geometry of real x86_64 SLUB kernels, and
// against the properties mm/slub.c's calculate_order() guarantees over a sweep of sizes and CPU
// counts.
#include "allocator/slub/kmem_cache_open.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

namespace slabsim::alloc {
namespace {

CacheSettings derive(unsigned object_size, unsigned align, const CacheFlags& flags, int cpus,
                     const SlubBootParams& params = {}) {
  std::string why;
  auto s = derive_cache_settings(object_size, align, flags, cpus, params, &why);
  EXPECT_TRUE(s.has_value()) << "object_size " << object_size << ": " << why;
  return s.value_or(CacheSettings{});
}

// kmalloc caches as create_boot_cache() makes them in v5.10: no flags, ARCH_KMALLOC_MINALIGN (8)
// raised to the size itself for power-of-two sizes.
CacheSettings kmalloc_cache(unsigned size, int cpus, const SlubBootParams& params = {}) {
  return derive(size, std::has_single_bit(size) ? size : 8, CacheFlags{}, cpus, params);
}

struct Observed {
  const char* name;
  unsigned object_size;  // s->object_size
  CacheFlags flags;
  unsigned size;     // s->size: slabinfo's <objsize>, libslub's "size"
  unsigned objects;  // <objperslab>
  unsigned pages;    // <pagesperslab>
};

constexpr CacheFlags plain{};
constexpr CacheFlags hwcache{.hwcache_align = true};
constexpr CacheFlags rcu{.typesafe_by_rcu = true};
constexpr CacheFlags hwcache_rcu{.hwcache_align = true, .typesafe_by_rcu = true};

void expect_rows(const std::vector<Observed>& rows, int cpus) {
  for (const auto& r : rows) {
    SCOPED_TRACE(testing::Message() << r.name << " with " << cpus << " CPUs");
    const unsigned align =
        std::has_single_bit(r.object_size) && r.flags == plain ? r.object_size : 0;
    const CacheSettings s = derive(r.object_size, align, r.flags, cpus);
    EXPECT_EQ(s.size, r.size);
    EXPECT_EQ(s.objects, r.objects);
    EXPECT_EQ(1u << s.order, r.pages);
  }
}

// (a) /proc/slabinfo posted by Chris Webb to linux-mm, "Re: Over-eager swapping", 4 Aug 2010
// (quoted in Wu Fengguang's reply <20100804022148.GA5922@localhost>; archive sjp38/lore-linux-mm).
// His first message of the thread (2 Aug 2010) gives the machines: x86-64, 2.6.32.7, "32GB of RAM
// and 2x quad-core processors" (Opteron 2352/2378, no SMT), so 8 CPUs. 2.6.32's calculate_order()
// is v5.10's (same 4 * (fls(nr_cpu_ids) + 1) start, same 1/16, 1/8, 1/4 steps, slub_max_order 3).
// <objsize> is s->size; every row was checked by hand against the formulas, and the set pins
// nr_cpu_ids to 8..15 (kmalloc-256 needs >= 8 for 32/2, kmalloc-192 needs < 16 for 21/1).
const std::vector<Observed> webb_2010 = {
    {"kmalloc-8", 8, plain, 8, 512, 1},
    {"kmalloc-16", 16, plain, 16, 256, 1},
    {"kmalloc-32", 32, plain, 32, 128, 1},
    {"kmalloc-64", 64, plain, 64, 64, 1},
    {"kmalloc-96", 96, plain, 96, 42, 1},
    {"kmalloc-128", 128, plain, 128, 32, 1},
    {"kmalloc-192", 192, plain, 192, 21, 1},
    {"kmalloc-256", 256, plain, 256, 32, 2},
    {"kmalloc-512", 512, plain, 512, 32, 4},
    {"kmalloc-1024", 1024, plain, 1024, 32, 8},
    {"kmalloc-2048", 2048, plain, 2048, 16, 8},
    {"kmalloc-4096", 4096, plain, 4096, 8, 8},
    {"kmalloc-8192", 8192, plain, 8192, 4, 8},
    // Other caches of the same dump, fed their s->size (layout already applied).
    {"journal_handle", 24, plain, 24, 170, 1},
    {"fat_cache", 40, plain, 40, 102, 1},
    {"shared_policy_node", 48, plain, 48, 85, 1},
    {"sysfs_dir_cache", 80, plain, 80, 51, 1},
    {"fsnotify_event", 104, plain, 104, 39, 1},
    {"buffer_head", 112, plain, 112, 36, 1},
    {"ext4_alloc_context", 144, plain, 144, 28, 1},
    {"dm_crypt_io", 152, plain, 152, 26, 1},
    {"vm_area_struct", 176, plain, 176, 23, 1},
    {"nf_conntrack_expect", 208, plain, 208, 39, 2},
    {"ntfs_inode_cache", 264, plain, 264, 31, 2},
    {"nf_conntrack", 272, plain, 272, 30, 2},
    {"bsg_cmd", 312, plain, 312, 26, 2},
    {"kioctx", 320, plain, 320, 25, 2},
    {"blkdev_requests", 336, plain, 336, 24, 2},
    {"kcopyd_job", 368, plain, 368, 22, 2},
    {"ip_dst_cache", 384, plain, 384, 21, 2},
    {"idr_layer_cache", 544, plain, 544, 30, 4},
    {"radix_tree_node", 560, plain, 560, 29, 4},
    {"inode_cache", 568, plain, 568, 28, 4},
    {"hugetlbfs_inode_cache", 584, plain, 584, 28, 4},
    {"proc_inode_cache", 616, plain, 616, 26, 4},
    {"fuse_request", 632, plain, 632, 25, 4},
    {"sock_inode_cache", 640, plain, 640, 25, 4},
    {"files_cache", 704, plain, 704, 23, 4},
    {"ext2_inode_cache", 752, plain, 752, 21, 4},
    {"UDP", 768, plain, 768, 21, 4},
    {"shmem_inode_cache", 776, plain, 776, 21, 4},
    {"signal_cache", 832, plain, 832, 39, 8},
    {"ext4_inode_cache", 896, plain, 896, 36, 8},
    {"dm_raid1_read_record", 1064, plain, 1064, 30, 8},
    {"TCP", 1472, plain, 1472, 22, 8},
    {"task_struct", 1616, plain, 1616, 20, 8},
    {"sighand_cache", 2112, plain, 2112, 15, 8},
    {"blkdev_queue", 2128, plain, 2128, 15, 8},
    {"dm_uevent", 2608, plain, 2608, 12, 8},
    {"kvm_vcpu", 10256, plain, 10256, 3, 8},
};

TEST(CacheSettingsRealWorld, Webb2010EightCpuOpteron) {
  expect_rows(webb_2010, 8);
}

// The same table also holds for every count in 8..15 (same fls()), and not outside it.
TEST(CacheSettingsRealWorld, Webb2010PinsTheCpuRange) {
  expect_rows(webb_2010, 15);
  EXPECT_EQ(kmalloc_cache(256, 7).objects, 16u);   // 16/1 below 8 CPUs
  EXPECT_EQ(kmalloc_cache(192, 16).objects, 42u);  // 42/2 from 16 CPUs
  EXPECT_EQ(kmalloc_cache(192, 16).order, 1u);
}

// `sblist` output in nccgroup/libslub docs/UserGuide.md (kernel Ubuntu x64 5.15.0-27 per
// docs/SupportedVersions.md), which lists s->size next to s->object_size and so checks the layout
// rules: SLAB_HWCACHE_ALIGN rounding (AF_VSOCK 1248 -> 1280, RAWv6 1200 -> 1216) and the free
// pointer moved after the object for SLAB_TYPESAFE_BY_RCU (tw_sock_TCPv6 240 -> 248,
// request_sock_TCPv6 296 -> 304; TCPv6 2392 + 8 -> 2432 with both). The flags are the ones
// proto_register() passes (SLAB_HWCACHE_ALIGN | prot->slab_flags for the sock cache,
// prot->slab_flags for the timewait and request caches; TCPv6's slab_flags is
// SLAB_TYPESAFE_BY_RCU). The CPU count is not stated: the guide's sbcache output shows
// kmem_cache_cpu for cpu 0 and cpu 1, and the rows fit exactly 2 or 3 CPUs (5.15 counts present
// CPUs), so both are checked.
const std::vector<Observed> libslub_5_15 = {
    {"AF_VSOCK", 1248, hwcache, 1280, 12, 4},      {"PINGv6", 1200, hwcache, 1216, 13, 4},
    {"RAWv6", 1200, hwcache, 1216, 13, 4},         {"UDPv6", 1344, hwcache, 1344, 12, 4},
    {"TCPv6", 2392, hwcache_rcu, 2432, 13, 8},     {"tw_sock_TCPv6", 240, rcu, 248, 16, 1},
    {"request_sock_TCPv6", 296, rcu, 304, 13, 1},  {"ip6-frags", 184, plain, 184, 22, 1},
    {"fscrypt_info", 136, plain, 136, 30, 1},      {"fsverity_info", 256, plain, 256, 16, 1},
    {"ext4_groupinfo_4k", 192, plain, 192, 21, 1}, {"kmalloc-8", 8, plain, 8, 512, 1},
    {"kmalloc-16", 16, plain, 16, 256, 1},         {"kmalloc-32", 32, plain, 32, 128, 1},
    {"kmalloc-64", 64, plain, 64, 64, 1},          {"kmalloc-96", 96, plain, 96, 42, 1},
    {"kmalloc-128", 128, plain, 128, 32, 1},       {"kmalloc-192", 192, plain, 192, 21, 1},
    {"kmalloc-256", 256, plain, 256, 16, 1},       {"kmalloc-512", 512, plain, 512, 16, 2},
    {"kmalloc-1k", 1024, plain, 1024, 16, 4},      {"kmalloc-2k", 2048, plain, 2048, 16, 8},
    {"kmalloc-4k", 4096, plain, 4096, 8, 8},       {"kmalloc-8k", 8192, plain, 8192, 4, 8},
};

TEST(CacheSettingsRealWorld, LibslubGuideUbuntu515) {
  expect_rows(libslub_5_15, 2);
  expect_rows(libslub_5_15, 3);
}

// The libslub guide's sbcache output also prints kmalloc-1k's free pointer: offset = 0x200.
TEST(CacheSettingsRealWorld, LibslubGuideFreePointerOffset) {
  EXPECT_EQ(kmalloc_cache(1024, 2).offset, 0x200u);
}

// Settings v5.10 derives for its kmalloc caches beside the geometry (formulas, not observations).
TEST(CacheSettingsKmalloc, DerivedTunables) {
  const CacheSettings k8 = kmalloc_cache(8, 8);
  EXPECT_EQ(k8.align, 8u);
  EXPECT_EQ(k8.inuse, 8u);
  EXPECT_EQ(k8.offset, 0u);  // a one-word object keeps its free pointer at 0
  EXPECT_EQ(k8.min_partial, 5ul);
  EXPECT_EQ(k8.cpu_partial, 30u);
  EXPECT_EQ(k8.remote_node_defrag_ratio, 1000u);

  const CacheSettings k192 = kmalloc_cache(192, 8);
  EXPECT_EQ(k192.align, 8u);
  EXPECT_EQ(k192.offset, 96u);
  EXPECT_EQ(k192.cpu_partial, 30u);

  const CacheSettings k256 = kmalloc_cache(256, 8);
  EXPECT_EQ(k256.align, 256u);  // create_boot_cache(): natural alignment for powers of two
  EXPECT_EQ(k256.cpu_partial, 13u);
  EXPECT_EQ(k256.min_order, 0u);
  EXPECT_EQ(k256.min_objects, 16u);

  const CacheSettings k1k = kmalloc_cache(1024, 8);
  EXPECT_EQ(k1k.cpu_partial, 6u);
  EXPECT_EQ(k1k.min_partial, 5ul);

  const CacheSettings k8k = kmalloc_cache(8192, 8);
  EXPECT_EQ(k8k.min_partial, 6ul);  // ilog2(8192) / 2
  EXPECT_EQ(k8k.cpu_partial, 2u);
  EXPECT_EQ(k8k.min_order, 1u);
  EXPECT_EQ(k8k.min_objects, 1u);
}

TEST(CacheSettingsHelpers, GetOrderAndOrderObjects) {
  EXPECT_EQ(get_order(0), 0u);
  EXPECT_EQ(get_order(1), 0u);
  EXPECT_EQ(get_order(4096), 0u);
  EXPECT_EQ(get_order(4097), 1u);
  EXPECT_EQ(get_order(8192), 1u);
  EXPECT_EQ(get_order(8193), 2u);
  EXPECT_EQ(get_order(4u << 20), 10u);
  EXPECT_EQ(get_order((4u << 20) + 1), 11u);
  EXPECT_EQ(order_objects(3, 1024), 32u);
  EXPECT_EQ(order_objects(0, 96), 42u);
  EXPECT_EQ(order_objects(1, 3000), 2u);
  EXPECT_EQ(order_objects(0, 0), 0u);
}

TEST(CacheSettingsHelpers, CalculateOrderFailsPastMaxOrder) {
  EXPECT_EQ(calculate_order(4u << 20, 8, {}), 10u);
  EXPECT_EQ(calculate_order((4u << 20) + 8, 8, {}), 11u);
  EXPECT_EQ(calculate_order(0, 8, {}), 11u);
}

// A large object: no multi-object layout fits in slub_max_order, so one object in the smallest
// order holding it; min_partial reaches its cap.
TEST(CacheSettingsHelpers, OneMegabyteObject) {
  const CacheSettings s = derive(1u << 20, 0, plain, 8);
  EXPECT_EQ(s.order, 8u);
  EXPECT_EQ(s.objects, 1u);
  EXPECT_EQ(s.min_partial, 10ul);
  EXPECT_EQ(s.cpu_partial, 2u);
}

// (b) Every size 8..8192 (step 8) with each CPU count: what calculate_order() and
// kmem_cache_open() guarantee.
const std::vector<int> sweep_cpus = {1,  2,  3,   4,   7,   8,   15,  16,  31,   32,
                                     63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024};

struct Failures {
  std::vector<std::string> lines;
  void add(std::string line) { lines.push_back(std::move(line)); }
  std::string summary() const {
    std::string out;
    for (size_t i = 0; i < lines.size() && i < 20; ++i)
      out += lines[i] + "\n";
    return out;
  }
};

TEST(CacheSettingsSweep, KernelGuarantees) {
  Failures f;
  int checked = 0;
  for (unsigned size = 8; size <= 8192; size += 8) {
    unsigned prev_objects = 0;
    for (int cpus : sweep_cpus) {
      const auto where = "size " + std::to_string(size) + " cpus " + std::to_string(cpus) + ": ";
      const auto r = derive_cache_settings(size, 0, plain, cpus, {});
      if (!r) {
        f.add(where + "refused");
        continue;
      }
      const CacheSettings& s = *r;
      ++checked;
      const unsigned slab = page_size << s.order;
      if (s.size != size) f.add(where + "size changed to " + std::to_string(s.size));
      if (s.objects != slab / size) f.add(where + "objects != slab / size");
      if (s.order != calculate_order(size, cpus, {})) f.add(where + "order != calculate_order");
      // One object fits in an order-3 slab, so slub_max_order (3) bounds the order.
      if (s.order > 3) f.add(where + "order above slub_max_order");
      // min_objects >= 2 is always reachable here and some fraction >= 4 then succeeds by
      // order 3, so the layout holds >= 2 objects and wastes at most a quarter of the slab.
      if (s.objects < 2) f.add(where + "fewer than 2 objects");
      if ((slab % size) * 4 > slab) f.add(where + "waste above 1/4");
      if (s.min_order != get_order(size) || s.min_order > s.order)
        f.add(where + "min_order != get_order(size)");
      if (s.min_objects != (page_size << s.min_order) / size) f.add(where + "min_objects");
      const unsigned long expected_min_partial =
          std::clamp<unsigned long>((std::bit_width(size) - 1) / 2, 5, 10);
      if (s.min_partial != expected_min_partial || s.min_partial < 5 || s.min_partial > 10)
        f.add(where + "min_partial");
      const unsigned expected_cpu_partial = size >= 4096   ? 2
                                            : size >= 1024 ? 6
                                            : size >= 256  ? 13
                                                           : 30;
      if (s.cpu_partial != expected_cpu_partial) f.add(where + "cpu_partial");
      if (s.remote_node_defrag_ratio != 1000) f.add(where + "remote_node_defrag_ratio");
      // More CPUs never give fewer objects per slab.
      if (s.objects < prev_objects) f.add(where + "fewer objects than with fewer CPUs");
      prev_objects = s.objects;
    }
  }
  EXPECT_EQ(checked, 1024 * 20);
  EXPECT_TRUE(f.lines.empty()) << f.lines.size() << " failures, first:\n" << f.summary();
}

TEST(CacheSettingsSweep, HwcacheAlignedSizes) {
  Failures f;
  for (unsigned object = 1; object <= 8192; ++object) {
    for (int cpus : {1, 8, 64}) {
      const auto where = "object " + std::to_string(object) + ": ";
      const auto r = derive_cache_settings(object, 0, hwcache, cpus, {});
      if (!r) {
        f.add(where + "refused");
        continue;
      }
      const unsigned expected_align = object > 32 ? 64 : object > 16 ? 32 : object > 8 ? 16 : 8;
      if (r->align != expected_align) f.add(where + "align " + std::to_string(r->align));
      if (r->size % r->align != 0) f.add(where + "size not a multiple of align");
      if (r->size < object || r->size - object >= r->align) f.add(where + "size not minimal");
      if (r->objects != (page_size << r->order) / r->size) f.add(where + "objects");
    }
  }
  EXPECT_TRUE(f.lines.empty()) << f.lines.size() << " failures, first:\n" << f.summary();
}

// An explicit alignment wins over a smaller cache line, and the cache line over a smaller one.
TEST(CacheSettingsLayout, CalculateAlignment) {
  EXPECT_EQ(derive(100, 128, hwcache, 8).align, 128u);
  EXPECT_EQ(derive(100, 16, hwcache, 8).align, 64u);
  EXPECT_EQ(derive(100, 16, plain, 8).align, 16u);
  EXPECT_EQ(derive(100, 0, plain, 8).align, 8u);
  EXPECT_EQ(derive(100, 2, plain, 8).align, 8u);  // ARCH_SLAB_MINALIGN
  EXPECT_EQ(derive(24, 0, hwcache, 8).align, 32u);
  EXPECT_EQ(derive(24, 0, hwcache, 8).size, 32u);
  EXPECT_EQ(derive(100, 4096, plain, 8).size, 4096u);
}

TEST(CacheSettingsLayout, FreePointerPlacement) {
  const CacheSettings odd = derive(20, 0, plain, 8);  // word-aligned to 24, pointer mid-object
  EXPECT_EQ(odd.size, 24u);
  EXPECT_EQ(odd.inuse, 24u);
  EXPECT_EQ(odd.offset, 16u);  // ALIGN(24 / 2, 8)
  const CacheSettings tiny = derive(1, 0, plain, 8);
  EXPECT_EQ(tiny.size, 8u);
  EXPECT_EQ(tiny.offset, 0u);
  for (const CacheFlags flags :
       {CacheFlags{.typesafe_by_rcu = true}, CacheFlags{.has_ctor = true}}) {
    const CacheSettings s = derive(64, 0, flags, 8);
    EXPECT_EQ(s.inuse, 64u);
    EXPECT_EQ(s.offset, 64u);  // after the object
    EXPECT_EQ(s.size, 72u);
    EXPECT_EQ(s.cpu_partial, 30u);  // not a debug flag
  }
  const CacheSettings reclaim = derive(64, 0, CacheFlags{.reclaim_account = true}, 8);
  EXPECT_EQ(reclaim, derive(64, 0, plain, 8));  // only the page allocation flags differ
}

// (c) Debug flags: metadata after the object and kmem_cache_debug() disabling cpu partials.
TEST(CacheSettingsDebug, RedZone) {
  const CacheSettings s = derive(64, 0, CacheFlags{.red_zone = true}, 8);
  EXPECT_EQ(s.inuse, 72u);   // a word of red zone after an object that filled its words
  EXPECT_EQ(s.offset, 32u);  // the free pointer stays inside the object
  EXPECT_EQ(s.size, 88u);    // + trailing word + red_left_pad (8)
  EXPECT_EQ(s.cpu_partial, 0u);
  const CacheSettings padded = derive(60, 0, CacheFlags{.red_zone = true}, 8);
  EXPECT_EQ(padded.inuse, 64u);  // rounding to a word already left red zone bytes
  EXPECT_EQ(padded.size, 80u);
  // red_left_pad is a word rounded to the alignment.
  const CacheSettings aligned =
      derive(64, 0, CacheFlags{.hwcache_align = true, .red_zone = true}, 8);
  EXPECT_EQ(aligned.align, 64u);
  EXPECT_EQ(aligned.size, 192u);  // ALIGN(72 + 8 + 64, 64)
}

TEST(CacheSettingsDebug, PoisonAndStoreUser) {
  const CacheSettings poison = derive(64, 0, CacheFlags{.poison = true}, 8);
  EXPECT_EQ(poison.offset, 64u);
  EXPECT_EQ(poison.size, 72u);
  EXPECT_EQ(poison.cpu_partial, 0u);
  // Two struct track of 152 bytes (CONFIG_STACKTRACE) after the object.
  const CacheSettings user = derive(64, 0, CacheFlags{.store_user = true}, 8);
  EXPECT_EQ(user.offset, 32u);
  EXPECT_EQ(user.size, 64u + 2 * 152);
  EXPECT_EQ(user.cpu_partial, 0u);
  // All three (slub_debug=ZPU): 64 + 8 red zone, + 8 free pointer, + 304 tracks, + 8 + 8.
  const CacheSettings all =
      derive(64, 0, CacheFlags{.red_zone = true, .poison = true, .store_user = true}, 8);
  EXPECT_EQ(all.inuse, 72u);
  EXPECT_EQ(all.offset, 72u);
  EXPECT_EQ(all.size, 400u);
  EXPECT_EQ(all.objects, 20u);  // 20 * 400 fits in two pages with 192 bytes to spare
  EXPECT_EQ(all.order, 1u);
}

TEST(CacheSettingsDebug, SweepGrowsSizeAndZeroesCpuPartial) {
  const CacheFlags debug_sets[] = {{.red_zone = true},
                                   {.poison = true},
                                   {.store_user = true},
                                   {.red_zone = true, .poison = true, .store_user = true}};
  Failures f;
  for (unsigned size = 8; size <= 8192; size += 8) {
    const CacheSettings base = derive(size, 0, plain, 8);
    for (const CacheFlags& flags : debug_sets) {
      const auto r = derive_cache_settings(size, 0, flags, 8, {});
      const auto where = "size " + std::to_string(size) + ": ";
      if (!r) {
        f.add(where + "refused");
        continue;
      }
      if (r->size <= base.size) f.add(where + "did not grow");
      if (r->cpu_partial != 0) f.add(where + "cpu_partial not 0");
      if (r->objects != (page_size << r->order) / r->size) f.add(where + "objects");
    }
  }
  EXPECT_TRUE(f.lines.empty()) << f.lines.size() << " failures, first:\n" << f.summary();
}

// (d) Creations the kernel (or the model) refuses.
TEST(CacheSettingsFailure, Refusals) {
  struct Case {
    unsigned object_size, align;
    CacheFlags flags;
    int cpus;
  };
  const Case cases[] = {
      {0, 0, plain, 8},                                // no object
      {64, 3, plain, 8},                               // align not a power of two
      {64, 24, plain, 8},                              //
      {64, 0, plain, 0},                               // no CPU
      {(4u << 20) + 1, 0, plain, 8},                   // past an order-10 slab
      {4u << 20, 0, CacheFlags{.red_zone = true}, 8},  // metadata pushes it past
      {UINT32_MAX, 0, plain, 8},                       // would wrap 32 bits
  };
  for (const Case& c : cases) {
    std::string why;
    const auto r = derive_cache_settings(c.object_size, c.align, c.flags, c.cpus, {}, &why);
    EXPECT_FALSE(r.has_value()) << c.object_size << " align " << c.align;
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.back(), '.') << why;  // a sentence
  }
  // The largest object that fits: one per order-10 slab.
  const CacheSettings largest = derive(4u << 20, 0, plain, 8);
  EXPECT_EQ(largest.order, 10u);
  EXPECT_EQ(largest.objects, 1u);
  // `why` is optional.
  EXPECT_FALSE(derive_cache_settings(0, 0, plain, 8, {}).has_value());
}

// (e) Boot parameters.
TEST(CacheSettingsBootParams, SlubMinObjects) {
  const SlubBootParams p{.slub_min_objects = 64};
  for (int cpus : {1, 8, 1024}) {  // replaces the CPU-derived count entirely
    const CacheSettings s = kmalloc_cache(256, cpus, p);
    EXPECT_EQ(s.objects, 64u);
    EXPECT_EQ(s.order, 2u);
  }
  // Capped by what an order-slub_max_order slab holds.
  EXPECT_EQ(kmalloc_cache(1024, 1, p).objects, 32u);
  // One object requested: the smallest order holding one with any waste.
  EXPECT_EQ(kmalloc_cache(1024, 64, SlubBootParams{.slub_min_objects = 1}).order, 0u);
}

TEST(CacheSettingsBootParams, SlubMaxOrderZero) {
  const SlubBootParams p{.slub_max_order = 0};
  for (unsigned size = 8; size <= 4096; size += 8) {
    const CacheSettings s = derive(size, 0, plain, 64, p);
    EXPECT_EQ(s.order, 0u) << size;
    EXPECT_EQ(s.objects, 4096u / size) << size;
  }
  // Larger than a page: calculate_order() falls back to the order holding one object.
  const CacheSettings k8k = kmalloc_cache(8192, 64, p);
  EXPECT_EQ(k8k.order, 1u);
  EXPECT_EQ(k8k.objects, 1u);
  // slub_max_order above MAX_ORDER - 1 is clamped to 10 as the boot option parser does: 1 MiB
  // objects get 4 per order-10 slab, not 20 per order-13 one.
  EXPECT_EQ(calculate_order(1u << 20, 8, SlubBootParams{.slub_max_order = 20}), 10u);
  EXPECT_EQ(calculate_order(1u << 20, 8, SlubBootParams{.slub_max_order = 10}), 10u);
  EXPECT_EQ(derive(1u << 20, 0, plain, 8, SlubBootParams{.slub_max_order = 20}).objects, 4u);
}

TEST(CacheSettingsBootParams, SlubMinOrder) {
  EXPECT_EQ(kmalloc_cache(8, 8, SlubBootParams{.slub_min_order = 1}).order, 1u);
  EXPECT_EQ(kmalloc_cache(8, 8, SlubBootParams{.slub_min_order = 1}).objects, 1024u);
  EXPECT_EQ(kmalloc_cache(8192, 8, SlubBootParams{.slub_min_order = 1}).order, 3u);
  EXPECT_EQ(kmalloc_cache(8, 8, SlubBootParams{.slub_min_order = 3}).objects, 4096u);
  // More than MAX_OBJS_PER_PAGE (32767) objects at slub_min_order: slab_order() takes the order
  // below the one holding 32767 objects (get_order(8 * 32767) - 1 = 5).
  const CacheSettings capped = kmalloc_cache(8, 8, SlubBootParams{.slub_min_order = 6});
  EXPECT_EQ(capped.order, 5u);
  EXPECT_EQ(capped.objects, 16384u);
  // slub_min_order above slub_max_order wins.
  const CacheSettings above = kmalloc_cache(64, 8, SlubBootParams{.slub_min_order = 4});
  EXPECT_EQ(above.order, 4u);
  EXPECT_EQ(above.objects, 1024u);
  EXPECT_EQ(above.min_order, 0u);  // s->min ignores slub_min_order
}

TEST(CacheSettingsBootParams, CpuPartialDisabled) {
  EXPECT_EQ(kmalloc_cache(64, 8, SlubBootParams{.cpu_partial_enabled = false}).cpu_partial, 0u);
}

}  // namespace
}  // namespace slabsim::alloc
