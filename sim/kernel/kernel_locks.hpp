// The kernel locks of one simulation run, by (LockClass, instance): what the SimGrid
// implementation of alloc::Environment calls for lock()/unlock(). Locks are created on first
// use with the kind of their class; every instance of a class feeds the class's LockStat (as
// lockdep aggregates, e.g., the list_lock of every kmem_cache_node into "&n->list_lock").
//
//   class                  kind                 modes
//   slab_mutex             KernelMutex          exclusive
//   device_hotplug_lock    KernelMutex          exclusive (try_lock: lock_device_hotplug_sysfs)
//   list_lock              KernelSpinlock       exclusive
//   mem_hotplug_lock       PercpuRwSemaphore    read (get_online_mems), write (mem_hotplug_begin)
//   cpu_hotplug_lock       PercpuRwSemaphore    read (get_online_cpus), write (cpus_write_lock)
//   memory_chain           rw_semaphore model   read (notifier calls), write (registration)
//   kn->active (each)      KernfsActiveRef      read (active reference), write (removal drain)
//
// One KernelLocks belongs to one run: use it from the actors of one Simulation and do not reuse
// it for the next (holders and queues refer to that run's actors). After a deadlock its queues
// still hold the killed waiters; destroying it then, before or after the Simulation, is safe
// (checked on SimGrid 3.32 under ASan).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocator/lock_class.hpp"
#include "kernel/kernel_lock.hpp"
#include "kernel/lock_stat.hpp"
#include "kernel/task_states.hpp"

namespace slabsim::topology {
struct Topology;
}

namespace slabsim::sim {

using alloc::LockClass;

// Costs of the lock operations themselves, in simulated ns. Waiting is not a cost: it emerges
// from the holders' hold times.
struct KernelLockConfig {
  // An uncontended mutex_lock()/spin_lock() is one locked read-modify-write of a cached line:
  // about 20 cycles, 5 ns at 4 GHz. This is a model choice of the same order as the SLUB fast
  // path in reference/hardware-numbers.md section 3.4 (42-47 cycles for an alloc+free pair),
  // not a published lock measurement. The irq save/restore of spin_lock_irqsave() is charged by
  // the allocator (SlubCosts::slowpath_entry), not here.
  std::int64_t mutex_acquire_ns = 5;
  std::int64_t spinlock_acquire_ns = 5;
  // Spinlocks also pay NumaCosts::line_transfer_ns() when the previous holder ran on another
  // node. Mutexes do not: their hand-off cost is dominated by sleeping, not modelled.
  bool spinlock_cacheline_transfer = true;
  // rcu_sync_enter() of a percpu_rw_semaphore writer (mem_hotplug_lock, cpu_hotplug_lock) and
  // call_rcu(): one normal RCU grace period (kernel_lock.hpp's rcu_grace_period.hpp). By
  // default tick-aligned, as measured on the booted v6.1: 4 ticks at HZ=250 (16 ms) on a machine
  // of more than one CPU. Documentation/locking/percpu-rw-semaphore.rst warns that it "can take
  // hundreds of milliseconds" on loaded systems; a workload's "rcu_grace_period" fixes it.
  RcuGracePeriod rcu_grace_period;
  // CONFIG_MUTEX_SPIN_ON_OWNER in a kernel with lock statistics: mutex waiters spin while the
  // owner is on a CPU, and lock_stat sees a contention only once they sleep (kernel_lock.hpp).
  // Before v4.10, DEBUG_MUTEXES (which lockdep selects) turned spinning off.
  bool mutex_spin_on_owner = true;
};

class KernelLocks {
 public:
  // Copies what it needs from `machine` (CPU nodes, latency matrix). std::invalid_argument for
  // a negative cost or a malformed latency matrix.
  explicit KernelLocks(const topology::Topology& machine, KernelLockConfig config = {});
  ~KernelLocks();
  KernelLocks(const KernelLocks&) = delete;
  KernelLocks& operator=(const KernelLocks&) = delete;

