// What `run`, `compare` and `explore` share: the inputs and settings of a run as the command
// line gives them, and how they become the run entry point's PreparedRun (run/run_request.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "run/run_request.hpp"
#include "run/run_settings.hpp"
#include "run/scenarios.hpp"

namespace slabsim::cli {

struct RunCliOptions {
  std::string topology;
  std::string workload = std::string(sim::default_scenario);
  std::vector<std::string> strategies;
  std::vector<std::string> allocators{"slub"};  // checked by add_allocator_option()
  std::optional<std::uint64_t> seed;
  std::string output;
  std::vector<std::string> reports;
  sim::RunSettings settings;  // jitter and quantum from their flags
  bool no_lookahead = false;
  // --trace: the timeline file; `compare` inserts each column's name (trace_path_for).
  std::string trace;
  // --max-memory: a size ("8G", "512MiB"), "0" for no limit; empty: the default limit.
  std::string max_memory;
  // --partial (run): a run the limit stops still writes what it measured, marked partial.
  bool partial = false;
};

// -t, -w, --seed (unless `with_seed` is false), --quantum, --jitter-ns, --no-lookahead,
// --slab-nomerge, --max-memory.
void add_input_options(CLI::App* cmd, RunCliOptions& o, bool with_seed = true);
// An integer setting's flag, with the setting's description, range and default.
CLI::Option* add_setting(CLI::App* cmd, const sim::IntSetting& setting, sim::RunSettings& into);

// -a/--allocator: one allocator name (`several` false) or a comma-separated list of them.
void add_allocator_option(CLI::App* cmd, RunCliOptions& o, bool several);
alloc::AllocatorKind allocator_kind(const std::string& name);  // of a checked name

// Loads the workload (a file or an embedded scenario), its machine (-t, or the workload's own
// "topology") and `strategy`, with the options' settings, and checks that the workload fits the
// memory limit. Throws config::ConfigError.
sim::PreparedRun prepare(const RunCliOptions& o, const std::string& strategy);
// The same inputs under another strategy and allocator, for each column of `compare` and each
// strategy of `explore`.
std::shared_ptr<const sim::PreparedRun> with_strategy(const sim::PreparedRun& base,
                                                      const alloc::Strategy& strategy,
                                                      alloc::AllocatorKind allocator);

// `trace` with the column's name before its extension: trace.json -> trace.slab_nodes.json.
std::string trace_path_for(const std::string& trace, const std::string& column);

}  // namespace slabsim::cli
