#include "kernel/kernel_lock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "engine/simulation.hpp"
#include "topology/topology.hpp"

namespace slabsim::sim {

namespace {

const char* or_empty(const char* function) {
  return function != nullptr ? function : "";
}

// Checked first by every operation: outside a running simulation this throws
// std::logic_error, before any SimGrid call that would abort.
std::int64_t now() {
  return Simulation::now_ns();
}

long self_pid() {
  return Simulation::actor_id();
}

}  // namespace

const char* to_string(LockKind kind) {
  switch (kind) {
    case LockKind::mutex:
      return "mutex";
    case LockKind::spinlock:
      return "spinlock";
    case LockKind::percpu_rwsem:
      return "percpu_rw_semaphore";
    case LockKind::rwsem:
      return "rw_semaphore";
    case LockKind::kernfs_active:
      return "kernfs active reference";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// NumaCosts

NumaCosts::NumaCosts(const topology::Topology& machine) : latency_ns_(machine.latency_ns) {
  const int nodes = machine.node_count();
  if (static_cast<int>(latency_ns_.size()) != nodes)
    throw std::invalid_argument(fmt::format(
        "NumaCosts: the latency matrix has {} rows for {} nodes", latency_ns_.size(), nodes));
  for (const auto& row : latency_ns_)
    if (static_cast<int>(row.size()) != nodes)
      throw std::invalid_argument(fmt::format(
          "NumaCosts: a latency matrix row has {} columns for {} nodes", row.size(), nodes));
  for (const auto& node : machine.nodes) {
    for (int cpu : node.cpus) {
      if (cpu < 0) throw std::invalid_argument(fmt::format("NumaCosts: negative CPU id {}", cpu));
      if (static_cast<std::size_t>(cpu) >= cpu_node_.size())
        cpu_node_.resize(static_cast<std::size_t>(cpu) + 1, -1);
      cpu_node_[static_cast<std::size_t>(cpu)] = node.id;
    }
  }
}

void NumaCosts::no_such_cpu(int cpu) {
  throw std::out_of_range(fmt::format("the machine has no CPU {}", cpu));
}

std::int64_t NumaCosts::line_transfer_ns(int previous_cpu, int cpu) const {
  if (previous_cpu < 0) return 0;
  const int from = node_of_cpu(previous_cpu);
  const int to = node_of_cpu(cpu);
  if (from == to) return 0;
  const auto& row = latency_ns_[static_cast<std::size_t>(to)];
  return std::max<std::int64_t>(
      0, row[static_cast<std::size_t>(from)] - row[static_cast<std::size_t>(to)]);
}

// ---------------------------------------------------------------------------------------------
// WaitQueue

struct WaitQueue::Node {
  Entry entry;
  Wakeup wakeup;
};

WaitQueue::WaitQueue() = default;
WaitQueue::~WaitQueue() = default;

const WaitQueue::Entry& WaitQueue::front() const {
  if (nodes_.empty()) throw std::logic_error("WaitQueue::front: the queue is empty");
  return nodes_.front()->entry;
}

WaitQueue::Entry WaitQueue::wait(Entry entry) {
  // A node its waiter has left serves the next wait: one made per wait cost two allocations and
  // two frees per blocked acquisition (SLOB blocks 1.25 times an operation), and one shared
  // between waiter and waker four atomic reference counts.
  Node* node = nullptr;
  if (!spare_.empty()) {
    node = spare_.back();
    spare_.pop_back();
  } else {
    node = made_.emplace_back(std::make_unique<Node>()).get();
  }
  node->entry = entry;
  nodes_.push_back(node);
  node->wakeup.park();
  const Entry woken = node->entry;
  spare_.push_back(node);
  return woken;
}

void WaitQueue::for_each(const std::function<void(Entry&)>& fn) {
  for (Node* node : nodes_)
    fn(node->entry);
}

WaitQueue::Entry WaitQueue::wake_front() {
  if (nodes_.empty()) throw std::logic_error("WaitQueue::wake_front: the queue is empty");
  Node* node = nodes_.front();
  nodes_.pop_front();
  // Read before the release: the woken actor runs first, and may leave the node to a new wait
  // before this one goes on.
  const Entry entry = node->entry;
  node->wakeup.release();
  return entry;
}

// ---------------------------------------------------------------------------------------------
// KernelLock

KernelLock::KernelLock(LockKind kind, std::string label, LockStat& stat, TaskStates* tasks)
    : tasks_(tasks), kind_(kind), label_(std::move(label)), stat_(stat) {}

KernelLock::~KernelLock() = default;

void KernelLock::note_contended(bool read, int cpu, const char* function) {
  note_contended_simulator(read, cpu, function);
  note_contended_kernel(read, cpu, function);
}

void KernelLock::note_contended_simulator(bool read, int cpu, const char* function) {
  stat_.contended(LockStat::View::simulator, read, last_cpu_ >= 0 && last_cpu_ != cpu,
                  or_empty(function), last_function_);
}

void KernelLock::note_contended_kernel(bool read, int cpu, const char* function) {
  if (!kernel_acquired_hooks()) return;
  stat_.contended(LockStat::View::kernel, read, kernel_last_cpu_ >= 0 && kernel_last_cpu_ != cpu,
                  or_empty(function), kernel_last_function_);
}

void KernelLock::note_acquired(bool read, int cpu, const char* function, std::int64_t now,
                               std::int64_t waited_since, bool trylock) {
  note_acquired(read, cpu, function, now, waited_since, waited_since, trylock);
}

void KernelLock::note_acquired(bool read, int cpu, const char* function, std::int64_t now,
                               std::int64_t waited_since, std::int64_t kernel_waited_since,
                               bool trylock) {
  using View = LockStat::View;
  stat_.acquired(View::simulator, read, last_cpu_ >= 0 && last_cpu_ != cpu,
                 waited_since >= 0 ? now - waited_since : -1);
  last_cpu_ = cpu;
  last_function_ = or_empty(function);
  if (trylock || !kernel_acquired_hooks()) return;
  stat_.acquired(View::kernel, read, kernel_last_cpu_ >= 0 && kernel_last_cpu_ != cpu,
                 kernel_waited_since >= 0 ? now - kernel_waited_since : -1);
  kernel_last_cpu_ = cpu;
  kernel_last_function_ = or_empty(function);
}

void KernelLock::note_released(bool read, std::int64_t held_since, std::int64_t requested,
                               bool kernel_contended, std::int64_t now) {
  using View = LockStat::View;
  stat_.released(View::simulator, read, now - held_since);
  const bool restamped = kernel_acquired_hooks() && kernel_contended;
  stat_.released(View::kernel, read, now - (restamped ? held_since : requested));
}

void KernelLock::misuse(const std::string& what) const {
  throw std::logic_error(fmt::format("{} '{}': actor '{}' {}", to_string(kind_), label_,
                                     Simulation::actor_name(), what));
}

void KernelLock::bad_mode(LockMode mode) const {
  throw std::invalid_argument(
      fmt::format("{} '{}' has no {} mode", to_string(kind_), label_, alloc::lock_mode_name(mode)));
}

// ---------------------------------------------------------------------------------------------
// Exclusive locks

ExclusiveLock::ExclusiveLock(LockKind kind, std::string label, LockStat& stat,
                             std::int64_t acquire_ns, const NumaCosts* transfer,
                             TaskStates* spin_tasks)
    : KernelLock(kind, std::move(label), stat, spin_tasks),
      acquire_ns_(acquire_ns),
      transfer_(transfer),
      spins_(spin_tasks != nullptr) {
  if (acquire_ns < 0) throw std::invalid_argument("ExclusiveLock: negative acquire cost");
}

void ExclusiveLock::lock(int cpu, LockMode mode, const char* function) {
  const std::int64_t requested = now();
  if (mode != LockMode::exclusive) bad_mode(mode);
  const long me = self_pid();
  if (owner_ == me)
    misuse(
        fmt::format("takes it in {} while already holding it (self-deadlock)", or_empty(function)));
  bool contended = false;
  std::int64_t kernel_contended_at = -1;
  if (owner_ >= 0) {
    contended = true;
    note_contended_simulator(false, cpu, function);
    WaitQueue::Entry waiter{me, cpu, false, or_empty(function)};
    // mutex_can_spin_on_owner(): no spinning behind an owner that is not on a CPU.
    if (!spins_ || !tasks_->on_cpu(owner_)) {
      waiter.contended_at = requested;
      goes_to_sleep(waiter);
    }
    // Returns as the owner: unlock() handed the lock over (and woke a sleeper up).
    kernel_contended_at = waiters_.wait(waiter).contended_at;
  } else {
    owner_ = me;
  }
  take(cpu, function, requested, contended, kernel_contended_at);
}

void ExclusiveLock::goes_to_sleep(WaitQueue::Entry& waiter) {
  note_contended_kernel(false, waiter.cpu, waiter.function);
  if (spins_) tasks_->sleep(waiter.pid);
}

// mutex_spin_on_owner() sees !owner->on_cpu: the OSQ head gives up, then each spinner after it,
// all at this instant as far as the model's time resolution goes.
void ExclusiveLock::owner_sleeps() {
  const std::int64_t t = now();
  waiters_.for_each([&](WaitQueue::Entry& waiter) {
    if (waiter.contended_at >= 0) return;
    waiter.contended_at = t;
    goes_to_sleep(waiter);
  });
}

bool ExclusiveLock::try_lock(int cpu, LockMode mode, const char* function) {
  const std::int64_t requested = now();
  if (mode != LockMode::exclusive) bad_mode(mode);
  const long me = self_pid();
  if (owner_ == me)
    misuse(fmt::format("trylocks it in {} while already holding it", or_empty(function)));
  if (owner_ >= 0) return false;
  owner_ = me;
  take(cpu, function, requested, false, -1, /*trylock=*/true);
  return true;
}

void ExclusiveLock::take(int cpu, const char* function, std::int64_t requested, bool contended,
                         std::int64_t kernel_contended_at, bool trylock) {
  if (spins_) tasks_->owns(owner_, this);
  // The owner pays the atomic operation and, for a spinlock, the line's trip from the previous
  // holder's node; nobody else can take the lock meanwhile.
  std::int64_t cost = acquire_ns_;
  if (transfer_ != nullptr) cost += transfer_->line_transfer_ns(last_cpu_, cpu);
  if (cost > 0) Simulation::sleep_for(cost);
  held_since_ = now();
  requested_ = requested;
  kernel_contended_ = kernel_contended_at >= 0;
  note_acquired(false, cpu, function, held_since_, contended ? requested : -1, kernel_contended_at,
                trylock);
}

void ExclusiveLock::unlock(int cpu, LockMode mode) {
  const std::int64_t t = now();
  if (mode != LockMode::exclusive) bad_mode(mode);
  if (owner_ != self_pid())
    misuse(owner_ < 0 ? "releases it while nobody holds it" : "releases it without holding it");
  note_released(false, held_since_, requested_, kernel_contended_, t);
  if (spins_) tasks_->disowns(owner_, this);
  owner_ = -1;
  if (waiters_.empty()) return;
  // FIFO hand-off. A sleeper is runnable from here on: the lock goes to a task on a CPU.
  const WaitQueue::Entry& next = waiters_.front();
  owner_ = next.pid;
  if (spins_ && next.contended_at >= 0) tasks_->wake(next.pid);
  waiters_.wake_front();
}

KernelMutex::KernelMutex(std::string label, LockStat& stat, std::int64_t acquire_ns,
                         TaskStates* tasks, bool spin_on_owner)
    : ExclusiveLock(LockKind::mutex, std::move(label), stat, acquire_ns, nullptr,
                    spin_on_owner ? tasks : nullptr) {}

KernelSpinlock::KernelSpinlock(std::string label, LockStat& stat, std::int64_t acquire_ns,
                               const NumaCosts* numa)
    : ExclusiveLock(LockKind::spinlock, std::move(label), stat, acquire_ns, numa, nullptr) {}

// ---------------------------------------------------------------------------------------------
// PercpuRwSemaphore

PercpuRwSemaphore::PercpuRwSemaphore(std::string label, LockStat& stat, RcuGracePeriod grace_period,
                                     LockKind kind, TaskStates* tasks)
    : KernelLock(kind, std::move(label), stat, tasks), grace_(grace_period) {
  if (grace_.fixed_ns < 0 && (grace_.jiffy_ns <= 0 || grace_.ticks <= 0))
    throw std::invalid_argument("PercpuRwSemaphore: a tick-aligned grace period needs ticks");
}

bool PercpuRwSemaphore::reads(long pid) const {
  return std::any_of(read_holds_.begin(), read_holds_.end(),
                     [pid](const Hold& h) { return h.pid == pid; });
}

void PercpuRwSemaphore::lock(int cpu, LockMode mode, const char* function) {
  now();
  if (mode == LockMode::read)
    down_read(cpu, function);
  else if (mode == LockMode::write)
    down_write(cpu, function);
  else
    bad_mode(mode);
}

bool PercpuRwSemaphore::try_lock(int cpu, LockMode mode, const char* function) {
  const std::int64_t t = now();
  if (mode != LockMode::read) bad_mode(mode);  // percpu_down_write_trylock() does not exist
  const long me = self_pid();
  if (writer_ == me) misuse("read-trylocks it while holding it for write");
  if (block_) return false;
  ++readers_;
  read_holds_.push_back({me, t, t, false});
  note_acquired(true, cpu, function, t, -1, /*trylock=*/true);
  return true;
}

void PercpuRwSemaphore::unlock(int cpu, LockMode mode) {
  now();
  if (mode == LockMode::read)
    up_read();
  else if (mode == LockMode::write)
    up_write();
  else
    bad_mode(mode);
}

void PercpuRwSemaphore::down_read(int cpu, const char* function) {
  const std::int64_t requested = now();
  const long me = self_pid();
  if (writer_ == me)
    misuse(fmt::format("takes it for read in {} while holding it for write (self-deadlock)",
                       or_empty(function)));
  if (!block_) {  // the per-CPU fast path (and the slow path while no writer blocks readers)
    ++readers_;
    read_holds_.push_back({me, requested, requested, false});
    note_acquired(true, cpu, function, requested, -1);
    return;
  }
  note_contended(true, cpu, function);
  {
    const TaskStates::Sleeping asleep(tasks_, me);
    waiters_.wait({me, cpu, true});  // up_write() counted us in readers_
  }
  const std::int64_t t = now();
  read_holds_.push_back({me, t, requested, true});
  note_acquired(true, cpu, function, t, requested);
}

void PercpuRwSemaphore::down_write(int cpu, const char* function) {
  const std::int64_t requested = now();
  const long me = self_pid();
  if (writer_ == me)
    misuse(fmt::format("takes it for write in {} while already holding it (self-deadlock)",
                       or_empty(function)));
  if (reads(me))
    misuse(fmt::format("takes it for write in {} while holding it for read (self-deadlock)",
                       or_empty(function)));
  bool contended = false;
  auto start_waiting = [&] {
    if (!contended) note_contended(false, cpu, function);
    contended = true;
  };

  const std::int64_t grace_end = rcu_sync_enter(requested);
  if (grace_end > requested) {
    start_waiting();
    const TaskStates::Sleeping asleep(tasks_, me);  // synchronize_rcu()
    Simulation::sleep_until(grace_end);
    gp_ = Gp::passed;
  }
  if (block_) {
    start_waiting();
    const TaskStates::Sleeping asleep(tasks_, me);
    waiters_.wait({me, cpu, false});  // up_write() gave us `block`
  } else {
    block_ = true;
    writer_ = me;
  }
  if (readers_ > 0) {
    start_waiting();
    const TaskStates::Sleeping asleep(tasks_, me);  // rcuwait_wait_event()
    drain_.wait({me, cpu, false});                  // the last up_read() woke us
  }
  write_held_ = true;
  write_since_ = now();
  write_requested_ = requested;
  write_contended_ = contended;
  note_acquired(false, cpu, function, write_since_, contended ? requested : -1);
}

void PercpuRwSemaphore::up_read() {
  const std::int64_t t = now();
  const long me = self_pid();
  auto it = std::find_if(read_holds_.rbegin(), read_holds_.rend(),
                         [me](const Hold& h) { return h.pid == me; });
  if (it == read_holds_.rend())
    misuse(writer_ == me ? "releases it for read while holding it for write"
                         : "releases it for read without holding it");
  note_released(true, it->since, it->requested, it->contended, t);
  read_holds_.erase(std::next(it).base());
  --readers_;
  if (readers_ == 0 && !drain_.empty()) drain_.wake_front();
}

void PercpuRwSemaphore::up_write() {
  const std::int64_t t = now();
  const long me = self_pid();
  if (writer_ != me || !write_held_)
    misuse(reads(me) ? "releases it for write while holding it for read"
                     : "releases it for write without holding it");
  note_released(false, write_since_, write_requested_, write_contended_, t);
  write_held_ = false;
  block_ = false;
  writer_ = -1;
  // percpu_rwsem_wake_function(): readers in queue order until the first writer, which takes
  // `block` and stops the walk.
  while (!waiters_.empty()) {
    if (waiters_.front().reader) {
      ++readers_;
      waiters_.wake_front();
    } else {
      block_ = true;
      writer_ = waiters_.front().pid;
      waiters_.wake_front();
      break;
    }
  }
  rcu_sync_exit(t);
}

std::int64_t PercpuRwSemaphore::rcu_sync_enter(std::int64_t t) {
  ++gp_count_;
  if (gp_ == Gp::exiting && t >= gp_idle_at_) gp_ = Gp::idle;
  if (gp_ == Gp::idle) {
    if (grace_.none()) {
      gp_ = Gp::passed;
      return t;
    }
    gp_ = Gp::entering;
    gp_end_ = grace_.end(t);
  }
  if (gp_ == Gp::entering) return gp_end_;
  gp_ = Gp::passed;  // passed, or exiting: readers are still on their slow path
  return t;
}

void PercpuRwSemaphore::rcu_sync_exit(std::int64_t t) {
  if (--gp_count_ > 0) return;
  gp_ = Gp::exiting;
  gp_idle_at_ = grace_.end(t);
}

// ---------------------------------------------------------------------------------------------
// KernfsActiveRef

KernfsActiveRef::KernfsActiveRef(std::string label, LockStat& stat, TaskStates* tasks)
    : KernelLock(LockKind::kernfs_active, std::move(label), stat, tasks) {}

bool KernfsActiveRef::try_get_active(int cpu, const char* function) {
  const std::int64_t t = now();
  if (deactivated_) return false;
  ++active_;
  refs_.push_back({self_pid(), t});
  // kernfs_get_active(): rwsem_acquire_read(..., trylock = 1), no lock_acquired().
  note_acquired(true, cpu, function, t, -1, /*trylock=*/true);
  return true;
}

void KernfsActiveRef::put_active(int cpu) {
  const std::int64_t t = now();
  const long me = self_pid();
  auto it = std::find_if(refs_.rbegin(), refs_.rend(), [me](const Hold& h) { return h.pid == me; });
  if (it == refs_.rend()) misuse("puts an active reference it does not hold");
  note_released(true, it->since, it->since, false, t);
  refs_.erase(std::next(it).base());
  --active_;
  if (active_ == 0)
    while (!drainers_.empty())
      drainers_.wake_front();
}

void KernfsActiveRef::drain(int cpu, const char* function) {
  const std::int64_t requested = now();
  const long me = self_pid();
  auto mine = [me](const Hold& h) { return h.pid == me; };
  if (std::any_of(refs_.begin(), refs_.end(), mine))
    misuse(fmt::format("drains it in {} while holding an active reference (self-deadlock)",
                       or_empty(function)));
  if (std::any_of(removers_.begin(), removers_.end(), mine))
    misuse(fmt::format("drains it in {} while already removing it", or_empty(function)));
  deactivated_ = true;
  bool contended = false;
  if (active_ > 0) {
    contended = true;
    note_contended(false, cpu, function);
    const TaskStates::Sleeping asleep(tasks_, me);  // wait_event() in kernfs_drain()
    drainers_.wait({me, cpu, false});
  }
  const std::int64_t t = now();
  removers_.push_back({me, t});
  note_acquired(false, cpu, function, t, contended ? requested : -1);
}

void KernfsActiveRef::lock(int cpu, LockMode mode, const char* function) {
  now();
  if (mode == LockMode::read) {
    if (!try_get_active(cpu, function))
      misuse(fmt::format(
          "takes an active reference in {} after removal started (kernfs_get_active() fails "
          "here: use try_lock)",
          or_empty(function)));
  } else if (mode == LockMode::write) {
    drain(cpu, function);
  } else {
    bad_mode(mode);
  }
}

bool KernfsActiveRef::try_lock(int cpu, LockMode mode, const char* function) {
  now();
  if (mode != LockMode::read) bad_mode(mode);
  return try_get_active(cpu, function);
}

void KernfsActiveRef::unlock(int cpu, LockMode mode) {
  const std::int64_t t = now();
  if (mode == LockMode::read) {
    put_active(cpu);
  } else if (mode == LockMode::write) {
    const long me = self_pid();
    auto it = std::find_if(removers_.begin(), removers_.end(),
                           [me](const Hold& h) { return h.pid == me; });
    if (it == removers_.end()) misuse("ends a removal it did not start");
    note_released(false, it->since, it->since, true, t);
    removers_.erase(it);
  } else {
    bad_mode(mode);
  }
}

}  // namespace slabsim::sim
