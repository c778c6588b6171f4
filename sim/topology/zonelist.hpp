// A topology's fallback order at boot, computed by the allocator model's build_zonelists().
#pragma once

#include "topology/topology.hpp"

namespace slabsim::topology {

// For each node, its node order as build_zonelists() computes it from the boot node states
// (allocator/zonelist.hpp); empty for nodes not online at boot.
Matrix<int> boot_node_orders(const Topology& t);

}  // namespace slabsim::topology
