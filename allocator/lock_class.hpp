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
  // kn->active: the active reference of a sysfs file; removal drains it. The class name is
  // __kernfs_create_file()'s lockdep_init_map() (kn->count until 2020). The kernel has one class
  // per attribute (printed kn->active#N); the model one for all (not modelled yet).
  kernfs_active,
  alien_lock,         // SLAB: alien_cache::lock, one instance per (cache, node, remote node)
  slob_lock,          // SLOB: the one spinlock over its free lists
  flush_lock,         // SLUB v5.15+: the mutex flush_all_cpus_locked() holds over its works
  mem_hotplug_mutex,  // v3.14's memory hotplug lock: lock_memory_hotplug(), a plain mutex
  // SLAB's kmem_cache_node::list_lock. lockdep names a spinlock's class after its
  // spin_lock_init() argument: kmem_cache_node_init() initialises every node struct's as
  // &parent->list_lock, except the two that init_list() copies at boot (kmem_cache's and the
  // INDEX_NODE kmalloc cache's, per online node), which it re-initialises as &ptr->list_lock.
  slab_list_lock,
  slab_boot_list_lock,
  // kernel/cpu.c's cpu_add_remove_lock: cpu_maps_update_begin(), which cpu_up()/cpu_down()
  // take around cpus_write_lock().
  cpu_add_remove_lock,
};
inline constexpr int lock_class_count = 14;

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

// The name lock_stat prints for the class.
constexpr std::string_view lock_class_name(LockClass c) {
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
    case LockClass::kernfs_active:
      return "kn->active";
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
  }
  return "?";
}

}  // namespace slabsim::alloc
