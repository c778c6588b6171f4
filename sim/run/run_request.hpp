// The one way into a simulation. The CLI's `run`, `compare`, `sweep` and `explore`, and Python,
// each describe what to run as a RunRequest, and get a RunOutcome: what the run measured, from
// which result.hpp makes the result document and the reports.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "allocator/strategy.hpp"
#include "config/json_document.hpp"
#include "run/metrics.hpp"
#include "run/run_settings.hpp"
#include "run/scenarios.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

// An input as the user names it: a preset, scenario or strategy name, or a file path; or (from
// Python) a JSON document's text, which diagnostics call "<topology dict>" and so on.
struct InputSpec {
  std::string text;
  bool is_json = false;
  [[nodiscard]] bool empty() const { return text.empty(); }
};

// Called every RunOptions::progress_every operations with the simulated time reached; it may
// throw to stop the run (the exception reaches the caller of run()).
using ProgressFn = std::function<void(std::int64_t simulated_ns)>;

struct RunRequest {
  InputSpec topology;  // empty: the workload's own "topology"
  InputSpec workload{std::string(default_scenario)};
  InputSpec strategy{std::string(default_strategy)};
  RunSettings settings;
  // Where to write the run's timeline (Chrome trace-event JSON), atomically; empty: none.
  std::string trace_path;
  ProgressFn progress;
  // The host memory the run may hold (run/host_memory.hpp); 0: no limit.
  std::uint64_t max_memory_bytes = 0;
  // A run the limit stops returns a partial result instead of throwing (RunOptions).
  bool partial_results = false;
};

// A request with its inputs loaded and checked: ready to run, and to run again with other
// settings or another strategy (compare, explore).
struct PreparedRun {
  topology::Topology machine;
  config::JsonDocument workload_document;
  workload::Workload workload;
  alloc::Strategy strategy;
  RunSettings settings;  // with the seed resolved (the workload's when the request had none)
  std::string trace_path;
  ProgressFn progress;
  std::uint64_t max_memory_bytes = 0;
  bool partial_results = false;

  [[nodiscard]] std::uint64_t seed() const { return settings.seed.value_or(workload.seed); }
  // The run's bucket width: the setting's, the workload's "time_bucket", or 0 (automatic).
  [[nodiscard]] std::int64_t time_bucket_ns() const {
    return settings.time_bucket_ns > 0 ? settings.time_bucket_ns : workload.time_bucket_ns;
  }
};

// Loads the workload, its machine and the strategy. Throws config::ConfigError naming the file,
// the JSON path and what was expected, for every problem found.
PreparedRun prepare_run(const RunRequest& request);
// A strategy preset, file or JSON text (ConfigError for a bad one).
alloc::Strategy load_strategy(const InputSpec& strategy);

// A finished run: what it was asked and what it measured.
struct RunOutcome {
  std::shared_ptr<const PreparedRun> run;
  RunMetrics metrics;
  double wall_seconds = 0;  // host time, for the result's "host" block only
  // The process's peak resident size when the simulation ended, before its results were
  // assembled (in a process that ran several runs: the largest so far). The "host" block only.
  std::uint64_t peak_resident_bytes = 0;
};

// Runs the simulation. A deadlock or a violation is a result; an unwritable trace path throws
// TraceWriteError (run/trace.hpp); a workload that cannot fit the memory limit
// config::ConfigError, a run that outgrows it MemoryLimitExceeded (run/host_memory.hpp); an
// internal error std::exception.
RunOutcome run(std::shared_ptr<const PreparedRun> prepared);
RunOutcome run(const RunRequest& request);

}  // namespace slabsim::sim
