// SLAB (mm/slab.c, v5.10): kmem_cache_init() and kmem_cache_init_late() with their boot caches,
// the kmalloc of SLAB's own structures, and the helpers every path uses. Cache creation and
// release are in slab_create.cpp, the paths in slab_alloc.cpp, slab_free.cpp and slab_reap.cpp,
// the hotplug callbacks in slab_hotplug.cpp.
#include "allocator/slab/slab.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <functional>
#include <stdexcept>

#include "allocator/kmalloc_caches.hpp"

namespace slabsim::alloc {

namespace {

constexpr unsigned boot_cpucache_entries = 1;  // BOOT_CPUCACHE_ENTRIES
constexpr std::uint64_t ram_32mib_pages = (32u << 20) / page_size;

// struct kmem_cache up to node[] with the CONFIG_DEBUG_SLAB statistics (a model estimate);
// kmem_cache_init() sizes it for nr_node_ids node pointers.
constexpr unsigned kmem_cache_base_size = 256;

// INDEX_NODE: kmalloc_index(sizeof(struct kmem_cache_node)), the kmalloc cache kmem_cache_init()
// makes before the rest of the family, so that node structs can be kmalloc'd.
constexpr unsigned kmalloc_node_size = 128;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Boot: kmem_cache_init(), kmem_cache_init_late()

SlabAllocator::SlabAllocator(Environment& env, PageAllocator& pages, NodeStates& states,
                             Strategy strategy, SlabParams params, SlabCosts costs)
    : Allocator(env, std::move(strategy)),
      AllocatorState(common_),
      env_(&boot_env_),
      pages_(pages),
      states_(states),
      layout_(pages.layout()),
      params_(params),
      costs_(costs),
      cpu_online_(layout_.nr_cpu_slots(), false) {
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu)
    cpu_online_[cpu] = layout_.cpu_present(cpu);
  // kmem_cache_init(): no alien caches with a single possible node.
  use_alien_caches_ = params_.use_alien_caches && layout_.nr_node_ids() > 1;
  if (params_.slab_max_order >= 0) {
    slab_max_order_ = std::min(params_.slab_max_order, static_cast<int>(max_order) - 1);
  } else {
    std::uint64_t totalram = 0;
    for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
      totalram += pages_.managed_pages(nid, ZoneType::normal) +
                  pages_.managed_pages(nid, ZoneType::movable);
    slab_max_order_ = totalram > ram_32mib_pages ? 1 : 0;  // SLAB_MAX_ORDER_HI / _LO
  }
  // init_reap_node(): each CPU starts reaping alien caches of the online node after its own.
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu)
    reap_node_.push_back(layout_.cpu_present(cpu) ? next_online_node(numa_mem_id(cpu)) : 0);

  // 1) "kmem_cache", whose objects are every later struct kmem_cache; its own struct is static.
  kmem_cache_ = create_boot_cache(
      "kmem_cache", kmem_cache_base_size + 8 * static_cast<unsigned>(layout_.nr_node_ids()),
      slab_kmalloc_family().flags);
  // 2) the kmalloc cache of struct kmem_cache_node (INDEX_NODE), before any node struct can
  // be kmalloc'd; both boot caches start on static __initdata node structs.
  SlabCache* node_cache =
      create_boot_cache(kmalloc_cache_name(KmallocType::normal, kmalloc_node_size),
                        kmalloc_node_size, slab_kmalloc_family().flags);
  node_cache->backing = slab_alloc(kmem_cache_, gfp_kernel);
  kmalloc_caches_.push_back(node_cache);
  // 5) init_list(): the static node structs of both are replaced by kmalloc_node() copies,
  // whose locks it initialises again: lockdep's &ptr->list_lock.
  for (int nid : states_.nodes(NodeState::online))
    for (SlabCache* c : {kmem_cache_, node_cache}) {
      c->node[nid]->backing = kmalloc_node(SlabCacheNode::kernel_size, nid);
      c->node[nid]->lock_class = LockClass::slab_boot_list_lock;
    }
  // create_kmalloc_caches(ARCH_KMALLOC_FLAGS): the rest of SLAB's family (kmalloc-32 ... 4M,
  // -rcl- and dma-), in the kernel's order; the main loop skips the INDEX_NODE cache made
  // above. Their structs come from kmem_cache, their node structs are kmalloc'd.
  for (const KmallocCache& k : kmalloc_boot_caches(slab_kmalloc_family())) {
    if (k.type == KmallocType::normal && k.size == kmalloc_node_size) continue;
    ObjectRef backing = slab_alloc(kmem_cache_, gfp_kernel);
    SlabCache* c = create_boot_cache(k.name, k.size, k.flags);
    c->backing = backing;
    for (auto& n : c->node_store)
      n->backing = kmalloc_node(SlabCacheNode::kernel_size, n->node);
    if (k.type != KmallocType::normal) continue;
    // kmalloc_node() of SLAB's own structures is GFP_KERNEL: kmalloc_caches[KMALLOC_NORMAL].
    kmalloc_caches_.push_back(c);
    std::sort(
        kmalloc_caches_.begin(), kmalloc_caches_.end(),
        [](const SlabCache* a, const SlabCache* b) { return a->object_size < b->object_size; });
  }

  // kmem_cache_init_late(): 6) resize the head arrays to their final sizes (boot is single
  // threaded, so the model does not take slab_mutex here).
  for (SlabCache* c : slab_caches())
    if (enable_cpucache(c)) throw std::logic_error("enable_cpucache failed at boot for " + c->name);
  env_ = &env;  // the run starts
}

