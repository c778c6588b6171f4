// Allocation flags and node ids, as far as the model distinguishes them (include/linux/gfp.h).
#pragma once

#include <cstdint>

namespace slabsim::alloc {

inline constexpr int numa_no_node = -1;  // NUMA_NO_NODE

enum Gfp : std::uint32_t {
  gfp_kernel = 0,             // GFP_KERNEL: ZONE_NORMAL, may sleep
  gfp_movable = 1u << 0,      // __GFP_MOVABLE: may use ZONE_MOVABLE (user pages, not slab)
  gfp_thisnode = 1u << 1,     // __GFP_THISNODE: the preferred node only, no fallback
  gfp_nowarn = 1u << 2,       // __GFP_NOWARN
  gfp_noretry = 1u << 3,      // __GFP_NORETRY
  gfp_atomic = 1u << 4,       // GFP_ATOMIC: may not sleep
  gfp_reclaimable = 1u << 5,  // __GFP_RECLAIMABLE: SLAB_RECLAIM_ACCOUNT slabs (gfp_migratetype())
};

constexpr Gfp operator|(Gfp a, Gfp b) {
  return static_cast<Gfp>(std::uint32_t(a) | b);
}

}  // namespace slabsim::alloc
