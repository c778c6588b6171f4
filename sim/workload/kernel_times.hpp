// Times of the simulated kernel's own work that a workload may change (its "kernel" object),
// each declared once with its key, description, bound and default: the workload format, the
// loader and the result's "config" block all read kernel_time_params().
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kernel/rcu_grace_period.hpp"

namespace slabsim::topology {
struct Topology;
}

namespace slabsim::workload {

struct KernelTimes {
  // percpu_rw_semaphore writer's rcu_sync_enter() and call_rcu(); tick_aligned by default.
  std::int64_t rcu_grace_period_ns = 0;
  std::int64_t mutex_acquire_ns = 0;
  std::int64_t spinlock_acquire_ns = 0;
  std::int64_t hot_add_per_block_ns = 0;  // per 128 MiB memory block
  std::int64_t online_memmap_per_block_ns = 0;
  std::int64_t online_per_block_ns = 0;
  std::int64_t offline_per_block_ns = 0;
  std::int64_t zone_walk_per_gib_ns = 0;
  std::int64_t pcp_drain_page_ns = 0;           // per page a per-CPU list drain returns
  std::int64_t offline_retry_per_block_ns = 0;  // per pass of v5.10's offline retry loop
  std::int64_t slab_reap_interval_ns = 0;       // SLAB's cache_reap() period per CPU
  std::int64_t jiffy_ns = 0;                    // 1/HZ
};

struct KernelTimeParam {
  std::string_view key;  // in a workload's "kernel" object; "<key>_ns" in a result's config
  std::string_view description;
  std::int64_t min_ns = 0;
  std::int64_t KernelTimes::*field = nullptr;
  // The model's own default, read from the model's declaration (sim/kernel KernelLockConfig,
  // allocator/mm HotplugCosts, allocator/slab SlabParams); tick_aligned when the model derives
  // it from the jiffy and the machine.
  std::int64_t default_ns = 0;
};

// A KernelTimes value that is not a duration: the model's tick-aligned default.
inline constexpr std::int64_t tick_aligned = -1;

// In the order the workload format lists them.
const std::vector<KernelTimeParam>& kernel_time_params();

// Every time at its model's default.
KernelTimes default_kernel_times();

// The run's grace period: the workload's fixed one, or by default rcu_grace_period_ticks() of
// its jiffy on `machine` (its nr_cpu_ids, the highest CPU id + 1).
sim::RcuGracePeriod rcu_grace_period(const KernelTimes& k, const topology::Topology& machine);

}  // namespace slabsim::workload
