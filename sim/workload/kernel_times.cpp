#include "workload/kernel_times.hpp"

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/slab/slab.hpp"
#include "kernel/jiffies.hpp"
#include "kernel/kernel_locks.hpp"

namespace slabsim::workload {

const std::vector<KernelTimeParam>& kernel_time_params() {
  static const std::vector<KernelTimeParam> params = [] {
    const sim::KernelLockConfig locks;
    const alloc::HotplugCosts hotplug;
    const alloc::SlabParams slab;
    return std::vector<KernelTimeParam>{
        {"rcu_grace_period",
         "RCU grace period a percpu rw-semaphore writer (memory or CPU hotplug) waits before it "
         "blocks new readers.",
         0, &KernelTimes::rcu_grace_period_ns, locks.rcu_grace_period_ns},
        {"mutex_acquire", "Cost of an uncontended mutex_lock().", 0, &KernelTimes::mutex_acquire_ns,
         locks.mutex_acquire_ns},
        {"spinlock_acquire", "Cost of an uncontended spin_lock().", 0,
         &KernelTimes::spinlock_acquire_ns, locks.spinlock_acquire_ns},
        {"hot_add_per_block",
         "Hot-adding one 128 MiB memory block (struct page initialisation); scaled to the "
         "machine's block size.",
         0, &KernelTimes::hot_add_per_block_ns, hotplug.add_memory_ns},
        {"online_per_block",
         "online_pages() work for one 128 MiB block, between MEM_GOING_ONLINE and "
         "node_states_set_node().",
         0, &KernelTimes::online_per_block_ns, hotplug.online_pages_ns},
        {"offline_per_block", "offline_pages() work for one 128 MiB block after MEM_GOING_OFFLINE.",
         0, &KernelTimes::offline_per_block_ns, hotplug.offline_pages_ns},
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

KernelTimes default_kernel_times() {
  KernelTimes k;
  for (const auto& p : kernel_time_params())
    k.*p.field = p.default_ns;
  return k;
}

}  // namespace slabsim::workload
