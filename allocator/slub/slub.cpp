// SLUB (mm/slub.c, v5.10-v5.12): kmem_cache_init(), the helpers and node lists every path uses,
// the kmem_cache_node structs, and the hooks mm/slab_common.c calls (__kmem_cache_create(),
// __kmem_cache_shutdown(), __kmem_cache_release(), __kmem_cache_shrink()). The paths are in
// slub_alloc.cpp, slub_free.cpp and slub_deactivate.cpp, the hotplug callbacks in
// slub_hotplug.cpp.
#include "allocator/slub/slub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace slabsim::alloc {

namespace {

constexpr unsigned shrink_promote_max = 32;  // SHRINK_PROMOTE_MAX
constexpr int errno_inval = 22;              // EINVAL

// Size of struct kmem_cache_node and struct kmem_cache as the boot caches allocate them
// (x86_64, CONFIG_SLUB_DEBUG, CONFIG_NUMA; kmem_cache trimmed to nr_node_ids pointers).
constexpr unsigned kmem_cache_node_size = 64;
constexpr unsigned kmem_cache_base_size = 248;
// offsetof(struct kmem_cache, node) in include/linux/slub_def.h v6.1, a choice of config (Debian
// 12's, as far as it matters): cpu_slab 8, flags 4 (+4), min_partial 8, size, object_size,
// reciprocal_size (8), offset, cpu_partial, cpu_partial_slabs, oo, min, allocflags, refcount
// (4 each but reciprocal_size), ctor 8, inuse, align, red_left_pad (+4), name 8, list 16, kobj 64
// (CONFIG_SYSFS, no CONFIG_DEBUG_KOBJECT_RELEASE), random 8 (CONFIG_SLAB_FREELIST_HARDENED),
// remote_node_defrag_ratio 4 (+4, CONFIG_NUMA), random_seq 8 (CONFIG_SLAB_FREELIST_RANDOM),
// useroffset and usersize 8 (CONFIG_HARDENED_USERCOPY); no kasan_info (no CONFIG_KASAN_GENERIC).
constexpr unsigned kmem_cache_base_size_v6_1 = 216;
// struct kmem_cache_node (mm/slab.h v6.1) is unchanged: list_lock (4, +4), nr_partial 8, partial
// 16, and with CONFIG_SLUB_DEBUG nr_slabs 8, total_objects 8, full 16.

}  // namespace

// ---------------------------------------------------------------------------------------------
// Boot: kmem_cache_init()

SlubAllocator::SlubAllocator(Environment& env, PageAllocator& pages, NodeStates& states,
                             Strategy strategy, SlubBootParams params, SlubCosts costs)
    : Allocator(env, std::move(strategy)),
      AllocatorState(common_),
      env_(&boot_env_),
      pages_(pages),
      states_(states),
      layout_(pages.layout()),
      params_(params),
      costs_(costs),
      slab_nodes_(layout_.nr_node_ids(), false) {
  params_.version = strategy_.slub_version;  // the strategy names the generation of mm/slub.c
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu)
    shown_cpus_.push_back(layout_.shown_cpu(cpu));
  for (int nid : states_.nodes(NodeState::normal_memory))
    slab_nodes_[nid] = true;
  boot_node_cache_ = create_boot_cache("kmem_cache_node", kmem_cache_node_size);
  const unsigned base =
      params_.version == SlubVersion::v6_1 ? kmem_cache_base_size_v6_1 : kmem_cache_base_size;
  boot_cache_cache_ =
      create_boot_cache("kmem_cache", base + 8 * static_cast<unsigned>(layout_.nr_node_ids()));
  // bootstrap() list_add()s kmem_cache first, then kmem_cache_node, at the head.
  common_.list_add(boot_cache_cache_);
  common_.list_add(boot_node_cache_);
  // create_kmalloc_caches(0): the kmalloc family of this generation.
  for (const KmallocCache& k : kmalloc_boot_caches(slub_kmalloc_family(params_.version)))
    create_kmalloc_cache(k);
  // slab_sysfs_init(): a directory for every cache made so far.
  for (Cache* s : common_.slab_caches())
    static_cast<KmemCache*>(s)->in_sysfs = true;
  env_ = &env;  // the run starts
}

