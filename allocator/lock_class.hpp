// The kernel locks the model takes, named as /proc/lock_stat and lockdep name their classes.
#pragma once

#include <cstdint>
#include <string_view>

namespace slabsim::alloc {

enum class LockClass : std::uint8_t {
  slab_mutex,        // mm/slab_common.c: protects slab_caches and (v5.12) slab_nodes
  list_lock,         // SLUB: kmem_cache_node::list_lock, one instance per (cache, node)
  mem_hotplug_lock,  // percpu_rw_semaphore: get_online_mems() = read, mem_hotplug_begin() = write
  cpu_hotplug_lock,  // percpu_rw_semaphore: get_online_cpus() = read
  device_hotplug_lock,  // lock_device_hotplug_sysfs()
  memory_chain,         // (memory_chain).rwsem, the memory notifier chain
  alien_lock,           // SLAB: alien_cache::lock, one instance per (cache, node, remote node)
  slob_lock,            // SLOB: the one spinlock over its free lists
  flush_lock,           // SLUB v5.15+: the mutex flush_all_cpus_locked() holds over its works
  mem_hotplug_mutex,    // v3.14's memory hotplug lock: lock_memory_hotplug(), a plain mutex
  // SLAB's kmem_cache_node::list_lock. lockdep names a spinlock's class after its
  // spin_lock_init() argument: kmem_cache_node_init() initialises every node struct's as
  // &parent->list_lock, except the two that init_list() copies at boot (kmem_cache's and the
  // INDEX_NODE kmalloc cache's, per online node), which it re-initialises as &ptr->list_lock.
  slab_list_lock,
  slab_boot_list_lock,
  // kernel/cpu.c's cpu_add_remove_lock: cpu_maps_update_begin(), which cpu_up()/cpu_down()
  // take around cpus_write_lock().
  cpu_add_remove_lock,
  // mm/page_alloc.c's mutexes around the per-CPU page lists: pcpu_drain_mutex serialises
  // drain_all_pages(); pcp_batch_high_lock is held while a zone's pcp->high and ->batch change
  // (zone_pcp_update()) and, from v5.11, across an offline's zone_pcp_disable()/_enable().
  pcpu_drain_mutex,
  pcp_batch_high_lock,
  // kn->active, the active reference of a sysfs file, which removal drains; the first of
  // kernfs_active_classes classes (kernfs_active_class()). The name is __kernfs_create_file()'s
  // lockdep_init_map() (kn->count until 2020).
  kernfs_active_first,
};

// sysfs_add_file_mode_ns() (fs/sysfs/file.c, v5.10-v6.1) keys a file's kn->active with
// attr->key ?: &attr->skey: one lockdep class per attribute, shared by that file in every
// directory, one instance per (directory, file). SLUB's files are static slab_attribute objects,
// so /sys/kernel/slab/*/shrink is one class, objects another. Class i belongs to attribute i of
// the SLUB attribute table (slub_sysfs.hpp: slab_attribute_names()).
inline constexpr int kernfs_active_classes = 64;
inline constexpr int lock_class_count =
    static_cast<int>(LockClass::kernfs_active_first) + kernfs_active_classes;

constexpr LockClass kernfs_active_class(int attribute) {
  return static_cast<LockClass>(static_cast<int>(LockClass::kernfs_active_first) + attribute);
}
constexpr bool is_kernfs_active(LockClass c) {
  return static_cast<int>(c) >= static_cast<int>(LockClass::kernfs_active_first) &&
         static_cast<int>(c) < lock_class_count;
}
constexpr int kernfs_attribute_of(LockClass c) {
  return static_cast<int>(c) - static_cast<int>(LockClass::kernfs_active_first);
}

// lockdep names classes that share a name string name#N, N = 1 + the highest N so far, from the
// first acquisition of each (register_lock_class(), count_matching_names()); only N > 1 is
// printed. Which N a slab attribute gets depends on every kn->active class registered before it
// since boot, so the model fixes them: attribute i is kn->active#(kernfs_active_first_version +
// i), as if the slab attributes were registered in table order after one other kn->active.
inline constexpr int kernfs_active_first_version = 2;

enum class LockMode : std::uint8_t { exclusive, read, write };

constexpr std::string_view lock_mode_name(LockMode m) {
  switch (m) {
    case LockMode::exclusive:
      return "exclusive";
    case LockMode::read:
      return "read";
    case LockMode::write:
      return "write";
  }
  return "?";
}

// The class's name string, without the version: "kn->active" for every kn->active class.
constexpr std::string_view lock_class_base_name(LockClass c) {
  if (is_kernfs_active(c)) return "kn->active";
  switch (c) {
    case LockClass::slab_mutex:
      return "slab_mutex";
    case LockClass::list_lock:
      return "&n->list_lock";
    case LockClass::mem_hotplug_lock:
      return "mem_hotplug_lock";
    case LockClass::cpu_hotplug_lock:
      return "cpu_hotplug_lock";
    case LockClass::device_hotplug_lock:
      return "device_hotplug_lock";
    case LockClass::memory_chain:
      return "(memory_chain).rwsem";
    case LockClass::alien_lock:
      return "&alc->lock";
    case LockClass::slob_lock:
      return "slob_lock";
    case LockClass::flush_lock:
      return "flush_lock";
    case LockClass::mem_hotplug_mutex:
      return "mem_hotplug_mutex";
    case LockClass::slab_list_lock:
      return "&parent->list_lock";
    case LockClass::slab_boot_list_lock:
      return "&ptr->list_lock";
    case LockClass::cpu_add_remove_lock:
      return "cpu_add_remove_lock";
    case LockClass::pcpu_drain_mutex:
      return "pcpu_drain_mutex";
    case LockClass::pcp_batch_high_lock:
      return "pcp_batch_high_lock";
    case LockClass::kernfs_active_first:
      break;
  }
  return "?";
}

// lockdep's name_version of the class (1: printed without "#N").
constexpr int lock_class_name_version(LockClass c) {
  return is_kernfs_active(c) ? kernfs_active_first_version + kernfs_attribute_of(c) : 1;
}

// The name lockdep prints for the class in full: the base name, then "#N" when N > 1.
std::string_view lock_class_name(LockClass c);

}  // namespace slabsim::alloc
