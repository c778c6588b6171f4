#include "allocator/slub/slub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "allocator/slub/slub_sysfs.hpp"

namespace slabsim::alloc {

namespace {

// TID_STEP with CONFIG_PREEMPTION: roundup_pow_of_two(CONFIG_NR_CPUS), 8192 on Debian.
constexpr std::uint64_t tid_step = 8192;
constexpr unsigned shrink_promote_max = 32;  // SHRINK_PROMOTE_MAX
constexpr int errno_inval = 22;              // EINVAL
constexpr int errno_exist = 17;              // EEXIST

// Size of struct kmem_cache_node and struct kmem_cache as the boot caches allocate them
// (x86_64, CONFIG_SLUB_DEBUG, CONFIG_NUMA; kmem_cache trimmed to nr_node_ids pointers).
constexpr unsigned kmem_cache_node_size = 64;
constexpr unsigned kmem_cache_base_size = 248;

bool node_match(const Slab* page, int node) {
  return node == numa_no_node || page->pages.node == node;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Boot: kmem_cache_init()

SlubAllocator::SlubAllocator(Environment& env, PageAllocator& pages, NodeStates& states,
                             Strategy strategy, SlubBootParams params, SlubCosts costs)
    : Allocator(env, std::move(strategy)),
      AllocatorState(common_),
      env_(env),
      pages_(pages),
      states_(states),
      layout_(pages.layout()),
      params_(params),
      costs_(costs),
      slab_nodes_(layout_.nr_node_ids(), false) {
  for (int nid : states_.nodes(NodeState::normal_memory))
    slab_nodes_[nid] = true;
  boot_node_cache_ = create_boot_cache("kmem_cache_node", kmem_cache_node_size);
  boot_cache_cache_ = create_boot_cache(
      "kmem_cache", kmem_cache_base_size + 8 * static_cast<unsigned>(layout_.nr_node_ids()));
  // bootstrap() list_add()s kmem_cache first, then kmem_cache_node, at the head.
  common_.list_add(boot_cache_cache_);
  common_.list_add(boot_node_cache_);
}

SlubAllocator::~SlubAllocator() = default;

KmemCache* SlubAllocator::create_boot_cache(const std::string& name, unsigned size) {
  CacheFlags flags;
  flags.hwcache_align = true;
  std::string why;
  auto settings = derive_cache_settings(size, 0, flags, layout_.nr_cpu_ids(), params_, &why);
  if (!settings) throw std::logic_error("boot cache " + name + ": " + why);
  KmemCache* s = new_cache(name, flags, *settings);
  // early_kmem_cache_node_alloc(): the boot caches' node structs come from the boot slabs, which
  // the model does not track as objects.
  for (int nid : states_.nodes(NodeState::normal_memory)) {
    auto n = std::make_unique<KmemCacheNode>();
    n->node = nid;
    n->lock_instance = next_lock_instance_++;
    s->node[nid] = n.get();
    s->node_store.push_back(std::move(n));
  }
  s->refcount = -1;  // create_boot_cache(): exempt from merging
  return s;
}

KmemCache* SlubAllocator::new_cache(const std::string& name, CacheFlags flags,
                                    const CacheSettings& settings) {
  auto owned = std::make_unique<KmemCache>();
  KmemCache* s = owned.get();
  s->name = name;
  s->flags = flags;
  s->s = settings;
  s->id = common_.new_cache_id();
  s->size = settings.size;
  s->cpu_slab.resize(layout_.nr_cpu_ids());
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu)
    s->cpu_slab[cpu].tid = cpu;  // init_tid()
  s->node.assign(layout_.nr_node_ids(), nullptr);
  s->fallback_to_no_node.assign(layout_.nr_node_ids(), 0);
  caches_.push_back(std::move(owned));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

bool SlubAllocator::node_usable(int nid) const {
  if (strategy_.usable_nodes == UsableNodes::slab_nodes) return slab_nodes_[nid];
  return states_.test(nid, NodeState::normal_memory);
}

bool SlubAllocator::has_cpu_partial(const KmemCache* s) const {
  return params_.cpu_partial_enabled && !s->flags.debug();  // kmem_cache_has_cpu_partial()
}

// numa_mem_id(): x86_64 does not select CONFIG_HAVE_MEMORYLESS_NODES, so it is numa_node_id()
// even on a memoryless node (whose kmem_cache_node is then missing and get_any_partial() runs).
int SlubAllocator::numa_mem_id(int cpu) const {
  return layout_.cpu_node[cpu];
}

void SlubAllocator::list_lock(KmemCacheNode* n, const char* function) {
  env_.lock(LockClass::list_lock, n->lock_instance, LockMode::exclusive, function);
}

void SlubAllocator::list_unlock(KmemCacheNode* n) {
  env_.unlock(LockClass::list_lock, n->lock_instance, LockMode::exclusive);
}

// get_node(s, page_to_nid(page)), where the kernel would dereference NULL or freed memory.
KmemCacheNode* SlubAllocator::node_of(KmemCache* s, const Slab* page, const char* function) {
  KmemCacheNode* n = s->node[page->pages.node];
  if (!n) {
    common_.violation(
        env_.current_cpu(), function,
        fmt::format("cache {} has no kmem_cache_node for node {}, where one of its slabs "
                    "lives: the kernel dereferences NULL here",
                    s->name, page->pages.node),
        ViolationKind::missing_node);
  } else if (n->freed) {
    common_.violation(env_.current_cpu(), function,
                      fmt::format("cache {} uses the kmem_cache_node of node {} after it was freed "
                                  "(use-after-free)",
                                  s->name, page->pages.node),
                      ViolationKind::use_after_free);
    n = nullptr;
  }
  return n;
}

Slab* SlubAllocator::make_slab() {
  return slab_pool_.acquire();
}

void SlubAllocator::release_slab(Slab* page) {
  page->cache = nullptr;
  page->where = Slab::Where::none;
  page->prev = page->next = nullptr;
  page->free_pointer.clear();
  slab_pool_.release(page);
}

// ---------------------------------------------------------------------------------------------
// Lists (add_partial, remove_partial, add_full, remove_full)

void SlubAllocator::add_partial(KmemCacheNode* n, Slab* page, bool tail) {
  ++n->nr_partial;
  if (tail)
    n->partial.push_back(page);
  else
    n->partial.push_front(page);
  page->where = Slab::Where::node_partial;
  env_.charge(costs_.list_update);
}

void SlubAllocator::remove_partial(KmemCacheNode* n, Slab* page) {
  n->partial.remove(page);
  --n->nr_partial;
  page->where = Slab::Where::none;
  env_.charge(costs_.list_update);
}

void SlubAllocator::add_full(KmemCache* s, KmemCacheNode* n, Slab* page) {
  page->where = Slab::Where::node_full;
  if (!s->flags.store_user) return;  // only SLAB_STORE_USER caches keep a full list
  n->full.push_back(page);
}

void SlubAllocator::remove_full(KmemCache* s, KmemCacheNode* n, Slab* page) {
  if (s->flags.store_user && page->where == Slab::Where::node_full) n->full.remove(page);
  page->where = Slab::Where::none;
}

// ---------------------------------------------------------------------------------------------
// Slab allocation and freeing: allocate_slab, discard_slab

Slab* SlubAllocator::new_slab(KmemCache* s, Gfp gfp, int node, int cpu) {
  const int cpu_node = layout_.cpu_node[cpu];
  // alloc_slab_page(): NUMA_NO_NODE uses the task's (default, local) policy; a node is the
  // preferred node of __alloc_pages_node(), with zonelist fallback unless __GFP_THISNODE.
  const Gfp page_gfp = static_cast<Gfp>(gfp & gfp_thisnode);
  unsigned order = s->s.order;
  unsigned objects = s->s.objects;
  auto pages = pages_.alloc_pages(node, order, page_gfp | gfp_nowarn | gfp_noretry, cpu_node);
  if (!pages && s->s.order > s->s.min_order) {
    order = s->s.min_order;
    objects = s->s.min_objects;
    pages = pages_.alloc_pages(node, order, page_gfp, cpu_node);
    if (pages) stat(s, cpu, ORDER_FALLBACK);
  }
  if (!pages) return nullptr;

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
  env_.charge(costs_.new_slab + costs_.object_setup * objects);
  env_.touch_memory(page->pages.node);
  // inc_slabs_node(): accounted to the node the pages really came from; skipped when the cache
  // has no struct there (the window 03afc0e25f7f closed).
  if (KmemCacheNode* n = s->node[page->pages.node]; n && !n->freed) {
    ++n->nr_slabs;
    n->total_objects += objects;
  }
  return page;
}

void SlubAllocator::discard_slab(KmemCache* s, Slab* page) {
  // dec_slabs_node() then free_slab(); RCU-delayed freeing is not modelled as a delay.
  if (KmemCacheNode* n = s->node[page->pages.node]; n && !n->freed) {
    --n->nr_slabs;
    n->total_objects -= page->objects;
  }
  pages_.free_pages(page->pages);
  env_.charge(costs_.discard_slab);
  release_slab(page);
}

// ---------------------------------------------------------------------------------------------
// Partial slabs: acquire_slab, get_partial_node, get_any_partial, get_partial

std::uint16_t SlubAllocator::acquire_slab(KmemCacheNode* n, Slab* page, bool mode, int* objects) {
  const std::uint16_t freelist = page->freelist;
  *objects = page->objects - page->inuse;
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
  unsigned available = 0;
  KmemCacheCpu& c = s->cpu_slab[cpu];
  for (Slab* page = n->partial.front(); page;) {
    Slab* next = page->next;
    int objects = 0;
    const std::uint16_t t = acquire_slab(n, page, object == no_object, &objects);
    available += static_cast<unsigned>(objects);
    if (object == no_object) {
      c.page = page;
      page->where = Slab::Where::cpu_slab;
      stat(s, cpu, ALLOC_FROM_PARTIAL);
      object = t;
    } else {
      put_cpu_partial(s, page, false, cpu);
      stat(s, cpu, CPU_PARTIAL_NODE);
    }
    if (!has_cpu_partial(s) || available > s->s.cpu_partial / 2) break;
    page = next;
  }
  list_unlock(n);
  return object;
}

std::uint16_t SlubAllocator::get_any_partial(KmemCache* s, Gfp gfp, int cpu) {
  // remote_node_defrag_ratio: skip when zero, and on get_cycles() % 1024 above it.
  if (!s->s.remote_node_defrag_ratio || env_.random() % 1024 > s->s.remote_node_defrag_ratio)
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
// Per-CPU partial lists: put_cpu_partial, unfreeze_partials

void SlubAllocator::unfreeze_partials(KmemCache* s, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  KmemCacheNode* n = nullptr;
  std::vector<Slab*> discard;
  Slab* page;
  while ((page = c.partial) != nullptr) {
    c.partial = page->next;
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
    page->frozen = false;
    ++page->version;
    if (!page->inuse && n->nr_partial >= s->s.min_partial) {
      discard.push_back(page);
      page->where = Slab::Where::none;
    } else {
      add_partial(n, page, /*tail=*/true);
      stat(s, cpu, FREE_ADD_PARTIAL);
    }
  }
  if (n) list_unlock(n);
  for (Slab* p : discard) {
    stat(s, cpu, DEACTIVATE_EMPTY);
    discard_slab(s, p);
    stat(s, cpu, FREE_SLAB);
  }
}

void SlubAllocator::put_cpu_partial(KmemCache* s, Slab* page, bool drain, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  int pages = 0;
  int pobjects = 0;
  if (Slab* old = c.partial) {
    pobjects = old->chain_pobjects;
    pages = old->chain_pages;
    if (drain && pobjects > static_cast<int>(s->s.cpu_partial)) {
      env_.irq_disable();
      unfreeze_partials(s, cpu);
      env_.irq_enable();
      pobjects = 0;
      pages = 0;
      stat(s, cpu, CPU_PARTIAL_DRAIN);
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
  if (!s->s.cpu_partial) {
    env_.irq_disable();
    unfreeze_partials(s, cpu);
    env_.irq_enable();
  }
}

// ---------------------------------------------------------------------------------------------
// deactivate_slab, flush_slab, __flush_cpu_slab, flush_all

void SlubAllocator::deactivate_slab(KmemCache* s, Slab* page, std::uint16_t freelist, int cpu) {
  env_.sync();  // the slab goes back to shared lists
  enum Mode { none, partial, full, free };
  KmemCacheCpu& c = s->cpu_slab[cpu];
  KmemCacheNode* n = node_of(s, page, "deactivate_slab");
  bool tail = false;
  if (page->freelist != no_object) {
    stat(s, cpu, DEACTIVATE_REMOTE_FREES);
    tail = true;
  }
  // Stage one: give the per-CPU objects back to page->freelist one by one, keeping the last.
  while (freelist != no_object && page->free_pointer[freelist] != no_object) {
    const std::uint16_t nextfree = page->free_pointer[freelist];
    page->free_pointer[freelist] = page->freelist;
    page->freelist = freelist;
    --page->inuse;
    ++page->version;
    env_.charge(costs_.object_move);
    freelist = nextfree;
  }
  c.page = nullptr;
  c.freelist = no_object;
  if (!n) {  // crash averted: the slab is left unfrozen on no list
    if (freelist != no_object) {
      page->free_pointer[freelist] = page->freelist;
      page->freelist = freelist;
      --page->inuse;
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
    if (freelist != no_object) {
      --new_inuse;
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
    if (page->version != old_version) {  // __cmpxchg_double_slab() failed
      stat(s, cpu, CMPXCHG_DOUBLE_FAIL);
      continue;
    }
    if (freelist != no_object) page->free_pointer[freelist] = page->freelist;
    page->freelist = new_freelist;
    page->inuse = static_cast<std::uint16_t>(new_inuse);
    page->frozen = false;
    ++page->version;
    break;
  }
  if (locked) list_unlock(n);
  if (m == partial) {
    stat(s, cpu, tail ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD);
  } else if (m == full) {
    stat(s, cpu, DEACTIVATE_FULL);
  } else if (m == free) {
    page->where = Slab::Where::none;
    stat(s, cpu, DEACTIVATE_EMPTY);
    discard_slab(s, page);
    stat(s, cpu, FREE_SLAB);
  }
}

void SlubAllocator::flush_slab(KmemCache* s, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  stat(s, cpu, CPUSLAB_FLUSH);
  deactivate_slab(s, c.page, c.freelist, cpu);
  c.tid += tid_step;
}

void SlubAllocator::flush_cpu_slab(KmemCache* s, int cpu) {
  if (s->cpu_slab[cpu].page) flush_slab(s, cpu);
  unfreeze_partials(s, cpu);
}

void SlubAllocator::flush_all(KmemCache* s) {
  // on_each_cpu_cond(has_cpu_slab, flush_cpu_slab, s, 1)
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu) {
    const KmemCacheCpu& c = s->cpu_slab[cpu];
    if (c.page || c.partial) env_.run_on_cpu(cpu, [this, s, cpu] { flush_cpu_slab(s, cpu); });
  }
}

// ---------------------------------------------------------------------------------------------
// The allocation path: slab_alloc_node, ___slab_alloc, new_slab_objects, get_freelist

std::uint16_t SlubAllocator::get_freelist(Slab* page) {
  env_.sync();  // page->freelist is where other CPUs free to
  const std::uint16_t freelist = page->freelist;
  page->freelist = no_object;
  page->inuse = page->objects;
  page->frozen = freelist != no_object;
  ++page->version;
  return freelist;
}

std::uint16_t SlubAllocator::new_slab_objects(KmemCache* s, Gfp gfp, int node, int cpu) {
  env_.sync();  // node partial lists and the page allocator are shared
  if (std::uint16_t freelist = get_partial(s, gfp, node, cpu); freelist != no_object)
    return freelist;
  Slab* page = new_slab(s, gfp, node, cpu);
  if (!page) return no_object;
  // allocate_slab() may have run with interrupts on: a flush may have refilled the cpu slab.
  if (s->cpu_slab[cpu].page) flush_slab(s, cpu);
  const std::uint16_t freelist = page->freelist;
  page->freelist = no_object;
  ++page->version;
  stat(s, cpu, ALLOC_SLAB);
  s->cpu_slab[cpu].page = page;
  page->where = Slab::Where::cpu_slab;
  return freelist;
}

Object SlubAllocator::slab_alloc_slowpath(KmemCache* s, Gfp gfp, int node, int cpu) {
  KmemCacheCpu& c = s->cpu_slab[cpu];
  stat(s, cpu, ALLOC_SLOWPATH);
  env_.charge(costs_.slowpath_entry);
  // "If the node is not online or has no normal memory, just ignore the node constraint":
  // the test is the strategy's (N_NORMAL_MEMORY before v5.12, slab_nodes after).
  auto ignore_unusable_node = [&] {
    if (node != numa_no_node && !node_usable(node)) {
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
        if (!node_usable(node)) {
          ++s->fallback_to_no_node[node];
          node = numa_no_node;
          continue;  // goto redo: now it matches
        }
        stat(s, cpu, ALLOC_NODE_MISMATCH);
        deactivate_slab(s, page, c.freelist, cpu);
        need_new_slab = true;
        continue;
      }
      freelist = c.freelist;
      if (freelist == no_object) {
        freelist = get_freelist(page);
        if (freelist == no_object) {
          c.page = nullptr;
          page->where = Slab::Where::none;  // unfrozen, full, on no list
          stat(s, cpu, DEACTIVATE_BYPASS);
          need_new_slab = true;
          continue;
        }
        stat(s, cpu, ALLOC_REFILL);
      }
      break;  // load_freelist
    }
    // new_slab:
    if (c.partial) {
      page = c.page = c.partial;
      c.partial = page->next;
      page->next = nullptr;
      page->where = Slab::Where::cpu_slab;
      stat(s, cpu, CPU_PARTIAL_ALLOC);
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
  const int cpu = env_.current_cpu();
  KmemCacheCpu& c = s->cpu_slab[cpu];
  Slab* page = c.page;
  const std::uint16_t object = c.freelist;
  Object result;
  if (object == no_object || !page || !node_match(page, node)) {
    env_.irq_disable();
    result = slab_alloc_slowpath(s, gfp, node, cpu);
    env_.irq_enable();
  } else {
    c.freelist = page->free_pointer[object];
    c.tid += tid_step;
    ++c.stat[ALLOC_FASTPATH];
    env_.charge(costs_.alloc_fastpath);
    result = {page, object};
  }
  if (result) {
    ++s->allocs;
    const int obj_node = result.slab->pages.node;
    env_.touch_memory(obj_node);  // get_freepointer() reads the object
    if (obj_node != layout_.cpu_node[cpu]) ++s->remote_allocs;
  }
  return result;
}

ObjectRef SlubAllocator::kmem_cache_alloc(Cache* s, Gfp gfp) {
  return object_ref(slab_alloc_node(static_cast<KmemCache*>(s), gfp, numa_no_node));
}

ObjectRef SlubAllocator::kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) {
  if (node != numa_no_node && (node < 0 || node >= layout_.nr_node_ids()))
    throw std::out_of_range(fmt::format("kmem_cache_alloc_node: no node {}", node));
  return object_ref(slab_alloc_node(static_cast<KmemCache*>(s), gfp, node));
}

// ---------------------------------------------------------------------------------------------
// The free path: do_slab_free, __slab_free

void SlubAllocator::slab_free_slowpath(KmemCache* s, Slab* page, std::uint16_t object, int cpu) {
  stat(s, cpu, FREE_SLOWPATH);
  env_.charge(costs_.free_slowpath);
  KmemCacheNode* n = nullptr;
  std::uint16_t prior;
  bool was_frozen;
  int new_inuse;
  bool new_frozen;
  for (;;) {
    if (n) {
      list_unlock(n);
      env_.irq_enable();
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
        env_.irq_disable();
        list_lock(n, "__slab_free");
      }
    }
    if (page->version != old_version) {
      stat(s, cpu, CMPXCHG_DOUBLE_FAIL);
      continue;
    }
    page->free_pointer[object] = prior;
    page->freelist = object;
    page->inuse = static_cast<std::uint16_t>(new_inuse);
    page->frozen = new_frozen;
    ++page->version;
    break;
  }

  if (!n) {
    if (was_frozen) {
      stat(s, cpu, FREE_FROZEN);
    } else if (new_frozen) {
      put_cpu_partial(s, page, true, cpu);
      stat(s, cpu, CPU_PARTIAL_FREE);
    }
    return;
  }
  if (!new_inuse && n->nr_partial >= s->s.min_partial) {
    // slab_empty:
    if (prior != no_object) {
      remove_partial(n, page);
      stat(s, cpu, FREE_REMOVE_PARTIAL);
    } else {
      remove_full(s, n, page);
    }
    list_unlock(n);
    env_.irq_enable();
    stat(s, cpu, FREE_SLAB);
    discard_slab(s, page);
    return;
  }
  if (!has_cpu_partial(s) && prior == no_object) {
    remove_full(s, n, page);
    add_partial(n, page, /*tail=*/true);
    stat(s, cpu, FREE_ADD_PARTIAL);
  }
  list_unlock(n);
  env_.irq_enable();
}

void SlubAllocator::kmem_cache_free(Cache* s, ObjectRef x) {
  slab_free(static_cast<KmemCache*>(s), slub_object(x));
}

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
        env_.current_cpu(), "kmem_cache_free",
        fmt::format("an object is freed to cache {} after kmem_cache_destroy released it "
                    "(use-after-free)",
                    s->name),
        ViolationKind::use_after_free);
    return;
  }
  const int cpu = env_.current_cpu();
  ++s->frees;
  Slab* page = x.slab;
  if (page->pages.node != layout_.cpu_node[cpu]) ++s->remote_frees;
  env_.touch_memory(page->pages.node);  // set_freepointer() writes the object
  KmemCacheCpu& c = s->cpu_slab[cpu];
  if (page == c.page) {
    page->free_pointer[x.index] = c.freelist;
    c.freelist = x.index;
    c.tid += tid_step;
    ++c.stat[FREE_FASTPATH];
    env_.charge(costs_.free_fastpath);
    return;
  }
  env_.sync();
  slab_free_slowpath(s, page, x.index, cpu);
}

// ---------------------------------------------------------------------------------------------
// kmem_cache_node structures: init_kmem_cache_nodes, and their allocation from the
// kmem_cache_node cache

KmemCacheNode* SlubAllocator::alloc_kmem_cache_node(KmemCache* s, int nid, int alloc_node) {
  // kmem_cache_alloc_node(kmem_cache_node, GFP_KERNEL, node): the struct lives in an object
  // of the kmem_cache_node cache, on `alloc_node` if it can (or anywhere for NUMA_NO_NODE).
  Object backing = slab_alloc_node(boot_node_cache_, gfp_kernel, alloc_node);
  if (!backing) return nullptr;
  auto n = std::make_unique<KmemCacheNode>();
  n->node = nid;
  n->lock_instance = next_lock_instance_++;
  n->backing = backing;
  KmemCacheNode* raw = n.get();
  s->node_store.push_back(std::move(n));
  s->node[nid] = raw;
  return raw;
}

void SlubAllocator::free_kmem_cache_node(KmemCache* s, int nid) {
  KmemCacheNode* n = s->node[nid];
  s->node[nid] = nullptr;
  n->freed = true;
  if (n->backing) slab_free(boot_node_cache_, n->backing);
  n->backing = {};
}

bool SlubAllocator::init_kmem_cache_nodes(KmemCache* s) {
  // v5.10 walks N_NORMAL_MEMORY, v5.12 walks slab_nodes: the strategy's usable mask.
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    if (!node_usable(nid)) continue;
    if (!alloc_kmem_cache_node(s, nid, nid)) {
      for (int k = 0; k < layout_.nr_node_ids(); ++k)
        if (s->node[k]) free_kmem_cache_node(s, k);
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The hooks of mm/slab_common.c: __kmem_cache_create, __kmem_cache_shutdown,
// __kmem_cache_release, __kmem_cache_shrink

CreatedCache SlubAllocator::__kmem_cache_create(const std::string& name, unsigned object_size,
                                                unsigned align, CacheFlags flags) {
  std::string why;
  auto settings =
      derive_cache_settings(object_size, align, flags, layout_.nr_cpu_ids(), params_, &why);
  if (!settings) return {nullptr, -errno_inval, why};
  // sysfs_slab_add() cannot create a second /sys/kernel/slab/<name> (caches are not merged).
  if (common_.find_cache(name))
    return {nullptr, -errno_exist,
            "a cache of that name exists (sysfs: cannot create duplicate filename)"};
  // kmem_cache_zalloc(kmem_cache, GFP_KERNEL)
  const Object backing = slab_alloc_node(boot_cache_cache_, gfp_kernel, numa_no_node);
  if (!backing) return {nullptr, -enomem, "out of memory for struct kmem_cache"};
  KmemCache* s = new_cache(name, flags, *settings);
  s->backing = backing;
  if (!init_kmem_cache_nodes(s)) {
    s->destroyed = true;
    slab_free(boot_cache_cache_, backing);
    return {nullptr, -enomem, "out of memory for its kmem_cache_node structures"};
  }
  // sysfs_slab_add() creates the kernfs directory here, inside slab_mutex.
  return {s, 0, {}};
}

int SlubAllocator::__kmem_cache_shutdown(Cache* c) {
  auto* s = static_cast<KmemCache*>(c);
  flush_all(s);
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    KmemCacheNode* n = s->node[nid];
    if (!n) continue;
    // free_partial(): empty partial slabs are discarded (no FREE_SLAB), others reported.
    std::vector<Slab*> discard;
    env_.irq_disable();  // spin_lock_irq()
    list_lock(n, "free_partial");
    for (Slab* page = n->partial.front(); page;) {
      Slab* next = page->next;
      if (!page->inuse) {
        remove_partial(n, page);
        discard.push_back(page);
      } else {
        common_.log(fmt::format("Objects remaining in {} on __kmem_cache_shutdown()", s->name));
      }
      page = next;
    }
    list_unlock(n);
    env_.irq_enable();
    for (Slab* page : discard)
      discard_slab(s, page);
    if (n->nr_partial || n->nr_slabs) return 1;
  }
  return 0;
}

void SlubAllocator::__kmem_cache_release(Cache* c) {
  auto* s = static_cast<KmemCache*>(c);
  // sysfs_slab_release() -> kmem_cache_release() -> __kmem_cache_release(): per-node structs,
  // percpu, then the struct.
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
    if (s->node[nid]) free_kmem_cache_node(s, nid);
  if (s->backing) slab_free(boot_cache_cache_, s->backing);
  s->backing = {};
}

int SlubAllocator::__kmem_cache_shrink(Cache* c) {
  auto* s = static_cast<KmemCache*>(c);
  flush_all(s);
  int ret = 0;
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    KmemCacheNode* n = s->node[nid];  // for_each_kmem_cache_node()
    if (!n) continue;
    std::vector<Slab*> discard;
    SlabList promote[shrink_promote_max];
    env_.irq_disable();  // spin_lock_irqsave()
    list_lock(n, "__kmem_cache_shrink");
    if (n->freed) {
      common_.violation(env_.current_cpu(), "__kmem_cache_shrink",
                        fmt::format("cache {} shrinks node {} through a freed kmem_cache_node "
                                    "(use-after-free)",
                                    s->name, nid),
                        ViolationKind::use_after_free);
      list_unlock(n);
      env_.irq_enable();
      continue;
    }
    for (Slab* page = n->partial.front(); page;) {
      Slab* next = page->next;
      const int free = page->objects - page->inuse;
      if (free == page->objects) {
        n->partial.remove(page);
        --n->nr_partial;
        page->where = Slab::Where::none;
        discard.push_back(page);
      } else if (free > 0 && free <= static_cast<int>(shrink_promote_max)) {
        n->partial.remove(page);
        promote[free - 1].push_back(page);
      }
      page = next;
    }
    // The fullest slabs go to the head: bucket 0 ends up first.
    for (int i = shrink_promote_max - 1; i >= 0; --i)
      n->partial.splice_front(promote[i]);
    list_unlock(n);
    env_.irq_enable();
    for (Slab* page : discard)
      discard_slab(s, page);  // no FREE_SLAB stat on this path
    if (n->nr_slabs) ret = 1;
  }
  return ret;
}

void SlubAllocator::sysfs_slab_unlink(Cache* s) {
  env_.lock(LockClass::kernfs_active, s->id, LockMode::write, "kernfs_remove");
  env_.unlock(LockClass::kernfs_active, s->id, LockMode::write);
}

std::optional<std::string> SlubAllocator::slab_attr_show(Cache* c, std::string_view file,
                                                         const std::vector<bool>& online_cpus) {
  auto* s = static_cast<KmemCache*>(c);
  static constexpr std::array<std::string_view, 6> object_files = {
      "slabs", "objects", "objects_partial", "partial", "total_objects", "cpu_slabs"};
  const bool objects_file =
      std::find(object_files.begin(), object_files.end(), file) != object_files.end();
  env_.sync();
  if (objects_file) common_.lock_steps(strategy_.show_locks, "show_slab_objects");
  if (file == "objects" || file == "objects_partial") {
    for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
      KmemCacheNode* n = s->node[nid];  // for_each_kmem_cache_node(): no lock holds it
      if (!n) continue;
      // count_partial(): the struct's first cache line comes from the node it was allocated on.
      env_.touch_memory(n->backing ? n->backing.slab->pages.node : nid);
      env_.irq_disable();
      list_lock(n, "count_partial");
      if (n->freed)
        common_.violation(
            env_.current_cpu(), "show_slab_objects",
            fmt::format("cache {} counts the partial slabs of node {} through a freed "
                        "kmem_cache_node (use-after-free)",
                        s->name, nid),
            ViolationKind::use_after_free);
      else
        env_.charge(costs_.count_partial_slab * static_cast<std::int64_t>(n->nr_partial));
      list_unlock(n);
      env_.irq_enable();
    }
  }
  auto text = sysfs_file(*s, file, online_cpus);
  if (objects_file) common_.unlock_steps(strategy_.show_locks);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Hotplug: slab_memory_callback, slub_cpu_dead

int SlubAllocator::slab_mem_going_online_callback(const MemoryNotify& arg) {
  const int nid = arg.status_change_nid_normal;
  if (nid < 0) return 0;
  int ret = 0;
  env_.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_going_online_callback");
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
  env_.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  return ret;
}

int SlubAllocator::slab_mem_going_offline_callback() {
  env_.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_going_offline_callback");
  for (KmemCache* s : slab_caches())
    __kmem_cache_shrink(s);
  env_.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  return 0;
}

void SlubAllocator::slab_mem_offline_callback(const MemoryNotify& arg) {
  const int nid = arg.status_change_nid_normal;
  if (nid < 0) return;
  env_.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_mem_offline_callback");
  if (strategy_.offline_frees_nodes) {
    for (KmemCache* s : slab_caches()) {
      KmemCacheNode* n = s->node[nid];
      if (!n) continue;
      if (n->nr_slabs) {
        common_.violation(env_.current_cpu(), "slab_mem_offline_callback",
                          fmt::format("BUG: cache {} still has {} slabs on node {} going offline",
                                      s->name, n->nr_slabs, nid));
        continue;
      }
      free_kmem_cache_node(s, nid);
      ++node_structs_.freed;
    }
  }
  if (strategy_.usable_nodes == UsableNodes::slab_nodes) slab_nodes_[nid] = false;
  env_.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
}

int SlubAllocator::slab_memory_callback(MemoryAction action, const MemoryNotify& arg) {
  env_.sync();
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

void SlubAllocator::dead_cpu(int cpu) {
  env_.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slub_cpu_dead");
  for (KmemCache* s : slab_caches()) {
    env_.irq_disable();
    flush_cpu_slab(s, cpu);
    env_.irq_enable();
  }
  env_.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
}

// ---------------------------------------------------------------------------------------------
// Introspection

std::vector<const KmemCache*> SlubAllocator::all_caches() const {
  std::vector<const KmemCache*> out;
  for (const auto& c : caches_)
    out.push_back(c.get());
  return out;
}

std::vector<const Slab*> SlubAllocator::slabs_of(const KmemCache* s) const {
  std::vector<const Slab*> out;
  for (const auto& p : slab_pool_.all())
    if (p->cache == s) out.push_back(p.get());
  std::sort(out.begin(), out.end(),
            [](const Slab* a, const Slab* b) { return a->serial < b->serial; });
  return out;
}

}  // namespace slabsim::alloc
