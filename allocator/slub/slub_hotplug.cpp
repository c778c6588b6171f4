// SLUB's hotplug callbacks (mm/slub.c, v5.10-v5.12 and v6.1): slab_memory_callback() on the memory
// notifier chain, with the strategy deciding whether node structs are freed at MEM_OFFLINE or
// kept and reused, and whether slab_nodes follows; and slub_cpu_dead() for CPUHP_SLUB_DEAD.
#include <fmt/format.h>

#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// Memory hotplug: slab_memory_callback()

int SlubAllocator::slab_mem_going_online_callback(const MemoryNotify& arg) {
  const int nid = arg.status_change_nid_normal;
  if (nid < 0) return 0;
  int ret = 0;
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_going_online_callback");
  for (KmemCache* s : slab_caches()) {
    if (strategy_.going_online_reuses_nodes && s->node[nid]) {
      ++node_structs_.reused;
      continue;
    }
    // kmem_cache_alloc(kmem_cache_node, GFP_KERNEL): the node has no memory yet, so the struct
    // comes from wherever the local allocation lands.
    if (!alloc_kmem_cache_node(s, nid, numa_no_node)) {
      ret = -enomem;
      break;
    }
    ++node_structs_.allocated;
  }
  if (ret == 0 && strategy_.usable_nodes == UsableNodes::slab_nodes) slab_nodes_[nid] = true;
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  return ret;
}

// slab_mem_going_offline_callback(): v5.12 calls __kmem_cache_shrink() on every cache; v6.1 calls
// flush_all_cpus_locked() and __kmem_cache_do_shrink(), offline_pages() holding cpu_hotplug_lock
// already (mem_hotplug_begin()), so that flush_all() does not take it again.
int SlubAllocator::slab_mem_going_offline_callback() {
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_going_offline_callback");
  for (KmemCache* s : slab_caches()) {
    if (params_.version == SlubVersion::v6_1) {
      flush_all_cpus_locked(s);
      __kmem_cache_do_shrink(s);
    } else {
      __kmem_cache_shrink(s);
    }
  }
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  return 0;
}

void SlubAllocator::slab_mem_offline_callback(const MemoryNotify& arg) {
  const int nid = arg.status_change_nid_normal;
  if (nid < 0) return;
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_offline_callback");
  if (strategy_.offline_frees_nodes) {
    for (KmemCache* s : slab_caches()) {
      KmemCacheNode* n = s->node[nid];
      if (!n) continue;
      if (n->nr_slabs) {
        common_.violation(env_->current_cpu(), "slab_mem_offline_callback",
                          fmt::format("BUG: cache {} still has {} slabs on node {} going offline",
                                      s->name, n->nr_slabs, nid));
        continue;
      }
      free_kmem_cache_node(s, nid);
      ++node_structs_.freed;
    }
  }
  if (strategy_.usable_nodes == UsableNodes::slab_nodes) slab_nodes_[nid] = false;
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
}

int SlubAllocator::slab_memory_callback(MemoryAction action, const MemoryNotify& arg) {
  env_->sync();
  switch (action) {
    case MemoryAction::going_online:
      return slab_mem_going_online_callback(arg);
    case MemoryAction::going_offline:
      return slab_mem_going_offline_callback();
    case MemoryAction::offline:
    case MemoryAction::cancel_online:
      slab_mem_offline_callback(arg);
      return 0;
    case MemoryAction::online:
    case MemoryAction::cancel_offline:
      return 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// CPU hotplug: slub_cpu_dead()

void SlubAllocator::dead_cpu(int cpu) {
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slub_cpu_dead");
  for (KmemCache* s : slab_caches()) {
    env_->irq_disable();
    flush_cpu_slab(s, cpu);
    env_->irq_enable();
  }
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
}

}  // namespace slabsim::alloc
