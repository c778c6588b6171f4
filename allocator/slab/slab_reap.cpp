// Giving memory back in SLAB (mm/slab.c, v5.10): drain_freelist(), the array drains
// (drain_array(), do_drain(), drain_cpu_caches()), the hooks __kmem_cache_shrink() and
// __kmem_cache_shutdown() built on them, and cache_reap(), the per-CPU work every REAPTIMEOUT_AC.
#include <climits>
#include <vector>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// Draining: drain_freelist(), drain_array(), do_drain(), drain_cpu_caches()

int SlabAllocator::drain_freelist(SlabCache* c, SlabCacheNode* n, long tofree) {
  int nr_freed = 0;
  while (nr_freed < tofree && !n->slabs_free.empty()) {
    env_->irq_disable();
    list_lock(n, "drain_freelist");
    if (n->slabs_free.empty()) {
      list_unlock(n);
      env_->irq_enable();
      break;
    }
    SlabPage* page = n->slabs_free.back();
    n->slabs_free.pop_back();
    page->list = SlabListKind::none;
    --n->free_slabs;
    --n->total_slabs;
    n->free_objects -= c->num;
    list_unlock(n);
    env_->irq_enable();
    slab_destroy(c, page);
    ++nr_freed;
  }
  return nr_freed;
}

void SlabAllocator::drain_array_locked(SlabCache* c, ArrayCache* ac, int node, bool free_all,
                                       std::vector<SlabPage*>& list) {
  if (!ac || !ac->avail()) return;
  unsigned tofree = free_all ? ac->avail() : (ac->limit + 4) / 5;
  if (tofree > ac->avail()) tofree = (ac->avail() + 1) / 2;
  free_block(c, ac->entry.data(), tofree, node, list);
  ac->entry.erase(ac->entry.begin(), ac->entry.begin() + tofree);
}

void SlabAllocator::drain_array(SlabCache* c, SlabCacheNode* n, ArrayCache* ac, int node) {
  if (!ac || !ac->avail()) return;
  // Used since the last reap: leave it this time.
  if (ac->touched) {
    ac->touched = false;
    return;
  }
  std::vector<SlabPage*> list;
  env_->irq_disable();
  list_lock(n, "drain_array");
  drain_array_locked(c, ac, node, false, list);
  list_unlock(n);
  env_->irq_enable();
  slabs_destroy(c, list);
}

void SlabAllocator::do_drain(SlabCache* c, int cpu) {
  ArrayCache& ac = c->cpu_cache[cpu];
  const int node = numa_mem_id(cpu);
  SlabCacheNode* n = node_of(c, node, "do_drain");
  if (!n) return;
  std::vector<SlabPage*> list;
  list_lock(n, "do_drain");
  free_block(c, ac.entry.data(), ac.entry.size(), node, list);
  list_unlock(n);
  ac.entry.clear();
  slabs_destroy(c, list);
}

void SlabAllocator::drain_cpu_caches(SlabCache* c) {
  // on_each_cpu(do_drain): an IPI to every online CPU, the caller included; the handlers run
  // at once, and contend for the node's list_lock.
  std::vector<int> cpus;
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu)
    if (cpu_online_[cpu]) cpus.push_back(cpu);
  env_->run_on_cpus(cpus, [this, c](int cpu) {
    env_->irq_disable();
    do_drain(c, cpu);
    env_->irq_enable();
  });
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
    if (SlabCacheNode* n = c->node[nid]; n && n->alien) drain_alien_cache(c, *n->alien);
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    SlabCacheNode* n = c->node[nid];
    if (!n) continue;
    std::vector<SlabPage*> list;
    env_->irq_disable();
    list_lock(n, "drain_cpu_caches");
    drain_array_locked(c, n->shared.get(), nid, true, list);
    list_unlock(n);
    env_->irq_enable();
    slabs_destroy(c, list);
  }
}

// ---------------------------------------------------------------------------------------------
// The hooks of mm/slab_common.c: __kmem_cache_shrink(), __kmem_cache_shutdown()

int SlabAllocator::__kmem_cache_shrink(Cache* s) {
  SlabCache* c = cache_of(s);
  env_->sync();
  drain_cpu_caches(c);
  int ret = 0;
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    SlabCacheNode* n = c->node[nid];
    if (!n) continue;
    drain_freelist(c, n, LONG_MAX);
    ret += !n->slabs_full.empty() || !n->slabs_partial.empty();
  }
  return ret ? 1 : 0;
}

int SlabAllocator::__kmem_cache_shutdown(Cache* s) {
  return __kmem_cache_shrink(s);
}

// ---------------------------------------------------------------------------------------------
// cache_reap(): the per-CPU delayed work every REAPTIMEOUT_AC

void SlabAllocator::reap_alien(SlabCache* c, SlabCacheNode* n, int cpu) {
  const int node = reap_node_[cpu];
  if (!n->alien) return;
  AlienCache* alc = n->alien->caches[node].get();
  if (!alc || !alc->ac.avail()) return;
  env_->irq_disable();
  if (env_->try_lock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive,
                     "reap_alien")) {
    std::vector<SlabPage*> list;
    drain_alien_cache_one(c, alc->ac, node, list);
    env_->unlock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive);
    env_->irq_enable();
    slabs_destroy(c, list);
    return;
  }
  env_->irq_enable();
}

void SlabAllocator::cache_reap() {
  const int cpu = env_->current_cpu();
  const int node = numa_mem_id(cpu);
  env_->sync();
  if (!env_->try_lock(LockClass::slab_mutex, 0, LockMode::exclusive, "cache_reap")) {
    ++reap_skipped_;  // give up; the next round comes REAPTIMEOUT_AC later
    return;
  }
  for (SlabCache* c : slab_caches()) {
    env_->charge(costs_.reap_cache);
    SlabCacheNode* n = node_of(c, node, "cache_reap");
    if (!n) continue;
    reap_alien(c, n, cpu);
    drain_array(c, n, &c->cpu_cache[cpu], node);
    if (n->next_reap > env_->now_ns()) continue;
    n->next_reap = env_->now_ns() + reap_node_interval_ns();
    drain_array(c, n, n->shared.get(), node);
    if (n->free_touched) {
      n->free_touched = false;
    } else {
      const long five_slabs = 5 * static_cast<long>(c->num);
      const long tofree = (static_cast<long>(n->free_limit) + five_slabs - 1) / five_slabs;
      c->reaped += static_cast<std::uint64_t>(drain_freelist(c, n, tofree));
    }
  }
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  reap_node_[cpu] = next_online_node(reap_node_[cpu]);  // next_reap_node()
}

}  // namespace slabsim::alloc
