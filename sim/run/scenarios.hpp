// Workload scenarios compiled into the binary from workloads/*.json, so that `slabsim` runs
// its default comparison from any directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/json_document.hpp"

namespace slabsim::sim {

// The main job of `slabsim` with no arguments: this scenario under these strategies.
inline constexpr std::string_view default_scenario = "node-online";
inline const std::vector<std::string> default_strategies = {"hotplug_lock", "slab_nodes"};

std::vector<std::string> scenario_names();  // sorted
// A path to a workload file, or the name of an embedded scenario.
config::JsonDocument load_workload_document(const std::string& path_or_name);

}  // namespace slabsim::sim
