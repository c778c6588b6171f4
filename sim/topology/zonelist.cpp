#include "topology/zonelist.hpp"

#include "allocator/mm/zonelist.hpp"

namespace slabsim::topology {

Matrix<int> boot_node_orders(const Topology& t) {
  alloc::ZonelistInput in;
  in.distance = &t.slit;
  for (const auto& node : t.nodes) {
    in.online.push_back(t.boot_online(node.id));
    in.has_memory.push_back(t.boot_has_memory(node.id));
    in.has_cpus.push_back(!node.cpus.empty());
  }
  return alloc::build_node_orders(in);
}

}  // namespace slabsim::topology
