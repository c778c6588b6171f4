// The allocator's only door to the world. The simulator implements it on SimGrid; unit tests
// implement it with a single-threaded fake. Every call that can block (lock) is a point where
// other simulated CPUs may run, exactly where the kernel could be preempted or spin.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "allocator/lock_class.hpp"

namespace slabsim::alloc {

class Environment {
 public:
  virtual ~Environment() = default;

  // smp_processor_id(): the CPU the calling code runs on.
  virtual int current_cpu() = 0;
  // Simulated time, ns from the start of the run.
  virtual std::int64_t now_ns() = 0;
  // Work of `ns` on the current CPU. The simulator may accumulate it locally and pay it before
  // the CPU next touches shared state (lax synchronisation).
  virtual void charge(std::int64_t ns) = 0;
  // One cache-line access from the current CPU to memory on `node` (the latency matrix).
  virtual void touch_memory(int node) = 0;
  // `times` of them in a row: a walk over a list pays in one call, not one per element.
  virtual void touch_memory(int node, int times) {
    for (int i = 0; i < times; ++i)
      touch_memory(node);
  }
  // The current CPU is about to touch state other CPUs share without taking a lock (a slow
  // path's slab cmpxchg, another CPU's frozen slab): the simulator brings the CPU's local time
  // up to date first, so shared accesses stay ordered by simulated time. Fast paths do not
  // call it; lock() implies it.
  virtual void sync() = 0;

  // Takes / releases a lock. `instance` tells locks of one class apart (the list_lock of each
  // kmem_cache_node, the kernfs node of each cache); `function` is the kernel function taking
  // it, for lock_stat contention points and lockdep chains. May block.
  virtual void lock(LockClass cls, std::uint64_t instance, LockMode mode, const char* function) = 0;
  virtual void unlock(LockClass cls, std::uint64_t instance, LockMode mode) = 0;
  // mutex_trylock()/spin_trylock(): takes the lock only if that needs no wait; true if taken.
  virtual bool try_lock(LockClass cls, std::uint64_t instance, LockMode mode,
                        const char* function) = 0;
  // The struct embedding lock `instance` of `cls` is freed (kfree() of a kmem_cache_node or an
  // alien cache, the release of a cache and its kernfs nodes): what the environment keeps of
  // that instance may go. Instances are never reused; a use-after-free that takes the lock again
  // finds a fresh one.
  virtual void lock_freed(LockClass cls, std::uint64_t instance) {
    (void)cls;
    (void)instance;
  }

  // local_irq_save()/local_irq_restore() around per-CPU slow paths: while a CPU has interrupts
  // off, an IPI to it (run_on_cpu) waits.
  virtual void irq_disable() = 0;
  virtual void irq_enable() = 0;
  // on_each_cpu_cond()'s per-CPU call: runs `fn` as an IPI handler on `cpu` and returns when it
  // has run (the fake runs it at once).
  virtual void run_on_cpu(int cpu, const std::function<void()>& fn) = 0;
  // on_each_cpu()/on_each_cpu_cond() with wait=1 (kernel/smp.c): `fn(cpu)` runs as an IPI
  // handler on every CPU of `cpus` at once, and the call returns when all have run. An
  // environment without concurrent CPUs runs them one after another.
  virtual void run_on_cpus(const std::vector<int>& cpus, const std::function<void(int)>& fn) {
    for (int cpu : cpus)
      run_on_cpu(cpu, [&fn, cpu] { fn(cpu); });
  }

  // schedule_work_on() of `fn(cpu)` to every CPU of `cpus`, then flush_work() of each (SLUB's
  // flush_all_cpus_locked(), v5.15+): as run_on_cpus(), but the caller sleeps while it waits,
  // where csd_lock_wait() spins.
  virtual void run_works_on_cpus(const std::vector<int>& cpus, const std::function<void(int)>& fn) {
    run_on_cpus(cpus, fn);
  }

  // call_rcu(): `fn` runs once a grace period has passed, in softirq context on the CPU that
  // queued it (the simulator: the run's RCU grace period, KernelLockConfig::rcu_grace_period,
  // the one the percpu rw-semaphores wait; the fake: when the test ends the grace period).
  // rcu_barrier(): waits until every callback queued before it has run. May block.
  virtual void call_rcu(std::function<void()> fn) = 0;
  virtual void rcu_barrier() = 0;
  // schedule_work() on system_wq: `fn` runs later in a kworker, a task of its own that may take
  // locks and block (the simulator runs it on a CPU of its own, one work at a time, so that
  // lockdep does not take the kworker's locks for the queuing task's).
  virtual void schedule_work(std::function<void()> fn) = 0;

  // A seeded random number: get_cycles() for the remote defrag ratio, get_random_int().
  virtual std::uint64_t random() = 0;
};

}  // namespace slabsim::alloc
