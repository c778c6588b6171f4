// Node state masks (include/linux/nodemask.h, v5.10): which nodes are online, have memory, have
// normal memory, have CPUs. Memory hotplug changes them; SLUB's usable-node test reads them.
#pragma once

#include <vector>

namespace slabsim::alloc {

enum class NodeState { online, normal_memory, memory, cpu };  // N_ONLINE, N_NORMAL_MEMORY, ...
inline constexpr int node_state_count = 4;

const char* node_state_name(NodeState s);  // "N_ONLINE", ...

class NodeStates {
 public:
  explicit NodeStates(int nr_node_ids) : bits_(node_state_count, std::vector<bool>(nr_node_ids)) {}

  [[nodiscard]] bool test(int node, NodeState s) const { return bits_[idx(s)][node]; }
  void set(int node, NodeState s) { bits_[idx(s)][node] = true; }
  void clear(int node, NodeState s) { bits_[idx(s)][node] = false; }
  [[nodiscard]] std::vector<int> nodes(NodeState s) const;  // for_each_node_state, ascending
  [[nodiscard]] int nr_node_ids() const { return static_cast<int>(bits_[0].size()); }

  bool operator==(const NodeStates&) const = default;

 private:
  static int idx(NodeState s) { return static_cast<int>(s); }
  std::vector<std::vector<bool>> bits_;
};

}  // namespace slabsim::alloc
