// SLUB's free path (mm/slub.c, v5.10-v5.12): the lockless fast path of do_slab_free() into the
// cpu slab, the slow path __slab_free() with its speculative list_lock and cmpxchg retry, and the
// per-CPU partial lists it feeds (put_cpu_partial(), unfreeze_partials()).
#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// The free path: slab_free() -> do_slab_free(), __slab_free()

// slab_free() -> do_slab_free(): the fast path into the cpu slab, else __slab_free().
void SlubAllocator::slab_free(KmemCache* s, Object x) {
  if (!x) return;
  if (!s) throw std::invalid_argument("kmem_cache_free: NULL cache");
  if (x.slab->cache != s)
    throw std::invalid_argument(
        fmt::format("kmem_cache_free: object of cache {} freed to cache {}",
                    x.slab->cache ? x.slab->cache->name : std::string("(freed slab)"), s->name));
  if (s->destroyed) {
    common_.violation(
        env_->current_cpu(), "kmem_cache_free",
        fmt::format("an object is freed to cache {} after kmem_cache_destroy released it "
                    "(use-after-free)",
                    s->name),
        ViolationKind::use_after_free);
    return;
  }
  const int cpu = env_->current_cpu();
  ++s->frees;
  Slab* page = x.slab;
  if (page->pages.node != layout_.cpu_node[cpu]) ++s->remote_frees;
  env_->touch_memory(page->pages.node);  // set_freepointer() writes the object
  KmemCacheCpu& c = s->cpu_slab[cpu];
  if (page == c.page) {
    page->free_pointer[x.index] = c.freelist;
    c.freelist = x.index;
    c.tid += tid_step;
    ++c.stat[FREE_FASTPATH];
    env_->charge(costs_.free_fastpath);
    return;
  }
  env_->sync();
  __slab_free(s, page, x.index, cpu);
}

void SlubAllocator::__slab_free(KmemCache* s, Slab* page, std::uint16_t object, int cpu) {
  stat(s, FREE_SLOWPATH);
  env_->charge(costs_.free_slowpath);
  KmemCacheNode* n = nullptr;
  std::uint16_t prior;
  bool was_frozen;
  int new_inuse;
  bool new_frozen;
  for (;;) {
    if (n) {
      list_unlock(n);
      env_->irq_enable();
      n = nullptr;
    }
    prior = page->freelist;
    const std::uint32_t old_version = page->version;
    was_frozen = page->frozen;
    new_inuse = page->inuse - 1;
    new_frozen = was_frozen;
    if ((!new_inuse || prior == no_object) && !was_frozen) {
      if (has_cpu_partial(s) && prior == no_object) {
        new_frozen = true;  // was full, will be partially empty: freeze instead of listing
      } else {
        n = node_of(s, page, "__slab_free");
        if (!n) {  // crash averted: free the object into the slab and leave it on no list
          page->free_pointer[object] = prior;
          page->freelist = object;
          page->inuse = static_cast<std::uint16_t>(new_inuse);
          ++page->version;
          return;
        }
        // Speculatively take the list_lock (spin_lock_irqsave); the cmpxchg tells whether the
        // slab changed meanwhile.
        env_->irq_disable();
        list_lock(n, "__slab_free");
      }
    }
    if (!cmpxchg_double_slab(s, page, old_version)) continue;
    page->free_pointer[object] = prior;
    page->freelist = object;
    page->inuse = static_cast<std::uint16_t>(new_inuse);
    page->frozen = new_frozen;
    ++page->version;
    break;
  }

  if (!n) {
    if (was_frozen) {
      stat(s, FREE_FROZEN);
    } else if (new_frozen) {
      put_cpu_partial(s, page, true, cpu);
      stat(s, CPU_PARTIAL_FREE);
    }
    return;
  }
  if (!new_inuse && n->nr_partial >= s->s.min_partial) {
    // slab_empty:
    if (prior != no_object) {
      remove_partial(n, page);
      stat(s, FREE_REMOVE_PARTIAL);
    } else {
      remove_full(s, n, page);
    }
    list_unlock(n);
    env_->irq_enable();
    stat(s, FREE_SLAB);
    discard_slab(s, page);
    return;
  }
  if (!has_cpu_partial(s) && prior == no_object) {
    remove_full(s, n, page);
    add_partial(n, page, /*tail=*/true);
    stat(s, FREE_ADD_PARTIAL);
  }
  list_unlock(n);
  env_->irq_enable();
}

