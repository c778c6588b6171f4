// The simulated machine of one run, assembled in dependency order: the topology with the event
// tasks' CPUs added, the engine, the kernel locks with the observers every run has (lockdep and
// the registry of held locks), the allocator's environment, the page allocator and node states,
// the allocator under the strategy, and memory hotplug with the allocator's callback and the
// error injector on its notifier chain. What runs on it (CPUs, event tasks) is not its business.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/strategy.hpp"
#include "engine/simulation.hpp"
#include "kernel/held_locks.hpp"
#include "kernel/kernel_locks.hpp"
#include "kernel/lockdep.hpp"
#include "run/machine_environment.hpp"
#include "run/notifier_error_inject.hpp"
#include "run/runner.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class Machine {
 public:
  // How often an actor waiting for another one (a parked CPU, a destroy waiting for the
  // operations under way, a CPU offline waiting for the CPU to stop) looks again.
  static constexpr std::int64_t poll_ns = 100;

  // `event_tasks`: how many CPUs to add for the tasks that play timed events. Timed events are
  // played by tasks of their own (a sysfs write from a shell, a hotplug script), each on a CPU of
  // its own, added after the real ones on the first node with CPUs: a task blocked for
  // milliseconds (a cache create waiting for the hotplug lock) does not stall a workload CPU,
  // and its per-CPU slab state is its own. The allocator's layout marks them as the
  // simulator's, so nothing the kernel derives from its CPU counts counts them. One more CPU of
  // the simulator's, after theirs, runs the system workqueue's kworker (schedule_work()): a task
  // whose per-CPU slab state and held locks are its own, as they are per task in the kernel.
  Machine(const topology::Topology& machine, int event_tasks, const workload::KernelTimes& kernel,
          const alloc::Strategy& strategy, const RunOptions& options);

  // The machine as given, without the event tasks' CPUs.
  [[nodiscard]] const topology::Topology& topology() const { return machine_; }
  // The event tasks' CPUs, in task order.
  [[nodiscard]] const std::vector<int>& event_cpus() const { return event_cpus_; }
  // CPU ids, event tasks' included: the size of per-CPU tables.
  [[nodiscard]] int nr_cpu_slots() const { return layout_.nr_cpu_slots(); }

  // An actor on `cpu`, which knows from its first step which CPU it runs as.
  void spawn(int cpu, std::string name, std::function<void()> body);
  RunResult run() { return engine_.run(); }

  [[nodiscard]] MachineEnvironment& env() { return env_; }
  [[nodiscard]] const KernelLocks& locks() const { return locks_; }
  [[nodiscard]] const alloc::MachineLayout& layout() const { return layout_; }
  [[nodiscard]] const alloc::PageAllocator& pages() const { return pages_; }
  [[nodiscard]] alloc::PageAllocator& pages() { return pages_; }
  [[nodiscard]] const alloc::NodeStates& states() const { return states_; }
  [[nodiscard]] alloc::Allocator& allocator() { return *allocator_; }
  [[nodiscard]] alloc::MemoryHotplug& hotplug() { return hotplug_; }
  [[nodiscard]] MemoryNotifierErrorInject& error_inject() { return error_inject_; }
  [[nodiscard]] const Lockdep& lockdep() const { return lockdep_; }
  [[nodiscard]] const HeldLocks& held_locks() const { return held_locks_; }

 private:
  const topology::Topology& machine_;
  topology::Topology simulated_;  // the machine plus the event tasks' CPUs
  std::vector<int> event_cpus_;
  Simulation engine_;
  KernelLocks locks_;
  MachineEnvironment env_;
  alloc::MachineLayout layout_;
  Lockdep lockdep_;
  HeldLocks held_locks_;
  alloc::PageAllocator pages_;
  alloc::NodeStates states_;
  std::unique_ptr<alloc::Allocator> allocator_;
  MemoryNotifierErrorInject error_inject_;
  alloc::MemoryHotplug hotplug_;
};

}  // namespace slabsim::sim