SlabCache* SlabAllocator::create_boot_cache(const std::string& name, unsigned size,
                                            CacheFlags flags) {
  std::string why;
  int error = 0;
  // ARCH_KMALLOC_MINALIGN, or the size for a power of two (59bb47985c1d, v5.4).
  const unsigned align = std::has_single_bit(size) ? std::max(8U, size) : 8U;
  SlabCache* c = new_cache(name, size, align, flags, &why, &error);
  if (!c) throw std::logic_error("boot cache " + name + ": " + why);
  // setup_cpu_cache() before slab_state FULL: one-entry arrays, node structs for every online
  // node (static ones or kmalloc'd by the caller), no shared array or alien caches yet.
  c->limit = boot_cpucache_entries;
  c->batchcount = 1;
  for (auto& ac : c->cpu_cache) {
    ac.limit = boot_cpucache_entries;
    ac.batchcount = 1;
  }
  for (int nid : states_.nodes(NodeState::online)) {
    auto n = std::make_unique<SlabCacheNode>();
    n->node = nid;
    n->lock_instance = next_lock_instance_++;
    n->next_reap = initial_next_reap(c);
    c->node[nid] = n.get();
    c->node_store.push_back(std::move(n));
  }
  // Never a merge target: create_boot_cache() leaves kmem_cache at -1; the kmalloc caches get
  // refcount 1 in create_kmalloc_cache() but usersize = size (their usercopy whitelist, every
  // type since 49f2d2419d60, v5.7), which slab_unmergeable() refuses as well.
  if (name == "kmem_cache") {
    c->refcount = -1;
  } else {
    c->refcount = 1;
    c->usersize = size;
  }
  common_.list_add(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// kmalloc of SLAB's own structures

SlabCache* SlabAllocator::kmalloc_slab(std::size_t size) const {
  if (size == 0) return nullptr;
  for (SlabCache* c : kmalloc_caches_)  // by kmalloc size: kmalloc-96 holds 128-byte objects
    if (c->object_size >= size) return c;
  return nullptr;
}

ObjectRef SlabAllocator::kmalloc_node(std::size_t size, int node) {
  SlabCache* c = kmalloc_slab(size);
  if (!c) throw std::logic_error(fmt::format("kmalloc of {} bytes: no such kmalloc cache", size));
  return node == numa_no_node ? slab_alloc(c, gfp_kernel) : slab_alloc_node(c, gfp_kernel, node);
}

void SlabAllocator::kfree(ObjectRef obj) {
  if (!obj) return;
  kmem_cache_free(static_cast<SlabPage*>(obj.slab)->cache, obj);
}

// ---------------------------------------------------------------------------------------------
// Helpers

// cpumask_of_node() holds the machine's CPUs only: the event-task CPUs are the simulator's.
int SlabAllocator::nr_cpus_node(int node) const {
  int count = 0;
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu)
    if (cpu_online_[cpu] && layout_.cpu_node[cpu] == node) ++count;
  return count;
}

int SlabAllocator::nr_online_nodes() const {
  int count = 0;  // on every free: no vector from NodeStates::nodes()
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
    count += states_.test(nid, NodeState::online);
  return count;
}

int SlabAllocator::next_online_node(int node) const {
  const int nodes = layout_.nr_node_ids();
  for (int k = 1; k <= nodes; ++k) {
    const int cand = (node + k) % nodes;
    if (states_.test(cand, NodeState::online)) return cand;
  }
  return node;
}

std::int64_t SlabAllocator::initial_next_reap(const SlabCache* c) {
  // jiffies + REAPTIMEOUT_NODE + (cache address) % REAPTIMEOUT_NODE: the address spreads the
  // caches over the period; the model spreads them by creation serial in eighths of it.
  const std::int64_t period = reap_node_interval_ns();
  return env_->now_ns() + period + static_cast<std::int64_t>(c->id % 8) * (period / 8);
}

SlabCacheNode* SlabAllocator::node_of(SlabCache* c, int nid, const char* function) {
  SlabCacheNode* n = c->node[nid];
  if (!n)
    common_.violation(env_->current_cpu(), function,
                      fmt::format("cache {} has no kmem_cache_node for node {}: the kernel "
                                  "dereferences NULL here",
                                  c->name, nid),
                      ViolationKind::missing_node);
  return n;
}

void SlabAllocator::list_lock(SlabCacheNode* n, const char* function) {
  env_->lock(n->lock_class, n->lock_instance, LockMode::exclusive, function);
  touch_node_struct(n);
}

void SlabAllocator::list_unlock(SlabCacheNode* n) {
  env_->unlock(n->lock_class, n->lock_instance, LockMode::exclusive);
}

void SlabAllocator::touch_node_struct(const SlabCacheNode* n) {
  env_->touch_memory(n->backing ? n->backing.node : n->node);
}

// list_del(&page->slab_list): off whichever list of `n` the slab is on.
void SlabAllocator::list_del(SlabCacheNode* n, SlabPage* page) {
  switch (page->list) {
    case SlabListKind::partial:
      n->slabs_partial.erase(page->pos);
      break;
    case SlabListKind::full:
      n->slabs_full.erase(page->pos);
      break;
    case SlabListKind::free:
      n->slabs_free.erase(page->pos);
      break;
    case SlabListKind::none:
      break;
  }
}

// transfer_objects(): up to `max` objects from the end of one array to another, as room allows.
unsigned SlabAllocator::transfer_objects(ArrayCache& to, ArrayCache& from, unsigned max) {
  const unsigned nr = std::min({from.avail(), max, to.limit - to.avail()});
  if (!nr) return 0;
  to.entry.insert(to.entry.end(), from.entry.end() - nr, from.entry.end());
  from.entry.resize(from.entry.size() - nr);
  return nr;
}

}  // namespace slabsim::alloc
