// Distances between nodes: SLIT rules, and the link-graph form resolved with Boost.Graph.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace slabsim::topology {

struct DerivedDistances {
  Matrix<std::int64_t> latency_ns;
  Matrix<int> slit;
};

// Shortest paths over the links (Boost.Graph): latency = local + path, SLIT =
// round(10 * latency / local), kept within 11..254 off the diagonal. Returns nullopt and names an
// unreachable node in `unreachable` if the graph is not connected.
std::optional<DerivedDistances> derive_from_links(int node_count, const std::vector<Link>& links,
                                                  std::int64_t local_latency_ns,
                                                  int* unreachable_from_0 = nullptr);

// Latency matrix from a SLIT matrix and a local latency: local x SLIT / 10, whole ns.
Matrix<std::int64_t> latency_from_slit(const Matrix<int>& slit, std::int64_t local_latency_ns);

}  // namespace slabsim::topology
