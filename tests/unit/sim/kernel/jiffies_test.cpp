// msleep() in whole ticks (kernel/time/timer.c, v5.10): msecs_to_jiffies() rounds up, and
// schedule_timeout() of `n` ticks fires on the tick `jiffies + n`.
#include "kernel/jiffies.hpp"

#include <gtest/gtest.h>

namespace slabsim::sim {
namespace {

TEST(Jiffies, MsecsToJiffiesRoundsUp) {
  EXPECT_EQ(msecs_to_jiffies(5, 4'000'000), 2);  // HZ=250: 5 ms is 1.25 ticks
  EXPECT_EQ(msecs_to_jiffies(4, 4'000'000), 1);
  EXPECT_EQ(msecs_to_jiffies(5, 1'000'000), 5);  // HZ=1000
  EXPECT_EQ(msecs_to_jiffies(0, 4'000'000), 0);
}

// msleep(5) at HZ=250 is schedule_timeout(3): 8 to 12 ms, ending on a tick.
TEST(Jiffies, Msleep5SleepsUntilTheThirdTickAfterTheCurrentOne) {
  constexpr std::int64_t jiffy = 4'000'000;
  EXPECT_EQ(msleep_wake_ns(0, 5, jiffy), 12'000'000);
  EXPECT_EQ(msleep_wake_ns(3'999'999, 5, jiffy), 12'000'000);  // 8 ms and a nanosecond
  EXPECT_EQ(msleep_wake_ns(4'000'000, 5, jiffy), 16'000'000);
  EXPECT_EQ(msleep_wake_ns(1'500'000, 5, 1'000'000), 7'000'000);  // HZ=1000: 6 ticks
  EXPECT_EQ(msleep_wake_ns(1'500'000, 5, jiffy) % jiffy, 0);
}

}  // namespace
}  // namespace slabsim::sim
