// The kernel's lock primitives as simulated locks: a sleeping mutex, a spinlock, the percpu
// rw-semaphore and the kernfs active reference. Every operation is for code running inside an
// actor of a running slabsim::sim::Simulation (std::logic_error elsewhere); blocking is SimGrid
// blocking, so a lock cycle ends the run as a deadlock (RunResult::deadlock) instead of hanging.
//
// Common rules
// - Time is integer ns (Simulation::now_ns()). A lock is "acquired" once its acquire cost has
//   been paid; hold time runs from there to the release, wait time (contended acquisitions
//   only) from the request to the acquisition. All of it is recorded in the class's LockStat.
// - Ownership belongs to the actor (the kernel's task), not the CPU; the CPU given with each
//   call is where the actor runs, for bounces and cache-line costs. The model checks ownership
//   itself, because SimGrid 3.32 would silently relock a held mutex and abort() on an unlock by
//   a non-owner: taking an exclusive lock the actor already holds, taking the write side of a
//   lock it holds for read (or the reverse) and releasing what it does not hold throw
//   std::logic_error; a mode the kind does not have throws std::invalid_argument.
// - Waiters are woken in FIFO order and the lock is handed to them at release (no barging):
//   the releaser's next acquisition queues behind them. For a mutex this is the order of the
//   kernel's OSQ of optimistic spinners; a newcomer stealing the lock from a woken sleeper
//   (possible in the kernel between the release and the sleeper running) is not modelled. The
//   uncontended paths of every kind make no SimGrid call apart from sleeping for a non-zero acquire
//   cost (actors are cooperative, so plain ints are safe); blocking and waking use one sim::Wakeup
//   per blocked actor, so the locks work with the engine's lookahead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "allocator/lock_class.hpp"
#include "kernel/lock_stat.hpp"
#include "kernel/rcu_grace_period.hpp"
#include "kernel/task_states.hpp"

namespace slabsim::topology {
struct Topology;
}

namespace slabsim::sim {

using alloc::LockMode;

enum class LockKind {
  mutex,          // struct mutex: sleeping, exclusive
  spinlock,       // spinlock_t: busy-waiting, exclusive, pays cache-line transfers
  percpu_rwsem,   // struct percpu_rw_semaphore (with an RCU grace period for writers)
  rwsem,          // struct rw_semaphore: the same model without the grace period
  kernfs_active,  // kernfs_node::active (lockdep: kn->active): references drained by removal
};
const char* to_string(LockKind kind);

// Where CPUs sit and what moving a cache line between nodes costs, from the topology.
//
// Rule: a CPU that takes a lock last acquired by a CPU on another node pays
//   max(0, latency_ns[its node][previous node] - latency_ns[its node][its node])
// i.e. the extra load-to-use latency of fetching the lock's line from the previous holder's
// node instead of from local memory. It pays nothing when the previous holder ran on the same
// node or when there was none. The latency matrix is a DRAM latency, the best stand-in the
// topology has for a cross-node cache-to-cache transfer.
class NumaCosts {
 public:
  explicit NumaCosts(const topology::Topology& machine);

  // std::out_of_range for a CPU the machine lacks. Inline: every lock call checks its CPU.
  [[nodiscard]] int node_of_cpu(int cpu) const {
    if (cpu < 0 || static_cast<std::size_t>(cpu) >= cpu_node_.size() ||
        cpu_node_[static_cast<std::size_t>(cpu)] < 0) [[unlikely]]
      no_such_cpu(cpu);
    return cpu_node_[static_cast<std::size_t>(cpu)];
  }
  [[nodiscard]] std::int64_t line_transfer_ns(int previous_cpu, int cpu) const;

 private:
  [[noreturn, gnu::cold]] static void no_such_cpu(int cpu);

  std::vector<int> cpu_node_;  // index: CPU id; -1 for ids the machine lacks
  std::vector<std::vector<std::int64_t>> latency_ns_;
};

// FIFO of blocked actors. wait() parks the calling actor at the back until wake_front() hands
// over to it; the woken actor runs later at the same simulated time.
class WaitQueue {
 public:
  struct Entry {
    long pid = -1;  // SimGrid actor id
    int cpu = -1;
    bool reader = false;
    const char* function = "";
    // A mutex waiter: when the kernel's lock_contended() ran for it (it stopped spinning and
    // went to sleep), or -1 while it spins.
    std::int64_t contended_at = -1;
  };

  WaitQueue();
  ~WaitQueue();
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  [[nodiscard]] bool empty() const { return nodes_.empty(); }
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] const Entry& front() const;

