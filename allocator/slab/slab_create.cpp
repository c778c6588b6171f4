// Creating and tuning a SLAB cache (mm/slab.c, v5.10): __kmem_cache_create() with the object
// layout (calculate_slab_order() and the freelist placement), setup_cpu_cache() ->
// enable_cpucache() -> do_tune_cpucache(), the per-node structs, shared arrays and alien caches
// of setup_kmem_cache_nodes(), and __kmem_cache_release(), which frees them again.
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

namespace {

constexpr unsigned bytes_per_word = 8;      // BYTES_PER_WORD on x86_64
constexpr unsigned slab_obj_min_size = 16;  // SLAB_OBJ_MIN_SIZE: min(KMALLOC_MIN_SIZE, 16)
constexpr unsigned freelist_idx_size = 1;   // freelist_idx_t is a byte: FREELIST_BYTE_INDEX
constexpr unsigned slab_obj_max_num = 255;  // SLAB_OBJ_MAX_NUM for a byte index
constexpr unsigned kmalloc_max_order = 10;  // KMALLOC_SHIFT_HIGH (22) - PAGE_SHIFT
constexpr unsigned alien_limit = 12;        // alloc_alien_cache(): limit > 1 becomes 12
constexpr int errno_inval = 22;             // EINVAL
constexpr int errno_2big = 7;               // E2BIG: __kmem_cache_create() finds no slab order

// Sizes of SLAB's own structures on x86_64: struct array_cache has four unsigned ints before the
// entries; struct alien_cache adds a spinlock.
constexpr std::size_t array_cache_header = 16;
constexpr std::size_t alien_cache_header = 24;

unsigned align_up(unsigned x, unsigned a) {
  return (x + a - 1) / a * a;
}

bool is_power_of_two(unsigned x) {
  return x && !(x & (x - 1));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The hooks of mm/slab_common.c: __kmem_cache_create(), __kmem_cache_release()

Cache* SlabAllocator::__kmem_cache_alias(const std::string& /*name*/, unsigned object_size,
                                         unsigned align, CacheFlags flags) {
  auto* cachep = static_cast<SlabCache*>(common_.find_mergeable(object_size, align, flags));
  if (!cachep) return nullptr;
  ++cachep->refcount;
  // "Adjust the object sizes so that we clear the complete object on kzalloc."
  cachep->object_size = std::max(cachep->object_size, object_size);
  return cachep;
}

CreatedCache SlabAllocator::__kmem_cache_create(const std::string& name, unsigned object_size,
                                                unsigned align, CacheFlags flags) {
  // SLAB has no sysfs, so two caches may share a name.
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

void SlabAllocator::__kmem_cache_release(Cache* s) {
  SlabCache* c = cache_of(s);
  // __kmem_cache_release(): the percpu arrays, each node's shared array, alien caches and the
  // node struct; then the struct kmem_cache itself (kmem_cache_free(kmem_cache, s)).
  for (auto& ac : c->cpu_cache)
    ac.entry.clear();
  for (int nid = 0; nid < layout_.nr_node_ids(); ++nid)
    if (c->node[nid]) free_cache_node(c, nid);
  kfree(c->backing);
  c->backing = {};
}

// ---------------------------------------------------------------------------------------------
// Object layout: __kmem_cache_create(), calculate_slab_order()

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
  c->cpu_cache.resize(layout_.nr_cpu_slots());
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
  // A shared array lets objects pass between CPUs; pointless on one CPU (num_possible_cpus():
  // the machine's CPUs, not the simulator's event-task ones).
  const unsigned shared = c->size <= page_size && layout_.num_present_cpus() > 1 ? 8 : 0;
  const unsigned batchcount = (limit + 1) / 2;
  const int err = do_tune_cpucache(c, limit, batchcount, shared);
  if (err) common_.log(fmt::format("enable_cpucache failed for {}, error {}", c->name, -err));
  return err;
}

int SlabAllocator::do_tune_cpucache(SlabCache* c, unsigned limit, unsigned batchcount,
                                    unsigned shared) {
  // alloc_kmem_cache_cpus(): fresh percpu arrays for every possible CPU (percpu memory, not a
  // kmalloc object); the old ones are emptied into the slabs.
  std::vector<ArrayCache> prev(layout_.nr_cpu_slots());
  std::swap(prev, c->cpu_cache);
  for (auto& ac : c->cpu_cache) {
    ac.limit = limit;
    ac.batchcount = batchcount;
  }
  c->batchcount = batchcount;
  c->limit = limit;
  c->shared = shared;
  for (int cpu = 0; cpu < layout_.nr_cpu_slots(); ++cpu) {
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
        for (int k = 0; k < layout_.nr_node_ids(); ++k)
          if (c->node[k]) free_cache_node(c, k);
      }
      return -enomem;
    }
  }
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

int SlabAllocator::init_cache_node(SlabCache* c, int node, bool from_hotplug) {
  if (SlabCacheNode* n = c->node[node]) {
    // Already there (another CPU of the node, or memory that came back): only the limit.
    env_->irq_disable();
    list_lock(n, "init_cache_node");
    n->free_limit = (1 + nr_cpus_node(node)) * c->batchcount + c->num;
    list_unlock(n);
    env_->irq_enable();
    if (from_hotplug && std::exchange(n->left_by_hotplug, false)) ++node_structs_.reused;
    return 0;
  }
  // kmalloc_node(): on the node if it has memory, else wherever the fallback lands.
  ObjectRef mem = kmalloc_node(SlabCacheNode::kernel_size, node);
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

// kfree(n->shared), free_alien_cache(n->alien), kfree(n), node[nid] = NULL: what both
// __kmem_cache_release() and setup_kmem_cache_nodes()'s roll-back do with a node's structs.
void SlabAllocator::free_cache_node(SlabCache* c, int nid) {
  SlabCacheNode* n = c->node[nid];
  kfree_array(std::move(n->shared));
  free_alien_cache(std::move(n->alien));
  kfree(n->backing);
  n->backing = {};
  env_->lock_freed(n->lock_class, n->lock_instance);
  c->node[nid] = nullptr;
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
  for (auto& alc : alien->caches) {
    if (!alc) continue;
    kfree(alc->ac.backing);
    env_->lock_freed(LockClass::alien_lock, alc->lock_instance);
  }
  kfree(alien->backing);
}

}  // namespace slabsim::alloc
