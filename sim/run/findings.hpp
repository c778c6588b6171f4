// What a run found, as a set of named classes: what `explore` counts over many seeds and what
// the regression table (workloads/regressions/README.md) expects per strategy.
//
//   missing-node           a cache had no kmem_cache_node for a node it had a slab on
//                          (03afc0e25f7f)
//   use-after-free         a freed kmem_cache_node was used (666716fd267d)
//   violation              any other broken invariant
//   deadlock               the run ended with CPUs waiting on each other
//   lockdep A -> B [-> C]  a possible circular locking dependency, by the lock classes of its
//                          cycle, rotated to start at the smallest name
//   lockdep recursive A    a class taken again while held
//   nodes-freed            memory hotplug freed kmem_cache_node structs (v5.10)
//   nodes-reused           an online reused structs an earlier offline or cancel left (v5.12)
//   online-failed          a memory online returned an error
//   usable-node-without-memory  after a memory hotplug operation SLUB may use a node that has
//                          no normal memory (slab_nodes not undone on a cancel path)
//   fallbacks-after-online allocations asked for a node and fell back to NUMA_NO_NODE in a time
//                          bucket that began after the last memory online had ended
#pragma once

#include <string>
#include <vector>

#include "kernel/lockdep.hpp"
#include "run/metrics.hpp"

namespace slabsim::sim {

// Sorted, each class once; empty for a clean run.
std::vector<std::string> run_findings(const RunMetrics& m);

// "A -> B -> C" for a cycle, "recursive A" for a recursive acquisition.
std::string lockdep_cycle_name(const LockdepReport& r);

// The findings that make a run fail: violations, use-after-free, missing nodes and deadlocks
// (exit status 3). Lockdep reports are warnings, as in the kernel.
bool is_failure(const std::string& finding);

}  // namespace slabsim::sim
