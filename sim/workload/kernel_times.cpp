#include "workload/kernel_times.hpp"

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/slab/slab.hpp"
#include "kernel/jiffies.hpp"
#include "kernel/kernel_locks.hpp"
#include "topology/topology.hpp"

namespace slabsim::workload {

const std::vector<KernelTimeParam>& kernel_time_params() {
  static const std::vector<KernelTimeParam> params = [] {
    const sim::KernelLockConfig locks;
    static_assert(sim::RcuGracePeriod{}.fixed_ns < 0, "the model's default is tick-aligned");
    const alloc::HotplugCosts hotplug;
    const alloc::SlabParams slab;
    return std::vector<KernelTimeParam>{
        {"rcu_grace_period",
         "RCU grace period a percpu rw-semaphore writer (memory or CPU hotplug) waits before it "
         "blocks new readers, and call_rcu() callbacks wait; the same for every grace period. "
         "Default: tick-aligned as measured on the booted v6.1, ending on the (3 + "
         "jiffies_till_first_fqs)th tick after the call (3 on a one-CPU machine), "
         "jiffies_till_first_fqs = 1 + (HZ > 250) + (HZ > 500) + nr_cpu_ids/256: 16 ms at "
         "HZ=250.",
         0, &KernelTimes::rcu_grace_period_ns, tick_aligned},
        {"mutex_acquire", "Cost of an uncontended mutex_lock().", 0, &KernelTimes::mutex_acquire_ns,
         locks.mutex_acquire_ns},
        {"spinlock_acquire", "Cost of an uncontended spin_lock().", 0,
         &KernelTimes::spinlock_acquire_ns, locks.spinlock_acquire_ns},
        {"hot_add_per_block",
         "Hot-adding one 128 MiB memory block (add_memory_resource(): the direct map and the "
         "memmap's allocation, no struct page initialised); scaled to the machine's block size.",
         0, &KernelTimes::hot_add_per_block_ns, hotplug.add_memory_ns},
        {"online_memmap_per_block",
         "online_pages() work for one 128 MiB block before MEM_GOING_ONLINE: "
         "memmap_init_zone() of its struct pages (move_pfn_range_to_zone()).",
         0, &KernelTimes::online_memmap_per_block_ns, hotplug.online_memmap_ns},
        {"online_per_block",
         "online_pages() work for one 128 MiB block, between MEM_GOING_ONLINE and "
         "node_states_set_node(): its pages freed to the buddy allocator.",
         0, &KernelTimes::online_per_block_ns, hotplug.online_pages_ns},
        {"offline_per_block", "offline_pages() work for one 128 MiB block after MEM_GOING_OFFLINE.",
         0, &KernelTimes::offline_per_block_ns, hotplug.offline_pages_ns},
        {"zone_walk_per_gib",
         "set_zone_contiguous() per GiB of the zone's span, in every online (before "
         "MEM_GOING_ONLINE) and offline (after MEM_OFFLINE).",
         0, &KernelTimes::zone_walk_per_gib_ns, hotplug.zone_walk_per_gib_ns},
        {"pcp_drain_page",
         "free_pcppages_bulk() per page a drain of a per-CPU page list (offline, a dead CPU) "
         "returns to the buddy lists under zone->lock.",
         0, &KernelTimes::pcp_drain_page_ns, hotplug.pcp_drain_page_ns},
        {"offline_retry_per_block",
         "One more pass of v5.10's offline_pages() loop over a 128 MiB block while "
         "test_pages_isolated() fails (lru_add_drain_all(), the scan, the test, then "
         "drain_all_pages()).",
         0, &KernelTimes::offline_retry_per_block_ns, hotplug.offline_retry_ns},
        {"slab_reap_interval",
         "Allocator slab only: how often each CPU runs cache_reap() (REAPTIMEOUT_AC, 2*HZ); the "
         "per-node free-list reap runs every second time.",
         1, &KernelTimes::slab_reap_interval_ns, slab.reap_interval_ns},
        {"jiffy",
         "One scheduler tick, 1/HZ (Debian's x86_64 kernels: CONFIG_HZ_250, 4 ms). Sleeps last "
         "whole ticks: lock_device_hotplug_sysfs()'s msleep(5) before a sysfs online or offline "
         "is restarted.",
         1000, &KernelTimes::jiffy_ns, sim::default_jiffy_ns},
    };
  }();
  return params;
}

sim::RcuGracePeriod rcu_grace_period(const KernelTimes& k, const topology::Topology& machine) {
  if (k.rcu_grace_period_ns != tick_aligned)
    return sim::RcuGracePeriod::fixed(k.rcu_grace_period_ns);
  const auto cpus = machine.cpu_ids();
  return sim::RcuGracePeriod::on_ticks(k.jiffy_ns, cpus.empty() ? 1 : cpus.back() + 1);
}

KernelTimes default_kernel_times() {
  KernelTimes k;
  for (const auto& p : kernel_time_params())
    k.*p.field = p.default_ns;
  return k;
}

}  // namespace slabsim::workload
