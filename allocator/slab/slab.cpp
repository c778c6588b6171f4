#include "allocator/slab/slab.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <stdexcept>

namespace slabsim::alloc {

namespace {

constexpr unsigned bytes_per_word = 8;         // BYTES_PER_WORD on x86_64
constexpr unsigned slab_obj_min_size = 16;     // SLAB_OBJ_MIN_SIZE: min(KMALLOC_MIN_SIZE, 16)
constexpr unsigned freelist_idx_size = 1;      // freelist_idx_t is a byte: FREELIST_BYTE_INDEX
constexpr unsigned slab_obj_max_num = 255;     // SLAB_OBJ_MAX_NUM for a byte index
constexpr unsigned kmalloc_max_order = 10;     // KMALLOC_SHIFT_HIGH (22) - PAGE_SHIFT
constexpr int batchrefill_limit = 16;          // BATCHREFILL_LIMIT
constexpr unsigned boot_cpucache_entries = 1;  // BOOT_CPUCACHE_ENTRIES
constexpr unsigned alien_limit = 12;           // alloc_alien_cache(): limit > 1 becomes 12
constexpr int errno_inval = 22;                // EINVAL
constexpr int errno_2big = 7;                  // E2BIG: __kmem_cache_create() finds no slab order
constexpr std::uint64_t ram_32mib_pages = (32u << 20) / page_size;

// Sizes of SLAB's own structures on x86_64 (struct kmem_cache_node: a spinlock, three list
// heads, five counters, the shared and alien pointers, next_reap, free_touched; struct
// array_cache: four unsigned ints before the entries; struct alien_cache adds a spinlock).
constexpr std::size_t kmem_cache_node_size = 120;
constexpr std::size_t array_cache_header = 16;
constexpr std::size_t alien_cache_header = 24;
// struct kmem_cache up to node[] with the CONFIG_DEBUG_SLAB statistics (a model estimate);
// kmem_cache_init() sizes it for nr_node_ids node pointers.
constexpr unsigned kmem_cache_base_size = 256;

// The kmalloc caches the model creates: the sizes SLAB's own structures need (node structs,
// shared arrays up to 8 * 60 entries, alien caches and their pointer arrays, off-slab
// freelists), in create_kmalloc_caches() order after kmalloc-128 (INDEX_NODE), which
// kmem_cache_init() creates first. Larger kmalloc caches are left out (a model choice).
constexpr unsigned kmalloc_sizes_after_node[] = {32, 64, 96, 192, 256, 512, 1024, 2048, 4096};
constexpr unsigned kmalloc_node_size = 128;

unsigned align_up(unsigned x, unsigned a) {
  return (x + a - 1) / a * a;
}

bool is_power_of_two(unsigned x) {
  return x && !(x & (x - 1));
}

// gfp_exact_node(): the given node only, no warning.
Gfp gfp_exact_node(Gfp gfp) {
  return gfp | gfp_thisnode | gfp_nowarn;
}

}  // namespace

// The world as kmem_cache_init() sees it: the boot CPU alone, before the run (time stands at 0,
// nothing is charged, every lock is free, an IPI runs at once).
class BootEnvironment final : public Environment {
 public:
  int current_cpu() override { return 0; }
  std::int64_t now_ns() override { return 0; }
  void charge(std::int64_t) override {}
  void touch_memory(int) override {}
  void sync() override {}
  void lock(LockClass, std::uint64_t, LockMode, const char*) override {}
  void unlock(LockClass, std::uint64_t, LockMode) override {}
  bool try_lock(LockClass, std::uint64_t, LockMode, const char*) override { return true; }
  void irq_disable() override {}
  void irq_enable() override {}
  void run_on_cpu(int, const std::function<void()>& fn) override { fn(); }
  std::uint64_t random() override { return 0; }
};

// ---------------------------------------------------------------------------------------------
// Boot: kmem_cache_init(), kmem_cache_init_late()

SlabAllocator::SlabAllocator(Environment& env, PageAllocator& pages, NodeStates& states,
                             Strategy strategy, SlabParams params, SlabCosts costs)
    : Allocator(env, std::move(strategy)),
      AllocatorState(common_),
      boot_env_(std::make_unique<BootEnvironment>()),
      env_(boot_env_.get()),
      pages_(pages),
      states_(states),
      layout_(pages.layout()),
      params_(params),
      costs_(costs),
      cpu_online_(layout_.nr_cpu_ids(), true) {
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
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu)
    reap_node_.push_back(next_online_node(numa_mem_id(cpu)));

