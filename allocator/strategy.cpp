#include "allocator/strategy.hpp"

namespace slabsim::alloc {

namespace {

constexpr LockStep cpus{LockClass::cpu_hotplug_lock, LockMode::read};  // get_online_cpus()
constexpr LockStep mems{LockClass::mem_hotplug_lock, LockMode::read};  // get_online_mems()
constexpr LockStep mutex{LockClass::slab_mutex, LockMode::exclusive};
// lock_memory_hotplug() (v3.14)
constexpr LockStep mems_mutex{LockClass::mem_hotplug_mutex, LockMode::exclusive};

std::vector<Strategy> make_presets() {
  std::vector<Strategy> p;
  p.push_back({
      "mutex_only",
      "Before the memory hotplug lock was taken in the slab paths: a cache created while a node "
      "is going online can miss that node's kmem_cache_node (the race 03afc0e25f7f fixed). "
      "SLUB's kmem_cache_shrink() took no lock then; memory hotplug and SLUB's "
      "show_slab_objects() took a plain mutex, lock_memory_hotplug().",
      "v3.14",
      "parent of 03afc0e25f7f",
      {cpus, mutex},
      {cpus, mutex},
      {},
      {mems_mutex},
      UsableNodes::normal_memory,
      true,
      false,
      SlubVersion::v5_10,
      NodePaths::v3_14,
      HotplugSide::mem_hotplug_mutex,
      false,
  });
  p.back().page_alloc = PcpVersion::v5_10;
  p.push_back({
      "hotplug_lock_sysfs",
      "As hotplug_lock, and the sysfs files that count objects (show_slab_objects()) also take "
      "get_online_mems() while holding the file's active reference: kn->active -> "
      "mem_hotplug_lock -> slab_mutex -> kn->active, a deadlock once a hotplug writer is queued "
      "(e4f8e513c3d3 removed it).",
      "v5.3",
      "parent of e4f8e513c3d3",
      {cpus, mems, mutex},
      {cpus, mems, mutex},
      {cpus, mems},
      {mems},
      UsableNodes::normal_memory,
      true,
      false,
      SlubVersion::v5_10,
      NodePaths::v5_5,
  });
  p.back().page_alloc = PcpVersion::v5_10;
  p.push_back({
      "hotplug_lock",
      "get_online_mems() around create, destroy and shrink: creation cannot interleave with "
      "online_pages(), which holds mem_hotplug_lock for write; writers wait for readers.",
      "v5.10",
      "03afc0e25f7f",
      {cpus, mems, mutex},
      {cpus, mems, mutex},
      {cpus, mems},
      {},
      UsableNodes::normal_memory,
      true,
      false,
      SlubVersion::v5_10,
  });
  p.back().page_alloc = PcpVersion::v5_10;
  p.push_back({
      "shrink_slab_mutex",
      "RFC 1/3 of the 2021 series: slab_nodes instead of the hotplug lock, with slab_mutex "
      "re-added to kmem_cache_shrink (lockdep: ABBA against kernfs removal in destroy); "
      "kmem_cache_node structs still freed on offline.",
      "RFC (Jan 2021, not merged)",
      "[RFC 1/3] mm, slab, slub: stop taking memory hotplug lock",
      {cpus, mutex},
      {cpus, mutex},
      {cpus, mutex},
      {},
      UsableNodes::slab_nodes,
      true,
      false,
      SlubVersion::v5_10,
  });
  p.back().page_alloc = PcpVersion::v5_10;
  p.push_back({
      "slab_nodes",
      "SLUB's own slab_nodes mask, set and cleared under slab_mutex by its hotplug callbacks; "
      "kmem_cache_node structs are never freed and are reused on re-online; shrink takes only "
      "the cpu hotplug lock.",
      "v5.12-rc1 (without 59450bbc12be)",
      "7e1fa93deff4 + 666716fd267d",
      {cpus, mutex},
      {cpus, mutex},
      {cpus},
      {},
      UsableNodes::slab_nodes,
      false,
      true,
  });
  p.push_back({
      "slab_nodes_nocpu",
      "v5.12: as slab_nodes, and create/destroy/shrink stop taking the cpu hotplug lock too: "
      "create and destroy take only slab_mutex, shrink takes no lock at all.",
      "v5.12",
      "59450bbc12be",
      {mutex},
      {mutex},
      {},
      {},
      UsableNodes::slab_nodes,
      false,
      true,
  });
  // v6.1 LTS (Debian 12). mm/slab_common.c v6.1: kmem_cache_create_usercopy() takes only
  // slab_mutex; kmem_cache_destroy() takes cpus_read_lock() then slab_mutex again (re-added in
  // v5.15 because SLUB's flush_all() now needs the cpu hotplug lock held) and, since
  // 0495e337b703 (v6.0), releases both before kmem_cache_release() removes the sysfs directory;
  // kmem_cache_shrink() takes no lock of its own, but SLUB's __kmem_cache_shrink() calls
  // flush_all(), which takes cpus_read_lock() itself (slub_version v6_1).
  p.push_back({
      "v6.1",
      "v6.1 LTS: as slab_nodes_nocpu for the node structs and slab_nodes, with v6.1's SLUB "
      "code: destroy takes cpu_hotplug_lock then slab_mutex and removes the sysfs directory "
      "after releasing both; flush_all() takes cpu_hotplug_lock and flush_lock and flushes by "
      "per-CPU work; per-CPU partial lists are bounded in slabs (cpu_partial_slabs).",
      "v6.1",
      "830b3c68c1fb (v6.1 tag)",
      {mutex},
      {cpus, mutex},
      {},
      {},
      UsableNodes::slab_nodes,
      false,
      true,
      SlubVersion::v6_1,
  });
  p.back().page_alloc = PcpVersion::v6_1;
  return p;
}

}  // namespace

const std::vector<SlubVersionInfo>& slub_versions() {
  static const std::vector<SlubVersionInfo> versions = {
      {SlubVersion::v5_10, "v5.10",
       "mm/slub.c v5.10: calculate_order() sizes slabs for nr_cpu_ids CPUs; set_cpu_partial() "
       "counts objects (2/6/13/30) and put_cpu_partial() drains on pobjects; deactivate_slab() "
       "gives the CPU freelist back one object at a time and juggles list_lock across cmpxchg "
       "retries; flush_all() sends IPIs with no lock; kmem_cache_destroy() removes the sysfs "
       "directory inside its locks; struct track holds a 16-entry stack (152 bytes)."},
      {SlubVersion::v5_12, "v5.12",
       "mm/slub.c v5.12: as v5.10, except that calculate_order() sizes slabs for "
       "num_present_cpus() CPUs (nr_cpu_ids when that is 1; 3286222fc609) and "
       "deactivate_slab() splices the whole CPU freelist onto the slab's in one cmpxchg "
       "(d930ff03c4d1, v5.12-rc1)."},
      {SlubVersion::v6_1, "v6.1",
       "mm/slub.c v6.1: calculate_order() as v5.12; set_cpu_partial() sets 6/24/52/120 objects and "
       "cpu_partial_slabs = "
       "DIV_ROUND_UP(objects * 2, objs_per_slab), which bounds per-CPU partial lists in slabs "
       "(put_cpu_partial(), get_partial_node()); deactivate_slab() splices the CPU freelist "
       "in one cmpxchg and locks only for lists; flush_all() takes cpu_hotplug_lock and "
       "flush_lock and queues per-CPU work; kmem_cache_destroy() removes the sysfs directory "
       "after its locks; struct track holds a stackdepot handle (32 bytes)."},
  };
  return versions;
}

const std::vector<NodePathsInfo>& node_paths_list() {
  static const std::vector<NodePathsInfo> list = {
      {NodePaths::v3_14, "v3.14",
       "mm/slub.c v3.14: __slab_alloc() deactivates the CPU slab (ALLOC_NODE_MISMATCH) whenever "
       "it is not on the requested node, even a node without normal memory, so such requests "
       "never fall back to NUMA_NO_NODE; kmem_cache_shrink(), kmem_cache_close() and "
       "show_slab_objects() walk N_NORMAL_MEMORY and dereference get_node() without a NULL "
       "check (for_each_kmem_cache_node() came with fa45dc254bcf, v3.16)."},
      {NodePaths::v5_5, "v5.5",
       "mm/slub.c v3.19-v5.5 (a561ce00b09e): ___slab_alloc() and get_partial() look up "
       "node_to_mem_node() for a node without present pages, the identity on x86_64 without "
       "CONFIG_HAVE_MEMORYLESS_NODES, so every request for a node without normal memory is "
       "still an ALLOC_NODE_MISMATCH and a deactivation; the node walks use "
       "for_each_kmem_cache_node() and skip missing structs."},
      {NodePaths::v5_6, "v5.6",
       "mm/slub.c since 0715e6c516f1 (v5.6, \"mm, slub: prevent kmalloc_node crashes and memory "
       "leaks\"): ___slab_alloc() ignores the node constraint (NUMA_NO_NODE) when the node is "
       "not usable, N_NORMAL_MEMORY or later slab_nodes (usable_nodes)."},
  };
  return list;
}

const std::vector<HotplugSideInfo>& hotplug_sides() {
  static const std::vector<HotplugSideInfo> list = {
      {HotplugSide::mem_hotplug_mutex, "mem_hotplug_mutex",
       "mm/memory_hotplug.c v3.14: online_pages(), offline_pages(), add_memory() and "
       "remove_memory() take lock_memory_hotplug(), a plain mutex (mem_hotplug_mutex): no RCU "
       "grace period, no readers to drain, no cpu hotplug lock; SLUB's show_slab_objects() "
       "takes it too (strategy lock step \"lock_memory_hotplug\")."},
      {HotplugSide::mem_hotplug_lock, "mem_hotplug_lock",
       "mm/memory_hotplug.c since bfc8c90139eb (v3.16; a percpu rw-semaphore since "
       "3f906ba23689, v4.13): mem_hotplug_begin() takes cpus_read_lock() and mem_hotplug_lock "
       "for write, which waits for an RCU grace period and for every get_online_mems() reader."},
  };
  return list;
}

const char* hotplug_side_name(HotplugSide s) {
  for (const auto& info : hotplug_sides())
    if (info.side == s) return info.name;
  return "?";
}

const char* node_paths_name(NodePaths p) {
  for (const auto& info : node_paths_list())
    if (info.paths == p) return info.name;
  return "?";
}

const char* slub_version_name(SlubVersion v) {
  for (const auto& info : slub_versions())
    if (info.version == v) return info.name;
  return "?";
}

const std::vector<Strategy>& strategy_presets() {
  static const std::vector<Strategy> presets = make_presets();
  return presets;
}

const Strategy* find_strategy_preset(const std::string& name) {
  for (const auto& s : strategy_presets())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace slabsim::alloc