  // Returns the entry as it was when the actor was woken.
  Entry wait(Entry entry);
  Entry wake_front();
  // Every queued entry, front first, for updates that do not reorder the queue.
  void for_each(const std::function<void(Entry&)>& fn);

 private:
  struct Node;
  // Every node made, kept while the queue lives: nothing on a waiter's stack owns one, so that a
  // killed actor's unwinding destroys no Wakeup (whose SimGrid semaphore would need SimGrid).
  std::vector<std::unique_ptr<Node>> made_;
  std::deque<Node*> nodes_;   // waiting, front first
  std::vector<Node*> spare_;  // left by their woken waiters, for the next waits
};

// One lock instance. Instances of a class share the class's LockStat; each keeps lockdep's
// per-instance lock->cpu and lock->ip (the last acquirer's CPU and function) for bounces and
// contending points.
class KernelLock {
 public:
  // `tasks`: which tasks are on a CPU; the lock marks its sleeping waiters there (may be null).
  KernelLock(LockKind kind, std::string label, LockStat& stat, TaskStates* tasks = nullptr);
  virtual ~KernelLock();
  KernelLock(const KernelLock&) = delete;
  KernelLock& operator=(const KernelLock&) = delete;

  [[nodiscard]] LockKind kind() const { return kind_; }
  // "<class name>[<instance>]", for messages.
  [[nodiscard]] const std::string& label() const { return label_; }

  // May block. `function` is the kernel function taking the lock.
  virtual void lock(int cpu, LockMode mode, const char* function) = 0;
  // Never blocks (may sleep for the acquire cost on success); false when the lock is not free.
  // No contention is recorded for a failed attempt, as for the kernel's trylocks.
  virtual bool try_lock(int cpu, LockMode mode, const char* function) = 0;
  virtual void unlock(int cpu, LockMode mode) = 0;
  // Held, waited for, or (kernfs) being removed.
  [[nodiscard]] virtual bool in_use() const = 0;

 protected:
  // The first wait of an acquisition, in both views (where the kernel's lock_contended() runs
  // as the acquisition starts to wait), or in one of them.
  void note_contended(bool read, int cpu, const char* function);
  void note_contended_simulator(bool read, int cpu, const char* function);
  void note_contended_kernel(bool read, int cpu, const char* function);
  // lock_acquired(): `waited_since` is the request time of a contended acquisition, or < 0;
  // `kernel_waited_since` is when the kernel's lock_contended() ran for it, or < 0. A
  // trylock's acquisition is recorded by the simulator only: the kernel's trylocks never call
  // lock_acquired().
  void note_acquired(bool read, int cpu, const char* function, std::int64_t now,
                     std::int64_t waited_since, bool trylock = false);
  void note_acquired(bool read, int cpu, const char* function, std::int64_t now,
                     std::int64_t waited_since, std::int64_t kernel_waited_since, bool trylock);
  // lock_release() of an acquisition held since `held_since` and requested (lock_acquire()) at
  // `requested`. The kernel's hold time starts at the request (__lock_acquire() stamps
  // holdtime_stamp) unless lock_acquired() found a wait and stamped it again at `held_since`:
  // `kernel_contended` says whether it did.
  void note_released(bool read, std::int64_t held_since, std::int64_t requested,
                     bool kernel_contended, std::int64_t now);
  // Whether the kernel's implementation of this kind calls lock_contended()/lock_acquired()
  // (v5.10: all but the percpu rw-semaphore).
  [[nodiscard]] bool kernel_acquired_hooks() const { return kind_ != LockKind::percpu_rwsem; }
  [[noreturn]] void misuse(const std::string& what) const;
  [[noreturn]] void bad_mode(LockMode mode) const;

  int last_cpu_ = -1;  // the last acquirer's CPU; -1: never acquired
  // The last acquirer's function. Function names are string literals of the model: kept as
  // pointers, as lockdep keeps return addresses.
  const char* last_function_ = "";
  // lockdep's lock->cpu and lock->ip, which only lock_acquired() sets.
  int kernel_last_cpu_ = -1;
  const char* kernel_last_function_ = "";
  TaskStates* tasks_;

 private:
  LockKind kind_;
  std::string label_;
  LockStat& stat_;
};

