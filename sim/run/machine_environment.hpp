// The allocator's Environment on the SimGrid machine: time is the simulation's clock plus the
// calling CPU's not yet paid local work (lax synchronisation), locks are the run's KernelLocks,
// memory accesses cost the topology's latency, IPIs wait for the target CPU's interrupts.
//
// The current CPU is the running actor's (Simulation::current_cpu(): the CPU it was spawned on,
// or the target of an IPI handler it runs). It is re-read with the clock in one place: when an
// actor's body starts and after every call into the engine, since other actors run meanwhile.
// The fast path (work on per-CPU state, which never enters the engine) reads the cached copy.
//
// Every lock operation goes through one acquire path and one release path, which emit the lock
// signals (lock_signals.hpp) that lockdep, the held-locks registry and the trace observe.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator/environment.hpp"
#include "engine/simulation.hpp"
#include "kernel/kernel_locks.hpp"
#include "kernel/lock_signals.hpp"
#include "topology/topology.hpp"

namespace slabsim::sim {

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
  // at `now_ns`, locks are uncontended and not recorded, nothing is paid, and the code runs as
  // the CPU that ran last (0 before the run).
  void set_outside_engine(bool outside, std::int64_t now_ns = 0) {
    outside_ = outside;
    outside_now_ = now_ns;
  }
  // At the start of an actor's body: learns the CPU it runs as, and the time.
  void actor_started() { refresh_from_engine(); }

  [[nodiscard]] LockSignals& lock_signals() { return signals_; }

  // How the environment starts a task of its own (an RCU callback's softirq, a kworker) on a CPU:
  // the machine's spawn, which tells the actor its CPU and time.
  using Spawner = std::function<void(int cpu, std::string name, std::function<void()> body)>;
  void set_spawner(Spawner spawner) { spawn_ = std::move(spawner); }
  // Wraps the allocator code those tasks run (the callback, the work, not the wait for the grace
  // period): the run's quiescent invariant checks wait for it as for a CPU's call.
  using TaskGuard = std::function<void(const std::function<void()>& body)>;
  void set_task_guard(TaskGuard guard) { guard_ = std::move(guard); }
  // The CPU the kworker runs on (-1: the CPU that queues the work).
  void set_work_cpu(int cpu) { work_cpu_ = cpu; }

  // kernfs_get_active()/kernfs_put_active() of a file of a cache's sysfs directory, from the
  // current CPU: a trylock read of the file's kn->active (class `cls`, instance: the cache), and
  // the release.
  bool kernfs_get_active(alloc::LockClass cls, std::uint64_t instance, const char* function);
  void kernfs_put_active(alloc::LockClass cls, std::uint64_t instance);

  // For its life, the code runs as `cpu`: an IPI handler as its target CPU, an event task as the
  // event CPU it plays on.
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

  // Waits of the runner's own (a parked CPU, an event task until its next event).
  void sleep_for(std::int64_t ns);
  void sleep_until(std::int64_t ns);
  // The calling task sleeps in the kernel (msleep(), wait_for_completion()) for the guard's
  // scope: the mutexes it owns stop their spinners (kernel/task_states.hpp).
  [[nodiscard]] TaskStates::Sleeping sleeping();
  // Pays the CPU's local work if it exceeds the quantum (called between operations).
  void maybe_flush() {
    if (pending_[cpu_] >= quantum_ns_) flush();
  }
  void flush();  // pays all of it now
  // Simulation time as the current CPU sees it.
  [[nodiscard]] std::int64_t local_now() const {
    return outside_ ? outside_now_ : clock_ + pending_[cpu_];
  }

