#include "run/pending_frees.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace slabsim::sim {
namespace pending_frees_test {

alloc::ObjectRef object_at(std::uintptr_t address, std::uint32_t index, int node = 0) {
  return {reinterpret_cast<void*>(address), index, node};
}

TEST(PendingFrees, AnEntryGivesBackItsObjectAndOrigin) {
  const auto slab = std::uintptr_t{0x7ffd'1234'5678};  // a high user address, 47 bits
  const FreeAt f(1'000, 123'456, 0xABCDEF, object_at(slab, 65'535));
  EXPECT_EQ(f.at, 1'000);
  EXPECT_EQ(f.origin(), 0xABCDEFu);
  EXPECT_EQ(f.object(7), object_at(slab, 65'535, 7));
}

TEST(PendingFrees, EqualTimesComeOutInAllocationOrderWhateverTheirOrigins) {
  FreeHeap heap;
  // Later allocations with smaller origin ids, pushed out of order, among earlier times.
  const std::vector<FreeAt> pushed = {{50, 3, 1, object_at(0x1000, 3)},
                                      {50, 1, 9, object_at(0x1000, 1)},
                                      {40, 9, 0, object_at(0x2000, 9)},
                                      {50, 2, 4, object_at(0x1000, 2)},
                                      {60, 0, 2, object_at(0x3000, 0)}};
  for (const auto& f : pushed)
    heap.push(f);
  std::vector<std::uint32_t> indices;
  for (; !heap.empty(); heap.pop())
    indices.push_back(heap.top().object(0).index);
  EXPECT_EQ(indices, (std::vector<std::uint32_t>{9, 1, 2, 3, 0}));
}

TEST(PendingFrees, AHeapGrowsPastManyEntriesInOrder) {
  FreeHeap heap;
  const int n = 100'000;
  for (int i = 0; i < n; ++i)
    heap.push({(i * 7919) % n, static_cast<std::uint64_t>(i), 0, object_at(0x1000, 0)});
  for (int expected = 0; expected < n; ++expected, heap.pop())
    ASSERT_EQ(heap.top().at, expected);
  EXPECT_TRUE(heap.empty());
}

TEST(PendingFrees, WhatDoesNotFitItsBitsIsRefusedWithAReason) {
  const auto fits = object_at(0x1000, 1);
  EXPECT_NO_THROW(FreeAt(0, (std::uint64_t{1} << 40) - 1, 0, fits));
  EXPECT_THROW(FreeAt(0, std::uint64_t{1} << 40, 0, fits), std::length_error);
  EXPECT_THROW(FreeAt(0, 0, 0, object_at(std::uintptr_t{1} << 48, 0)), std::length_error);
  EXPECT_THROW(FreeAt(0, 0, 0, object_at(0x1000, 65'536)), std::length_error);
  try {
    FreeAt(0, std::uint64_t{1} << 40, 0, fits);
  } catch (const std::length_error& e) {
    EXPECT_STREQ(e.what(), "slabsim makes at most 1099511627776 allocations in one run");
  }
}

TEST(PendingFrees, OriginsAreInternedInFirstUseOrder) {
  FreeOrigins origins;
  alloc::Cache a, b;
  EXPECT_EQ(origins.id({&a, 0, 3, 1}), 0u);
  EXPECT_EQ(origins.id({&b, 0, 3, 1}), 1u);
  EXPECT_EQ(origins.id({&a, 1, 3, 1}), 2u);
  EXPECT_EQ(origins.id({&a, 0, 3, 0}), 3u);
  EXPECT_EQ(origins.id({&a, 0, 3, 1}), 0u) << "the same origin, the same id";
  EXPECT_EQ(origins[2].owner, &a);
  EXPECT_EQ(origins[2].group, 1u);
  EXPECT_EQ(origins[3].node, 0);
}

}  // namespace pending_frees_test
}  // namespace slabsim::sim
