// The machine most simulator tests run on: two sockets, one node each, two CPUs per node
// (cpu0-1 on node 0, cpu2-3 on node 1), SLIT 10/20.
#pragma once

#include <cstdint>
#include <utility>

#include "topology/topology.hpp"

namespace slabsim::sim::test_support {

inline topology::Topology two_node_machine(topology::Matrix<std::int64_t> latency_ns = {
                                               {80, 160}, {160, 80}}) {
  topology::Topology m;
  m.name = "test-2node";
  m.sockets = {{0, "s0", {0}, {0, 1}}, {1, "s1", {1}, {2, 3}}};
  m.nodes = {{0, 0, {0, 1}, {}, "/nodes/0"}, {1, 1, {2, 3}, {}, "/nodes/1"}};
  m.slit = {{10, 20}, {20, 10}};
  m.latency_ns = std::move(latency_ns);
  return m;
}

}  // namespace slabsim::sim::test_support
