#include "run/machine_environment.hpp"

#include <fmt/format.h>

#include <utility>

namespace slabsim::sim {

namespace {
// The cost of sending an IPI and running its handler's entry and exit.
constexpr std::int64_t ipi_cost_ns = 500;
}  // namespace

MachineEnvironment::MachineEnvironment(const topology::Topology& machine, KernelLocks& locks,
                                       std::uint64_t seed, std::int64_t quantum_ns,
                                       std::int64_t mutex_acquire_ns,
                                       std::int64_t spinlock_acquire_ns)
    : locks_(locks), latency_(machine.latency_ns), rng_(seed), quantum_ns_(quantum_ns) {
  for (int c = 0; c < alloc::lock_class_count; ++c) {
    const auto kind = KernelLocks::kind_of(static_cast<alloc::LockClass>(c));
    spinlock_[c] = kind == LockKind::spinlock;
    acquire_ns_[c] = kind == LockKind::spinlock ? spinlock_acquire_ns
                     : kind == LockKind::mutex  ? mutex_acquire_ns
                                                : 0;
  }
  const auto cpus = machine.cpu_ids();
  const int nr = cpus.empty() ? 0 : cpus.back() + 1;
  cpu_node_.assign(nr, 0);
  latency_row_.assign(nr, nullptr);
  for (int cpu : cpus) {
    cpu_node_[cpu] = machine.node_of_cpu(cpu);
    latency_row_[cpu] = latency_[cpu_node_[cpu]].data();
  }
  pending_.assign(nr, 0);
  irq_off_.assign(nr, 0);
  taken_.assign(nr, 0);
  handler_actor_.assign(nr, -1);
  interrupts_ = std::vector<WaitQueue>(static_cast<std::size_t>(nr));
  interrupted_ = std::vector<WaitQueue>(static_cast<std::size_t>(nr));
}

void MachineEnvironment::sleep_for(std::int64_t ns) {
  Simulation::sleep_for(ns);
  refresh_from_engine();
}

void MachineEnvironment::sleep_until(std::int64_t ns) {
  Simulation::sleep_until(ns);
  refresh_from_engine();
}

void MachineEnvironment::flush() {
  if (outside_) {
    pending_[cpu_] = 0;
    return;
  }
  const std::int64_t due = std::exchange(pending_[cpu_], 0);
  if (due > 0) sleep_for(due);
}

bool MachineEnvironment::acquire(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
                                 const char* function, bool trylock) {
  if (outside_) return true;
  flush();
  wait_for_handler();
  LockEvent event{cpu_, cls, instance, mode, function, clock_, trylock};
  bool taken = true;
  if (trylock) {
    taken = locks_.try_lock(event.cpu, cls, instance, mode, function);
  } else {
    signals_.requested(event);
    locks_.lock(event.cpu, cls, instance, mode, function);
  }
  refresh_from_engine();
  if (!taken) return false;
  // A handler may have started running as this CPU during the wait: it finishes first.
  wait_for_handler();
  event.now_ns = clock_;
  signals_.acquired(event);
  charge_acquisition(event);
  return true;
}

// The acquisition's own cost, paid while holding (with the critical section, at unlock), and
// for a spinlock taken by lock() the trip of its cache line from the previous holder's node. A
// trylock pays the acquire cost only, and does not move the line for the next holder.
void MachineEnvironment::charge_acquisition(const LockEvent& acquired) {
  const int cpu = acquired.cpu;
  pending_[cpu] += acquire_ns_[static_cast<int>(acquired.cls)];
  if (acquired.trylock || !spinlock_[static_cast<int>(acquired.cls)]) return;
  // One entry per lock: the class in the low byte (LockClass is a uint8_t), the instance above.
  const auto key = (acquired.instance << 8) | static_cast<std::uint64_t>(acquired.cls);
  if (key != last_cpu_key_ || last_cpu_of_key_ == nullptr) {
    last_cpu_key_ = key;
    last_cpu_of_key_ = &last_cpu_.try_emplace(key, -1).first->second;
  }
  if (*last_cpu_of_key_ >= 0)  // not the lock's first acquisition
    pending_[cpu] += locks_.numa().line_transfer_ns(*last_cpu_of_key_, cpu);
  *last_cpu_of_key_ = cpu;
}

void MachineEnvironment::release(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
                                 bool pay_work_first) {
  if (outside_) return;
  std::int64_t now = local_now();
  if (pay_work_first) {
    flush();
    // The clock, not local_now(): two actors may run as one CPU (an IPI handler and the CPU's
    // own task, sending an IPI of its own), and the other one may have charged it meanwhile.
    now = clock_;
  }
  signals_.released({cpu_, cls, instance, mode, "", now, false});
  locks_.unlock(cpu_, cls, instance, mode);
  refresh_from_engine();
}

bool MachineEnvironment::kernfs_get_active(alloc::LockClass cls, std::uint64_t instance,
                                           const char* function) {
  return acquire(cls, instance, alloc::LockMode::read, function, /*trylock=*/true);
}

void MachineEnvironment::kernfs_put_active(alloc::LockClass cls, std::uint64_t instance) {
  // An atomic decrement in the kernel: unlike unlock(), the CPU's unpaid work (the store or show
  // method's) is not paid first, so the reference's hold time leaves it out.
  release(cls, instance, alloc::LockMode::read, /*pay_work_first=*/false);
}

void MachineEnvironment::wait_while_taken() {
  while (taken_[cpu_] > 0 && handler_actor_[cpu_] != Simulation::actor_id()) {
    interrupted_[cpu_].wait({Simulation::actor_id(), cpu_});
    refresh_from_engine();
  }
}

void MachineEnvironment::take_interrupt(int cpu) {
  if (irq_off_[cpu] > 0) {
    // irqs_restored() hands the CPU over: the counts below are done when this returns.
    interrupts_[cpu].wait({Simulation::actor_id(), cpu_});
    refresh_from_engine();
    return;
  }
  hand_over(cpu, Simulation::actor_id());
}

void MachineEnvironment::end_interrupt(int cpu) {
  --taken_[cpu];
  irqs_restored(cpu);
  if (taken_[cpu] > 0) return;
  // Only those waiting now: each wake-up is an engine call, during which a woken task may find
  // the CPU taken again (by an interrupt that came meanwhile) and queue itself once more.
  auto& tasks = interrupted_[cpu];
  for (std::size_t waiting = tasks.size(); waiting > 0; --waiting)
    tasks.wake_front();
  refresh_from_engine();  // a wake-up is an engine call
}

void MachineEnvironment::take_waiting_interrupt(int cpu) {
  hand_over(cpu, interrupts_[cpu].front().pid);
  interrupts_[cpu].wake_front();
  refresh_from_engine();
}

void MachineEnvironment::run_on_cpu(int target, const std::function<void()>& fn) {
  if (outside_) {
    const RunningAs handler(*this, target);
    fn();
    return;
  }
  flush();
  // The handler runs when the target takes the interrupt: not while it has interrupts off.
  take_interrupt(target);
  const int sender = cpu_;
  pending_[sender] += ipi_cost_ns;
  // The handler runs as the target CPU, with its interrupts off, and nothing else runs there
  // meanwhile (the runner holds the target's actor at its next operation boundary).
  const std::int64_t target_pending = std::exchange(pending_[target], 0);
  {
    const RunningAs handler(*this, target);
    fn();
  }
  refresh_from_engine();
  // The sender waited for the handler (wait=1): its time is the sender's too. Settled before the
  // CPU is given back: the wake-ups that gives are engine calls, and its task may run meanwhile.
  pending_[sender] += std::exchange(pending_[target], target_pending);
  end_interrupt(target);
}

void MachineEnvironment::run_on_cpus(const std::vector<int>& cpus,
                                     const std::function<void(int)>& fn) {
  if (outside_ || cpus.size() <= 1) {
    Environment::run_on_cpus(cpus, fn);
    return;
  }
  flush();
  const int sender = cpu_;
  pending_[sender] += ipi_cost_ns;
  flush();  // the IPIs leave together
  // The last handler to finish wakes the sender (csd_lock_wait() returns as the last csd is
  // unlocked): no polling, which would cost an engine call per poll on every drain.
  struct Pending {
    std::size_t handlers = 0;
    Wakeup done;
  };
  auto pending = std::make_shared<Pending>();
  // Counted before the first spawn: creating an actor is an engine call, during which the
  // handlers spawned so far may run to their end. Counted one by one, a handler with nothing to
  // wait for brought the count to zero while others were still to come, and its release() let
  // the sender return, destroying `fn`, before they ran (the soak's crash in offline_pages()).
  const bool local = std::find(cpus.begin(), cpus.end(), sender) != cpus.end();
  pending->handlers = cpus.size() - (local ? 1 : 0);
  for (int target : cpus) {
    if (target == sender) continue;
    spawn_(target, fmt::format("ipi/{}", target), [this, target, &fn, pending] {
      guard_([&] { run_in_interrupt(target, [&] { fn(target); }); });
      if (--pending->handlers == 0) pending->done.release();
    });
    refresh_from_engine();  // creating an actor is an engine call
  }
  if (local) {  // with its interrupts off, as on_each_cpu() calls it
    ++irq_off_[sender];
    fn(sender);
    irqs_restored(sender);
  }
  flush();
  if (pending->handlers > 0) {
    pending->done.park();
    refresh_from_engine();
  }
}

void MachineEnvironment::call_rcu(std::function<void()> fn) {
  if (outside_) {
    fn();
    return;
  }
  const int cpu = cpu_;
  const std::uint64_t number = rcu_queued_++;
  const std::int64_t due = locks_.config().rcu_grace_period.end(local_now());
  rcu_due_.push_back(due);
  if (rcu_queue_.empty()) {
    rcu_queue_.resize(irq_off_.size());
    rcu_task_.assign(irq_off_.size(), 0);
  }
  // Mostly due no earlier than the last one queued: found from the back.
  auto& queue = rcu_queue_[cpu];
  auto at = queue.end();
  while (at != queue.begin() && std::prev(at)->due > due)
    --at;
  queue.insert(at, RcuCallback{due, number, std::move(fn)});
  if (rcu_task_[cpu]) return;
  rcu_task_[cpu] = 1;
  spawn_(cpu, fmt::format("rcu/{}", cpu), [this, cpu] {
    auto& queue = rcu_queue_[cpu];
    while (!queue.empty()) {
      sleep_until(queue.front().due);
      // Every callback due by now, in (due, number) order, one after another.
      while (!queue.empty() && queue.front().due <= local_now()) {
        RcuCallback callback = std::move(queue.front());
        queue.pop_front();
        // Passed by reference: the lambda's three captures would not fit in std::function's
        // own storage, and SLOB's frees would pay a heap block each.
        const auto run = [&] { run_in_interrupt(cpu, callback.fn); };
        guard_(std::cref(run));
        rcu_ran(callback.number);
        wake_rcu_barriers();
      }
    }
    rcu_task_[cpu] = 0;
  });
  refresh_from_engine();  // creating an actor is an engine call
}

void MachineEnvironment::run_in_interrupt(int cpu, const std::function<void()>& fn) {
  take_interrupt(cpu);
  const std::int64_t task_pending = std::exchange(pending_[cpu], 0);
  fn();
  flush();  // the handler's own work, paid by its task
  pending_[cpu] += task_pending;
  end_interrupt(cpu);
}

void MachineEnvironment::run_works_on_cpus(const std::vector<int>& cpus,
                                           const std::function<void(int)>& fn) {
  const TaskStates::Sleeping asleep = sleeping();  // flush_work()
  run_on_cpus(cpus, fn);
}

TaskStates::Sleeping MachineEnvironment::sleeping() {
  if (outside_) return {nullptr, -1};
  return {&locks_.tasks(), Simulation::actor_id()};
}

void MachineEnvironment::rcu_barrier() {
  if (outside_) return;
  flush();
  const TaskStates::Sleeping asleep = sleeping();
  const std::uint64_t queued = rcu_queued_;
  // Waits for the callbacks queued before the barrier (numbers below `queued`), not later ones.
  while (!rcu_due_.empty() && rcu_first_ < queued) {
    const std::int64_t due = rcu_due_.front();
    if (due > clock_) {
      sleep_until(due);
      continue;
    }
    // Due but not run: its CPU has interrupts off, or its task still runs the callbacks before
    // it. The RCU task that runs the last of them wakes the barrier.
    auto woken = std::make_shared<Wakeup>();
    rcu_barriers_.emplace_back(queued, woken);
    woken->park();
    refresh_from_engine();
  }
}

void MachineEnvironment::rcu_ran(std::uint64_t number) {
  rcu_due_[number - rcu_first_] = ran_;
  while (!rcu_due_.empty() && rcu_due_.front() == ran_) {
    rcu_due_.pop_front();
    ++rcu_first_;
  }
}

void MachineEnvironment::wake_rcu_barriers() {
  const std::uint64_t first_pending = rcu_first_;  // rcu_queued_ when none is pending
  // Taken out of the list before any is woken: a wake-up is an engine call, during which
  // another RCU task may come here too.
  std::vector<std::shared_ptr<Wakeup>> done;
  std::erase_if(rcu_barriers_, [&](const auto& barrier) {
    if (barrier.first > first_pending) return false;
    done.push_back(barrier.second);
    return true;
  });
  for (const auto& woken : done)
    woken->release();
  if (!done.empty()) refresh_from_engine();
}

void MachineEnvironment::schedule_work(std::function<void()> fn) {
  if (outside_) {
    fn();
    return;
  }
  works_.push_back(std::move(fn));
  if (kworker_running_) return;
  kworker_running_ = true;
  const int cpu = work_cpu_ >= 0 ? work_cpu_ : cpu_;
  spawn_(cpu, fmt::format("kworker/{}", cpu), [this] {
    while (!works_.empty()) {
      const std::function<void()> work = std::move(works_.front());
      works_.pop_front();
      guard_(work);
    }
    kworker_running_ = false;
  });
  // Creating an actor is an engine call: others, the new one included, ran meanwhile.
  refresh_from_engine();
}

MachineEnvironment::RunningAs::RunningAs(MachineEnvironment& env, int cpu)
    : env_(env), previous_(env.cpu_) {
  if (env.outside_) {
    env.cpu_ = cpu;
  } else {
    engine_binding_.emplace(cpu);
    env.refresh_from_engine();
  }
}

MachineEnvironment::RunningAs::~RunningAs() {
  // Outside the engine there is no actor to re-read: the code runs as the previous CPU again.
  // Inside, the binding gives the actor its CPU back, and the environment re-reads it.
  if (!engine_binding_) {
    env_.cpu_ = previous_;
    return;
  }
  engine_binding_.reset();
  env_.refresh_from_engine();
}

}  // namespace slabsim::sim
