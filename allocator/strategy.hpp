// Locking strategies as data (DESIGN.md rule 3): which locks kmem_cache_create, _destroy and
// _shrink take and in what order, which nodemask decides whether a node is usable, and how the
// memory hotplug callbacks treat kmem_cache_node structures. Named presets reproduce kernel
// history; users may define their own (see strategy_json in sim/).
#pragma once

#include <string>
#include <vector>

#include "allocator/lock_class.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/per_cpu_pages.hpp"

namespace slabsim::alloc {

struct LockStep {
  LockClass cls;
  LockMode mode;
  bool operator==(const LockStep&) const = default;
};

// The nodemask that answers "may SLUB use node N?" in ___slab_alloc() and
// init_kmem_cache_nodes().
enum class UsableNodes {
  normal_memory,  // node_state(N, N_NORMAL_MEMORY): v5.10, v5.11
  slab_nodes,     // node_isset(N, slab_nodes): v5.12 (7e1fa93deff4)
};

// The generation of mm/slub.c and mm/slab_common.c the model runs, where the code (not only the
// locks) changed between the v5.12 the model was built on and v6.1 LTS. Declared once, with what
// each generation changes, in slub_versions() (strategy.cpp).
enum class SlubVersion {
  v5_10,  // mm/slub.c v5.10: cpu_partial in objects, flush_all() by IPI, ...
  v5_12,  // mm/slub.c v5.12: as v5.10, with a spliced deactivate_slab() and num_present_cpus()
  v6_1,   // mm/slub.c v6.1: cpu_partial_slabs, flush_all() by per-CPU work, ...
};

// How SLUB's paths treat a node: ___slab_alloc()'s answer to a request for a node the CPU slab
// is not on, and how kmem_cache_shrink(), kmem_cache_close() and show_slab_objects() walk the
// nodes. Declared once, with the kernel code of each, in node_paths_list() (strategy.cpp).
enum class NodePaths {
  v3_14,  // mismatch: deactivate; walks: N_NORMAL_MEMORY with get_node() unchecked
  v5_5,   // mismatch: deactivate (node_to_mem_node() is the identity); walks skip NULL
  v5_6,   // 0715e6c516f1: a node without normal memory is ignored (NUMA_NO_NODE)
};

// HotplugSide (allocator/mm/memory_hotplug.hpp) with the kernel code of each.
struct HotplugSideInfo {
  HotplugSide side;
  const char* name;         // as strategy files and results spell it
  const char* description;  // the kernel code it follows
};

// Every HotplugSide with its name and description, oldest first.
const std::vector<HotplugSideInfo>& hotplug_sides();
const char* hotplug_side_name(HotplugSide s);

struct NodePathsInfo {
  NodePaths paths;
  const char* name;         // as strategy files and results spell it
  const char* description;  // the kernel code it follows
};

// Every NodePaths with its name and description, oldest first.
const std::vector<NodePathsInfo>& node_paths_list();
const char* node_paths_name(NodePaths p);

struct SlubVersionInfo {
  SlubVersion version;
  const char* name;         // as strategy files and results spell it
  const char* description;  // what the model does differently under it
};

// Every SlubVersion with its name and description, oldest first.
const std::vector<SlubVersionInfo>& slub_versions();
const char* slub_version_name(SlubVersion v);

struct Strategy {
  std::string name;
  std::string description;
  std::string kernel;  // the kernel it reproduces, e.g. "v5.10"
  std::string commit;  // the commit that introduced this behaviour

  // Taken in order, released in reverse, around the body of each entry point (§4.1).
  std::vector<LockStep> create_locks;   // kmem_cache_create_usercopy()
  std::vector<LockStep> destroy_locks;  // kmem_cache_destroy()
  std::vector<LockStep> shrink_locks;   // kmem_cache_shrink()
  // show_slab_objects(), under the sysfs file's active reference: get_online_mems() before
  // e4f8e513c3d3 (v5.4), nothing since.
  std::vector<LockStep> show_locks;

  UsableNodes usable_nodes = UsableNodes::normal_memory;
  // slab_mem_offline_callback(): free the node's kmem_cache_node structs (before 666716fd267d).
  bool offline_frees_nodes = true;
  // slab_mem_going_online_callback(): skip caches that still have node[nid] (666716fd267d).
  bool going_online_reuses_nodes = false;
  // The generation of the SLUB and slab_common code itself (see slub_versions()).
  SlubVersion slub_version = SlubVersion::v5_12;
  // ___slab_alloc()'s node mismatch and the node walks of shrink, close and sysfs (see
  // node_paths_list()).
  NodePaths node_paths = NodePaths::v5_6;
  // The lock the memory hotplug operations take (see hotplug_sides()).
  HotplugSide hotplug_side = HotplugSide::mem_hotplug_lock;
  // CONFIG_MUTEX_SPIN_ON_OWNER in the era's kernel with lock statistics: from v4.10 mutex
  // waiters spin while the owner runs (and lock_stat sees no contention then); before it,
  // DEBUG_MUTEXES, which lockdep selects, turned spinning off (kernel/Kconfig.locks).
  bool mutex_spin_on_owner = true;
  // The generation of mm/page_alloc.c's per-CPU page lists (see pcp_versions()).
  PcpVersion page_alloc = PcpVersion::v5_12;

  bool operator==(const Strategy&) const = default;
};

// Presets, in history order: mutex_only, hotplug_lock_sysfs, hotplug_lock, shrink_slab_mutex,
// slab_nodes, slab_nodes_nocpu, v6.1.
const std::vector<Strategy>& strategy_presets();
// nullptr when there is no preset of that name.
const Strategy* find_strategy_preset(const std::string& name);

}  // namespace slabsim::alloc
