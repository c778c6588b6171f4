// Where a cpu slab goes back to its node (mm/slub.c, v5.10-v5.12 and v6.1): deactivate_slab() and
// the flushes built on it, flush_slab(), __flush_cpu_slab(), and flush_all(): IPIs in v5.12,
// per-CPU work under cpu_hotplug_lock and flush_lock in v6.1.
#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

// deactivate_slab() (v5.10-v5.12): stage one takes the CPU freelist apart, then a cmpxchg loop
// that keeps the list_lock across retries and moves the slab between lists as its target mode
// changes. v6.1 has its own version (deactivate_slab_v6_1()).
void SlubAllocator::deactivate_slab(KmemCache* s, Slab* page, std::uint16_t freelist, int cpu) {
  if (params_.version == SlubVersion::v6_1) {
    deactivate_slab_v6_1(s, page, freelist, cpu);
    return;
  }
  env_->sync();  // the slab goes back to shared lists
  enum Mode { none, partial, full, free };
  KmemCacheCpu& c = s->cpu_slab[cpu];
  KmemCacheNode* n = node_of(s, page, "deactivate_slab");
  bool tail = false;
  if (page->freelist != no_object) {
    stat(s, DEACTIVATE_REMOTE_FREES);
    tail = true;
  }
  // Stage one. v5.10 gives the per-CPU objects back to page->freelist one by one (a cmpxchg
  // each), keeping the last for stage two. Since d930ff03c4d1 (v5.12-rc1, "mm, slub: splice cpu
  // and page freelists in deactivate_slab()") it only counts them and finds the last, and stage two
  // splices the whole list onto page->freelist in its one cmpxchg.
  std::uint16_t freelist_tail = no_object;
  int free_delta = 0;
  if (params_.version == SlubVersion::v5_10) {
    while (freelist != no_object && page->free_pointer[freelist] != no_object) {
      const std::uint16_t nextfree = page->free_pointer[freelist];
      // One __cmpxchg_double_slab() per object; remote frees race with it.
      std::uint32_t old_version;
      do {
        old_version = page->version;
      } while (!cmpxchg_double_slab(s, page, old_version));
      page->free_pointer[freelist] = page->freelist;
      page->freelist = freelist;
      --page->inuse;
      ++page->version;
      env_->charge(costs_.object_move);
      freelist = nextfree;
    }
    freelist_tail = freelist;
    free_delta = freelist != no_object ? 1 : 0;
  } else {
    for (std::uint16_t o = freelist; o != no_object; o = page->free_pointer[o]) {
      freelist_tail = o;
      ++free_delta;
      env_->charge(costs_.object_move);
    }
  }
  c.page = nullptr;
  c.freelist = no_object;
  if (!n) {  // crash averted: the slab is left unfrozen on no list
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

  // Stage two: unfreeze, with the list membership matching the object count.
  bool locked = false;
  Mode l = none, m = none;
  for (;;) {
    const std::uint32_t old_version = page->version;
    std::uint16_t new_freelist = page->freelist;
    int new_inuse = page->inuse;
    if (freelist_tail != no_object) {
      new_inuse -= free_delta;
      new_freelist = freelist;
    }
    if (!new_inuse && n->nr_partial >= s->s.min_partial) {
      m = free;
    } else if (new_freelist != no_object) {
      m = partial;
      if (!locked) {
        locked = true;
        // Taking the lock keeps acquire_slab() from seeing a frozen slab; while waiting,
        // remote frees may change the slab, which the cmpxchg below then notices.
        list_lock(n, "deactivate_slab");
      }
    } else {
      m = full;
      if (s->flags.store_user && !locked) {
        locked = true;
        list_lock(n, "deactivate_slab");
      }
    }
    if (l != m) {
      if (l == partial)
        remove_partial(n, page);
      else if (l == full)
        remove_full(s, n, page);
      if (m == partial)
        add_partial(n, page, tail);
      else if (m == full)
        add_full(s, n, page);
    }
    l = m;
    if (!cmpxchg_double_slab(s, page, old_version)) continue;
    if (freelist_tail != no_object) page->free_pointer[freelist_tail] = page->freelist;
    page->freelist = new_freelist;
    page->inuse = static_cast<std::uint16_t>(new_inuse);
    page->frozen = false;
    ++page->version;
    break;
  }
  if (locked) list_unlock(n);
  if (m == partial) {
    stat(s, tail ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD);
  } else if (m == full) {
    stat(s, DEACTIVATE_FULL);
  } else if (m == free) {
    page->where = Slab::Where::none;
    stat(s, DEACTIVATE_EMPTY);
    discard_slab(s, page);
    stat(s, FREE_SLAB);
  }
}

void SlubAllocator::flush_slab(KmemCache* s, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  stat(s, CPUSLAB_FLUSH);
  deactivate_slab(s, c.page, c.freelist, cpu);
  c.tid += tid_step;
}

void SlubAllocator::flush_cpu_slab(KmemCache* s, int cpu) {
  if (s->cpu_slab[cpu].page) flush_slab(s, cpu);
  unfreeze_partials(s, cpu);
}

// flush_all(): v5.12 calls on_each_cpu_cond(has_cpu_slab, flush_cpu_slab, s, 1) with no lock.
// v6.1 (5a836bf6b09f, v5.15) takes cpus_read_lock() around flush_all_cpus_locked().
void SlubAllocator::flush_all(KmemCache* s) {
  if (params_.version == SlubVersion::v6_1) {
    env_->lock(LockClass::cpu_hotplug_lock, 0, LockMode::read, "flush_all");
    flush_all_cpus_locked(s);
    env_->unlock(LockClass::cpu_hotplug_lock, 0, LockMode::read);
    return;
  }
  env_->run_on_cpus(cpus_with_slab(s), [this, s](int cpu) { flush_cpu_slab(s, cpu); });
}

// has_cpu_slab() of every CPU: on_each_cpu_cond()'s condition.
std::vector<int> SlubAllocator::cpus_with_slab(const KmemCache* s) const {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu) {
    const KmemCacheCpu& c = s->cpu_slab[cpu];
    if (c.page || c.partial) cpus.push_back(cpu);
  }
  return cpus;
}

// flush_all_cpus_locked() (mm/slub.c v6.1; the caller holds cpu_hotplug_lock): under flush_lock,
// queue_work_on() flush_cpu_slab() to every CPU with a cpu slab or cpu partial slabs, then
// flush_work() each. The model runs the works at once, as IPI handlers would run: it has no
// kworker that could sleep or be preempted on the target CPU (a gap, README); the caller sleeps
// in flush_work() meanwhile, with flush_lock (and, from kmem_cache_destroy(), slab_mutex) held.
void SlubAllocator::flush_all_cpus_locked(KmemCache* s) {
  env_->lock(LockClass::flush_lock, 0, LockMode::exclusive, "flush_all_cpus_locked");
  env_->run_works_on_cpus(cpus_with_slab(s), [this, s](int cpu) { flush_cpu_slab(s, cpu); });
  env_->unlock(LockClass::flush_lock, 0, LockMode::exclusive);
}

}  // namespace slabsim::alloc
