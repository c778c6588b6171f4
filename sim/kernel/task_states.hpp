// Which simulated tasks are on a CPU: task_struct::on_cpu, as mutex_spin_on_owner() reads it.
//
// A task sleeps while it waits in a sleeping primitive (a mutex queue after spinning gave up, a
// rw-semaphore, the RCU grace period of percpu_down_write(), kernfs_drain()'s wait_event(),
// msleep(), rcu_barrier(), flush_work(), wait_for_completion()); it stays on its CPU while it
// works, spins on a spinlock or waits in csd_lock_wait(). Every task starts on a CPU.
//
// Mutexes register with the task that owns them; when that task goes to sleep they are told,
// so that their optimistic spinners give up (mutex_spin_on_owner() returns false once
// !owner->on_cpu), which is the moment the kernel's lock_stat first sees the contention.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace slabsim::sim {

class TaskStates {
 public:
  // A lock told when its owner goes to sleep.
  class OwnerListener {
   public:
    virtual void owner_sleeps() = 0;

   protected:
    ~OwnerListener() = default;
  };

  [[nodiscard]] bool on_cpu(long pid) const;
  // Nested: a task is asleep from its first sleep() to the matching wake(). Going to sleep
  // tells the listeners the task owns, in the order it took them.
  void sleep(long pid);
  void wake(long pid);

  void owns(long pid, OwnerListener* lock);
  void disowns(long pid, OwnerListener* lock);

  // The calling task sleeps for the scope of the guard.
  class Sleeping {
   public:
    Sleeping(TaskStates* tasks, long pid);
    ~Sleeping();
    Sleeping(const Sleeping&) = delete;
    Sleeping& operator=(const Sleeping&) = delete;

   private:
    TaskStates* tasks_;
    long pid_;
  };

 private:
  struct Task {
    int sleeping = 0;
    std::vector<OwnerListener*> owned;
  };
  std::unordered_map<long, Task> tasks_;
};

}  // namespace slabsim::sim