KmemCache* SlubAllocator::create_boot_cache(const std::string& name, unsigned size) {
  CacheFlags flags;
  flags.hwcache_align = true;
  std::string why;
  auto settings = derive_cache_settings(
      size, 0, flags, calculate_order_cpus(params_.version, layout_), params_, &why);
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

KmemCache* SlubAllocator::create_kmalloc_cache(const KmallocCache& k) {
  // create_boot_cache(): ARCH_KMALLOC_MINALIGN (8 on x86_64), or the size for a power of two
  // (59bb47985c1d, v5.4: natural alignment of kmalloc(power of two)); __kmem_cache_create()
  // makes the struct, from kmem_cache now that it is bootstrapped, and its node structs, from
  // kmem_cache_node (slab_state is PARTIAL); nothing is charged (boot precedes the run).
  constexpr unsigned arch_kmalloc_minalign = 8;
  const unsigned align =
      std::has_single_bit(k.size) ? std::max(arch_kmalloc_minalign, k.size) : arch_kmalloc_minalign;
  CreatedCache created = __kmem_cache_create(k.name, k.size, align, k.flags);
  if (!created.cache) throw std::logic_error("kmalloc cache " + k.name + ": " + created.why);
  Cache* s = created.cache;
  s->usersize = k.size;  // create_kmalloc_cache(name, size, flags, 0, size)
  common_.list_add(s);
  s->refcount = k.refcount;
  return static_cast<KmemCache*>(s);
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
  s->cpu_slab.resize(layout_.nr_cpu_slots());
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu)
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

// node_of() found no struct, or a freed one: where the kernel would dereference NULL or freed
// memory. The model records it and answers nullptr.
KmemCacheNode* SlubAllocator::bad_node(KmemCache* s, const Slab* page, const char* function) {
  KmemCacheNode* n = s->node[page->pages.node];
  if (!n) {
    common_.violation(
        env_->current_cpu(), function,
        fmt::format("cache {} has no kmem_cache_node for node {}, where one of its slabs "
                    "lives: the kernel dereferences NULL here",
                    s->name, page->pages.node),
        ViolationKind::missing_node);
  } else if (n->freed) {
    common_.violation(env_->current_cpu(), function,
                      fmt::format("cache {} uses the kmem_cache_node of node {} after it was freed "
                                  "(use-after-free)",
                                  s->name, page->pages.node),
                      ViolationKind::use_after_free);
    n = nullptr;
  }
  return n;
}

KmemCacheNode* SlubAllocator::walk_node(KmemCache* s, int nid, const char* function) {
  KmemCacheNode* n = s->node[nid];
  // for_each_kmem_cache_node() (fa45dc254bcf, v3.16) visits the structs that exist.
  if (strategy_.node_paths != NodePaths::v3_14) return n;
  // v3.14: for_each_node_state(node, N_NORMAL_MEMORY) { n = get_node(s, node); ... }
  if (!states_.test(nid, NodeState::normal_memory)) return nullptr;
  if (!n)
    common_.violation(env_->current_cpu(), function,
                      fmt::format("cache {} has no kmem_cache_node for node {}, which has normal "
                                  "memory: the kernel dereferences NULL here",
                                  s->name, nid),
                      ViolationKind::missing_node);
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
// kmem_cache_node structures: init_kmem_cache_nodes, and their allocation from the
// kmem_cache_node cache

KmemCacheNode* SlubAllocator::alloc_kmem_cache_node(KmemCache* s, int nid, int alloc_node) {
  // kmem_cache_alloc_node(kmem_cache_node, GFP_KERNEL, node): the struct lives in an object
  // of the kmem_cache_node cache, on `alloc_node` if it can (or anywhere for NUMA_NO_NODE).
  Object backing = slab_alloc_node(boot_node_cache_, gfp_kernel, alloc_node);
  if (!backing) return nullptr;
  // init_kmem_cache_node() writes the new struct.
  env_->charge(costs_.init_kmem_cache_node);
  env_->touch_memory(backing.slab->pages.node);
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
  env_->lock_freed(LockClass::list_lock, n->lock_instance);
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

Cache* SlubAllocator::__kmem_cache_alias(const std::string& /*name*/, unsigned object_size,
                                         unsigned align, CacheFlags flags) {
  auto* s = static_cast<KmemCache*>(common_.find_mergeable(object_size, align, flags));
  if (!s) return nullptr;
  ++s->refcount;
  // "Adjust the object sizes so that we clear the complete object on kzalloc."
  s->s.object_size = std::max(s->s.object_size, object_size);
  s->s.inuse = std::max(s->s.inuse, (object_size + 7) / 8 * 8);  // ALIGN(size, sizeof(void *))
  // sysfs_slab_alias() at slab_state FULL: sysfs_remove_link() of a leftover link of that name,
  // then sysfs_create_link() to the cache's directory, which cannot fail here (the runner
  // reaches a cache's files through the struct its name maps to). The `aliases` file shows the
  // raised refcount.
  env_->charge(costs_.sysfs_link);
  return s;
}

CreatedCache SlubAllocator::__kmem_cache_create(const std::string& name, unsigned object_size,
                                                unsigned align, CacheFlags flags) {
  std::string why;
  auto settings = derive_cache_settings(
      object_size, align, flags, calculate_order_cpus(params_.version, layout_), params_, &why);
  if (!settings) return {nullptr, -errno_inval, why};
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
  // alloc_kmem_cache_cpus(): the per-CPU struct kmem_cache_cpu of every possible CPU.
  env_->charge(costs_.alloc_percpu + costs_.init_cpu_slab * layout_.nr_cpu_ids());
  // sysfs_slab_add() creates the kernfs directory and its files here, inside slab_mutex (at
  // boot, before slab_state FULL, slab_sysfs_init() adds them later, outside the run).
  sysfs_slab_add(s);
  env_->charge(costs_.sysfs_directory +
               costs_.sysfs_file * static_cast<std::int64_t>(sysfs_file_names().size()));
  return {s, 0, {}};
}

// __kmem_cache_shutdown(): v6.1 calls flush_all_cpus_locked(), kmem_cache_destroy() holding
// cpu_hotplug_lock already.
int SlubAllocator::__kmem_cache_shutdown(Cache* c) {
  auto* s = static_cast<KmemCache*>(c);
  if (params_.version == SlubVersion::v6_1)
    flush_all_cpus_locked(s);
  else
    flush_all(s);
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    KmemCacheNode* n = walk_node(s, nid, "kmem_cache_close");
    if (!n) continue;
    // free_partial(): empty partial slabs are discarded (no FREE_SLAB), others reported.
    std::vector<Slab*> discard;
    env_->irq_disable();  // spin_lock_irq()
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
    env_->irq_enable();
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
  // The kobject's release: its directory's kernfs nodes, removed already, go with it.
  for (const int attribute : slab_attributes(params_.version))
    env_->lock_freed(kernfs_active_class(attribute), s->id);
}

// __kmem_cache_shrink(): flush_all() (which takes cpu_hotplug_lock itself in v6.1), then
// __kmem_cache_do_shrink().
int SlubAllocator::__kmem_cache_shrink(Cache* c) {
  auto* s = static_cast<KmemCache*>(c);
  flush_all(s);
  return __kmem_cache_do_shrink(s);
}

int SlubAllocator::__kmem_cache_do_shrink(KmemCache* s) {
  int ret = 0;
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    // Named as v3.14 names it, the only code walk_node() records for: kmem_cache_shrink()
    // became __kmem_cache_shrink() with 03afc0e25f7f.
    KmemCacheNode* n = walk_node(s, nid, "kmem_cache_shrink");
    if (!n) continue;
    std::vector<Slab*> discard;
    SlabList promote[shrink_promote_max];
    env_->irq_disable();  // spin_lock_irqsave()
    list_lock(n, "__kmem_cache_shrink");
    if (n->freed) {
      common_.violation(env_->current_cpu(), "__kmem_cache_shrink",
                        fmt::format("cache {} shrinks node {} through a freed kmem_cache_node "
                                    "(use-after-free)",
                                    s->name, nid),
                        ViolationKind::use_after_free);
      list_unlock(n);
      env_->irq_enable();
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
    env_->irq_enable();
    for (Slab* page : discard)
      discard_slab(s, page);  // no FREE_SLAB stat on this path
    if (n->nr_slabs) ret = 1;
  }
  return ret;
}

}  // namespace slabsim::alloc
