#include "topology/topology.hpp"

#include <algorithm>

namespace slabsim::topology {

const char* to_string(Zone zone) {
  return zone == Zone::normal ? "normal" : "movable";
}

const char* to_string(BlockState state) {
  switch (state) {
    case BlockState::online:
      return "online";
    case BlockState::offline:
      return "offline";
    case BlockState::absent:
      return "absent";
  }
  return "?";
}

std::vector<int> Topology::cpu_ids() const {
  std::vector<int> ids;
  for (const auto& n : nodes)
    ids.insert(ids.end(), n.cpus.begin(), n.cpus.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

int Topology::node_of_cpu(int cpu) const {
  for (const auto& n : nodes)
    if (std::binary_search(n.cpus.begin(), n.cpus.end(), cpu)) return n.id;
  return -1;
}

std::uint64_t Topology::node_bytes(int node, BlockState state) const {
  std::uint64_t count = 0;
  for (int b : nodes.at(node).blocks)
    count += blocks[b].state == state;
  return count * block_size;
}

std::uint64_t Topology::node_bytes(int node, BlockState state, Zone zone) const {
  std::uint64_t count = 0;
  for (int b : nodes.at(node).blocks)
    count += blocks[b].state == state && blocks[b].zone == zone;
  return count * block_size;
}

bool Topology::boot_online(int node) const {
  const auto& n = nodes.at(node);
  return !n.cpus.empty() || std::any_of(n.blocks.begin(), n.blocks.end(), [&](int b) {
    return blocks[b].state != BlockState::absent;
  });
}

bool Topology::boot_has_memory(int node) const {
  return node_bytes(node, BlockState::online) > 0;
}

bool Topology::boot_has_normal_memory(int node) const {
  return node_bytes(node, BlockState::online, Zone::normal) > 0;
}

}  // namespace slabsim::topology
