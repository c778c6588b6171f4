// enum stat_item names (include/linux/slub_def.h) and the sysfs attribute order (mm/slub.c
// slab_attrs[]), v5.10 = v5.11 = v5.12.
#include "allocator/slub/stat_item.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace slabsim::alloc {
namespace {

// slub_def.h's enumerators, in declaration order.
constexpr std::array<std::string_view, 26> kernel_order = {
    "ALLOC_FASTPATH",      "ALLOC_SLOWPATH",      "FREE_FASTPATH",
    "FREE_SLOWPATH",       "FREE_FROZEN",         "FREE_ADD_PARTIAL",
    "FREE_REMOVE_PARTIAL", "ALLOC_FROM_PARTIAL",  "ALLOC_SLAB",
    "ALLOC_REFILL",        "ALLOC_NODE_MISMATCH", "FREE_SLAB",
    "CPUSLAB_FLUSH",       "DEACTIVATE_FULL",     "DEACTIVATE_EMPTY",
    "DEACTIVATE_TO_HEAD",  "DEACTIVATE_TO_TAIL",  "DEACTIVATE_REMOTE_FREES",
    "DEACTIVATE_BYPASS",   "ORDER_FALLBACK",      "CMPXCHG_DOUBLE_CPU_FAIL",
    "CMPXCHG_DOUBLE_FAIL", "CPU_PARTIAL_ALLOC",   "CPU_PARTIAL_FREE",
    "CPU_PARTIAL_NODE",    "CPU_PARTIAL_DRAIN",
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

TEST(StatItem, TwentySixItems) {
  EXPECT_EQ(nr_slub_stat_items, 26);
  EXPECT_EQ(static_cast<int>(NR_SLUB_STAT_ITEMS), 26);
  EXPECT_EQ(sysfs_stat_order().size(), 26u);
}

TEST(StatItem, EnumOrderAndNamesMatchSlubDef) {
  for (int i = 0; i < nr_slub_stat_items; ++i)
    EXPECT_EQ(stat_item_name(static_cast<StatItem>(i)), kernel_order[i]) << i;
  // Spot-check the enumerators' values against their names.
  EXPECT_EQ(ALLOC_FASTPATH, 0);
  EXPECT_EQ(FREE_SLAB, 11);
  EXPECT_EQ(ORDER_FALLBACK, 19);
  EXPECT_EQ(CMPXCHG_DOUBLE_CPU_FAIL, 20);
  EXPECT_EQ(CMPXCHG_DOUBLE_FAIL, 21);
  EXPECT_EQ(CPU_PARTIAL_DRAIN, 25);
  EXPECT_EQ(stat_item_name(CPU_PARTIAL_NODE), "CPU_PARTIAL_NODE");
}

TEST(StatItem, SysfsNamesAreLowerCaseEnumNames) {
  std::set<std::string_view> seen;
  for (int i = 0; i < nr_slub_stat_items; ++i) {
    const auto item = static_cast<StatItem>(i);
    EXPECT_EQ(stat_item_sysfs_name(item), lower(kernel_order[i]));
    EXPECT_TRUE(seen.insert(stat_item_sysfs_name(item)).second) << "duplicate at " << i;
  }
  EXPECT_EQ(stat_item_sysfs_name(ALLOC_FASTPATH), "alloc_fastpath");
  EXPECT_EQ(stat_item_sysfs_name(DEACTIVATE_REMOTE_FREES), "deactivate_remote_frees");
}

// slab_attrs[] lists cmpxchg_double_fail before cmpxchg_double_cpu_fail; every other stat file
// follows the enum.
TEST(StatItem, SysfsOrderSwapsTheCmpxchgPair) {
  const auto& order = sysfs_stat_order();
  for (int i = 0; i < nr_slub_stat_items; ++i) {
    int expected = i;
    if (i == CMPXCHG_DOUBLE_CPU_FAIL) expected = CMPXCHG_DOUBLE_FAIL;
    if (i == CMPXCHG_DOUBLE_FAIL) expected = CMPXCHG_DOUBLE_CPU_FAIL;
    EXPECT_EQ(order[i], static_cast<StatItem>(expected)) << i;
  }
  EXPECT_EQ(stat_item_sysfs_name(order[20]), "cmpxchg_double_fail");
  EXPECT_EQ(stat_item_sysfs_name(order[21]), "cmpxchg_double_cpu_fail");
  // A permutation: each item once.
  std::set<StatItem> items(order.begin(), order.end());
  EXPECT_EQ(items.size(), 26u);
}

TEST(StatItem, OutOfRangeHasNoName) {
  EXPECT_EQ(stat_item_name(NR_SLUB_STAT_ITEMS), "");
  EXPECT_EQ(stat_item_sysfs_name(NR_SLUB_STAT_ITEMS), "");
  EXPECT_EQ(stat_item_name(static_cast<StatItem>(200)), "");
}

}  // namespace
}  // namespace slabsim::alloc