// ---------------------------------------------------------------------------------------------
// Per-CPU partial lists: put_cpu_partial(), unfreeze_partials()

// put_cpu_partial(): v5.12 drains the chain first when its free objects exceed cpu_partial, and
// unfreezes at once when cpu_partial is 0. v6.1 (b47291ef02b0, v5.16) pushes the slab on a fresh
// chain when the old one already holds cpu_partial_slabs slabs and drains the old chain
// afterwards, outside the local lock.
void SlubAllocator::put_cpu_partial(KmemCache* s, Slab* page, bool drain, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  const bool v6 = params_.version == SlubVersion::v6_1;
  int pages = 0;
  int pobjects = 0;
  Slab* to_unfreeze = nullptr;  // v6.1: slab_to_unfreeze
  if (Slab* old = c.partial) {
    pobjects = old->chain_pobjects;
    pages = old->chain_pages;
    if (v6 && drain && old->chain_pages >= static_cast<int>(s->s.cpu_partial_slabs)) {
      to_unfreeze = old;
      c.partial = nullptr;
      pobjects = 0;
      pages = 0;
    } else if (!v6 && drain && pobjects > static_cast<int>(s->s.cpu_partial)) {
      env_->irq_disable();
      unfreeze_partials(s, cpu);
      env_->irq_enable();
      pobjects = 0;
      pages = 0;
      stat(s, CPU_PARTIAL_DRAIN);
    }
  }
  ++pages;
  pobjects += page->objects - page->inuse;
  page->chain_pages = pages;
  page->chain_pobjects = pobjects;
  page->next = c.partial;
  page->prev = nullptr;
  page->where = Slab::Where::cpu_partial;
  c.partial = page;
  if (to_unfreeze) {
    env_->irq_disable();  // __unfreeze_partials() takes each list_lock with irqsave
    __unfreeze_partials(s, to_unfreeze, cpu);
    env_->irq_enable();
    stat(s, CPU_PARTIAL_DRAIN);
  }
  if (!v6 && !s->s.cpu_partial) {
    env_->irq_disable();
    unfreeze_partials(s, cpu);
    env_->irq_enable();
  }
}

// unfreeze_partials(): detach the CPU's whole partial chain and unfreeze it.
void SlubAllocator::unfreeze_partials(KmemCache* s, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  Slab* chain = c.partial;
  c.partial = nullptr;
  if (chain) __unfreeze_partials(s, chain, cpu);
}

// __unfreeze_partials() (the split is v5.15's; v5.12 does the same inline): every slab of the
// chain goes to its node's partial list tail, or is discarded when empty and the node already
// holds min_partial slabs.
void SlubAllocator::__unfreeze_partials(KmemCache* s, Slab* chain, int cpu) {
  KmemCacheNode* n = nullptr;
  std::vector<Slab*> discard;
  Slab* page;
  while ((page = chain) != nullptr) {
    chain = page->next;
    page->next = nullptr;
    KmemCacheNode* n2 = node_of(s, page, "unfreeze_partials");
    if (!n2) {
      // The kernel would crash; the model parks the slab, unfrozen and on no list.
      page->frozen = false;
      page->where = Slab::Where::none;
      continue;
    }
    if (n != n2) {
      if (n) list_unlock(n);
      n = n2;
      list_lock(n, "unfreeze_partials");
    }
    // The cmpxchg that unfreezes: a free to the frozen slab takes no lock, so it can fail.
    std::uint32_t old_version;
    do {
      old_version = page->version;
    } while (!cmpxchg_double_slab(s, page, old_version));
    page->frozen = false;
    ++page->version;
    if (!page->inuse && n->nr_partial >= s->s.min_partial) {
      discard.push_back(page);
      page->where = Slab::Where::none;
    } else {
      add_partial(n, page, /*tail=*/true);
      stat(s, FREE_ADD_PARTIAL);
    }
  }
  if (n) list_unlock(n);
  for (Slab* p : discard) {
    stat(s, DEACTIVATE_EMPTY);
    discard_slab(s, p);
    stat(s, FREE_SLAB);
  }
}

}  // namespace slabsim::alloc
