// The allocator's Environment on the SimGrid machine: time is the simulation's clock plus the
// calling CPU's not yet paid local work (lax synchronisation), locks are the run's KernelLocks,
// memory accesses cost the topology's latency, IPIs wait for the target CPU's interrupts.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator/environment.hpp"
#include "engine/simulation.hpp"
#include "kernel/kernel_locks.hpp"
#include "kernel/lockdep.hpp"
#include "topology/topology.hpp"

namespace slabsim::sim {

class TraceRecorder;

// A lock some CPU holds or waits for: what a deadlock report shows.
struct LockUse {
  int cpu = 0;
  alloc::LockClass cls = alloc::LockClass::slab_mutex;
  std::uint64_t instance = 0;
  alloc::LockMode mode = alloc::LockMode::exclusive;
  const char* function = "";  // the kernel function that took or asked for it (a literal)
};

class MachineEnvironment final : public alloc::Environment {
 public:
  // `quantum_ns`: how far a CPU's local time may run ahead of the simulation before it pays
  // it with one sleep (the lax-synchronisation quantum).
  // The acquire costs are charged here, as local work of the holder, rather than by
  // KernelLocks (whose own acquire costs the runner sets to 0): one engine call per critical
  // section instead of two.
  MachineEnvironment(const topology::Topology& machine, KernelLocks& locks, std::uint64_t seed,
                     std::int64_t quantum_ns, std::int64_t mutex_acquire_ns,
                     std::int64_t spinlock_acquire_ns);

  // Outside the engine (boot before the run, reports after it) there are no actors: time stands
  // at `now_ns`, locks are uncontended and not recorded, nothing is paid.
  void set_outside_engine(bool outside, std::int64_t now_ns = 0) {
    outside_ = outside;
    outside_now_ = now_ns;
  }
  // A trylock from the current CPU (lock_device_hotplug_sysfs); true if taken.
  bool try_lock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
                const char* function) override;
  // kernfs_get_active()/kernfs_put_active() of a cache's sysfs directory, from the current CPU.
  bool kernfs_get_active(std::uint64_t instance, const char* function);
  void kernfs_put_active(std::uint64_t instance);

  // The CPU the running code runs as is the running actor's (Simulation::current_cpu(): the CPU
  // it was spawned on, or the target of an IPI handler it runs). It is re-read, with the clock,
  // in one place: at the start of an actor's body and after every call into the engine, since
  // other actors run meanwhile. The fast path (work on per-CPU state) reads the cached copy.
  void actor_started() { refresh_from_engine(); }
  // Waits of the runner's own (a parked CPU, an event task until its next event).
  void sleep_for(std::int64_t ns);
  void sleep_until(std::int64_t ns);
  // Pays the CPU's local work if it exceeds the quantum (called between operations).
  void maybe_flush() {
    if (pending_[cpu_] >= quantum_ns_) flush();
  }
  void flush();  // pays all of it now
  // Simulation time as the current CPU sees it.
  [[nodiscard]] std::int64_t local_now() const;

  int current_cpu() override { return cpu_; }
  std::int64_t now_ns() override { return local_now(); }
  void charge(std::int64_t ns) override { pending_[cpu_] += ns; }
  void touch_memory(int node) override { touch_memory(node, 1); }
  void touch_memory(int node, int times);  // `times` accesses in a row
  void sync() override { flush(); }
  void lock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
            const char* function) override;
  void unlock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode) override;
  void irq_disable() override { ++irq_off_[cpu_]; }
  void irq_enable() override { --irq_off_[cpu_]; }
  void run_on_cpu(int target, const std::function<void()>& fn) override;
  std::uint64_t random() override { return rng_(); }

  // Records lock waits and holds from now on (nullptr: none; the only cost then is the test).
  void set_trace(TraceRecorder* trace) { trace_ = trace; }

  // Lock-order checking of every acquisition, as lockdep does.
  [[nodiscard]] const Lockdep& lockdep() const { return lockdep_; }

  // The locks held right now, in acquisition order, and the one each CPU waits for.
  [[nodiscard]] const std::vector<LockUse>& held() const { return held_; }
  [[nodiscard]] std::vector<LockUse> awaited() const;

  // True while another actor runs an IPI handler as `cpu`: that CPU's own actor must wait.
  [[nodiscard]] bool cpu_taken(int cpu) const { return taken_[cpu] > 0; }

 private:
  // While an IPI handler runs, the code runs as its target CPU.
  class RunningAs {
   public:
    RunningAs(MachineEnvironment& env, int cpu);
    ~RunningAs();
    RunningAs(const RunningAs&) = delete;
    RunningAs& operator=(const RunningAs&) = delete;

   private:
    MachineEnvironment& env_;
    int previous_;
    std::optional<Simulation::RunAsCpu> engine_binding_;  // none outside the engine
  };

  // The one place where the cached clock and current CPU are re-read.
  void refresh_from_engine();
  void forget(int cpu, alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode);

  KernelLocks& locks_;
  std::vector<int> cpu_node_;
  std::vector<std::vector<std::int64_t>> latency_;
  std::vector<std::int64_t> pending_;  // per CPU
  std::vector<int> irq_off_;           // per CPU: local_irq_save depth
  std::vector<int> taken_;             // per CPU: IPI handlers running as it
  std::vector<long> handler_actor_;    // per CPU: the actor running the latest such handler
  // The CPU's own task is interrupted while a handler runs as it (in the sender's actor): it
  // takes no lock until the handler has returned, as no task runs during its CPU's interrupt.
  void wait_for_handler();
  std::mt19937_64 rng_;
  std::int64_t quantum_ns_;
  int cpu_ = 0;  // the running actor's; outside the engine, the last one's (0 before the run)
  std::array<std::int64_t, alloc::lock_class_count> acquire_ns_{};
  Lockdep lockdep_;
  std::vector<LockUse> held_;
  // The last CPU that took each spinlock instance (key: instance << 3 | class), for the
  // cache-line transfer cost, which KernelLocks would otherwise pay with a sleep of its own.
  std::unordered_map<std::uint64_t, int> last_cpu_;
  std::vector<std::optional<LockUse>> awaiting_;  // per CPU
  std::int64_t clock_ = 0;  // the running actor's clock when it last came back from the engine
  bool outside_ = false;
  std::int64_t outside_now_ = 0;
  TraceRecorder* trace_ = nullptr;
};

}  // namespace slabsim::sim
