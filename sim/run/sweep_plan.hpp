// Sweep plans: a grid of run parameters (topologies, workloads, allocators, strategies, seeds,
// jitters, quanta) whose cartesian product is the list of runs a sweep makes, each numbered, so
// that a laptop, a Dask cluster or a Slurm job array run the same points, and each point's result
// file (point-N.json) says what is done: an interrupted sweep redoes only what is missing.
// workloads/sweeps/README.md documents the format for people.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/json_document.hpp"
#include "config/spec.hpp"
#include "run/run_settings.hpp"

namespace slabsim::sim {

// The grid keys, in the order of the product: the last varies fastest.
// The allocator is outside the strategy, as `slabsim compare -a` orders its runs: a strategy is
// a locking scheme within one allocator model, so each model's points are contiguous.
inline const std::vector<std::string> sweep_grid_keys = {
    "topology", "workload", "allocator", "strategy", "seed", "jitter_ns", "quantum_ns"};

// One run of a sweep.
struct SweepPoint {
  std::size_t index = 0;
  // The parameters as the plan writes them, what lists, CSV files and data frames show. Without
  // a "topology" key in the plan: the workload's own "topology", as the workload writes it.
  std::string topology, workload, strategy;
  // The allocator model's name (alloc::allocator_name); "slub" when the plan gives none.
  std::string allocator = "slub";
  std::uint64_t seed = 1;
  std::int64_t jitter_ns = 0;
  std::int64_t quantum_ns = quantum_setting.default_value();
  // What to load: preset and scenario names as they are, files as absolute paths (so that a
  // worker in another directory finds them).
  std::string topology_input, workload_input, strategy_input;
  // The inputs as the result's "config" block records them (shared between the points that use
  // them): a point file is that point's only if its config says the same (and its "allocator",
  // "slub" when an older file records none, is the point's).
  std::shared_ptr<const nlohmann::json> topology_config, workload_config, strategy_config;
};

struct SweepPlan {
  std::string file;  // as diagnostics name it
  std::string name;
  std::string description;
  // The grid keys the plan gives, each with its number of values, in product order.
  std::vector<std::pair<std::string, std::size_t>> dimensions;
  std::vector<SweepPoint> points;
};

const config::SpecPtr& sweep_plan_spec();

// The JSON Schema of sweep plans (draft 2020-12, with "$schema" and "title"), as committed in
// workloads/schema/sweep.schema.json.
nlohmann::json sweep_plan_json_schema();

// Validates the plan against the format, resolves each grid entry (a preset or scenario name as
// it is; otherwise a path, relative to the folder of the plan file) and loads every topology,
// strategy and workload, each workload against each topology it will run on, so that every
// problem is reported before anything runs: the plan's own with its JSON pointer, an input
// file's with that file's. Throws config::ConfigError.
SweepPlan load_sweep_plan(const config::JsonDocument& document);
// Reads the plan file at `path`, then as above.
SweepPlan load_sweep_plan(const std::filesystem::path& path);

// A point as JSON: its index, its parameters as the plan writes them (with "allocator", also
// when the plan gives none), and "inputs" (what to load). What `slabsim sweep --list` shows and
// what the Python package runs.
nlohmann::json to_json(const SweepPoint& point);

// "point-7.json": where a sweep directory keeps point 7's result.
std::string point_file_name(std::size_t index);

// The result in `directory` of `point`, if it has a whole one: a result document (as `slabsim
// run -o` writes it) whose config records exactly that point's inputs. nullopt when the file is
// absent or not a whole result (empty, cut short): the point is still to run. Throws
// config::ConfigError when the file holds a result of other inputs (another plan's, or an
// edited workload's): a resumed sweep must not mix them, nor silently overwrite them.
std::optional<nlohmann::json> read_point_result(const SweepPoint& point,
                                                const std::filesystem::path& directory);

}  // namespace slabsim::sim
