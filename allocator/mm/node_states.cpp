#include "allocator/mm/node_states.hpp"

namespace slabsim::alloc {

const char* node_state_name(NodeState s) {
  switch (s) {
    case NodeState::online:
      return "N_ONLINE";
    case NodeState::normal_memory:
      return "N_NORMAL_MEMORY";
    case NodeState::memory:
      return "N_MEMORY";
    case NodeState::cpu:
      return "N_CPU";
  }
  return "?";
}

std::vector<int> NodeStates::nodes(NodeState s) const {
  std::vector<int> out;
  const auto& row = bits_[idx(s)];
  for (int n = 0; n < static_cast<int>(row.size()); ++n)
    if (row[n]) out.push_back(n);
  return out;
}

}  // namespace slabsim::alloc
