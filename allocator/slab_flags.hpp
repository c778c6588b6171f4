// What every allocator shares of include/linux/slab.h and mm/slab_common.c: the cache flags the
// model distinguishes and the alignment every kmem_cache_create() derives from them.
#pragma once

#include <cstdint>

namespace slabsim::alloc {

inline constexpr unsigned cache_line_size = 64;  // cache_line_size() on x86_64

// The kmem_cache_create() flags that change layout or behaviour in the model.
struct CacheFlags {
  bool hwcache_align = false;    // SLAB_HWCACHE_ALIGN
  bool reclaim_account = false;  // SLAB_RECLAIM_ACCOUNT (__GFP_RECLAIMABLE pages)
  bool typesafe_by_rcu = false;  // SLAB_TYPESAFE_BY_RCU (free pointer outside the object)
  // SLAB_CACHE_DMA: the kernel takes such slabs from ZONE_DMA, which the model's machines do not
  // have (the dma-kmalloc caches exist, are walked and merge apart; their slabs come from the
  // normal zone).
  bool cache_dma = false;
  bool account = false;   // SLAB_ACCOUNT (memcg accounting: kmalloc-cg-*)
  bool has_ctor = false;  // a constructor (free pointer outside the object)
  // Debug flags (CONFIG_SLUB_DEBUG): they grow the object and make kmem_cache_debug() true,
  // which disables the cpu partial lists.
  bool red_zone = false;    // SLAB_RED_ZONE
  bool poison = false;      // SLAB_POISON
  bool store_user = false;  // SLAB_STORE_USER (also keeps a "full" list per node)

  [[nodiscard]] bool debug() const { return red_zone || poison || store_user; }
  // mm/slab_common.c SLAB_NEVER_MERGE, of the flags above: SLAB_RED_ZONE, SLAB_POISON,
  // SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU. (SLAB_TRACE, SLAB_NOLEAKTRACE, SLAB_FAILSLAB and
  // KASAN's SLAB_KASAN are not modelled; none is ever set.)
  [[nodiscard]] bool never_merge() const {
    return red_zone || poison || store_user || typesafe_by_rcu;
  }
  // mm/slab_common.c SLAB_MERGE_SAME, of the flags above: SLAB_RECLAIM_ACCOUNT, SLAB_CACHE_DMA,
  // SLAB_ACCOUNT (SLAB_CACHE_DMA32 is not modelled). Two caches merge only if these agree.
  [[nodiscard]] bool merge_same_equal(const CacheFlags& other) const {
    return reclaim_account == other.reclaim_account && cache_dma == other.cache_dma &&
           account == other.account;
  }
  bool operator==(const CacheFlags&) const = default;
};

// mm/slab_common.c: calculate_alignment(). SLAB_HWCACHE_ALIGN asks for the cache line, halved
// while the object fits in half of it, never below the caller's alignment; then at least
// ARCH_SLAB_MINALIGN and a multiple of the word size.
std::uint64_t calculate_alignment(const CacheFlags& flags, std::uint64_t align, std::uint64_t size);

}  // namespace slabsim::alloc
