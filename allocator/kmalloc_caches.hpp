// create_kmalloc_caches() (mm/slab_common.c): the kmalloc caches a kernel makes at boot, named
// as kmalloc_info[] names them, with the flags new_kmalloc_cache() gives each type, in the
// order the kernel creates them (which is slab_caches' order, newest first, and so the order of
// /proc/slabinfo and of every walk of the caches).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "allocator/slab_flags.hpp"
#include "allocator/strategy.hpp"

namespace slabsim::alloc {

// enum kmalloc_cache_type (include/linux/slab.h).
enum class KmallocType {
  normal,   // KMALLOC_NORMAL: "kmalloc-<size>"
  reclaim,  // KMALLOC_RECLAIM: "kmalloc-rcl-<size>", SLAB_RECLAIM_ACCOUNT (v4.20, 1291523f2c1d)
  dma,      // KMALLOC_DMA (CONFIG_ZONE_DMA): "dma-kmalloc-<size>", SLAB_CACHE_DMA
  cgroup,   // KMALLOC_CGROUP (CONFIG_MEMCG_KMEM, v5.14, 494c1dfe855e): "kmalloc-cg-<size>",
            // SLAB_ACCOUNT
};

// What one kernel's configuration and generation make of create_kmalloc_caches().
struct KmallocFamily {
  unsigned shift_low = 3;    // KMALLOC_SHIFT_LOW: ilog2(KMALLOC_MIN_SIZE)
  unsigned shift_high = 13;  // KMALLOC_SHIFT_HIGH
  // The types of the main loop, in enum kmalloc_cache_type order.
  std::vector<KmallocType> types;
  // v4.20-v5.13: the DMA caches are made after the main loop, by index from 0, so the 96- and
  // 192-byte ones come first; v5.14+ make them in the main loop.
  bool dma_after = false;
  // v5.14+ with CONFIG_MEMCG_KMEM: new_kmalloc_cache() sets KMALLOC_NORMAL's refcount to -1, so
  // nothing merges into them.
  bool normal_refcount_minus_one = false;
  // What the allocator passes in `flags`: SLAB's ARCH_KMALLOC_FLAGS (SLAB_HWCACHE_ALIGN), SLUB's
  // 0.
  CacheFlags flags;
};

struct KmallocCache {
  std::string name;
  unsigned size = 0;
  KmallocType type = KmallocType::normal;
  CacheFlags flags;
  int refcount = 1;  // create_kmalloc_cache() sets 1; see normal_refcount_minus_one
};

// SLUB's family per generation, as Debian's x86_64 configuration builds it (CONFIG_ZONE_DMA,
// CONFIG_MEMCG_KMEM): kmalloc-8 ... kmalloc-8k (KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1), 13 sizes
// per type: 39 caches for v5.10 and v5.12, 52 for v6.1.
KmallocFamily slub_kmalloc_family(SlubVersion version);
// SLAB's (mm/slab.c v5.10): kmalloc-32 ... kmalloc-4M (KMALLOC_SHIFT_HIGH = MAX_ORDER +
// PAGE_SHIFT - 1), SLAB_HWCACHE_ALIGN, 19 sizes of three types.
KmallocFamily slab_kmalloc_family();

// The caches in creation order.
std::vector<KmallocCache> kmalloc_boot_caches(const KmallocFamily& family);

// kmalloc_info[].name[type] of a kmalloc size: "kmalloc-96", "kmalloc-rcl-1k", "dma-kmalloc-4M".
std::string kmalloc_cache_name(KmallocType type, unsigned size);
// Whether `name` is one of the kmalloc family's, of any type and generation: such a cache is
// made by kmem_cache_init(), never by kmem_cache_create().
bool is_kmalloc_cache_name(std::string_view name);
// The object size of a kmalloc cache's name ("kmalloc-rcl-1k": 1024); 0 for other names.
unsigned kmalloc_cache_size(std::string_view name);
// kmalloc_slab()'s choice for SLUB on x86_64 (size_index[] and fls()): the smallest kmalloc size
// of at least `size` bytes (96 and 192 included, 8 at least); 0 above kmalloc-8k, which SLUB
// hands to the page allocator.
unsigned slub_kmalloc_size(unsigned size);

}  // namespace slabsim::alloc