  [[nodiscard]] static LockKind kind_of(LockClass cls);

  // From an actor running on `cpu` (std::out_of_range for a CPU the machine lacks). See
  // kernel_lock.hpp for blocking, ownership checks (std::logic_error) and statistics.
  void lock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode, const char* function);
  bool try_lock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode,
                const char* function);
  void unlock(int cpu, LockClass cls, std::uint64_t instance, LockMode mode);

  // kernfs_get_active()/kernfs_put_active() of a sysfs file's node (`cls`: its kn->active
  // class): false once its removal started. The same as try_lock/unlock in read mode.
  bool kernfs_get_active(int cpu, LockClass cls, std::uint64_t instance, const char* function);
  void kernfs_put_active(int cpu, LockClass cls, std::uint64_t instance);

  // The lock, created on first use.
  KernelLock& get(LockClass cls, std::uint64_t instance);
  // nullptr if it was never used.
  [[nodiscard]] const KernelLock* find(LockClass cls, std::uint64_t instance) const;
  // The struct embedding the lock was freed: its record goes, unless a task still holds or waits
  // for it (a use-after-free of the model, reported where it happens), so that a run's host
  // memory does not grow with the structs it frees. Statistics are per class and stay.
  void forget(LockClass cls, std::uint64_t instance);
  // Lock instances with a record.
  [[nodiscard]] std::size_t instances() const { return locks_.size(); }

  [[nodiscard]] const LockStat& stat(LockClass cls) const;
  // The simulator's statistics of every class used so far, in LockClass order: every wait and
  // hold, complete (lock_stat.hpp).
  [[nodiscard]] std::vector<LockClassStats> lock_stat_classes() const;
  // The same classes as the kernel's lockdep hooks record them.
  [[nodiscard]] std::vector<LockClassStats> kernel_lock_stat_classes() const;
  // /proc/lock_stat as the kernel would print it: the kernel's view, with the "lock debugging
  // disabled" warning after debug_locks_off().
  [[nodiscard]] std::string lock_stat_text() const;
  // echo 0 > /proc/lock_stat
  void clear_lock_stat();
  // debug_locks_off(), which lockdep calls when it reports: the kernel's view stops recording.
  void debug_locks_off();
  [[nodiscard]] bool debug_locks() const { return debug_locks_; }

  [[nodiscard]] const KernelLockConfig& config() const { return config_; }
  [[nodiscard]] const NumaCosts& numa() const { return numa_; }
  // Which tasks sleep: the locks mark their sleeping waiters; the run marks its other sleeps
  // (msleep(), rcu_barrier(), flush_work()) with TaskStates::Sleeping.
  [[nodiscard]] TaskStates& tasks() { return tasks_; }

 private:
  struct Key {
    LockClass cls;
    std::uint64_t instance;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };

  KernelLock& at(int cpu, LockClass cls, std::uint64_t instance);
  // The lock if it has a record, through `recent_`; nullptr otherwise.
  KernelLock* lookup(const Key& key, std::size_t hash);

  KernelLockConfig config_;
  NumaCosts numa_;
  TaskStates tasks_;
  std::vector<LockStat> stats_;  // index: LockClass
  std::vector<bool> used_;       // index: LockClass
  bool debug_locks_ = true;
  std::unordered_map<Key, std::unique_ptr<KernelLock>, KeyHash> locks_;
  // The locks used last, direct-mapped by their key's hash: a hit spares the hash table's
  // lookup, which every lock and unlock made (with the CPU check, 4% of SLOB's instructions). An
  // entry goes with its record (forget()).
  struct Recent {
    Key key{};
    KernelLock* lock = nullptr;
  };
  static constexpr std::size_t recent_slots = 16;
  std::array<Recent, recent_slots> recent_{};
};

}  // namespace slabsim::sim
