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

// The document of a path to a file, or of the name of an embedded preset (see presets.hpp),
// named as diagnostics name it ("<preset NAME>" for a preset). Throws config::ConfigError when
// it is neither.
config::JsonDocument topology_document(const std::string& path_or_preset);

// load_topology(topology_document(path_or_preset)).
Topology load_topology(const std::string& path_or_preset);

}  // namespace slabsim::topology