// Exclusive locks with FIFO hand-off: the common part of KernelMutex and KernelSpinlock.
// Mode: LockMode::exclusive only. An acquisition pays `acquire_ns`, plus the cache-line
// transfer of NumaCosts when `transfer` is given, after it owns the lock.
//
// What the kernel's lock_stat sees of a wait differs by kind:
// - spinlock: LOCK_CONTENDED(): lock_contended() as soon as the entry trylock fails.
// - mutex with optimistic spinning (__mutex_lock_common(), v5.10 and v6.1): a waiter first
//   spins while the owner is on a CPU (mutex_optimistic_spin(), mutex_spin_on_owner()), with no
//   lock_contended(); it gets the lock that way, uncontended in lock_stat and with the spin in
//   its hold time (holdtime_stamp is set at lock_acquire()), unless the owner goes to sleep
//   first. Then the waiter gives up, calls lock_contended() and sleeps on the wait list: the
//   kernel's wait time runs from there. A waiter arriving while the owner sleeps is contended
//   at once. Without spinning (lock debugging before v4.10: DEBUG_MUTEXES turned
//   MUTEX_SPIN_ON_OWNER off) every waiter is contended at its request.
class ExclusiveLock : public KernelLock, private TaskStates::OwnerListener {
 public:
  void lock(int cpu, LockMode mode, const char* function) override;
  bool try_lock(int cpu, LockMode mode, const char* function) override;
  void unlock(int cpu, LockMode mode) override;

  [[nodiscard]] bool locked() const { return owner_ >= 0; }
  [[nodiscard]] std::size_t waiters() const { return waiters_.size(); }
  [[nodiscard]] bool in_use() const override { return locked() || !waiters_.empty(); }

 protected:
  // `spin_tasks`: the tasks whose CPU state a mutex's optimistic spinners watch; null for a
  // spinlock and for a mutex that does not spin.
  ExclusiveLock(LockKind kind, std::string label, LockStat& stat, std::int64_t acquire_ns,
                const NumaCosts* transfer, TaskStates* spin_tasks);

 private:
  void take(int cpu, const char* function, std::int64_t requested, bool contended,
            std::int64_t kernel_contended_at, bool trylock = false);
  // A waiter stops spinning: lock_contended() and, for a mutex, schedule().
  void goes_to_sleep(WaitQueue::Entry& waiter);
  void owner_sleeps() override;

  std::int64_t acquire_ns_;
  const NumaCosts* transfer_;
  bool spins_;
  long owner_ = -1;  // actor id
  std::int64_t held_since_ = 0;
  std::int64_t requested_ = 0;
  bool kernel_contended_ = false;
  WaitQueue waiters_;
};

// struct mutex (slab_mutex, device_hotplug_lock). In the simulation a waiter's time just
// passes, spinning or asleep; which of the two it is decides what lock_stat records (above)
// and, while it sleeps, the spinners of the mutexes it owns give up too.
class KernelMutex : public ExclusiveLock {
 public:
  // `spin_on_owner`: CONFIG_MUTEX_SPIN_ON_OWNER is in effect.
  KernelMutex(std::string label, LockStat& stat, std::int64_t acquire_ns, TaskStates* tasks,
              bool spin_on_owner = true);
};

// spinlock_t (n->list_lock). A waiter spins (its CPU is busy; here, time passes). Each
// acquisition also pays the cache-line transfer from the previous holder's node, unless `numa`
// is null.
class KernelSpinlock : public ExclusiveLock {
 public:
  KernelSpinlock(std::string label, LockStat& stat, std::int64_t acquire_ns, const NumaCosts* numa);
};

// struct percpu_rw_semaphore as of v5.10 (kernel/locking/percpu-rwsem.c), modes read/write.
//
// - percpu_down_read(): while no writer has blocked readers, a reader just counts itself:
//   zero cost, no SimGrid call, never waits, never contended. Otherwise it queues.
// - percpu_down_write(): rcu_sync_enter() first: when the semaphore's rcu_sync is idle the
//   writer waits one grace period (`grace_period`); a writer arriving while another writer is
//   in its grace period waits for what remains of it; one arriving while another is between
//   rcu_sync_enter and rcu_sync_exit, or less than a grace period after the last
//   rcu_sync_exit (GP_EXIT: its callback is still pending, and gp_state >= GP_PASSED), waits
//   for nothing. Readers still get in during the grace period (v5.10 sets
//   sem->block only after rcu_sync_enter returns). Then the writer sets `block` (or queues, if
//   another writer has it): from then on new readers queue. Finally it waits for the active
//   readers to drain. Its wait, grace period included, is recorded as a contention.
// - percpu_up_write(): clears `block` and wakes the queue in FIFO order: readers until the
//   first writer, which takes `block` (and then drains the readers just woken); the rest stay
//   queued. Then rcu_sync_exit().
// - Reading again a semaphore the actor already reads is allowed (it blocks, and can deadlock,
//   when a writer is queued, as in the kernel). try_lock exists for read only.
// With no grace period this is a writer-preferring rw_semaphore (the memory_chain rwsem).
class PercpuRwSemaphore : public KernelLock {
 public:
  PercpuRwSemaphore(std::string label, LockStat& stat, RcuGracePeriod grace_period,
                    LockKind kind = LockKind::percpu_rwsem, TaskStates* tasks = nullptr);

