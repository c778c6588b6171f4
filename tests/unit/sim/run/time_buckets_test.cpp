#include "run/time_buckets.hpp"

#include <gtest/gtest.h>

#include <string>

#include "run/metrics.hpp"

namespace slabsim::sim {
namespace time_buckets_test {

TEST(TimeBuckets, RecordingWidthIsAPowerOfTenUnderAThousandthOfTheDuration) {
  EXPECT_EQ(recording_width_ns(30'000'000, 0), 10'000);
  EXPECT_EQ(recording_width_ns(9'999'999, 0), 1'000);
  EXPECT_EQ(recording_width_ns(1'000, 0), 1);
  EXPECT_EQ(recording_width_ns(30'000'000, 123), 123) << "a named width is recorded as it is";
}

TEST(TimeBuckets, AutomaticWidthGivesAHundredPerRunAndFourPerWindow) {
  const std::int64_t recording = recording_width_ns(30'000'000, 0);
  // No window: the widest 1-2-5 step under 300 us.
  EXPECT_EQ(automatic_width_ns(30'000'000, recording, {}), 200'000);
  // A 200 us going-online window wants 50 us buckets.
  EXPECT_EQ(automatic_width_ns(30'000'000, recording, {200'000, 5'000'000}), 50'000);
  EXPECT_EQ(automatic_width_ns(30'000'000, recording, {0, 999'999}), 200'000);
  // A window shorter than 4 recording buckets gets the recording width.
  EXPECT_EQ(automatic_width_ns(30'000'000, recording, {25'000}), 10'000);
}

struct Count {
  std::int64_t start_ns = 0;
  int n = 0;
  void merge(const Count& o) { n += o.n; }
};

TEST(TimeBuckets, BucketsAreMadeAsTheRunReachesThemAndMergeWhole) {
  TimeBuckets<Count> b(10, Count{}, 1'000);
  b.at(5).n += 1;
  b.at(37).n += 2;
  b.extend_to(59);
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(b.buckets()[3].start_ns, 30);
  b.coarsen(20);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.buckets()[0].n, 1);
  EXPECT_EQ(b.buckets()[1].n, 2);
  EXPECT_EQ(b.buckets()[1].start_ns, 20);
  EXPECT_EQ(b.width_ns(), 20);
}

TEST(TimeBuckets, RoomIsMadeUpFrontForTheExpectedEnd) {
  TimeBuckets<Count> b(10, Count{}, 1'000);
  b.reserve_until(995);
  b.at(0).n += 1;
  const Count* first = b.buckets().data();
  b.at(999).n += 1;  // the hundredth bucket: no move
  EXPECT_EQ(b.buckets().data(), first);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(b.buckets().front().n, 1);
  // Never past the buckets it may record, nor past 65,536.
  TimeBuckets<Count> few(10, Count{}, 5);
  few.reserve_until(1'000'000);
  EXPECT_EQ(few.buckets().capacity(), 5u);
  TimeBuckets<Count> fine(1, Count{}, 4'000'000'004);
  fine.reserve_until(1'000'000'000);
  EXPECT_EQ(fine.buckets().capacity(), 65'536u);
}

TEST(TimeBuckets, ARunPastItsBucketsWidensThemTenfold) {
  EXPECT_EQ(max_recorded_buckets(30'000'000, 10'000), 4 * 3001);
  EXPECT_EQ(max_recorded_buckets(1'000, 1), 4004);
  EXPECT_EQ(max_recorded_buckets(1'000, 1'000), 1000);
  TimeBuckets<Count> b(10, Count{}, 5);
  b.at(3).n += 1;
  b.at(45).n += 1;
  b.at(49).n += 1;
  EXPECT_EQ(b.width_ns(), 10);
  b.at(50).n += 1;  // the sixth bucket: ten times wider
  EXPECT_EQ(b.width_ns(), 100);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.buckets()[0].n, 4);
  b.at(1'234).n += 1;
  EXPECT_EQ(b.width_ns(), 1'000);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.buckets()[1].start_ns, 1'000);
}

TEST(TimeBuckets, LockWaitsMergeByClassModeAndFunctionText) {
  using alloc::LockClass;
  using alloc::LockMode;
  const std::string other_copy = "kmem_cache_create";  // the same text at another address
  BucketMetrics a;
  BucketMetrics b;
  a.allocations_by_node = {1, 2};
  b.allocations_by_node = {3, 4};
  a.lock_wait(LockClass::mem_hotplug_lock, LockMode::read, "kmem_cache_create").wait_ns = 5;
  b.lock_wait(LockClass::mem_hotplug_lock, LockMode::read, other_copy.c_str()).wait_ns = 7;
  b.lock_wait(LockClass::slab_mutex, LockMode::exclusive, "kmem_cache_create").waits = 1;
  a.merge(b);
  ASSERT_EQ(a.lock_waits.size(), 2u);
  EXPECT_EQ(a.lock_waits[0].wait_ns, 12);
  EXPECT_EQ(a.lock_waits[1].waits, 1u);
  EXPECT_EQ(std::vector<std::uint64_t>(a.allocations_by_node.begin(), a.allocations_by_node.end()),
            (std::vector<std::uint64_t>{4, 6}));
}

TEST(TimeBuckets, HotplugWindowsRunFromTheNotifierToTheNodeStates) {
  using alloc::HotplugStep;
  const auto record = [](std::int64_t start, std::int64_t duration) {
    HotplugRecord r;
    r.start_ns = start;
    r.duration_ns = duration;
    return r;
  };
  HotplugRecord online = record(100, 900);
  online.steps = {{HotplugStep::locked, 200},
                  {HotplugStep::going_online_notified, 300},
                  {HotplugStep::node_states_set, 700}};
  HotplugRecord failed_offline = record(2000, 500);
  failed_offline.steps = {{HotplugStep::locked, 2100}, {HotplugStep::going_offline_notified, 2200}};
  HotplugRecord add = record(0, 50);
  add.steps = {{HotplugStep::locked, 10}};
  EXPECT_EQ(hotplug_windows_ns({online, failed_offline, add}),
            (std::vector<std::int64_t>{400, 300}));
}

}  // namespace time_buckets_test
}  // namespace slabsim::sim
