#include "run/simulation_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "run/deadlock_report.hpp"
#include "run/host_memory.hpp"
#include "run/model_call.hpp"

namespace slabsim::sim {

namespace {

int event_tasks(const workload::Workload& w) {
  return static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(w.event_tasks), w.events.size()));
}

}  // namespace

SimulationRun::SimulationRun(const topology::Topology& machine, const workload::Workload& workload,
                             const alloc::Strategy& strategy, const RunOptions& options)
    : workload_(workload),
      options_(options),
      machine_(machine, event_tasks(workload), workload.kernel, strategy, options),
      events_(workload.events, options.seed, options.jitter_ns),
      caches_(workload),
      checks_(machine_.allocator()),
      recorder_(workload, options.allocator, machine.node_count(), options.time_bucket_ns),
      progress_(options.progress, options.max_memory_bytes),
      cpus_(machine_, workload, options_, events_, caches_, checks_, recorder_, progress_),
      hotplug_(machine_, workload, cpus_, recorder_, operation_signals_),
      player_(machine_, workload, events_, caches_, checks_, recorder_, progress_, cpus_, hotplug_,
              operation_signals_) {
  // RCU callbacks and kworkers run allocator code of their own: inside the model, as a CPU's call.
  machine_.env().set_task_guard([this](const std::function<void()>& body) {
    {
      const ModelCall call(checks_);
      body();
    }
    checks_.run_if_quiescent();
  });
  recorder_.observe(machine_.env().lock_signals());
  if (!options.trace_path.empty()) start_trace(strategy);
  machine_.env().set_outside_engine(true, 0);
  caches_.create_boot_caches(machine_.allocator());
  machine_.env().set_outside_engine(false);
}

// The trace's tracks: the machine's CPUs, then the event tasks' CPUs, as play() spawns them.
void SimulationRun::start_trace(const alloc::Strategy& strategy) {
  trace_ = std::make_unique<TraceRecorder>();
  const topology::Topology& machine = machine_.topology();
  const auto allocator = alloc::allocator_name(options_.allocator);
  trace_->name_process(fmt::format("{} on {}, {}, strategy {}", workload_.name, machine.name,
                                   allocator, strategy.name));
  trace_->set_metadata({{"machine", machine.name},
                        {"workload", workload_.name},
                        {"allocator", allocator},
                        {"strategy", strategy.name},
                        {"seed", options_.seed}});
  for (int cpu : machine.cpu_ids())
    trace_->name_thread(cpu, fmt::format("CPU {} (node {})", cpu, machine.node_of_cpu(cpu)));
  const auto& event_cpus = machine_.event_cpus();
  for (std::size_t k = 0; k < event_cpus.size(); ++k)
    trace_->name_thread(event_cpus[k], fmt::format("events {} (CPU {})", k, event_cpus[k]));
  trace_->observe(machine_.env().lock_signals());
  trace_->observe(operation_signals_);
}

RunMetrics SimulationRun::play() {
  cpus_.spawn();
  player_.spawn();
  RunResult end;
  std::optional<RunMetrics::Partial> partial;
  try {
    end = machine_.run();
  } catch (const MemoryLimitExceeded& e) {
    // The engine has killed every actor where it was: what the recorder holds is the run's so
    // far, the model's structures possibly in the middle of a call (no end-of-run check ran).
    if (!options_.partial_results) throw;
    partial = RunMetrics::Partial{e.reason(), e.simulated_ns()};
    end.end_time_ns = e.simulated_ns();
  }
  if (trace_) {
    trace_->finish(end.end_time_ns, end.deadlock);
    trace_->write(options_.trace_path);
  }
  RunMetrics m = recorder_.collect(machine_, caches_, cpus_.online_cpus(), end, progress_.steps());
  if (end.deadlock) m.deadlock = describe_deadlock(end, machine_.held_locks());
  m.partial = std::move(partial);
  return m;
}

}  // namespace slabsim::sim
