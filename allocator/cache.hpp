// What every model's struct kmem_cache and every object have in common, as far as
// mm/slab_common.c and the simulator read them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "allocator/slab_flags.hpp"

namespace slabsim::alloc {

// The fields of struct kmem_cache that mm/slab_common.c itself reads and writes for every
// allocator (mm/slab.h lists them for SLOB, whose struct has little else); each model's struct
// kmem_cache derives from it.
struct Cache {
  std::string name;
  // Creation serial (SlabCommon::new_cache_id()): where the kernel would use the struct's
  // address, e.g. the kernfs instance of SLUB's sysfs directory, or the spread of SLAB's reaps.
  std::uint64_t id = 0;
  // s->size: the object with its metadata and alignment, what /proc/slabinfo shows as <objsize>.
  unsigned size = 0;
  // s->flags, and whether s->ctor is set (flags.has_ctor): find_mergeable() and
  // slab_unmergeable() read them for every allocator.
  CacheFlags flags;
  // kmem_cache_destroy() releases the cache when it drops to 0; __kmem_cache_alias() adds one per
  // merged create; boot caches hold -1 (create_boot_cache(): exempt from merging), so they are
  // never released nor merge targets.
  int refcount = 1;
  // s->usersize, the usercopy whitelist: kmem_cache_create() passes 0, create_kmalloc_cache()
  // the object size, and slab_unmergeable() keeps a cache with one out of every merge.
  unsigned usersize = 0;
  bool listed = false;  // on slab_caches
  // Released by kmem_cache_destroy(). The struct stays, as a tombstone, so that a stale user is
  // reported as a use-after-free instead of crashing the model.
  bool destroyed = false;
  // Allocations that asked for a node the allocator could not use there and went elsewhere,
  // by requested node: SLUB's NUMA_NO_NODE fallback in ___slab_alloc(), SLAB's fallback_alloc()
  // for a node without its kmem_cache_node. SLOB never redirects a request (all zero).
  std::vector<std::uint64_t> fallback_to_no_node;
};

// An allocated object: the model's slab (or page) struct and the object's place in it.
struct ObjectRef {
  void* slab = nullptr;
  std::uint32_t index = 0;
  int node = 0;  // page_to_nid() of the object's page
  explicit operator bool() const { return slab != nullptr; }
  bool operator==(const ObjectRef&) const = default;
};

}  // namespace slabsim::alloc
