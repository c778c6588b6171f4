// From a topology document to a resolved, checked Topology.
#pragma once

#include <filesystem>
#include <string>

#include "config/json_document.hpp"
#include "topology/topology.hpp"

namespace slabsim::topology {

// Validates the document against topology_spec() and the semantic rules of
// topologies/README.md, then resolves it. Throws config::ConfigError with every problem found.
Topology load_topology(const config::JsonDocument& document);

// A path to a file, or the name of an embedded preset (see presets.hpp).
Topology load_topology(const std::string& path_or_preset);

}  // namespace slabsim::topology
