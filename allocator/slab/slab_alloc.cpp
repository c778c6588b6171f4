// SLAB's allocation path (mm/slab.c, v5.10): the per-CPU array (____cache_alloc()), its refill
// from the shared array and the node lists (cache_alloc_refill()), node-specific allocation
// (____cache_alloc_node()) with fallback_alloc(), and new slabs (cache_grow_begin()/_end()).
#include <fmt/format.h>

#include <stdexcept>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

namespace {

constexpr int batchrefill_limit = 16;  // BATCHREFILL_LIMIT

// gfp_exact_node(): the given node only, no warning.
Gfp gfp_exact_node(Gfp gfp) {
  return gfp | gfp_thisnode | gfp_nowarn;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// New slabs: cache_grow_begin(), cache_grow_end()

SlabPage* SlabAllocator::cache_grow_begin(SlabCache* c, Gfp gfp, int nodeid) {
  const int cpu = env_->current_cpu();
  // The kernel turns interrupts back on around the page allocator for a sleeping gfp. The model
  // keeps them off: the simulator delivers an IPI (do_drain()) only between model calls, never
  // in the middle of one, so an IPI handler must not find this CPU's interrupts on here.
  env_->sync();
  // cachep->allocflags: __GFP_RECLAIMABLE for SLAB_RECLAIM_ACCOUNT (__kmem_cache_create()).
  const Gfp page_gfp = static_cast<Gfp>((gfp & gfp_thisnode) |
                                        (c->flags.reclaim_account ? gfp_reclaimable : gfp_kernel));
  auto pages = pages_.alloc_pages(nodeid, c->gfporder, page_gfp, cpu);
  if (!pages) {
    // slab_out_of_memory() (DEBUG): silent for __GFP_NOWARN, which gfp_exact_node() sets.
    if (!(gfp & gfp_nowarn)) {
      common_.log(fmt::format("SLAB: Unable to allocate memory on node {}, gfp={:#x}", nodeid,
                              static_cast<unsigned>(gfp)));
      common_.log(
          fmt::format("  cache: {}, object size: {}, order: {}", c->name, c->size, c->gfporder));
    }
    return nullptr;
  }
  SlabCacheNode* n = node_of(c, pages->node, "cache_grow_begin");
  ObjectRef freelist_object;
  if (c->mgmt == SlabMgmt::off_slab) {
    // alloc_slabmgmt(): the index array from its kmalloc cache, on the slab's node.
    freelist_object =
        slab_alloc_node(c->freelist_cache, static_cast<Gfp>(gfp & ~gfp_thisnode), pages->node);
    if (!freelist_object) {
      pages_.free_pages(*pages, cpu);
      return nullptr;
    }
  }
  if (n && c->colour) n->colour_next = (n->colour_next + 1) % c->colour;
  SlabPage* page = page_pool_.acquire();
  page->cache = c;
  page->pages = *pages;
  page->active = 0;
  page->freelist_object = freelist_object;
  page->list = SlabListKind::none;
  page->serial = next_slab_serial_++;
  // cache_init_objs(): objects in address order (no CONFIG_SLAB_FREELIST_RANDOM).
  page->freelist.resize(c->num);
  for (unsigned i = 0; i < c->num; ++i)
    page->freelist[i] = static_cast<std::uint16_t>(i);
  ++c->live_slabs;
  env_->charge(costs_.grow + costs_.object_setup * c->num);
  env_->touch_memory(page->pages.node);
  return page;
}

void SlabAllocator::cache_grow_end(SlabCache* c, SlabPage* page) {
  if (!page) return;
  SlabCacheNode* n = node_of(c, page->pages.node, "cache_grow_end");
  if (!n) {
    // The kernel would crash; the model frees the slab again (its objects are not in use).
    if (page->active == 0) slab_destroy(c, page);
    return;
  }
  list_lock(n, "cache_grow_end");
  ++n->total_slabs;
  if (!page->active) {
    page->list = SlabListKind::free;
    page->pos = n->slabs_free.insert(n->slabs_free.end(), page);
    ++n->free_slabs;
  } else {
    fixup_slab_list(n, page);
  }
  ++c->grown;
  n->free_objects += c->num - page->active;
  list_unlock(n);
}

// ---------------------------------------------------------------------------------------------
// Objects from slabs: get_first_slab(), slab_get_obj(), alloc_block(), fixup_slab_list()

void SlabAllocator::fixup_slab_list(SlabCacheNode* n, SlabPage* page) {
  list_del(n, page);
  if (page->active == page->cache->num) {
    page->list = SlabListKind::full;
    page->pos = n->slabs_full.insert(n->slabs_full.begin(), page);
  } else {
    page->list = SlabListKind::partial;
    page->pos = n->slabs_partial.insert(n->slabs_partial.begin(), page);
  }
  env_->charge(costs_.list_update);
}

SlabPage* SlabAllocator::get_first_slab(SlabCacheNode* n) {
  if (!n->slabs_partial.empty()) return n->slabs_partial.front();
  n->free_touched = true;
  if (n->slabs_free.empty()) return nullptr;
  --n->free_slabs;  // it leaves the free list in fixup_slab_list()
  return n->slabs_free.front();
}

SlabObject SlabAllocator::slab_get_obj(SlabPage* page) {
  const std::uint16_t index = page->freelist[page->active];
  ++page->active;
  return {page, index};
}

int SlabAllocator::alloc_block(SlabCache* c, ArrayCache& ac, SlabPage* page, int batchcount) {
  env_->touch_memory(page->pages.node);  // the slab's index array
  while (page->active < c->num && batchcount--) {
    ++c->num_allocations;
    ++c->num_active;
    set_high(c);
    ac.entry.push_back(slab_get_obj(page));
    env_->charge(costs_.object_move);
  }
  return batchcount;
}

// ---------------------------------------------------------------------------------------------
// Allocation: slab_alloc(), slab_alloc_node(), ____cache_alloc(), cache_alloc_refill(),
// ____cache_alloc_node(), fallback_alloc()

SlabObject SlabAllocator::cache_alloc_refill(SlabCache* c, Gfp gfp, int cpu) {
  const int node = numa_mem_id(cpu);
  ArrayCache* ac = &c->cpu_cache[cpu];
  int batchcount = static_cast<int>(ac->batchcount);
  // Little recent activity: only a partial refill, to avoid refill bouncing.
  if (!ac->touched && batchcount > batchrefill_limit) batchcount = batchrefill_limit;
  env_->charge(costs_.refill_entry);
  SlabCacheNode* n = node_of(c, node, "cache_alloc_refill");
  if (!n) return {};
  env_->sync();
  if (n->free_objects || (n->shared && n->shared->avail())) {
    list_lock(n, "cache_alloc_refill");
    bool done = false;
    if (ArrayCache* shared = n->shared.get()) {
      env_->touch_memory(shared->backing ? shared->backing.node : node);
      if (const unsigned moved =
              transfer_objects(*ac, *shared, static_cast<unsigned>(batchcount))) {
        shared->touched = true;
        env_->charge(costs_.object_move * moved);
        done = true;
      }
    }
    if (!done) {
      while (batchcount > 0) {
        SlabPage* page = get_first_slab(n);
        if (!page) break;  // must_grow
        batchcount = alloc_block(c, *ac, page, batchcount);
        fixup_slab_list(n, page);
      }
      n->free_objects -= ac->avail();
    }
    list_unlock(n);
  }
  if (!ac->avail()) {
    // direct_grow: a new slab of this node only.
    SlabPage* page = cache_grow_begin(c, gfp_exact_node(gfp), node);
    ac = &c->cpu_cache[cpu];  // re-read, as the kernel must after interrupts were on
    if (!ac->avail() && page) alloc_block(c, *ac, page, batchcount);
    cache_grow_end(c, page);
    if (!ac->avail()) return {};
  }
  ac->touched = true;
  const SlabObject obj = ac->entry.back();
  ac->entry.pop_back();
  return obj;
}

SlabObject SlabAllocator::cache_alloc(SlabCache* c, Gfp gfp, int cpu) {
  ArrayCache& ac = c->cpu_cache[cpu];
  if (ac.avail()) {
    ac.touched = true;
    const SlabObject obj = ac.entry.back();
    ac.entry.pop_back();
    ++c->allochit;
    env_->charge(costs_.alloc_hit);
    return obj;
  }
  ++c->allocmiss;
  return cache_alloc_refill(c, gfp, cpu);
}

SlabObject SlabAllocator::cache_alloc_node(SlabCache* c, Gfp gfp, int nodeid) {
  SlabCacheNode* n = node_of(c, nodeid, "____cache_alloc_node");
  if (!n) return {};
  env_->sync();
  list_lock(n, "____cache_alloc_node");
  if (SlabPage* page = get_first_slab(n)) {
    ++c->node_allocs;
    ++c->num_active;
    set_high(c);
    env_->touch_memory(page->pages.node);
    const SlabObject obj = slab_get_obj(page);
    --n->free_objects;
    fixup_slab_list(n, page);
    list_unlock(n);
    return obj;
  }
  list_unlock(n);
  // must_grow: this node only, then anywhere.
  SlabPage* page = cache_grow_begin(c, gfp_exact_node(gfp), nodeid);
  SlabObject obj;
  if (page) obj = slab_get_obj(page);  // not counted in free_objects yet
  cache_grow_end(c, page);
  return obj.page ? obj : fallback_alloc(c, gfp);
}

SlabObject SlabAllocator::fallback_alloc(SlabCache* c, Gfp gfp) {
  if (gfp & gfp_thisnode) return {};
  const int cpu = env_->current_cpu();
  const int mem_node = numa_mem_id(cpu);  // mempolicy_slab_node() for the default policy
  for (;;) {
    // Objects already on the node lists of the zonelist's nodes (GFP_KERNEL: normal zones).
    if (mem_node != numa_no_node && states_.test(mem_node, NodeState::online)) {
      for (int nid : pages_.node_order(mem_node)) {
        if (!(gfp & gfp_movable) && pages_.managed_pages(nid, ZoneType::normal) == 0) continue;
        SlabCacheNode* n = c->node[nid];
        if (n && n->free_objects)
          if (SlabObject obj = cache_alloc_node(c, gfp_exact_node(gfp), nid); obj.page) return obj;
      }
    }
    // A new slab wherever the page allocator finds memory, then an object from its node.
    SlabPage* page = cache_grow_begin(c, gfp, mem_node);
    const int nid = page ? page->pages.node : numa_no_node;
    cache_grow_end(c, page);
    if (!page || !c->node[nid]) return {};
    if (SlabObject obj = cache_alloc_node(c, gfp_exact_node(gfp), nid); obj.page) return obj;
    // Another CPU took the slab's objects meanwhile: retry.
  }
}

ObjectRef SlabAllocator::finish_alloc(SlabCache* c, SlabObject obj) {
  // STATS_INC_ERR() has no caller in v5.10: a failed allocation leaves `errors` at 0.
  if (!obj.page) return {};
  ++c->allocs;
  env_->touch_memory(obj.page->pages.node);  // prefetchw(objp) and the caller's first write
  return {obj.page, obj.index, obj.page->pages.node};
}

ObjectRef SlabAllocator::slab_alloc(SlabCache* c, Gfp gfp) {
  const int cpu = env_->current_cpu();
  env_->irq_disable();  // local_irq_save()
  // __do_cache_alloc(): the local array, then the local node's lists with fallback.
  SlabObject obj = cache_alloc(c, gfp, cpu);
  if (!obj.page) obj = cache_alloc_node(c, gfp, numa_mem_id(cpu));
  env_->irq_enable();
  return finish_alloc(c, obj);
}

ObjectRef SlabAllocator::slab_alloc_node(SlabCache* c, Gfp gfp, int nodeid) {
  const int cpu = env_->current_cpu();
  const int slab_node = numa_mem_id(cpu);
  env_->irq_disable();
  if (nodeid == numa_no_node) nodeid = slab_node;
  SlabObject obj;
  if (!c->node[nodeid]) {
    // "Node not bootstrapped yet": SLAB's counterpart of SLUB's NUMA_NO_NODE fallback.
    ++c->fallback_to_no_node[nodeid];
    obj = fallback_alloc(c, gfp);
  } else {
    if (nodeid == slab_node) obj = cache_alloc(c, gfp, cpu);
    if (!obj.page) obj = cache_alloc_node(c, gfp, nodeid);
  }
  env_->irq_enable();
  return finish_alloc(c, obj);
}

ObjectRef SlabAllocator::kmem_cache_alloc(Cache* s, Gfp gfp) {
  SlabCache* c = cache_of(s);
  if (c->destroyed)
    throw std::invalid_argument("kmem_cache_alloc: cache " + c->name + " destroyed");
  return slab_alloc(c, gfp);
}

ObjectRef SlabAllocator::kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) {
  SlabCache* c = cache_of(s);
  if (node != numa_no_node && (node < 0 || node >= layout_.nr_node_ids()))
    throw std::out_of_range(fmt::format("kmem_cache_alloc_node: no node {}", node));
  if (c->destroyed) throw std::invalid_argument("kmem_cache_alloc_node: cache destroyed");
  return slab_alloc_node(c, gfp, node);
}

}  // namespace slabsim::alloc
