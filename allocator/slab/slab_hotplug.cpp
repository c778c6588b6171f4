// SLAB's hotplug callbacks (mm/slab.c, v5.10): slab_memory_callback() on the memory notifier
// chain (N_MEMORY changes), and CPUHP_SLAB_PREPARE's slab_prepare_cpu() and slab_dead_cpu().
#include <climits>
#include <memory>
#include <vector>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// Memory hotplug: slab_memory_callback(), drain_cache_node_node()

int SlabAllocator::drain_cache_node_node(int node) {
  for (SlabCache* c : slab_caches()) {
    SlabCacheNode* n = c->node[node];
    if (!n) continue;
    drain_freelist(c, n, LONG_MAX);
    if (!n->slabs_full.empty() || !n->slabs_partial.empty()) return -ebusy;
  }
  return 0;
}

int SlabAllocator::slab_memory_callback(MemoryAction action, const MemoryNotify& arg) {
  // SLAB keys on N_MEMORY changes (status_change_nid), not N_NORMAL_MEMORY like SLUB.
  const int nid = arg.status_change_nid;
  if (nid < 0) return 0;
  env_->sync();
  int ret = 0;
  switch (action) {
    case MemoryAction::going_online:
      env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_memory_callback");
      ret = init_cache_node_node(nid, /*from_hotplug=*/true);
      env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
      break;
    case MemoryAction::going_offline:
      env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_memory_callback");
      ret = drain_cache_node_node(nid);
      env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
      break;
    case MemoryAction::offline:
    case MemoryAction::cancel_online:
      // Node structs are never freed: they wait for the node's next online.
      for (SlabCache* c : slab_caches())
        if (SlabCacheNode* n = c->node[nid]) n->left_by_hotplug = true;
      break;
    case MemoryAction::online:
    case MemoryAction::cancel_offline:
      break;
  }
  return ret;
}

// ---------------------------------------------------------------------------------------------
// CPU hotplug: slab_prepare_cpu() -> cpuup_prepare(), slab_dead_cpu() -> cpuup_canceled()

int SlabAllocator::cpuup_prepare(int cpu) {
  const int node = numa_mem_id(cpu);
  // The node structs first: the array allocations below need them.
  int err = init_cache_node_node(node, false);
  if (!err)
    for (SlabCache* c : slab_caches())
      if ((err = setup_kmem_cache_node(c, node, /*force_change=*/false))) break;
  if (!err) return 0;
  cpuup_canceled(cpu);
  return -enomem;
}

int SlabAllocator::prepare_cpu(int cpu) {
  env_->sync();
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_prepare_cpu");
  const int err = cpuup_prepare(cpu);
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  // The CPU joins cpumask_of_node() after this step (the model marks it online here).
  if (!err) cpu_online_[cpu] = true;
  return err;
}

void SlabAllocator::cpuup_canceled(int cpu) {
  const int node = numa_mem_id(cpu);
  const bool node_has_cpus = nr_cpus_node(node) > 0;  // !cpumask_empty(cpumask_of_node(node))
  for (SlabCache* c : slab_caches()) {
    SlabCacheNode* n = c->node[node];
    if (!n) continue;
    std::vector<SlabPage*> list;
    env_->irq_disable();
    list_lock(n, "cpuup_canceled");
    n->free_limit -= c->batchcount;
    // The CPU is dead; nobody allocates from its array any more.
    ArrayCache& nc = c->cpu_cache[cpu];
    free_block(c, nc.entry.data(), nc.entry.size(), node, list);
    nc.entry.clear();
    if (node_has_cpus) {
      list_unlock(n);
      env_->irq_enable();
      slabs_destroy(c, list);
      continue;
    }
    std::unique_ptr<ArrayCache> shared = std::move(n->shared);
    if (shared) free_block(c, shared->entry.data(), shared->entry.size(), node, list);
    std::unique_ptr<AlienArray> alien = std::move(n->alien);
    list_unlock(n);
    env_->irq_enable();
    kfree_array(std::move(shared));
    if (alien) {
      drain_alien_cache(c, *alien);
      free_alien_cache(std::move(alien));
    }
    slabs_destroy(c, list);
  }
  // Every object is back in its slab: now the node lists can shrink to nothing.
  for (SlabCache* c : slab_caches())
    if (SlabCacheNode* n = c->node[node]) drain_freelist(c, n, LONG_MAX);
}

void SlabAllocator::dead_cpu(int cpu) {
  env_->sync();
  cpu_online_[cpu] = false;  // already out of cpumask_of_node() when CPUHP_SLAB_PREPARE tears down
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_dead_cpu");
  cpuup_canceled(cpu);
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
}

}  // namespace slabsim::alloc
