#include "run/machine_environment.hpp"

#include <utility>

#include "engine/simulation.hpp"
#include "run/trace.hpp"

namespace slabsim::sim {

namespace {
// How often an IPI sender looks again at a CPU that has interrupts off (it spins in
// smp_call_function_single() until the target takes the interrupt).
constexpr std::int64_t ipi_poll_ns = 100;
// The cost of sending an IPI and running its handler's entry and exit.
constexpr std::int64_t ipi_cost_ns = 500;
}  // namespace

MachineEnvironment::MachineEnvironment(const topology::Topology& machine, KernelLocks& locks,
                                       std::uint64_t seed, std::int64_t quantum_ns,
                                       std::int64_t mutex_acquire_ns,
                                       std::int64_t spinlock_acquire_ns)
    : locks_(locks), latency_(machine.latency_ns), rng_(seed), quantum_ns_(quantum_ns) {
  for (int c = 0; c < alloc::lock_class_count; ++c) {
    const auto cls = static_cast<alloc::LockClass>(c);
    const auto kind = KernelLocks::kind_of(cls);
    acquire_ns_[c] = kind == LockKind::spinlock ? spinlock_acquire_ns
                     : kind == LockKind::mutex  ? mutex_acquire_ns
                                                : 0;
  }
  const auto cpus = machine.cpu_ids();
  const int nr = cpus.empty() ? 0 : cpus.back() + 1;
  cpu_node_.assign(nr, 0);
  for (int cpu : cpus)
    cpu_node_[cpu] = machine.node_of_cpu(cpu);
  pending_.assign(nr, 0);
  irq_off_.assign(nr, 0);
  taken_.assign(nr, 0);
  handler_actor_.assign(nr, -1);
  awaiting_.assign(nr, std::nullopt);
}

std::int64_t MachineEnvironment::local_now() const {
  if (outside_) return outside_now_;
  return clock_ + pending_[cpu_];
}

void MachineEnvironment::refresh_from_engine() {
  clock_ = Simulation::now_ns();
  cpu_ = Simulation::current_cpu();
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

void MachineEnvironment::touch_memory(int node, int times) {
  const int from = cpu_node_[cpu_];
  pending_[cpu_] += latency_[from][node] * times;
}

void MachineEnvironment::lock(alloc::LockClass cls, std::uint64_t instance, alloc::LockMode mode,
                              const char* function) {
  if (outside_) return;
  const int me = cpu_;
  flush();
  wait_for_handler();
  lockdep_.acquire(me, cls, mode, function);
  awaiting_[me] = LockUse{me, cls, instance, mode, function};
  if (trace_) trace_->lock_requested(me, cls, instance, mode, function, clock_);
  locks_.lock(me, cls, instance, mode, function);
  awaiting_[me].reset();
  held_.push_back({me, cls, instance, mode, function});
  refresh_from_engine();
  if (trace_) trace_->lock_acquired(me, cls, instance, mode, function, clock_);
  // The acquisition's own cost, paid while holding (with the critical section, at unlock), and
  // for a spinlock the trip of its cache line from the previous holder's node.
  pending_[me] += acquire_ns_[static_cast<int>(cls)];
  if (KernelLocks::kind_of(cls) == LockKind::spinlock) {
    const auto [last, first_use] =
        last_cpu_.try_emplace((instance << 3) | static_cast<std::uint64_t>(cls), me);
    if (!first_use) pending_[me] += locks_.numa().line_transfer_ns(last->second, me);
    last->second = me;
  }
}

bool MachineEnvironment::try_lock(alloc::LockClass cls, std::uint64_t instance,
                                  alloc::LockMode mode, const char* function) {
  const int me = cpu_;
  flush();
  wait_for_handler();
  const bool got = locks_.try_lock(me, cls, instance, mode, function);
  if (got) {
    lockdep_.acquire(me, cls, mode, function, /*trylock=*/true);
    held_.push_back({me, cls, instance, mode, function});
    pending_[me] += acquire_ns_[static_cast<int>(cls)];
  }
  refresh_from_engine();
  if (got && trace_) trace_->lock_acquired(me, cls, instance, mode, function, clock_);
  return got;
}

bool MachineEnvironment::kernfs_get_active(std::uint64_t instance, const char* function) {
  const int me = cpu_;
  flush();
  wait_for_handler();
  const bool got = locks_.kernfs_get_active(me, instance, function);
  // kernfs_get_active() is a trylock read of kn->count for lockdep.
  if (got)
    lockdep_.acquire(me, alloc::LockClass::kernfs_active, alloc::LockMode::read, function, true);
  if (got)
    held_.push_back(
        {me, alloc::LockClass::kernfs_active, instance, alloc::LockMode::read, function});
  refresh_from_engine();
  if (got && trace_)
    trace_->lock_acquired(me, alloc::LockClass::kernfs_active, instance, alloc::LockMode::read,
                          function, clock_);
  return got;
}

void MachineEnvironment::kernfs_put_active(std::uint64_t instance) {
  const int me = cpu_;
  if (trace_)
    trace_->lock_released(me, alloc::LockClass::kernfs_active, instance, alloc::LockMode::read,
                          local_now());
  forget(me, alloc::LockClass::kernfs_active, instance, alloc::LockMode::read);
  lockdep_.release(me, alloc::LockClass::kernfs_active, alloc::LockMode::read);
  locks_.kernfs_put_active(me, instance);
  refresh_from_engine();
}

void MachineEnvironment::unlock(alloc::LockClass cls, std::uint64_t instance,
                                alloc::LockMode mode) {
  if (outside_) return;
  const int me = cpu_;
  // The critical section's work is done before the lock is released: hold and wait times in
  // lock_stat include it.
  flush();
  if (trace_) trace_->lock_released(me, cls, instance, mode, clock_);
  forget(me, cls, instance, mode);
  lockdep_.release(me, cls, mode);
  locks_.unlock(me, cls, instance, mode);
  refresh_from_engine();
}

void MachineEnvironment::wait_for_handler() {
  const int me = cpu_;
  while (taken_[me] > 0 && handler_actor_[me] != Simulation::actor_id())
    sleep_for(ipi_poll_ns);
}

void MachineEnvironment::run_on_cpu(int target, const std::function<void()>& fn) {
  if (outside_) {
    const RunningAs handler(*this, target);
    fn();
    return;
  }
  flush();
  // The handler runs when the target takes the interrupt: not while it has interrupts off.
  while (irq_off_[target] > 0)
    sleep_for(ipi_poll_ns);
  const int sender = cpu_;
  pending_[sender] += ipi_cost_ns;
  // The handler runs as the target CPU, with its interrupts off, and nothing else runs there
  // meanwhile (the runner holds the target's actor at its next operation boundary).
  const std::int64_t target_pending = std::exchange(pending_[target], 0);
  ++irq_off_[target];
  ++taken_[target];
  handler_actor_[target] = Simulation::actor_id();
  {
    const RunningAs handler(*this, target);
    fn();
  }
  refresh_from_engine();
  --taken_[target];
  --irq_off_[target];
  // The sender waited for the handler (wait=1): its time is the sender's too.
  pending_[sender] += std::exchange(pending_[target], target_pending);
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
  // Outside the engine there is no actor to re-read: the code that called run_on_cpu() runs as
  // its CPU again. Inside, the binding's destructor gives the actor its CPU back, and the
  // environment re-reads it once the handler has returned.
  if (!engine_binding_) env_.cpu_ = previous_;
}

}  // namespace slabsim::sim

namespace slabsim::sim {

void MachineEnvironment::forget(int cpu, alloc::LockClass cls, std::uint64_t instance,
                                alloc::LockMode mode) {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->cpu == cpu && it->cls == cls && it->instance == instance && it->mode == mode) {
      held_.erase(it);
      return;
    }
  }
}

std::vector<LockUse> MachineEnvironment::awaited() const {
  std::vector<LockUse> out;
  for (const auto& a : awaiting_)
    if (a) out.push_back(*a);
  return out;
}

}  // namespace slabsim::sim