  int current_cpu() override { return cpu_; }
  std::int64_t now_ns() override { return local_now(); }
  void charge(std::int64_t ns) override { pending_[cpu_] += ns; }
  void touch_memory(int node) override { pending_[cpu_] += latency_row_[cpu_][node]; }
  void touch_memory(int node, int times) override {
    pending_[cpu_] += latency_row_[cpu_][node] * times;
  }
  // Pays the work, and then, as after a lock, lets an IPI handler or RCU callback that started
  // running as this CPU meanwhile finish first: the interrupted code resumes after it.
  void sync() override {
    flush();
    if (!outside_) wait_for_handler();
  }
  void lock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
            const char* function) override {
    acquire(cls, instance, mode, function, /*trylock=*/false);
  }
  // A trylock from the current CPU (lock_device_hotplug_sysfs); true if taken.
  bool try_lock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
                const char* function) override {
    return acquire(cls, instance, mode, function, /*trylock=*/true);
  }
  void unlock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode) override {
    // The critical section's work is done before the lock is released: hold and wait times in
    // lock_stat include it.
    release(cls, instance, mode, /*pay_work_first=*/true);
  }
  void lock_freed(alloc::LockClass cls, std::uint64_t instance) override {
    locks_.forget(cls, instance);
  }
  // An IPI handler or RCU callback running as this CPU (in another actor) finishes before the
  // interrupted code disables interrupts again: it ran to completion in the kernel.
  void irq_disable() override {
    if (!outside_ && taken_[cpu_] > 0) wait_for_handler();
    ++irq_off_[cpu_];
  }
  void irq_enable() override { irqs_restored(cpu_); }
  void run_on_cpu(int target, const std::function<void()>& fn) override;
  // The remote handlers run in tasks of their own, one per target CPU, started together after
  // one IPI send; the sender runs its own CPU's handler meanwhile and then waits for the others
  // (smp_call_function_many_cond(): the local call, then csd_lock_wait() on each).
  void run_on_cpus(const std::vector<int>& cpus, const std::function<void(int)>& fn) override;
  void run_works_on_cpus(const std::vector<int>& cpus, const std::function<void(int)>& fn) override;
  // call_rcu(): the callback is queued on the queuing CPU and runs as that CPU's softirq once
  // the grace period (the run's rcu_grace_period, as the percpu rw-semaphores use) has passed;
  // one task per CPU runs the queue (rcu_do_batch()), every callback due at once in one go, so
  // that a burst of callbacks (SLOB frees one per object) costs one engine actor, not one each.
  // rcu_barrier() waits until the callbacks queued before it have run. Outside the engine both
  // run at once.
  void call_rcu(std::function<void()> fn) override;
  void rcu_barrier() override;
  // schedule_work(): the kworker task runs the works queued, one after another, in order.
  void schedule_work(std::function<void()> fn) override;
  std::uint64_t random() override { return rng_(); }

  // True while another actor runs an IPI handler as `cpu`: that CPU's own actor must wait.
  [[nodiscard]] bool cpu_taken(int cpu) const { return taken_[cpu] > 0; }
  // The CPU's own task is interrupted while a handler runs as it (in the sender's actor): it
  // takes no lock until the handler has returned, as no task runs during its CPU's interrupt.
  // It is parked meanwhile and woken when the last handler gives the CPU back. Inline: every
  // lock acquisition asks, twice, and a handler is rarely running.
  void wait_for_handler() {
    if (taken_[cpu_] > 0) [[unlikely]]
      wait_while_taken();
  }

 private:
  void wait_while_taken();
  // The one place where the cached clock and current CPU are re-read. Inline: after every
  // blocking call, 4.7 times a SLOB operation.
  void refresh_from_engine() {
    clock_ = Simulation::now_ns();
    cpu_ = Simulation::current_cpu();
  }
  // The one lock path: lock(), try_lock(), kernfs_get_active().
  bool acquire(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
               const char* function, bool trylock);
  void release(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
               bool pay_work_first);
  void charge_acquisition(const LockEvent& acquired);
  // From a task spawned on `cpu`: an IPI handler, or rcu_do_batch() in its softirq. Takes the
  // CPU once its interrupts are on, runs `fn` with them off while the CPU's own task waits,
  // pays the handler's work in this task and gives the CPU back.
  void run_in_interrupt(int cpu, const std::function<void()>& fn);
  // An interrupt for `cpu` is taken: at once if the CPU has interrupts on, else at the
  // local_irq_restore() that turns them back on (the kernel takes a pending interrupt there),
  // the caller parked until then. The caller then runs as the CPU's handler, interrupts off.
  void take_interrupt(int cpu);
  // The handler returns: the CPU goes to the next interrupt waiting, or back to its task.
  void end_interrupt(int cpu);
  // local_irq_restore(): the outermost one hands the CPU to the first interrupt waiting. Inline:
  // SLAB restores interrupts on every call, and an interrupt is rarely waiting.
  void irqs_restored(int cpu) {
    if (--irq_off_[cpu] > 0 || outside_ || interrupts_[cpu].empty()) return;
    take_waiting_interrupt(cpu);
  }
  void take_waiting_interrupt(int cpu);
  // The CPU goes to a handler that `actor` runs: interrupts off, its task waiting meanwhile.
  void hand_over(int cpu, long actor) {
    ++irq_off_[cpu];
    ++taken_[cpu];
    handler_actor_[cpu] = actor;
  }
  // Callback `number` has run: it leaves rcu_due_, with the ones before it that have run too.
  void rcu_ran(std::uint64_t number);
  // After an RCU callback ran: wakes the rcu_barrier() calls with nothing left to wait for.
  void wake_rcu_barriers();

  KernelLocks& locks_;
  LockSignals signals_;
  std::vector<int> cpu_node_;
  std::vector<std::vector<std::int64_t>> latency_;
  std::vector<const std::int64_t*> latency_row_;  // per CPU: its node's row of latency_
  std::vector<std::int64_t> pending_;             // per CPU
  std::vector<int> irq_off_;                      // per CPU: local_irq_save depth
  std::vector<int> taken_;                        // per CPU: IPI handlers running as it
  std::vector<long> handler_actor_;     // per CPU: the actor running the latest such handler
  std::vector<WaitQueue> interrupts_;   // per CPU: interrupts waiting for it to turn irqs on
  std::vector<WaitQueue> interrupted_;  // per CPU: its task, waiting for the handlers to end
  std::mt19937_64 rng_;
  std::int64_t quantum_ns_;
  int cpu_ = 0;  // the running actor's; outside the engine, the last one's (0 before the run)
  std::array<std::int64_t, alloc::lock_class_count> acquire_ns_{};
  std::array<bool, alloc::lock_class_count> spinlock_{};  // KernelLocks::kind_of() is spinlock
  // The last CPU that took each spinlock instance (key: instance << 8 | class), for the
  // cache-line transfer cost, which KernelLocks would otherwise pay with a sleep of its own.
  std::unordered_map<std::uint64_t, int> last_cpu_;
  // The entry found last (entries never move): a CPU mostly takes the same lock again, SLOB's
  // slob_lock every time.
  std::uint64_t last_cpu_key_ = 0;
  int* last_cpu_of_key_ = nullptr;
  Spawner spawn_;
  TaskGuard guard_ = [](const std::function<void()>& body) { body(); };
  std::uint64_t rcu_queued_ = 0;  // call_rcu() calls so far
  // The due time of each callback from number rcu_first_ on, or ran_ once it has run; the
  // front is always one that has not. Numbers are consecutive: no tree, no node per callback.
  static constexpr std::int64_t ran_ = -1;
  std::uint64_t rcu_first_ = 0;
  std::deque<std::int64_t> rcu_due_;
  // Per CPU: the callbacks queued, sorted by (due time, number), and whether its RCU task runs.
  struct RcuCallback {
    std::int64_t due;
    std::uint64_t number;
    std::function<void()> fn;
  };
  std::vector<std::deque<RcuCallback>> rcu_queue_;
  std::vector<char> rcu_task_;
  // rcu_barrier() calls waiting for the callbacks numbered below theirs to have run.
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Wakeup>>> rcu_barriers_;
  int work_cpu_ = -1;
  std::deque<std::function<void()>> works_;  // queued, not yet started
  bool kworker_running_ = false;
  std::int64_t clock_ = 0;  // the running actor's clock when it last came back from the engine
  bool outside_ = false;
  std::int64_t outside_now_ = 0;
};

}  // namespace slabsim::sim
