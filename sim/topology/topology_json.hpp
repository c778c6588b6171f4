// The resolved machine as JSON: what results record and what Python sees.
#pragma once

#include <nlohmann/json.hpp>

#include "topology/topology.hpp"

namespace slabsim::topology {

// Everything resolved: expanded CPU lists and blocks, both matrices, node states and fallback
// orders at boot. Keys are stable; the same topology always gives the same bytes.
nlohmann::json to_json(const Topology& t);

}  // namespace slabsim::topology
