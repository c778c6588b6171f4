// The scheduler tick: jiffies and what sleeps in whole ticks (kernel/time/timer.c, v5.10).
#pragma once

#include <cstdint>

namespace slabsim::sim {

// 1/HZ with Debian's x86_64 configuration (CONFIG_HZ_250): 4 ms.
inline constexpr std::int64_t default_jiffy_ns = 4'000'000;

// msecs_to_jiffies(): rounded up to whole ticks.
[[nodiscard]] constexpr std::int64_t msecs_to_jiffies(std::int64_t msecs, std::int64_t jiffy_ns) {
  return (msecs * 1'000'000 + jiffy_ns - 1) / jiffy_ns;
}

// When msleep(msecs) started at `now_ns` returns: schedule_timeout_uninterruptible() of
// msecs_to_jiffies(msecs) + 1 ticks, whose timer fires at the tick `jiffies + timeout` (ticks
// counted from time 0; a timeout this short sits in the timer wheel's first level, which fires
// on the exact tick). So the sleep lasts between `timeout - 1` and `timeout` ticks.
[[nodiscard]] constexpr std::int64_t msleep_wake_ns(std::int64_t now_ns, std::int64_t msecs,
                                                    std::int64_t jiffy_ns) {
  const std::int64_t jiffies = now_ns / jiffy_ns;
  return (jiffies + msecs_to_jiffies(msecs, jiffy_ns) + 1) * jiffy_ns;
}

}  // namespace slabsim::sim
