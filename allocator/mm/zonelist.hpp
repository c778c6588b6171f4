// Node fallback order of the page allocator, as the kernel builds zonelists.
#pragma once

#include <vector>

namespace slabsim::alloc {

// The node states build_zonelists() reads.
struct ZonelistInput {
  const std::vector<std::vector<int>>* distance = nullptr;  // SLIT
  std::vector<bool> online;                                 // N_ONLINE: nodes that get a zonelist
  std::vector<bool> has_memory;  // N_MEMORY: nodes that can appear in one
  std::vector<bool> has_cpus;    // cpumask_of_node() non-empty
};

// mm/page_alloc.c (v5.10): __build_all_zonelists -> build_zonelists -> find_next_best_node.
// For each online node, its node_order: the local node first (the kernel puts it first even
// when it has no memory; its zones are then simply empty), then the N_MEMORY nodes by
// distance, preferring higher ids at equal distance, CPU-less nodes, and spreading equal-distance
// groups round-robin through node_load. Offline nodes get an empty order.
std::vector<std::vector<int>> build_node_orders(const ZonelistInput& input);

}  // namespace slabsim::alloc