  // 1) "kmem_cache", whose objects are every later struct kmem_cache; its own struct is static.
  kmem_cache_ = create_boot_cache(
      "kmem_cache", kmem_cache_base_size + 8 * static_cast<unsigned>(layout_.nr_node_ids()));
  // 2) the kmalloc cache of struct kmem_cache_node (INDEX_NODE), before any node struct can
  // be kmalloc'd; both boot caches start on static __initdata node structs.
  SlabCache* node_cache = create_boot_cache("kmalloc-128", kmalloc_node_size);
  node_cache->backing = slab_alloc(kmem_cache_, gfp_kernel);
  kmalloc_caches_.push_back(node_cache);
  // 5) init_list(): the static node structs of both are replaced by kmalloc_node() copies.
  for (int nid : states_.nodes(NodeState::online))
    for (SlabCache* c : {kmem_cache_, node_cache})
      c->node[nid]->backing = kmalloc_node(kmem_cache_node_size, nid);
  // create_kmalloc_caches(): the rest, their structs from kmem_cache, node structs kmalloc'd.
  for (unsigned size : kmalloc_sizes_after_node) {
    ObjectRef backing = slab_alloc(kmem_cache_, gfp_kernel);
    SlabCache* c = create_boot_cache(fmt::format("kmalloc-{}", size), size);
    c->backing = backing;
    for (auto& n : c->node_store)
      n->backing = kmalloc_node(kmem_cache_node_size, n->node);
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

SlabAllocator::~SlabAllocator() = default;

SlabCache* SlabAllocator::create_boot_cache(const std::string& name, unsigned size) {
  CacheFlags flags;
  flags.hwcache_align = true;  // ARCH_KMALLOC_FLAGS, and create_boot_cache() of kmem_cache
  std::string why;
  int error = 0;
  SlabCache* c = new_cache(name, size, 0, flags, &why, &error);
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
  c->refcount = -1;  // create_boot_cache(): never merged
  common_.list_add(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Object layout: calculate_alignment(), __kmem_cache_create(), calculate_slab_order()

bool SlabAllocator::calculate_slab_order(SlabCache* c, unsigned size, SlabMgmt mgmt,
                                         std::size_t* left_over) {
  c->num = 0;
  *left_over = 0;
  for (unsigned order = 0; order <= kmalloc_max_order; ++order) {
    // cache_estimate(): an on-slab index array costs one index per object.
    const std::size_t slab_size = static_cast<std::size_t>(page_size) << order;
    const std::size_t per_object = mgmt == SlabMgmt::on_slab ? size + freelist_idx_size : size;
    const auto num = static_cast<unsigned>(slab_size / per_object);
    const std::size_t remainder = slab_size % per_object;
    if (!num) continue;
    if (num > slab_obj_max_num) break;
    if (mgmt == SlabMgmt::off_slab) {
      const SlabCache* fl = kmalloc_slab(num * freelist_idx_size);
      if (!fl) continue;
      if (fl->mgmt == SlabMgmt::off_slab) continue;  // no recursion in cache_grow_begin()
      if (fl->size > size / 2) continue;             // not worth it
    }
    c->num = num;
    c->gfporder = order;
    *left_over = remainder;
    // VFS-reclaimable caches stay at the smallest order that fits.
    if (c->flags.reclaim_account) break;
    if (static_cast<int>(order) >= slab_max_order_) break;
    if (remainder * 8 <= slab_size) break;  // acceptable internal fragmentation
  }
  return c->num != 0;
}

SlabCache* SlabAllocator::new_cache(const std::string& name, unsigned object_size, unsigned align,
                                    CacheFlags flags, std::string* why, int* error) {
  *error = -errno_inval;
  if (object_size == 0) {
    *why = "object size 0";
    return nullptr;
  }
  if (align && !is_power_of_two(align)) {
    *why = fmt::format("alignment {} is not a power of two", align);
    return nullptr;
  }
  auto owned = std::make_unique<SlabCache>();
  SlabCache* c = owned.get();
  c->name = name;
  c->flags = flags;
  c->object_size = object_size;
  const auto ralign = static_cast<unsigned>(calculate_alignment(flags, align, object_size));
  // __kmem_cache_create(): word-sized objects, the caller's alignment, colour offset of at
  // least a cache line. Debug red zones and poisoning are not modelled.
  unsigned size = align_up(object_size, bytes_per_word);
  c->align = ralign;
  c->colour_off = std::max(cache_line_size, c->align);
  size = align_up(size, c->align);
  if (size < slab_obj_min_size) size = align_up(slab_obj_min_size, c->align);

  std::size_t left = 0;
  bool done = false;
  // set_objfreelist_slab_cache(): the index array lives in a free object, possible when no
  // constructor or RCU freeing needs the object intact and the array fits in one object.
  if (!flags.has_ctor && !flags.typesafe_by_rcu &&
      calculate_slab_order(c, size, SlabMgmt::objfreelist, &left) &&
      c->num * freelist_idx_size <= object_size) {
    c->mgmt = SlabMgmt::objfreelist;
    done = true;
  }
  // set_off_slab_cache(): the index array in a kmalloc object, unless it fits in the leftover.
  if (!done && calculate_slab_order(c, size, SlabMgmt::off_slab, &left) &&
      left < c->num * freelist_idx_size) {
    c->mgmt = SlabMgmt::off_slab;
    c->freelist_cache = kmalloc_slab(c->num * freelist_idx_size);
    done = true;
  }
  // set_on_slab_cache()
  if (!done && calculate_slab_order(c, size, SlabMgmt::on_slab, &left)) {
    c->mgmt = SlabMgmt::on_slab;
    done = true;
  }
  if (!done) {
    *why =
        fmt::format("object size {} fits no slab of order <= {}", object_size, kmalloc_max_order);
    *error = -errno_2big;
    return nullptr;
  }
  c->colour = static_cast<unsigned>(left / c->colour_off);
  c->size = size;
  c->id = common_.new_cache_id();
  c->fallback_to_no_node.assign(layout_.nr_node_ids(), 0);
  c->node.assign(layout_.nr_node_ids(), nullptr);
  c->cpu_cache.resize(layout_.nr_cpu_ids());
  caches_.push_back(std::move(owned));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Tunables and per-node set-up: enable_cpucache(), do_tune_cpucache(), setup_kmem_cache_nodes()

int SlabAllocator::enable_cpucache(SlabCache* c) {
  // The head array sizes the kernel guesses from the object size.
  unsigned limit;
  if (c->size > 131072)
    limit = 1;
  else if (c->size > page_size)
    limit = 8;
  else if (c->size > 1024)
    limit = 24;
  else if (c->size > 256)
    limit = 54;
  else
    limit = 120;
  // A shared array lets objects pass between CPUs; pointless on one CPU.
  const unsigned shared = c->size <= page_size && layout_.nr_cpu_ids() > 1 ? 8 : 0;
  const unsigned batchcount = (limit + 1) / 2;
  const int err = do_tune_cpucache(c, limit, batchcount, shared);
  if (err) common_.log(fmt::format("enable_cpucache failed for {}, error {}", c->name, -err));
  return err;
}

int SlabAllocator::do_tune_cpucache(SlabCache* c, unsigned limit, unsigned batchcount,
                                    unsigned shared) {
  // alloc_kmem_cache_cpus(): fresh percpu arrays for every possible CPU (percpu memory, not a
  // kmalloc object); the old ones are emptied into the slabs.
  std::vector<ArrayCache> prev(layout_.nr_cpu_ids());
  std::swap(prev, c->cpu_cache);
  for (auto& ac : c->cpu_cache) {
    ac.limit = limit;
    ac.batchcount = batchcount;
  }
  c->batchcount = batchcount;
  c->limit = limit;
  c->shared = shared;
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu) {
    if (!cpu_online_[cpu] || prev[cpu].entry.empty()) continue;
    const int node = numa_mem_id(cpu);
    SlabCacheNode* n = node_of(c, node, "do_tune_cpucache");
    if (!n) continue;
    std::vector<SlabPage*> list;
    env_->irq_disable();
    list_lock(n, "do_tune_cpucache");
    free_block(c, prev[cpu].entry.data(), prev[cpu].entry.size(), node, list);
    list_unlock(n);
    env_->irq_enable();
    slabs_destroy(c, list);
  }
  return setup_kmem_cache_nodes(c);
}

int SlabAllocator::setup_kmem_cache_nodes(SlabCache* c) {
  for (int nid : states_.nodes(NodeState::online)) {  // for_each_online_node
    if (int ret = setup_kmem_cache_node(c, nid, /*force_change=*/true); ret) {
      if (!c->listed) {
        // The cache is not active yet: roll back what was done.
        for (int k = 0; k < layout_.nr_node_ids(); ++k) {
          SlabCacheNode* n = c->node[k];
          if (!n) continue;
          kfree_array(std::move(n->shared));
          free_alien_cache(std::move(n->alien));
          kfree(n->backing);
          c->node[k] = nullptr;
        }
      }
      return -enomem;
    }
  }
  return 0;
}

std::unique_ptr<ArrayCache> SlabAllocator::alloc_arraycache(int node, unsigned entries,
                                                            unsigned batch) {
  ObjectRef mem = kmalloc_node(8 * entries + array_cache_header, node);
  if (!mem) return nullptr;
  auto ac = std::make_unique<ArrayCache>();
  ac->limit = entries;
  ac->batchcount = batch;
  ac->backing = mem;
  return ac;
}

void SlabAllocator::kfree_array(std::unique_ptr<ArrayCache> ac) {
  if (ac) kfree(ac->backing);
}

std::unique_ptr<AlienArray> SlabAllocator::alloc_alien_cache(int node, unsigned limit) {
  if (limit > 1) limit = alien_limit;
  ObjectRef ptrs = kmalloc_node(8 * static_cast<std::size_t>(layout_.nr_node_ids()), node);
  if (!ptrs) return nullptr;
  auto alien = std::make_unique<AlienArray>();
  alien->backing = ptrs;
  alien->caches.resize(layout_.nr_node_ids());
  for (int i = 0; i < layout_.nr_node_ids(); ++i) {
    if (i == node || !states_.test(i, NodeState::online)) continue;
    ObjectRef mem = kmalloc_node(8 * limit + alien_cache_header, node);
    if (!mem) {
      free_alien_cache(std::move(alien));
      return nullptr;
    }
    auto alc = std::make_unique<AlienCache>();
    alc->lock_instance = next_lock_instance_++;
    alc->ac.limit = limit;
    alc->ac.batchcount = 0xbaadf00d;  // never used for an alien cache
    alc->ac.backing = mem;
    alien->caches[i] = std::move(alc);
  }
  return alien;
}

void SlabAllocator::free_alien_cache(std::unique_ptr<AlienArray> alien) {
  if (!alien) return;
  for (auto& alc : alien->caches)
    if (alc) kfree(alc->ac.backing);
  kfree(alien->backing);
}

int SlabAllocator::init_cache_node(SlabCache* c, int node, bool from_hotplug) {
  if (SlabCacheNode* n = c->node[node]) {
    // Already there (another CPU of the node, or memory that came back): only the limit.
    env_->irq_disable();
    list_lock(n, "init_cache_node");
    n->free_limit = (1 + nr_cpus_node(node)) * c->batchcount + c->num;
    list_unlock(n);
    env_->irq_enable();
    if (from_hotplug) ++node_structs_.reused;
    return 0;
  }
  // kmalloc_node(): on the node if it has memory, else wherever the fallback lands.
  ObjectRef mem = kmalloc_node(kmem_cache_node_size, node);
  if (!mem) return -enomem;
  auto n = std::make_unique<SlabCacheNode>();
  n->node = node;
  n->lock_instance = next_lock_instance_++;
  n->next_reap = initial_next_reap(c);
  n->free_limit = (1 + nr_cpus_node(node)) * c->batchcount + c->num;
  n->backing = mem;
  c->node[node] = n.get();
  c->node_store.push_back(std::move(n));
  if (from_hotplug) ++node_structs_.allocated;
  return 0;
}

int SlabAllocator::init_cache_node_node(int node, bool from_hotplug) {
  for (SlabCache* c : slab_caches())
    if (int ret = init_cache_node(c, node, from_hotplug); ret) return ret;
  return 0;
}

int SlabAllocator::setup_kmem_cache_node(SlabCache* c, int node, bool force_change) {
  std::unique_ptr<AlienArray> new_alien;
  std::unique_ptr<ArrayCache> new_shared;
  int ret = -enomem;
  if (use_alien_caches_) {
    new_alien = alloc_alien_cache(node, c->limit);
    if (!new_alien) return ret;
  }
  if (c->shared) {
    new_shared = alloc_arraycache(node, c->shared * c->batchcount, 0xbaadf00d);
    if (!new_shared) {
      free_alien_cache(std::move(new_alien));
      return ret;
    }
  }
  ret = init_cache_node(c, node, false);
  if (ret) {
    kfree_array(std::move(new_shared));
    free_alien_cache(std::move(new_alien));
    return ret;
  }
  SlabCacheNode* n = c->node[node];
  std::unique_ptr<ArrayCache> old_shared;
  std::vector<SlabPage*> list;
  env_->irq_disable();
  list_lock(n, "setup_kmem_cache_node");
  if (n->shared && force_change) {
    free_block(c, n->shared->entry.data(), n->shared->entry.size(), node, list);
    n->shared->entry.clear();
  }
  if (!n->shared || force_change) {
    old_shared = std::move(n->shared);
    n->shared = std::move(new_shared);
  }
  if (!n->alien) n->alien = std::move(new_alien);
  list_unlock(n);
  env_->irq_enable();
  slabs_destroy(c, list);
  // synchronize_rcu() before freeing a replaced shared array is not modelled as a wait.
  kfree_array(std::move(old_shared));
  kfree_array(std::move(new_shared));
  free_alien_cache(std::move(new_alien));
  return 0;
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
  env_->lock(LockClass::list_lock, n->lock_instance, LockMode::exclusive, function);
  touch_node_struct(n);
}

void SlabAllocator::list_unlock(SlabCacheNode* n) {
  env_->unlock(LockClass::list_lock, n->lock_instance, LockMode::exclusive);
}

void SlabAllocator::touch_node_struct(const SlabCacheNode* n) {
  env_->touch_memory(n->backing ? n->backing.node : n->node);
}

// ---------------------------------------------------------------------------------------------
// Slabs: cache_grow_begin(), cache_grow_end(), slab_destroy(), the three lists

SlabPage* SlabAllocator::cache_grow_begin(SlabCache* c, Gfp gfp, int nodeid) {
  const int cpu = env_->current_cpu();
  // The kernel turns interrupts back on around the page allocator for a sleeping gfp. The model
  // keeps them off: the simulator delivers an IPI (do_drain()) only between model calls, never
  // in the middle of one, so an IPI handler must not find this CPU's interrupts on here.
  env_->sync();
  auto pages = pages_.alloc_pages(nodeid, c->gfporder, static_cast<Gfp>(gfp & gfp_thisnode),
                                  layout_.cpu_node[cpu]);
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
      pages_.free_pages(*pages);
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

void SlabAllocator::slab_destroy(SlabCache* c, SlabPage* page) {
  // kmem_freepages(); RCU-delayed freeing (SLAB_TYPESAFE_BY_RCU) is not modelled as a delay.
  pages_.free_pages(page->pages);
  env_->charge(costs_.slab_destroy);
  --c->live_slabs;
  const ObjectRef freelist_object = page->freelist_object;
  page->cache = nullptr;
  page->list = SlabListKind::none;
  page->freelist.clear();
  page->freelist_object = {};
  page_pool_.release(page);
  if (freelist_object) kfree(freelist_object);  // OFF_SLAB: the index array
}

void SlabAllocator::slabs_destroy(SlabCache* c, std::vector<SlabPage*>& list) {
  for (SlabPage* page : list)
    slab_destroy(c, page);
  list.clear();
}

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

// ---------------------------------------------------------------------------------------------
// Allocation: slab_alloc(), slab_alloc_node(), ____cache_alloc(), cache_alloc_refill(),
// ____cache_alloc_node(), fallback_alloc()

unsigned SlabAllocator::transfer_objects(ArrayCache& to, ArrayCache& from, unsigned max) {
  const unsigned nr = std::min({from.avail(), max, to.limit - to.avail()});
  if (!nr) return 0;
  to.entry.insert(to.entry.end(), from.entry.end() - nr, from.entry.end());
  from.entry.resize(from.entry.size() - nr);
  return nr;
}

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

// ---------------------------------------------------------------------------------------------
// Freeing: kmem_cache_free(), ___cache_free(), cache_free_alien(), cache_flusharray()

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

// ---------------------------------------------------------------------------------------------
// Draining: drain_array(), do_drain(), drain_cpu_caches(), __kmem_cache_shrink()

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
  // on_each_cpu(do_drain): an IPI to every online CPU, the caller included.
  for (int cpu = 0; cpu < layout_.nr_cpu_ids(); ++cpu)
    if (cpu_online_[cpu])
      env_->run_on_cpu(cpu, [this, c, cpu] {
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

// ---------------------------------------------------------------------------------------------
// The hooks of mm/slab_common.c: __kmem_cache_create(), __kmem_cache_shutdown(),
// __kmem_cache_release() (and __kmem_cache_shrink() above)

CreatedCache SlabAllocator::__kmem_cache_create(const std::string& name, unsigned object_size,
                                                unsigned align, CacheFlags flags) {
  // SLAB has no sysfs, so two caches may share a name; caches are never merged here.
  const ObjectRef backing = slab_alloc(kmem_cache_, gfp_kernel);  // kmem_cache_zalloc(kmem_cache)
  if (!backing) return {nullptr, -enomem, "out of memory for struct kmem_cache"};
  std::string why;
  int error = -errno_inval;
  SlabCache* c = new_cache(name, object_size, align, flags, &why, &error);
  if (!c) {
    kfree(backing);
    return {nullptr, error, why};
  }
  c->backing = backing;
  // setup_cpu_cache() -> enable_cpucache(): tunables, arrays and node structs.
  if (int err = enable_cpucache(c); err) {
    __kmem_cache_release(c);
    c->destroyed = true;
    return {nullptr, err, "out of memory for its per-node structures"};
  }
  return {c, 0, {}};
}

int SlabAllocator::__kmem_cache_shutdown(Cache* s) {
  return __kmem_cache_shrink(s);
}

void SlabAllocator::__kmem_cache_release(Cache* s) {
  SlabCache* c = cache_of(s);
  // __kmem_cache_release(): the percpu arrays, each node's shared array, alien caches and the
  // node struct; then the struct kmem_cache itself (kmem_cache_free(kmem_cache, s)).
  for (auto& ac : c->cpu_cache)
    ac.entry.clear();
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid) {
    SlabCacheNode* n = c->node[nid];
    if (!n) continue;
    kfree_array(std::move(n->shared));
    free_alien_cache(std::move(n->alien));
    kfree(n->backing);
    n->backing = {};
    c->node[nid] = nullptr;
  }
  kfree(c->backing);
  c->backing = {};
}

// ---------------------------------------------------------------------------------------------
// Memory hotplug: slab_memory_callback(), drain_cache_node_node()

int SlabAllocator::drain_cache_node_node(int node) {
  for (SlabCache* c : slab_caches()) {
    SlabCacheNode* n = c->node[node];
    if (!n) continue;
    drain_freelist(c, n, LONG_MAX);
    if (!n->slabs_full.empty() || !n->slabs_partial.empty()) return -ebusy;
  }
  return 0;
}

int SlabAllocator::slab_memory_callback(MemoryAction action, const MemoryNotify& arg) {
  // SLAB keys on N_MEMORY changes (status_change_nid), not N_NORMAL_MEMORY like SLUB.
  const int nid = arg.status_change_nid;
  if (nid < 0) return 0;
  env_->sync();
  int ret = 0;
  switch (action) {
    case MemoryAction::going_online:
      env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_memory_callback");
      ret = init_cache_node_node(nid, /*from_hotplug=*/true);
      env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
      break;
    case MemoryAction::going_offline:
      env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_memory_callback");
      ret = drain_cache_node_node(nid);
      env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
      break;
    case MemoryAction::online:
    case MemoryAction::offline:
    case MemoryAction::cancel_online:
    case MemoryAction::cancel_offline:
      break;  // node structs are never freed
  }
  return ret;
}

// ---------------------------------------------------------------------------------------------
// CPU hotplug: slab_prepare_cpu() -> cpuup_prepare(), slab_dead_cpu() -> cpuup_canceled()

int SlabAllocator::cpuup_prepare(int cpu) {
  const int node = numa_mem_id(cpu);
  // The node structs first: the array allocations below need them.
  int err = init_cache_node_node(node, false);
  if (!err)
    for (SlabCache* c : slab_caches())
      if ((err = setup_kmem_cache_node(c, node, /*force_change=*/false))) break;
  if (!err) return 0;
  cpuup_canceled(cpu);
  return -enomem;
}

int SlabAllocator::prepare_cpu(int cpu) {
  env_->sync();
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_prepare_cpu");
  const int err = cpuup_prepare(cpu);
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  // The CPU joins cpumask_of_node() after this step (the model marks it online here).
  if (!err) cpu_online_[cpu] = true;
  return err;
}

void SlabAllocator::cpuup_canceled(int cpu) {
  const int node = numa_mem_id(cpu);
  const bool node_has_cpus = nr_cpus_node(node) > 0;  // !cpumask_empty(cpumask_of_node(node))
  for (SlabCache* c : slab_caches()) {
    SlabCacheNode* n = c->node[node];
    if (!n) continue;
    std::vector<SlabPage*> list;
    env_->irq_disable();
    list_lock(n, "cpuup_canceled");
    n->free_limit -= c->batchcount;
    // The CPU is dead; nobody allocates from its array any more.
    ArrayCache& nc = c->cpu_cache[cpu];
    free_block(c, nc.entry.data(), nc.entry.size(), node, list);
    nc.entry.clear();
    if (node_has_cpus) {
      list_unlock(n);
      env_->irq_enable();
      slabs_destroy(c, list);
      continue;
    }
    std::unique_ptr<ArrayCache> shared = std::move(n->shared);
    if (shared) free_block(c, shared->entry.data(), shared->entry.size(), node, list);
    std::unique_ptr<AlienArray> alien = std::move(n->alien);
    list_unlock(n);
    env_->irq_enable();
    kfree_array(std::move(shared));
    if (alien) {
      drain_alien_cache(c, *alien);
      free_alien_cache(std::move(alien));
    }
    slabs_destroy(c, list);
  }
  // Every object is back in its slab: now the node lists can shrink to nothing.
  for (SlabCache* c : slab_caches())
    if (SlabCacheNode* n = c->node[node]) drain_freelist(c, n, LONG_MAX);
}

void SlabAllocator::dead_cpu(int cpu) {
  env_->sync();
  cpu_online_[cpu] = false;  // already out of cpumask_of_node() when CPUHP_SLAB_PREPARE tears down
  env_->lock(LockClass::slab_mutex, 0, LockMode::exclusive, "slab_dead_cpu");
  cpuup_canceled(cpu);
  env_->unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
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

// ---------------------------------------------------------------------------------------------
// Reports

CacheReport SlabAllocator::cache_report(const Cache* s, const std::vector<bool>&) const {
  const auto& c = *static_cast<const SlabCache*>(s);
  CacheReport r;
  r.counters = {
      {"num_allocations", c.num_allocations},
      {"high_mark", c.high_mark},
      {"grown", c.grown},
      {"reaped", c.reaped},
      {"errors", c.errors},
      {"max_freeable", c.max_freeable},
      {"node_allocs", c.node_allocs},
      {"node_frees", c.node_frees},
      {"node_overflow", c.node_overflow},
      {"allochit", c.allochit},
      {"allocmiss", c.allocmiss},
      {"freehit", c.freehit},
      {"freemiss", c.freemiss},
  };
  r.objects_in_use = c.allocs - c.frees;
  return r;
}

std::uint64_t SlabAllocator::slabs_allocated() const {
  std::uint64_t total = 0;
  for (const auto& c : caches_)
    total += c->grown;
  return total;
}

}  // namespace slabsim::alloc
