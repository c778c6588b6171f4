// The kernel locks the model takes, named as /proc/lock_stat and lockdep name their classes.
#pragma once

#include <cstdint>
#include <string_view>

namespace slabsim::alloc {

enum class LockClass : std::uint8_t {
  slab_mutex,        // mm/slab_common.c: protects slab_caches and (v5.12) slab_nodes
  list_lock,         // kmem_cache_node::list_lock, one instance per (cache, node)
  mem_hotplug_lock,  // percpu_rw_semaphore: get_online_mems() = read, mem_hotplug_begin() = write
  cpu_hotplug_lock,  // percpu_rw_semaphore: get_online_cpus() = read
  device_hotplug_lock,  // lock_device_hotplug_sysfs()
  memory_chain,         // (memory_chain).rwsem, the memory notifier chain
  kernfs_active,        // kn->count: the active reference of a sysfs file; removal drains it
  alien_lock,           // SLAB: alien_cache::lock, one instance per (cache, node, remote node)
  slob_lock,            // SLOB: the one spinlock over its free lists
  flush_lock,           // SLUB v5.15+: the mutex flush_all_cpus_locked() holds over its works
  mem_hotplug_mutex,    // v3.14's memory hotplug lock: lock_memory_hotplug(), a plain mutex
};
inline constexpr int lock_class_count = 11;

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
      return "kn->count";
    case LockClass::alien_lock:
      return "&alc->lock";
    case LockClass::slob_lock:
      return "slob_lock";
    case LockClass::flush_lock:
      return "flush_lock";
    case LockClass::mem_hotplug_mutex:
      return "mem_hotplug_mutex";
  }
  return "?";
}

}  // namespace slabsim::alloc
