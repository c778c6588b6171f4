// RunQueue (sim/engine/run_queue.hpp): the engine's tie rule as a data structure. The first
// actor is the one due earliest, and among those due together the one whose wait was
// registered first, whatever the slots' numbers; listing again replaces a slot's wait.
#include "engine/run_queue.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <set>
#include <tuple>
#include <vector>

namespace slabsim::sim {
namespace {

TEST(RunQueue, EarliestFirstThenFirstRegistered) {
  RunQueue q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(q.add(), static_cast<std::size_t>(i));
  EXPECT_TRUE(q.empty());
  q.list(3, 100);
  q.list(1, 100);
  q.list(2, 50);
  EXPECT_EQ(q.first(), 2u);
  EXPECT_EQ(q.due(2), 50);
  q.unlist(2);
  EXPECT_EQ(q.first(), 3u);  // registered before slot 1, due at the same time
  q.unlist(3);
  EXPECT_EQ(q.first(), 1u);
  q.list(0, 100);  // registered last
  q.list(1, 100);  // listed again: now behind slot 0
  EXPECT_EQ(q.first(), 0u);
  q.unlist(0);
  q.unlist(1);
  EXPECT_TRUE(q.empty());
}

// Against a std::set of (due, registration, slot) over random operations, with slots added as
// it goes (the tree grows from 8 to 1,024 slots).
TEST(RunQueue, MatchesAnOrderedSetThroughGrowth) {
  RunQueue q;
  std::set<std::tuple<std::int64_t, std::uint64_t, std::size_t>> model;
  std::vector<std::pair<std::int64_t, std::uint64_t>> key;  // per slot; due -1: unlisted
  std::uint64_t registered = 0;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 50000; ++step) {
    if (key.size() < 1000 && rng() % 20 == 0) {
      ASSERT_EQ(q.add(), key.size());
      key.emplace_back(-1, 0);
    }
    if (key.empty()) continue;
    const std::size_t slot = rng() % key.size();
    if (key[slot].first >= 0) model.erase({key[slot].first, key[slot].second, slot});
    if (rng() % 3 == 0) {
      q.unlist(slot);
      key[slot] = {-1, 0};
    } else {
      const std::int64_t due = static_cast<std::int64_t>(rng() % 50);
      q.list(slot, due);
      key[slot] = {due, registered};
      model.insert({due, registered++, slot});
    }
    ASSERT_EQ(q.empty(), model.empty());
    if (!model.empty()) {
      ASSERT_EQ(q.first(), std::get<2>(*model.begin())) << "step " << step;
      ASSERT_EQ(q.due(q.first()), std::get<0>(*model.begin()));
    }
  }
}

}  // namespace
}  // namespace slabsim::sim
