// derive_cache_settings() under mm/slub.c v6.1 against v5.12, for kmalloc-sized caches at 2, 4 and
// 8 CPUs. Every expected number is worked out below from the v6.1 formulas:
//   calculate_order(): min_objects = 4 * (fls(nr_cpus) + 1), nr_cpus = num_present_cpus() (all
//     CPUs present: 2 -> 12, 4 -> 16, 8 -> 20), capped by order_objects(slub_max_order = 3, size);
//     the lowest order >= get_order(min_objects * size) whose leftover is <= 1/16 of the slab.
//     Unchanged from v5.12, so order and objects agree between the two.
//   set_min_partial(): clamp(ilog2(size) / 2, MIN_PARTIAL 5, MAX_PARTIAL 10), unchanged.
//   set_cpu_partial(): 6 (size >= 4096), 24 (>= 1024), 52 (>= 256), 120 objects; v5.12: 2, 6, 13,
//     30.
//   slub_set_cpu_partial(): cpu_partial_slabs = DIV_ROUND_UP(cpu_partial * 2, objects).
#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "allocator/slub/kmem_cache_open.hpp"

namespace slabsim::alloc {
namespace {

constexpr SlubBootParams v5_12{};
constexpr SlubBootParams v6_1{.version = SlubVersion::v6_1};

CacheSettings kmalloc_geometry(unsigned size, int cpus, const SlubBootParams& params) {
  std::string why;
  // create_kmalloc_caches(): no flags, ARCH_KMALLOC_MINALIGN raised to power-of-two sizes.
  auto s = derive_cache_settings(size, std::has_single_bit(size) ? size : 8, CacheFlags{}, cpus,
                                 params, &why);
  EXPECT_TRUE(s.has_value()) << why;
  return s.value_or(CacheSettings{});
}

struct Expected {
  unsigned size;
  int cpus;
  unsigned order, objects;
  unsigned long min_partial;
  unsigned cpu_partial_v6, cpu_partial_slabs_v6, cpu_partial_v5;
};

// size 64: 12/16/20 * 64 <= 4096 -> order 0, 64 objects; 120 objects -> ceil(240 / 64) = 4 slabs;
//   ilog2(64) / 2 = 3 -> min_partial 5.
// size 192: 20 * 192 = 3840 -> order 0, 21 objects (leftover 64 <= 256); ceil(240 / 21) = 12.
// size 256: 12 or 16 * 256 <= 4096 -> order 0, 16 objects, ceil(104 / 16) = 7; 8 CPUs:
//   20 * 256 = 5120 -> order 1, 32 objects, ceil(104 / 32) = 4; ilog2(256) / 2 = 4 -> 5.
// size 1024: 12 or 16 * 1024 -> order 2 (16 KiB), 16 objects, ceil(48 / 16) = 3; 8 CPUs:
//   20 * 1024 -> order 3, 32 objects, ceil(48 / 32) = 2; ilog2(1024) / 2 = 5.
// size 4096: order_objects(3, 4096) = 8 caps min_objects -> order 3, 8 objects; ceil(12 / 8) = 2;
//   ilog2(4096) / 2 = 6.
const std::vector<Expected> expected = {
    {64, 2, 0, 64, 5, 120, 4, 30},   {64, 4, 0, 64, 5, 120, 4, 30},
    {64, 8, 0, 64, 5, 120, 4, 30},   {192, 2, 0, 21, 5, 120, 12, 30},
    {192, 4, 0, 21, 5, 120, 12, 30}, {192, 8, 0, 21, 5, 120, 12, 30},
    {256, 2, 0, 16, 5, 52, 7, 13},   {256, 4, 0, 16, 5, 52, 7, 13},
    {256, 8, 1, 32, 5, 52, 4, 13},   {1024, 2, 2, 16, 5, 24, 3, 6},
    {1024, 4, 2, 16, 5, 24, 3, 6},   {1024, 8, 3, 32, 5, 24, 2, 6},
    {4096, 2, 3, 8, 6, 6, 2, 2},     {4096, 4, 3, 8, 6, 6, 2, 2},
    {4096, 8, 3, 8, 6, 6, 2, 2},
};

TEST(CacheSettingsV61, KmallocGeometryAtTwoFourEightCpus) {
  for (const auto& e : expected) {
    SCOPED_TRACE(testing::Message() << "size " << e.size << ", " << e.cpus << " CPUs");
    const CacheSettings v6 = kmalloc_geometry(e.size, e.cpus, v6_1);
    const CacheSettings v5 = kmalloc_geometry(e.size, e.cpus, v5_12);
    EXPECT_EQ(v6.order, e.order);
    EXPECT_EQ(v6.objects, e.objects);
    EXPECT_EQ(v6.min_partial, e.min_partial);
    EXPECT_EQ(v6.cpu_partial, e.cpu_partial_v6);
    EXPECT_EQ(v6.cpu_partial_slabs, e.cpu_partial_slabs_v6);
    EXPECT_EQ(v6.version, SlubVersion::v6_1);
    // v5.12: same geometry, cpu_partial in its older objects, and no slab bound.
    EXPECT_EQ(v5.order, e.order);
    EXPECT_EQ(v5.objects, e.objects);
    EXPECT_EQ(v5.min_partial, e.min_partial);
    EXPECT_EQ(v5.cpu_partial, e.cpu_partial_v5);
    EXPECT_EQ(v5.cpu_partial_slabs, 0u);
  }
}

// Debug caches have no per-CPU partial list in either version (kmem_cache_has_cpu_partial()).
// SLAB_STORE_USER adds two struct track: 2 * 152 bytes in v5.12 (CONFIG_STACKTRACE: 16 return
// addresses), 2 * 32 in v6.1 (a stack depot handle). A 64-byte object keeps its free pointer
// inside at offset 32: v6.1 64 + 64 = 128 bytes, 32 per order-0 slab; v5.12 64 + 304 = 368.
TEST(CacheSettingsV61, StoreUserTrackIsAStackDepotHandle) {
  const CacheFlags user{.store_user = true};
  std::string why;
  const auto v6 = derive_cache_settings(64, 0, user, 4, v6_1, &why);
  const auto v5 = derive_cache_settings(64, 0, user, 4, v5_12, &why);
  ASSERT_TRUE(v6 && v5) << why;
  EXPECT_EQ(v6->size, 128u);
  EXPECT_EQ(v6->objects, 32u);
  EXPECT_EQ(v5->size, 368u);
  EXPECT_EQ(v6->cpu_partial, 0u);
  EXPECT_EQ(v6->cpu_partial_slabs, 0u);
}

// Without CONFIG_SLUB_CPU_PARTIAL set_cpu_partial() sets nothing: no objects, no slabs.
TEST(CacheSettingsV61, CpuPartialDisabled) {
  SlubBootParams p = v6_1;
  p.cpu_partial_enabled = false;
  const CacheSettings s = kmalloc_geometry(64, 4, p);
  EXPECT_EQ(s.cpu_partial, 0u);
  EXPECT_EQ(s.cpu_partial_slabs, 0u);
}

}  // namespace
}  // namespace slabsim::alloc
