// SLAB's free path (mm/slab.c, v5.10): ___cache_free() into the per-CPU array, a remote node's
// object through the alien cache (cache_free_alien()), a full array flushed to the shared array
// or the slabs (cache_flusharray(), free_block()), and free slabs back to the page allocator
// (slabs_destroy()).
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// Freeing: kmem_cache_free(), ___cache_free(), cache_free_alien(), cache_flusharray()

void SlabAllocator::kmem_cache_free(Cache* s, ObjectRef x) {
  if (!x) return;
  SlabCache* c = cache_of(s);
  auto* page = static_cast<SlabPage*>(x.slab);
  if (page->cache != c)
    throw std::invalid_argument(
        fmt::format("kmem_cache_free: object of cache {} freed to cache {}",
                    page->cache ? page->cache->name : std::string("(freed slab)"), c->name));
  if (c->destroyed) {
    common_.violation(env_->current_cpu(), "kmem_cache_free",
                      fmt::format("an object is freed to cache {} after kmem_cache_destroy "
                                  "released it (use-after-free)",
                                  c->name),
                      ViolationKind::use_after_free);
    return;
  }
  const int cpu = env_->current_cpu();
  ++c->frees;
  env_->touch_memory(page->pages.node);  // virt_to_page() / page_to_nid() of the object
  env_->irq_disable();                   // local_irq_save()
  cache_free(c, {page, static_cast<std::uint16_t>(x.index)}, cpu);
  env_->irq_enable();
}

void SlabAllocator::cache_free(SlabCache* c, SlabObject obj, int cpu) {
  // Only with more than one online node do frees look at the object's node.
  if (nr_online_nodes() > 1 && cache_free_alien(c, obj, cpu)) return;
  ArrayCache& ac = c->cpu_cache[cpu];
  if (ac.avail() < ac.limit) {
    ++c->freehit;
    env_->charge(costs_.free_hit);
  } else {
    ++c->freemiss;
    cache_flusharray(c, ac, cpu);
  }
  ac.entry.push_back(obj);
}

void SlabAllocator::cache_flusharray(SlabCache* c, ArrayCache& ac, int cpu) {
  unsigned batchcount = ac.batchcount;
  const int node = numa_mem_id(cpu);
  env_->charge(costs_.refill_entry);
  SlabCacheNode* n = node_of(c, node, "cache_flusharray");
  if (!n) return;
  std::vector<SlabPage*> list;
  env_->sync();
  list_lock(n, "cache_flusharray");
  bool to_shared = false;
  if (ArrayCache* shared = n->shared.get()) {
    if (const unsigned max = shared->limit - shared->avail()) {
      batchcount = std::min(batchcount, max);
      env_->touch_memory(shared->backing ? shared->backing.node : node);
      shared->entry.insert(shared->entry.end(), ac.entry.begin(), ac.entry.begin() + batchcount);
      env_->charge(costs_.object_move * batchcount);
      to_shared = true;
    }
  }
  if (!to_shared) free_block(c, ac.entry.data(), batchcount, node, list);
  // STATS: the most free slabs seen on the node at a flush.
  c->max_freeable = std::max<std::uint64_t>(c->max_freeable, n->slabs_free.size());
  list_unlock(n);
  ac.entry.erase(ac.entry.begin(), ac.entry.begin() + batchcount);
  slabs_destroy(c, list);
}

bool SlabAllocator::cache_free_alien(SlabCache* c, SlabObject obj, int cpu) {
  const int page_node = obj.page->pages.node;
  const int node = numa_mem_id(cpu);
  if (node == page_node) return false;
  // __cache_free_alien()
  env_->charge(costs_.alien_free);
  ++c->node_frees;
  SlabCacheNode* n = node_of(c, node, "__cache_free_alien");
  std::vector<SlabPage*> list;
  AlienCache* alc = n && n->alien ? n->alien->caches[page_node].get() : nullptr;
  if (alc) {
    env_->lock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive,
               "__cache_free_alien");
    env_->touch_memory(alc->ac.backing ? alc->ac.backing.node : node);
    if (alc->ac.avail() == alc->ac.limit) {
      ++c->node_overflow;
      drain_alien_cache_one(c, alc->ac, page_node, list);
    }
    alc->ac.entry.push_back(obj);
    env_->unlock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive);
  } else {
    // No alien cache for that node: straight into the remote node's slabs.
    SlabCacheNode* remote = node_of(c, page_node, "__cache_free_alien");
    if (!remote) return true;
    env_->sync();
    list_lock(remote, "__cache_free_alien");
    free_block(c, &obj, 1, page_node, list);
    list_unlock(remote);
  }
  slabs_destroy(c, list);
  return true;
}