  void lock(int cpu, LockMode mode, const char* function) override;
  bool try_lock(int cpu, LockMode mode, const char* function) override;
  void unlock(int cpu, LockMode mode) override;

  [[nodiscard]] int active_readers() const { return readers_; }
  // A writer holds the semaphore or is draining its readers: new readers queue.
  [[nodiscard]] bool readers_blocked() const { return block_; }
  [[nodiscard]] std::size_t waiters() const { return waiters_.size(); }
  [[nodiscard]] const RcuGracePeriod& grace_period() const { return grace_; }
  [[nodiscard]] bool in_use() const override {
    return readers_ > 0 || block_ || writer_ >= 0 || !waiters_.empty() || !drain_.empty();
  }

 private:
  struct Hold {
    long pid;
    std::int64_t since;
    std::int64_t requested;  // lock_acquire(): where the kernel's hold time starts
    bool contended;
  };
  enum class Gp { idle, entering, passed, exiting };

  void down_read(int cpu, const char* function);
  void down_write(int cpu, const char* function);
  void up_read();
  void up_write();
  // rcu_sync_enter(): the time until which the writer must wait (<= now: none).
  std::int64_t rcu_sync_enter(std::int64_t now);
  void rcu_sync_exit(std::int64_t now);
  [[nodiscard]] bool reads(long pid) const;

  RcuGracePeriod grace_;
  int readers_ = 0;  // active readers, counting those woken but not yet running
  std::vector<Hold> read_holds_;
  bool block_ = false;
  long writer_ = -1;  // the actor owning `block` (draining or holding)
  bool write_held_ = false;
  std::int64_t write_since_ = 0;
  std::int64_t write_requested_ = 0;
  bool write_contended_ = false;
  WaitQueue waiters_;  // readers and writers, FIFO
  WaitQueue drain_;    // the writer waiting for readers_ == 0
  Gp gp_ = Gp::idle;
  int gp_count_ = 0;
  std::int64_t gp_end_ = 0;      // Gp::entering: when the grace period ends
  std::int64_t gp_idle_at_ = 0;  // Gp::exiting: when the sync is idle again
};

// kernfs_node::active, the active reference of a sysfs file (lockdep: kn->active#N, one class
// per attribute, alloc::kernfs_active_class()).
// - try_get_active() (kernfs_get_active): a shared reference, false once removal has started
//   (the kernel returns NULL). lock(read) is the same but throws std::logic_error instead of
//   failing: use it only where the node is known to be alive.
// - drain() = lock(write) (kernfs_drain after kernfs_deactivate): marks the node deactivated,
//   for good, then waits until every active reference is put; recorded as a write acquisition,
//   contended if references were active. unlock(write) ends the removal.
// - put_active() = unlock(read) (kernfs_put_active).
// Draining while holding a reference of the same node is a self-deadlock (std::logic_error).
class KernfsActiveRef : public KernelLock {
 public:
  KernfsActiveRef(std::string label, LockStat& stat, TaskStates* tasks = nullptr);

  bool try_get_active(int cpu, const char* function);
  void put_active(int cpu);
  void drain(int cpu, const char* function);

  void lock(int cpu, LockMode mode, const char* function) override;
  bool try_lock(int cpu, LockMode mode, const char* function) override;
  void unlock(int cpu, LockMode mode) override;

  [[nodiscard]] bool deactivated() const { return deactivated_; }
  [[nodiscard]] int active() const { return active_; }
  [[nodiscard]] bool in_use() const override {
    return active_ > 0 || !removers_.empty() || !drainers_.empty();
  }

 private:
  struct Hold {
    long pid;
    std::int64_t since;
  };

  int active_ = 0;
  bool deactivated_ = false;
  std::vector<Hold> refs_;
  std::vector<Hold> removers_;  // drains done, removal not yet ended
  WaitQueue drainers_;
};

}  // namespace slabsim::sim
