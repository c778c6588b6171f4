#include "topology/distances.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/floyd_warshall_shortest.hpp>
#include <cmath>
#include <limits>

#include "topology/topology_format.hpp"

namespace slabsim::topology {

namespace {
using Graph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                          boost::property<boost::edge_weight_t, std::int64_t>>;
}

std::optional<DerivedDistances> derive_from_links(int node_count, const std::vector<Link>& links,
                                                  std::int64_t local_latency_ns,
                                                  int* unreachable_from_0) {
  Graph g(static_cast<std::size_t>(node_count));
  for (const auto& l : links)
    boost::add_edge(l.a, l.b, l.latency_ns, g);

  std::vector<int> component(static_cast<std::size_t>(node_count));
  if (boost::connected_components(g, component.data()) > 1) {
    if (unreachable_from_0) {
      auto it = std::find_if(component.begin(), component.end(),
                             [&](int c) { return c != component[0]; });
      *unreachable_from_0 = static_cast<int>(it - component.begin());
    }
    return std::nullopt;
  }

  Matrix<std::int64_t> path(node_count, std::vector<std::int64_t>(node_count));
  boost::floyd_warshall_all_pairs_shortest_paths(g, path);

  DerivedDistances d{Matrix<std::int64_t>(node_count, std::vector<std::int64_t>(node_count)),
                     Matrix<int>(node_count, std::vector<int>(node_count))};
  for (int i = 0; i < node_count; ++i) {
    for (int j = 0; j < node_count; ++j) {
      d.latency_ns[i][j] = local_latency_ns + (i == j ? 0 : path[i][j]);
      if (i == j) {
        d.slit[i][j] = local_distance;
      } else {
        const auto ratio = std::llround(10.0 * static_cast<double>(d.latency_ns[i][j]) /
                                        static_cast<double>(local_latency_ns));
        // 255 is reserved for "unreachable"; a remote node is never as close as the local one.
        d.slit[i][j] =
            static_cast<int>(std::clamp<long long>(ratio, local_distance + 1, max_distance - 1));
      }
    }
  }
  return d;
}

Matrix<std::int64_t> latency_from_slit(const Matrix<int>& slit, std::int64_t local_latency_ns) {
  Matrix<std::int64_t> latency(slit.size());
  for (std::size_t i = 0; i < slit.size(); ++i)
    for (int s : slit[i])
      latency[i].push_back(
          std::llround(static_cast<double>(local_latency_ns) * s / local_distance));
  return latency;
}

}  // namespace slabsim::topology