void SlabAllocator::drain_alien_cache(SlabCache* c, AlienArray& alien) {
  for (int i : states_.nodes(NodeState::online)) {
    AlienCache* alc = alien.caches[i].get();
    if (!alc) continue;
    std::vector<SlabPage*> list;
    env_->irq_disable();
    env_->lock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive, "drain_alien_cache");
    drain_alien_cache_one(c, alc->ac, i, list);
    env_->unlock(LockClass::alien_lock, alc->lock_instance, LockMode::exclusive);
    env_->irq_enable();
    slabs_destroy(c, list);
  }
}

void SlabAllocator::drain_alien_cache_one(SlabCache* c, ArrayCache& ac, int node,
                                          std::vector<SlabPage*>& list) {
  if (!ac.avail()) return;
  SlabCacheNode* n = node_of(c, node, "__drain_alien_cache");
  if (!n) return;
  list_lock(n, "__drain_alien_cache");
  // The remote node's shared array first: the objects need not go through the slab lists.
  if (n->shared) transfer_objects(*n->shared, ac, ac.limit);
  free_block(c, ac.entry.data(), ac.entry.size(), node, list);
  ac.entry.clear();
  list_unlock(n);
}

// ---------------------------------------------------------------------------------------------
// Objects back into slabs, slabs back to the page allocator: free_block(), slab_destroy()

// free_block(): objects of `node` back into their slabs, with the list_lock of `node` held;
// surplus free slabs beyond free_limit go to `list` for slabs_destroy() outside the lock.
void SlabAllocator::free_block(SlabCache* c, const SlabObject* objs, std::size_t nr, int node,
                               std::vector<SlabPage*>& list) {
  SlabCacheNode* n = c->node[node];
  n->free_objects += nr;
  for (std::size_t i = 0; i < nr; ++i) {
    SlabPage* page = objs[i].page;
    if (page->pages.node != node)
      common_.violation(env_->current_cpu(), "free_block",
                        fmt::format("cache {}: an object of node {} freed into node {}'s lists",
                                    c->name, page->pages.node, node));
    env_->touch_memory(page->pages.node);  // slab_put_obj() writes the index array
    list_del(n, page);
    // slab_put_obj()
    --page->active;
    page->freelist[page->active] = objs[i].index;
    --c->num_active;
    if (page->active == 0) {
      page->list = SlabListKind::free;
      page->pos = n->slabs_free.insert(n->slabs_free.begin(), page);
      ++n->free_slabs;
    } else {
      // To the tail: the longest time for its other objects to come back too.
      page->list = SlabListKind::partial;
      page->pos = n->slabs_partial.insert(n->slabs_partial.end(), page);
    }
    env_->charge(costs_.object_move);
  }
  while (n->free_objects > n->free_limit && !n->slabs_free.empty()) {
    n->free_objects -= c->num;
    SlabPage* page = n->slabs_free.back();
    n->slabs_free.pop_back();
    page->list = SlabListKind::none;
    list.push_back(page);
    --n->free_slabs;
    --n->total_slabs;
  }
}

void SlabAllocator::slabs_destroy(SlabCache* c, std::vector<SlabPage*>& list) {
  for (SlabPage* page : list)
    slab_destroy(c, page);
  list.clear();
}

// slab_destroy() (mm/slab.c, v5.10): a SLAB_TYPESAFE_BY_RCU cache gives the pages back from an
// RCU callback (kmem_rcu_free() -> kmem_freepages()), so they stay allocated for a grace period;
// the OFF_SLAB index array is freed at once either way.
void SlabAllocator::slab_destroy(SlabCache* c, SlabPage* page) {
  --c->live_slabs;
  const ObjectRef freelist_object = page->freelist_object;
  page->list = SlabListKind::none;
  page->freelist.clear();
  page->freelist_object = {};
  if (c->flags.typesafe_by_rcu)
    env_->call_rcu([this, c, page] { kmem_freepages(c, page); });
  else
    kmem_freepages(c, page);
  if (freelist_object) kfree(freelist_object);  // OFF_SLAB: the index array
}

void SlabAllocator::kmem_freepages(SlabCache* /*c*/, SlabPage* page) {
  pages_.free_pages(page->pages, env_->current_cpu());
  env_->charge(costs_.slab_destroy);
  page->cache = nullptr;
  page_pool_.release(page);
}

}  // namespace slabsim::alloc
