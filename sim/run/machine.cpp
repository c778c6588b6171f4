#include "run/machine.hpp"

#include <algorithm>

#include "allocator/make_allocator.hpp"

namespace slabsim::sim {

namespace {

topology::Topology with_event_cpus(topology::Topology t, int count) {
  const auto ids = t.cpu_ids();
  const int first = ids.empty() ? 0 : ids.back() + 1;
  auto host = std::find_if(t.nodes.begin(), t.nodes.end(),
                           [](const topology::Node& n) { return !n.cpus.empty(); });
  for (int k = 0; k < count; ++k) {
    host->cpus.push_back(first + k);
    for (auto& socket : t.sockets)
      if (host->socket && socket.id == *host->socket) socket.cpus.push_back(first + k);
  }
  return t;
}

// The workload's kernel times. KernelLocks would sleep for the acquire and cache-line costs;
// the environment charges them as the holder's work instead (see MachineEnvironment).
KernelLockConfig lock_config(const workload::KernelTimes& k, const topology::Topology& machine,
                             const alloc::Strategy& strategy) {
  KernelLockConfig c;
  c.mutex_spin_on_owner = strategy.mutex_spin_on_owner;
  c.rcu_grace_period = workload::rcu_grace_period(k, machine);
  c.mutex_acquire_ns = 0;
  c.spinlock_acquire_ns = 0;
  c.spinlock_cacheline_transfer = false;  // charged by the environment too
  return c;
}

// The page allocator with the strategy's per-CPU page lists, before anything allocates.
alloc::PageAllocator page_allocator(const alloc::MachineLayout& layout,
                                    const alloc::Strategy& strategy) {
  alloc::PageAllocator pages(layout);
  pages.set_pcp_version(strategy.page_alloc);
  return pages;
}

alloc::HotplugCosts hotplug_costs(const workload::KernelTimes& k) {
  return {k.hot_add_per_block_ns,      k.online_memmap_per_block_ns, k.online_per_block_ns,
          k.offline_per_block_ns,      k.zone_walk_per_gib_ns,       k.pcp_drain_page_ns,
          k.offline_retry_per_block_ns};
}

}  // namespace

Machine::Machine(const topology::Topology& machine, int event_tasks,
                 const workload::KernelTimes& kernel, const alloc::Strategy& strategy,
                 const RunOptions& options)
    : machine_(machine),
      simulated_(with_event_cpus(machine, event_tasks + 1)),
      engine_(simulated_),
      locks_(simulated_, lock_config(kernel, machine, strategy)),
      env_(simulated_, locks_, options.seed, options.sync_quantum_ns, kernel.mutex_acquire_ns,
           kernel.spinlock_acquire_ns),
      layout_(machine_layout(simulated_, event_tasks + 1)),
      held_locks_(layout_.nr_cpu_slots()),
      pages_(page_allocator(layout_, strategy)),
      states_(alloc::boot_node_states(layout_)),
      allocator_(alloc::make_allocator(options.allocator, env_, pages_, states_, strategy,
                                       options.tuning)),
      hotplug_(env_, pages_, states_, hotplug_costs(kernel), strategy.hotplug_side) {
  const auto all = simulated_.cpu_ids();
  event_cpus_.assign(all.end() - event_tasks - 1, all.end() - 1);
  env_.set_work_cpu(all.back());
  engine_.set_lookahead(options.lookahead);
  env_.set_spawner([this](int cpu, std::string name, std::function<void()> body) {
    spawn(cpu, std::move(name), std::move(body));
  });
  lockdep_.observe(env_.lock_signals());
  // debug_locks_off() at the first splat: /proc/lock_stat freezes.
  lockdep_.reported.connect([this](const Lockdep::Report&) {
    if (locks_.debug_locks()) locks_.debug_locks_off();
  });
  held_locks_.observe(env_.lock_signals());
  alloc::register_memory_callback(hotplug_, *allocator_);
  error_inject_.register_on(hotplug_);
}

void Machine::spawn(int cpu, std::string name, std::function<void()> body) {
  engine_.spawn_on_cpu(cpu, std::move(name), [this, body = std::move(body)] {
    env_.actor_started();
    body();
  });
}

}  // namespace slabsim::sim
