// SLAB's data structures (mm/slab.c, mm/slab.h, include/linux/slab_def.h, v5.10) as the model
// keeps them. Objects are handles (slab page, index); the model keeps no payload memory, only
// each slab's index array of free objects, as the kernel's on-slab/off-slab freelist holds it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab_flags.hpp"

namespace slabsim::alloc {

struct SlabCache;
struct SlabPage;

// An object as the array caches hold it (a void * entry in the kernel).
struct SlabObject {
  SlabPage* page = nullptr;
  std::uint16_t index = 0;
  bool operator==(const SlabObject&) const = default;
};

// Where a slab is: which list of its node's kmem_cache_node.
enum class SlabListKind : std::uint8_t { none, partial, full, free };

// The slab fields of struct page (page->active, page->freelist, page->s_mem).
struct SlabPage {
  SlabCache* cache = nullptr;  // page->slab_cache
  PageBlockRef pages;          // page_to_nid() is pages.node
  unsigned active = 0;         // objects handed out of the slab (to callers or array caches)
  // The freelist index array: entries [active, num) are the free objects, taken from the
  // front by slab_get_obj() and put back below `active` by slab_put_obj().
  std::vector<std::uint16_t> freelist;
  ObjectRef freelist_object;  // OFF_SLAB: the kmalloc object holding the index array
  SlabListKind list = SlabListKind::none;
  std::list<SlabPage*>::iterator pos;  // its place on that list
  std::uint64_t serial = 0;            // creation order
};

// struct array_cache: the per-CPU arrays, the per-node shared array and each alien array.
struct ArrayCache {
  unsigned limit = 0;
  unsigned batchcount = 0;
  bool touched = false;
  std::vector<SlabObject> entry;  // entry.size() is ac->avail; LIFO at the back
  ObjectRef backing;              // the kmalloc object it lives in (none for the percpu arrays)
  [[nodiscard]] unsigned avail() const { return static_cast<unsigned>(entry.size()); }
};

// struct alien_cache: an array of objects of one remote node, with its own spinlock.
struct AlienCache {
  std::uint64_t lock_instance = 0;
  ArrayCache ac;
};

// The n->alien pointer array (kcalloc_node(nr_node_ids)) and the alien caches it points to.
struct AlienArray {
  ObjectRef backing;
  std::vector<std::unique_ptr<AlienCache>> caches;  // by remote node; null where none
};

// struct kmem_cache_node, SLAB's fields.
struct SlabCacheNode {
  // sizeof(struct kmem_cache_node) on x86_64: a spinlock, three list heads, five counters, the
  // shared and alien pointers, next_reap, free_touched.
  static constexpr std::size_t kernel_size = 120;

  int node = 0;
  std::uint64_t lock_instance = 0;  // n->list_lock
  // Its lockdep class: &parent->list_lock, or &ptr->list_lock for init_list()'s copies.
  LockClass lock_class = LockClass::slab_list_lock;
  std::list<SlabPage*> slabs_partial, slabs_full, slabs_free;
  unsigned long total_slabs = 0;
  unsigned long free_slabs = 0;
  unsigned long free_objects = 0;
  unsigned long free_limit = 0;
  unsigned colour_next = 0;
  std::unique_ptr<ArrayCache> shared;
  std::unique_ptr<AlienArray> alien;
  std::int64_t next_reap = 0;  // ns
  bool free_touched = false;
  ObjectRef backing;  // the kmalloc_node() object the struct lives in
  // Not the kernel's: the struct outlived a MEM_OFFLINE or MEM_CANCEL_ONLINE of its node, so the
  // next going-online callback reuses it (a struct a cache got at its creation, after the
  // node's hot-add, is only found there, not reused).
  bool left_by_hotplug = false;
};

// How the slab keeps its freelist index array (CFLGS_OBJFREELIST_SLAB, CFLGS_OFF_SLAB, or in
// the last bytes of the slab).
enum class SlabMgmt : std::uint8_t { objfreelist, off_slab, on_slab };

// struct kmem_cache (include/linux/slab_def.h) with the CONFIG_DEBUG_SLAB statistics.
struct SlabCache : Cache {
  unsigned object_size = 0;  // as requested
  unsigned align = 0;
  unsigned num = 0;       // objects per slab
  unsigned gfporder = 0;  // pages per slab = 1 << gfporder
  unsigned colour = 0;    // colours available
  unsigned colour_off = 0;
  SlabMgmt mgmt = SlabMgmt::on_slab;
  SlabCache* freelist_cache = nullptr;  // OFF_SLAB: the kmalloc cache of the index arrays
  // Tunables: the per-CPU array size, refill batch and shared factor.
  unsigned limit = 0;
  unsigned batchcount = 0;
  unsigned shared = 0;
  std::vector<ArrayCache> cpu_cache;  // every possible CPU
  std::vector<SlabCacheNode*> node;   // get_node(); nullptr where none
  std::vector<std::unique_ptr<SlabCacheNode>> node_store;
  ObjectRef backing;  // the kmem_cache object holding the struct (none for "kmem_cache")

  // STATS (CONFIG_DEBUG_SLAB), kernel names.
  std::uint64_t num_active = 0;
  std::uint64_t num_allocations = 0;
  std::uint64_t high_mark = 0;
  std::uint64_t grown = 0;
  std::uint64_t reaped = 0;
  std::uint64_t errors = 0;
  std::uint64_t max_freeable = 0;
  std::uint64_t node_allocs = 0;
  std::uint64_t node_frees = 0;
  std::uint64_t node_overflow = 0;
  std::uint64_t allochit = 0, allocmiss = 0, freehit = 0, freemiss = 0;

  // Model bookkeeping: objects handed to callers / given back, slabs alive.
  std::uint64_t allocs = 0, frees = 0;
  std::uint64_t live_slabs = 0;

  [[nodiscard]] SlabCacheNode* get_node(int nid) const { return node[nid]; }
};

}  // namespace slabsim::alloc
