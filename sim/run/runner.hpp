// One simulation: a machine, a workload and a locking strategy in; metrics out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "allocator/allocator.hpp"
#include "allocator/make_allocator.hpp"
#include "allocator/strategy.hpp"
#include "kernel/kernel_locks.hpp"
#include "run/metrics.hpp"
#include "run/run_settings.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

// The engine-level form of a run's settings (run_settings.hpp declares each one and its
// default; run_request.cpp fills these from them), plus what only the engine needs.
struct RunOptions {
  std::uint64_t seed = 1;
  std::int64_t sync_quantum_ns = RunSettings{}.quantum_ns;
  std::int64_t time_bucket_ns = RunSettings{}.time_bucket_ns;  // 0: automatic
  bool lookahead = RunSettings{}.lookahead;
  std::int64_t jitter_ns = RunSettings{}.jitter_ns;
  // The allocator model and its parameters (a workload's "kernel" object sets SLAB's reap
  // interval).
  alloc::AllocatorKind allocator = RunSettings{}.allocator;
  alloc::AllocatorTuning tuning;  // tuning.slab_nomerge: RunSettings::slab_nomerge
  // Where to write the run's timeline (trace.hpp), atomically at its end, even when it ends in
  // a deadlock; empty: none, and the run records nothing.
  std::string trace_path;
  // Called every progress_every operations with the simulated time reached (progress lines,
  // interrupt checks).
  static constexpr std::uint64_t progress_every = 100000;
  std::function<void(std::int64_t simulated_ns)> progress;
  // The host memory the run may hold (host_memory.hpp), checked with the progress; 0: no limit.
  std::uint64_t max_memory_bytes = 0;
  // When the limit stops the run: return what it measured so far, marked RunMetrics::partial,
  // instead of throwing MemoryLimitExceeded.
  bool partial_results = false;
};

// `options` with the workload's kernel tuning applied (its "kernel" object: SLAB's reap interval).
RunOptions with_workload_tuning(const workload::Workload& workload, RunOptions options);

// Builds the machine (page allocator, node states, the allocator with the strategy, memory
// hotplug with the allocator's callback and a notifier error injector on its chain), plays the
// workload on one actor per CPU, and returns what was measured. Throws on an internal error; a
// deadlock or a violation is a result, not an exception.
RunMetrics run_simulation(const topology::Topology& machine, const workload::Workload& workload,
                          const alloc::Strategy& strategy, const RunOptions& options);

// The allocator's view of a topology whose last `event_cpus` CPUs are the simulator's
// event-task CPUs (see alloc::MachineLayout).
alloc::MachineLayout machine_layout(const topology::Topology& machine, int event_cpus = 0);

}  // namespace slabsim::sim
