// deactivate_slab() as mm/slub.c v6.1 has it: the CPU freelist is counted and spliced onto the
// slab's freelist in the one cmpxchg that unfreezes the slab (d930ff03c4d1), and the list_lock is
// taken only for a target that is a list, and given back when the cmpxchg fails.
#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

void SlubAllocator::deactivate_slab_v6_1(KmemCache* s, Slab* page, std::uint16_t freelist,
                                         int cpu) {
  env_->sync();  // the slab goes back to shared lists
  enum Mode { partial, free, full, full_nolist };
  KmemCacheCpu& c = s->cpu_slab[cpu];
  KmemCacheNode* n = node_of(s, page, "deactivate_slab");
  bool tail = false;
  if (page->freelist != no_object) {
    stat(s, DEACTIVATE_REMOTE_FREES);
    tail = true;
  }
  // Stage one: count the CPU freelist and remember its last object for the splice.
  int free_delta = 0;
  std::uint16_t freelist_tail = no_object;
  for (std::uint16_t it = freelist; it != no_object; it = page->free_pointer[it]) {
    freelist_tail = it;
    ++free_delta;
    env_->charge(costs_.object_move);  // get_freepointer() reads every object
  }
  c.page = nullptr;  // the callers clear c->slab and c->freelist first
  c.freelist = no_object;
  if (!n) {  // crash averted: the objects go back and the slab is left on no list
    if (freelist_tail != no_object) {
      page->free_pointer[freelist_tail] = page->freelist;
      page->freelist = freelist;
      page->inuse = static_cast<std::uint16_t>(page->inuse - free_delta);
    }
    page->frozen = false;
    page->where = Slab::Where::none;
    ++page->version;
    return;
  }

  // Stage two: unfreeze while splicing; the list membership matches the object count.
  Mode mode;
  bool locked;
  for (;;) {
    const std::uint32_t old_version = page->version;
    const std::uint16_t new_freelist = freelist_tail != no_object ? freelist : page->freelist;
    const int new_inuse = page->inuse - free_delta;
    locked = false;
    if (!new_inuse && n->nr_partial >= s->s.min_partial) {
      mode = free;
    } else if (new_freelist != no_object) {
      mode = partial;  // the lock keeps acquire_slab() from seeing a frozen slab
      locked = true;
    } else if (s->flags.store_user) {
      mode = full;
      locked = true;
    } else {
      mode = full_nolist;
    }
    if (locked) {
      env_->irq_disable();  // spin_lock_irqsave()
      list_lock(n, "deactivate_slab");
    }
    if (!cmpxchg_double_slab(s, page, old_version)) {  // drop the lock, redo
      if (locked) {
        list_unlock(n);
        env_->irq_enable();
      }
      continue;
    }
    if (freelist_tail != no_object) page->free_pointer[freelist_tail] = page->freelist;
    page->freelist = new_freelist;
    page->inuse = static_cast<std::uint16_t>(new_inuse);
    page->frozen = false;
    ++page->version;
    break;
  }
  switch (mode) {
    case partial:
      add_partial(n, page, tail);
      stat(s, tail ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD);
      break;
    case free:
      page->where = Slab::Where::none;
      stat(s, DEACTIVATE_EMPTY);
      discard_slab(s, page);
      stat(s, FREE_SLAB);
      break;
    case full:
    case full_nolist:  // add_full() keeps no list without SLAB_STORE_USER
      add_full(s, n, page);
      stat(s, DEACTIVATE_FULL);
      break;
  }
  if (locked) {
    list_unlock(n);
    env_->irq_enable();
  }
}

}  // namespace slabsim::alloc
