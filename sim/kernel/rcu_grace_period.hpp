// How long a normal RCU grace period lasts: synchronize_rcu() as rcu_sync_enter() calls it for a
// percpu rw-semaphore writer (mem_hotplug_begin(), cpus_write_lock()) and as call_rcu() waits.
#pragma once

#include <cstdint>

#include "kernel/jiffies.hpp"

namespace slabsim::sim {

// RCU_JIFFIES_TILL_FORCE_QS + nr_cpu_ids / RCU_JIFFIES_FQS_DIV (kernel/rcu/tree.h, v5.10-v6.1):
// rcu_init_geometry()'s default jiffies_till_first_fqs, the wait before the grace-period
// kthread's first force-quiescent-state scan, which reports the idle CPUs.
[[nodiscard]] constexpr std::int64_t rcu_jiffies_till_first_fqs(std::int64_t jiffy_ns,
                                                                int nr_cpu_ids) {
  const std::int64_t hz = (1'000'000'000 + jiffy_ns / 2) / jiffy_ns;
  return 1 + (hz > 250) + (hz > 500) + nr_cpu_ids / 256;
}

// The ticks a grace period spans on a machine that is mostly idle: the tick at which the
// caller's CPU starts the grace period from rcu_core(), the first force-quiescent-state scan
// (not needed on a one-CPU machine, whose own tick reports its quiescent state), then the ticks
// at which the end is noticed and the callback (wakeme_after_rcu()) runs. Measured on the booted
// Debian v6.1 (HZ=250, kernel-check/plans/rcu-grace-period.json, results/rcu-grace-period.md):
// every percpu_down_write() of an idle semaphore ended on the 4th tick boundary after the call
// with 2 and 4 CPUs (median 15.5 ms when called 0.5 ms after a tick), the 3rd with one.
[[nodiscard]] constexpr int rcu_grace_period_ticks(std::int64_t jiffy_ns, int nr_cpu_ids) {
  return static_cast<int>(3 +
                          (nr_cpu_ids > 1 ? rcu_jiffies_till_first_fqs(jiffy_ns, nr_cpu_ids) : 0));
}

struct RcuGracePeriod {
  // >= 0: every grace period lasts exactly this long (a workload's "rcu_grace_period"; 0 for
  // none at all, as rcupdate.rcu_expedited approaches). < 0: tick-aligned, below.
  std::int64_t fixed_ns = -1;
  std::int64_t jiffy_ns = default_jiffy_ns;
  int ticks = 4;  // tick-aligned: ends at the ticks-th tick boundary after the call

  static RcuGracePeriod fixed(std::int64_t ns) { return {ns, default_jiffy_ns, 0}; }
  static RcuGracePeriod on_ticks(std::int64_t jiffy_ns, int nr_cpu_ids) {
    return {-1, jiffy_ns, rcu_grace_period_ticks(jiffy_ns, nr_cpu_ids)};
  }

  [[nodiscard]] bool none() const { return fixed_ns == 0; }
  // When a grace period that starts at `now_ns` has ended.
  [[nodiscard]] std::int64_t end(std::int64_t now_ns) const {
    if (fixed_ns >= 0) return now_ns + fixed_ns;
    return (now_ns / jiffy_ns + ticks) * jiffy_ns;
  }
  // The longest a grace period lasts: what results report as the run's grace period.
  [[nodiscard]] std::int64_t nominal_ns() const {
    return fixed_ns >= 0 ? fixed_ns : ticks * jiffy_ns;
  }
};

}  // namespace slabsim::sim
