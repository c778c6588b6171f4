// One run, assembled: the machine, the workload's caches, the CPUs that play its thread groups,
// the event tasks that play its timed events, and what records the run (metrics, progress, and
// the trace when asked for). run_simulation() is its public face; tests use it to observe a run's
// signals.
#pragma once

#include <memory>

#include "run/cpu_driver.hpp"
#include "run/event_player.hpp"
#include "run/event_queue.hpp"
#include "run/hotplug_operations.hpp"
#include "run/machine.hpp"
#include "run/metrics_recorder.hpp"
#include "run/operation_signals.hpp"
#include "run/quiescent_checks.hpp"
#include "run/run_progress.hpp"
#include "run/runner.hpp"
#include "run/trace.hpp"
#include "run/workload_caches.hpp"

namespace slabsim::sim {

class SimulationRun {
 public:
  // Boots the machine and creates the workload's boot caches. `options` as run_simulation()
  // takes them, with the workload's kernel tuning applied.
  SimulationRun(const topology::Topology& machine, const workload::Workload& workload,
                const alloc::Strategy& strategy, const RunOptions& options);

  // Before play(): to observe its lock signals.
  [[nodiscard]] Machine& machine() { return machine_; }
  [[nodiscard]] OperationSignals& operation_signals() { return operation_signals_; }

  // Plays the workload, writes the trace if asked for, and returns what was measured. Once.
  RunMetrics play();

 private:
  void start_trace(const alloc::Strategy& strategy);

  const workload::Workload& workload_;
  RunOptions options_;
  Machine machine_;
  EventQueue events_;
  WorkloadCaches caches_;
  QuiescentChecks checks_;
  MetricsRecorder recorder_;
  RunProgress progress_;
  OperationSignals operation_signals_;
  CpuDriver cpus_;
  HotplugOperations hotplug_;
  EventPlayer player_;
  std::unique_ptr<TraceRecorder> trace_;  // only when RunOptions::trace_path is set
};

}  // namespace slabsim::sim
