// SLUB's allocation path (mm/slub.c, v5.10-v5.12): the lockless fast path of slab_alloc_node(),
// the slow path ___slab_alloc() with its refills from the cpu partial list, the node partial
// lists (get_partial*()) and new slabs (allocate_slab() with the order fallback); and
// discard_slab(), where slabs go back to the page allocator.
#include <fmt/format.h>

#include <stdexcept>

#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

namespace {

bool node_match(const Slab* page, int node) {
  return node == numa_no_node || page->pages.node == node;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Slabs from and back to the page allocator: allocate_slab(), discard_slab()

Slab* SlubAllocator::new_slab(KmemCache* s, Gfp gfp, int node, int cpu) {
  // alloc_slab_page(): NUMA_NO_NODE uses the task's (default, local) policy; a node is the
  // preferred node of __alloc_pages_node(), with zonelist fallback unless __GFP_THISNODE.
  // s->allocflags: __GFP_RECLAIMABLE for SLAB_RECLAIM_ACCOUNT (calculate_sizes()).
  const Gfp page_gfp = static_cast<Gfp>((gfp & gfp_thisnode) |
                                        (s->flags.reclaim_account ? gfp_reclaimable : gfp_kernel));
  unsigned order = s->s.order;
  unsigned objects = s->s.objects;
  // allocate_slab() (v5.10, v5.12): for a GFP that may block (gfpflags_allow_blocking()),
  // local_irq_enable() before the page allocation and local_irq_disable() at `out:`, after the
  // objects are set up; an IPI (flush_all()) or an RCU callback may run on this CPU meanwhile,
  // which is why new_slab_objects() checks c->page again. (v6.1's slow path calls new_slab()
  // with interrupts on whatever the GFP; the model keeps v5.12's rule for it.)
  const bool irqs_on = !(gfp & gfp_atomic);
  if (irqs_on) env_->irq_enable();
  auto pages = pages_.alloc_pages(node, order, page_gfp | gfp_nowarn | gfp_noretry, cpu);
  if (!pages && s->s.order > s->s.min_order) {
    order = s->s.min_order;
    objects = s->s.min_objects;
    pages = pages_.alloc_pages(node, order, page_gfp, cpu);
    if (pages) stat(s, ORDER_FALLBACK);
  }
  if (!pages) {
    if (irqs_on) env_->irq_disable();
    return nullptr;
  }

  Slab* page = make_slab();
  page->cache = s;
  page->pages = *pages;
  page->objects = static_cast<std::uint16_t>(objects);
  page->free_pointer.resize(objects);
  // Objects linked in address order (no CONFIG_SLAB_FREELIST_RANDOM).
  for (unsigned i = 0; i + 1 < objects; ++i)
    page->free_pointer[i] = static_cast<std::uint16_t>(i + 1);
  page->free_pointer[objects - 1] = no_object;
  page->freelist = 0;
  page->inuse = page->objects;
  page->frozen = true;
  page->version = 0;
  page->serial = next_slab_serial_++;
  page->where = Slab::Where::none;
  env_->charge(costs_.new_slab + costs_.object_setup * objects);
  env_->touch_memory(page->pages.node);
  if (irqs_on) {
    env_->sync();  // the work done with interrupts on is where other CPUs' IPIs get in
    env_->irq_disable();
  }
  // inc_slabs_node(): accounted to the node the pages really came from; skipped when the cache
  // has no struct there (the window 03afc0e25f7f closed).
  if (KmemCacheNode* n = s->node[page->pages.node]; n && !n->freed) {
    ++n->nr_slabs;
    n->total_objects += objects;
  }
  return page;
}

void SlubAllocator::discard_slab(KmemCache* s, Slab* page) {
  // dec_slabs_node() then free_slab(): the node's counters drop at once, even when the pages
  // stay allocated for a grace period.
  if (KmemCacheNode* n = s->node[page->pages.node]; n && !n->freed) {
    --n->nr_slabs;
    n->total_objects -= page->objects;
  }
  free_slab(s, page);
}

// free_slab() (v5.10, v5.12, v6.1): a SLAB_TYPESAFE_BY_RCU cache's slab goes back to the page
// allocator from an RCU callback, rcu_free_slab() -> __free_slab(), so its pages stay allocated
// (a slab page: memory offline cannot isolate their block) until a grace period has passed.
void SlubAllocator::free_slab(KmemCache* s, Slab* page) {
  if (s->flags.typesafe_by_rcu) {
    ++s->rcu_pending_slabs;
    page->where = Slab::Where::rcu_free;
    env_->call_rcu([this, s, page] {
      --s->rcu_pending_slabs;
      __free_slab(page);
    });
    return;
  }
  __free_slab(page);
}

void SlubAllocator::__free_slab(Slab* page) {
  pages_.free_pages(page->pages, env_->current_cpu());
  env_->charge(costs_.discard_slab);
  release_slab(page);
}

bool SlubAllocator::cmpxchg_double_slab(KmemCache* s, const Slab* page, std::uint32_t old_version) {
  env_->charge(costs_.cmpxchg_double);
  env_->sync();
  if (page->version == old_version) return true;
  stat(s, CMPXCHG_DOUBLE_FAIL);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Partial slabs: acquire_slab(), get_partial_node(), get_any_partial(), get_partial()

// acquire_slab() (v5.10-v6.1): under the list_lock, yet a free to the slab takes no lock while it
// stays partial, so the cmpxchg can fail and the read is redone.
std::uint16_t SlubAllocator::acquire_slab(KmemCache* s, KmemCacheNode* n, Slab* page, bool mode,
                                          int* objects) {
  std::uint16_t freelist;
  std::uint32_t old_version;
  do {
    old_version = page->version;
    freelist = page->freelist;
    *objects = page->objects - page->inuse;
  } while (!cmpxchg_double_slab(s, page, old_version));
  if (mode) {
    page->inuse = page->objects;
    page->freelist = no_object;
  }
  page->frozen = true;
  ++page->version;
  remove_partial(n, page);
  return freelist;
}

std::uint16_t SlubAllocator::get_partial_node(KmemCache* s, KmemCacheNode* n, int cpu) {
  // The racy check without the lock.
  if (!n || !n->nr_partial) return no_object;
  list_lock(n, "get_partial_node");
  if (n->freed) {
    common_.violation(
        cpu, "get_partial_node",
        fmt::format("cache {} locked the list_lock of node {}'s kmem_cache_node after the "
                    "struct was freed (use-after-free)",
                    s->name, n->node),
        ViolationKind::use_after_free);
    list_unlock(n);
    return no_object;
  }
  std::uint16_t object = no_object;
  unsigned available = 0;      // v5.12: free objects taken
  unsigned partial_slabs = 0;  // v6.1: slabs put on the per-CPU partial list
  KmemCacheCpu& c = s->cpu_slab[cpu];
  for (Slab* page = n->partial.front(); page;) {
    Slab* next = page->next;
    int objects = 0;
    const std::uint16_t t = acquire_slab(s, n, page, object == no_object, &objects);
    available += static_cast<unsigned>(objects);
    if (object == no_object) {
      c.page = page;
      page->where = Slab::Where::cpu_slab;
      stat(s, ALLOC_FROM_PARTIAL);
      object = t;
    } else {
      put_cpu_partial(s, page, false, cpu);
      stat(s, CPU_PARTIAL_NODE);
      ++partial_slabs;
    }
    if (!has_cpu_partial(s)) break;
    // get_partial_node() v6.1 stops once it took more than half of cpu_partial_slabs slabs;
    // v5.12 once it took more than half of cpu_partial free objects.
    if (params_.version == SlubVersion::v6_1 ? partial_slabs > s->s.cpu_partial_slabs / 2
                                             : available > s->s.cpu_partial / 2)
      break;
    page = next;
  }
  list_unlock(n);
  return object;
}

std::uint16_t SlubAllocator::get_any_partial(KmemCache* s, Gfp gfp, int cpu) {
  // remote_node_defrag_ratio: skip when zero, and on get_cycles() % 1024 above it.
  if (!s->s.remote_node_defrag_ratio || env_->random() % 1024 > s->s.remote_node_defrag_ratio)
    return no_object;
  // mempolicy_slab_node() is numa_mem_id() for the default policy; GFP_KERNEL walks only the
  // zones up to ZONE_NORMAL of that node's zonelist.
  const int mem_node = numa_mem_id(cpu);
  if (mem_node == numa_no_node) return no_object;
  for (int nid : pages_.node_order(mem_node)) {
    if (!(gfp & gfp_movable) && pages_.managed_pages(nid, ZoneType::normal) == 0) continue;
    KmemCacheNode* n = s->node[nid];
    if (n && !n->freed && n->nr_partial > s->s.min_partial) {
      if (std::uint16_t object = get_partial_node(s, n, cpu); object != no_object) return object;
    }
  }
  return no_object;
}

std::uint16_t SlubAllocator::get_partial(KmemCache* s, Gfp gfp, int node, int cpu) {
  const int searchnode = node == numa_no_node ? numa_mem_id(cpu) : node;
  std::uint16_t object = no_object;
  if (searchnode != numa_no_node) {
    KmemCacheNode* n = s->node[searchnode];
    if (n && n->freed) {
      common_.violation(cpu, "get_partial",
                        fmt::format("cache {} reads the freed kmem_cache_node of node {} "
                                    "(use-after-free)",
                                    s->name, searchnode),
                        ViolationKind::use_after_free);
      n = nullptr;
    }
    object = get_partial_node(s, n, cpu);
  }
  if (object != no_object || node != numa_no_node) return object;
  return get_any_partial(s, gfp, cpu);
}

// ---------------------------------------------------------------------------------------------
// The allocation path: slab_alloc_node(), ___slab_alloc(), new_slab_objects(), get_freelist()

// get_freelist() (v5.10-v6.1): other CPUs free to page->freelist without a lock meanwhile.
std::uint16_t SlubAllocator::get_freelist(KmemCache* s, Slab* page) {
  env_->sync();  // page->freelist is where other CPUs free to
  std::uint16_t freelist;
  std::uint32_t old_version;
  do {
    old_version = page->version;
    freelist = page->freelist;
  } while (!cmpxchg_double_slab(s, page, old_version));
  page->freelist = no_object;
  page->inuse = page->objects;
  page->frozen = freelist != no_object;
  ++page->version;
  return freelist;
}

std::uint16_t SlubAllocator::new_slab_objects(KmemCache* s, Gfp gfp, int node, int cpu) {
  env_->sync();  // node partial lists and the page allocator are shared
  if (std::uint16_t freelist = get_partial(s, gfp, node, cpu); freelist != no_object)
    return freelist;
  Slab* page = new_slab(s, gfp, node, cpu);
  if (!page) return no_object;
  // allocate_slab() may have run with interrupts on: a flush may have refilled the cpu slab.
  if (s->cpu_slab[cpu].page) flush_slab(s, cpu);
  const std::uint16_t freelist = page->freelist;
  page->freelist = no_object;
  ++page->version;
  stat(s, ALLOC_SLAB);
  s->cpu_slab[cpu].page = page;
  page->where = Slab::Where::cpu_slab;
  return freelist;
}

Object SlubAllocator::___slab_alloc(KmemCache* s, Gfp gfp, int node, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  stat(s, ALLOC_SLOWPATH);
  env_->charge(costs_.slowpath_entry);
  // "If the node is not online or has no normal memory, just ignore the node constraint"
  // (0715e6c516f1, v5.6): the test is the strategy's (N_NORMAL_MEMORY before v5.12, slab_nodes
  // after). Before v5.6 nothing was ignored: v3.14's __slab_alloc() deactivated on every
  // mismatch, and v3.19-v5.5 asked node_to_mem_node(), the identity on x86_64 without
  // CONFIG_HAVE_MEMORYLESS_NODES, which gives the same answer.
  const bool ignores_unusable_node = strategy_.node_paths == NodePaths::v5_6;
  auto ignore_unusable_node = [&] {
    if (ignores_unusable_node && node != numa_no_node && !node_usable(node)) {
      ++s->fallback_to_no_node[node];
      node = numa_no_node;
    }
  };
  std::uint16_t freelist = no_object;
  Slab* page = c.page;
  bool need_new_slab = page == nullptr;
  if (need_new_slab) ignore_unusable_node();

  for (;;) {
    if (!need_new_slab) {
      // redo:
      if (!node_match(page, node)) {
        if (ignores_unusable_node && !node_usable(node)) {
          ++s->fallback_to_no_node[node];
          node = numa_no_node;
          continue;  // goto redo: now it matches
        }
        stat(s, ALLOC_NODE_MISMATCH);
        deactivate_slab(s, page, c.freelist, cpu);
        need_new_slab = true;
        continue;
      }
      freelist = c.freelist;
      if (freelist == no_object) {
        freelist = get_freelist(s, page);
        if (freelist == no_object) {
          c.page = nullptr;
          page->where = Slab::Where::none;  // unfrozen, full, on no list
          stat(s, DEACTIVATE_BYPASS);
          need_new_slab = true;
          continue;
        }
        stat(s, ALLOC_REFILL);
      }
      break;  // load_freelist
    }
    // new_slab:
    if (c.partial) {
      page = c.page = c.partial;
      c.partial = page->next;
      page->next = nullptr;
      page->where = Slab::Where::cpu_slab;
      stat(s, CPU_PARTIAL_ALLOC);
      need_new_slab = false;
      continue;  // goto redo
    }
    freelist = new_slab_objects(s, gfp, node, cpu);
    if (freelist == no_object) {
      // slab_out_of_memory()
      if (!(gfp & gfp_nowarn))
        common_.log(fmt::format("SLUB: Unable to allocate memory on node {}, gfp={:#x}", node,
                                static_cast<unsigned>(gfp)));
      return {};
    }
    page = c.page;
    if (s->flags.debug()) {
      // Debug caches never keep a lockless freelist: the slab goes back at once.
      deactivate_slab(s, page, page->free_pointer[freelist], cpu);
      return {page, freelist};
    }
    break;  // load_freelist
  }
  // load_freelist:
  c.freelist = page->free_pointer[freelist];
  c.tid += tid_step;
  return {page, freelist};
}

Object SlubAllocator::slab_alloc_node(KmemCache* s, Gfp gfp, int node) {
  const int cpu = env_->current_cpu();
  KmemCacheCpu& c = s->cpu_slab[cpu];
  Slab* page = c.page;
  const std::uint16_t object = c.freelist;
  Object result;
  if (object == no_object || !page || !node_match(page, node)) {
    env_->irq_disable();
    result = ___slab_alloc(s, gfp, node, cpu);
    env_->irq_enable();
  } else {
    c.freelist = page->free_pointer[object];
    c.tid += tid_step;
    ++c.stat[ALLOC_FASTPATH];
    env_->charge(costs_.alloc_fastpath);
    result = {page, object};
  }
  if (result) {
    ++s->allocs;
    const int obj_node = result.slab->pages.node;
    env_->touch_memory(obj_node);  // get_freepointer() reads the object
    if (obj_node != layout_.cpu_node[cpu]) ++s->remote_allocs;
  }
  return result;
}

ObjectRef SlubAllocator::kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) {
  if (node != numa_no_node && (node < 0 || node >= layout_.nr_node_ids()))
    throw std::out_of_range(fmt::format("kmem_cache_alloc_node: no node {}", node));
  return object_ref(slab_alloc_node(static_cast<KmemCache*>(s), gfp, node));
}

}  // namespace slabsim::alloc
