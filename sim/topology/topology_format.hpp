// The declaration of the topology file format: validation, defaults and JSON Schema all come
// from it (topologies/README.md documents it for people).
#pragma once

#include "config/spec.hpp"

namespace slabsim::topology {

// Limits of a Debian x86_64 kernel: CONFIG_NODES_SHIFT=10, CONFIG_NR_CPUS=8192.
inline constexpr int max_node_id = 1023;
inline constexpr int max_cpu_id = 8191;
inline constexpr int local_distance = 10;  // LOCAL_DISTANCE, include/linux/topology.h
inline constexpr int max_distance = 255;   // ACPI SLIT: "unreachable"

const config::SpecPtr& topology_spec();

}  // namespace slabsim::topology
