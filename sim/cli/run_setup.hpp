// What `run`, `compare` and `explore` share: the inputs of a run as given on the command line,
// and the machine, workload and seed they resolve to.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "config/json_document.hpp"
#include "run/scenarios.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::cli {

struct RunCliOptions {
  std::string topology;
  std::string workload = std::string(sim::default_scenario);
  std::vector<std::string> strategies;
  std::vector<std::string> allocators{"slub"};  // checked by add_allocator_option()
  std::optional<std::uint64_t> seed;
  std::string output;
  std::vector<std::string> reports;
  std::int64_t quantum_ns = 10000;
  bool no_lookahead = false;
  std::int64_t jitter_ns = 0;
  // --trace: the timeline file; `compare` inserts each strategy's name (trace_path_for).
  std::string trace;
};

struct Prepared {
  topology::Topology machine;
  config::JsonDocument document;
  workload::Workload workload;
  std::uint64_t seed = 1;
  std::int64_t jitter_ns = 0;
};

// Loads the workload (a file or an embedded scenario) and its machine (-t, or the workload's
// own "topology"). Throws config::ConfigError with diagnostics for bad input.
Prepared prepare(const RunCliOptions& o);

// -a/--allocator: one allocator name (`several` false) or a comma-separated list of them.
void add_allocator_option(CLI::App* cmd, RunCliOptions& o, bool several);
alloc::AllocatorKind allocator_kind(const std::string& name);  // of a checked name

// `trace` with the strategy's name before its extension: trace.json -> trace.slab_nodes.json.
std::string trace_path_for(const std::string& trace, const std::string& strategy);

}  // namespace slabsim::cli
