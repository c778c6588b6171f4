#include "allocator/mm/zonelist.hpp"

#include <limits>
#include <utility>

namespace slabsim::alloc {

namespace {

// find_next_best_node(): the kernel scales the distance score by MAX_NODE_LOAD * MAX_NUMNODES
// so that node_load only breaks ties; comparing (score, load) pairs is the same order.
int find_next_best_node(const ZonelistInput& in, int node, std::vector<bool>& used,
                        const std::vector<int>& node_load) {
  if (!used[node]) {
    used[node] = true;
    return node;
  }
  const int n = static_cast<int>(in.online.size());
  std::pair<long, long> best_val{std::numeric_limits<long>::max(), 0};
  int best = -1;
  for (int k = 0; k < n; ++k) {
    if (!in.has_memory[k] || used[k]) continue;
    long val = (*in.distance)[node][k];
    val += k < node;                // "prefer the next node"
    val += in.has_cpus[k] ? 1 : 0;  // PENALTY_FOR_NODE_WITH_CPUS
    const std::pair<long, long> key{val, node_load[k]};
    if (key < best_val) {
      best_val = key;
      best = k;
    }
  }
  if (best >= 0) used[best] = true;
  return best;
}

}  // namespace

std::vector<std::vector<int>> build_node_orders(const ZonelistInput& in) {
  const int n = static_cast<int>(in.online.size());
  std::vector<std::vector<int>> orders(n);
  // node_load is static in the kernel and cleared once per rebuild, so the order in which nodes
  // build their lists matters: for_each_online_node, ascending.
  std::vector<int> node_load(n, 0);
  int nr_online = 0;
  for (bool o : in.online)
    nr_online += o;
  for (int local = 0; local < n; ++local) {
    if (!in.online[local]) continue;
    std::vector<bool> used(n, false);
    int load = nr_online;
    int prev = local;
    for (int node; (node = find_next_best_node(in, local, used, node_load)) >= 0;) {
      // v5.10 assigns (v5.16 accumulates): penalise the first node of each distance group.
      if ((*in.distance)[local][node] != (*in.distance)[local][prev]) node_load[node] = load;
      orders[local].push_back(node);
      prev = node;
      --load;
    }
  }
  return orders;
}

}  // namespace slabsim::alloc
