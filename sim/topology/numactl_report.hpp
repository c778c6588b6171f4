// `slabsim topology show`: what `numactl --hardware` prints for the machine at boot, then what
// slabsim adds (latencies, memory blocks, node states, fallback order).
#pragma once

#include <string>

#include "topology/topology.hpp"

namespace slabsim::topology {

// numactl's hardware(): "available: N nodes (...)", per online node cpus/size/free, and the
// distance table of online nodes, byte for byte as numactl 2.0 prints them.
std::string numactl_hardware(const Topology& t);

// numactl_hardware() followed by slabsim's sections.
std::string show_topology(const Topology& t);

}  // namespace slabsim::topology
