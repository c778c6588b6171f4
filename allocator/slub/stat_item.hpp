// SLUB's statistics counters (enum stat_item, include/linux/slub_def.h, v5.10 = v5.11 = v5.12).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace slabsim::alloc {

enum StatItem : std::uint8_t {
  ALLOC_FASTPATH,           // allocation from the cpu freelist
  ALLOC_SLOWPATH,           // entered ___slab_alloc
  FREE_FASTPATH,            // free into the current cpu slab
  FREE_SLOWPATH,            // entered __slab_free
  FREE_FROZEN,              // slow free into a frozen slab
  FREE_ADD_PARTIAL,         // free or unfreeze put a slab on a node partial list
  FREE_REMOVE_PARTIAL,      // free emptied a slab that was on a node partial list
  ALLOC_FROM_PARTIAL,       // cpu slab taken from a node partial list
  ALLOC_SLAB,               // cpu slab freshly allocated from the page allocator
  ALLOC_REFILL,             // cpu freelist refilled from page->freelist (remote frees)
  ALLOC_NODE_MISMATCH,      // cpu slab dropped because it was on the wrong node
  FREE_SLAB,                // slab returned to the page allocator
  CPUSLAB_FLUSH,            // flush_slab()
  DEACTIVATE_FULL,          // deactivated slab was full
  DEACTIVATE_EMPTY,         // deactivated slab was empty and discarded
  DEACTIVATE_TO_HEAD,       // deactivated slab added at the head of the partial list
  DEACTIVATE_TO_TAIL,       // ... at the tail
  DEACTIVATE_REMOTE_FREES,  // deactivated slab had remote frees on page->freelist
  DEACTIVATE_BYPASS,        // cpu slab abandoned because get_freelist() found nothing
  ORDER_FALLBACK,           // fell back to s->min's order
  CMPXCHG_DOUBLE_CPU_FAIL,  // this_cpu_cmpxchg_double failed (fast paths)
  CMPXCHG_DOUBLE_FAIL,      // slab freelist/counters cmpxchg failed
  CPU_PARTIAL_ALLOC,        // cpu slab taken from the cpu partial list
  CPU_PARTIAL_FREE,         // slow free froze a full slab onto the cpu partial list
  CPU_PARTIAL_NODE,         // extra slab moved from node partial to cpu partial list
  CPU_PARTIAL_DRAIN,        // cpu partial list drained to node lists
  NR_SLUB_STAT_ITEMS
};

inline constexpr int nr_slub_stat_items = NR_SLUB_STAT_ITEMS;

// The enum names ("ALLOC_FASTPATH") and the sysfs file names ("alloc_fastpath").
std::string_view stat_item_name(StatItem item);
std::string_view stat_item_sysfs_name(StatItem item);
// The order /sys/kernel/slab/<cache>/ lists the stat attributes in slub.c's attribute array,
// which puts cmpxchg_double_fail before cmpxchg_double_cpu_fail (the reverse of the enum).
const std::array<StatItem, NR_SLUB_STAT_ITEMS>& sysfs_stat_order();

}  // namespace slabsim::alloc
