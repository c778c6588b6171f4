// SLAB's half of /proc/slabinfo "2.1 (statistics)" (mm/slab.c get_slabinfo() and
// slabinfo_show_stats() with CONFIG_DEBUG_SLAB, v5.10; slab_common prints the rows). A pure read
// of the model: no locks, nothing changes.
#include <fmt/format.h>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

// get_slabinfo(): SLAB knows its free objects exactly (n->free_objects), so objects in array
// caches count as active; active_slabs leaves out the free slabs.
SlabInfo SlabAllocator::get_slabinfo(const Cache& s) const {
  const auto& c = static_cast<const SlabCache&>(s);
  unsigned long total_slabs = 0, free_slabs = 0, free_objs = 0, shared_avail = 0;
  for (const SlabCacheNode* n : c.node) {  // for_each_kmem_cache_node()
    if (!n) continue;
    total_slabs += n->total_slabs;
    free_slabs += n->free_slabs;
    free_objs += n->free_objects;
    if (n->shared) shared_avail += n->shared->avail();
  }
  const unsigned long num_objs = total_slabs * c.num;
  SlabInfo info;
  info.active_objs = num_objs - free_objs;
  info.num_objs = num_objs;
  info.active_slabs = total_slabs - free_slabs;
  info.num_slabs = total_slabs;
  info.shared_avail = shared_avail;
  info.limit = c.limit;
  info.batchcount = c.batchcount;
  info.shared = c.shared;
  info.objects_per_slab = c.num;
  info.cache_order = c.gfporder;
  return info;
}

// slabinfo_show_stats(): the STATS counters, " : globalstat ..." and " : cpustat ...".
std::string SlabAllocator::slabinfo_show_stats(const Cache& s) const {
  const auto& c = static_cast<const SlabCache&>(s);
  std::string out =
      fmt::format(" : globalstat {:>7} {:>6} {:>5} {:>4} {:>4} {:>4} {:>4} {:>4} {:>4}",
                  c.num_allocations, c.high_mark, c.grown, c.reaped, c.errors, c.max_freeable,
                  c.node_allocs, c.node_frees, c.node_overflow);
  out += fmt::format(" : cpustat {:>6} {:>6} {:>6} {:>6}", c.allochit, c.allocmiss, c.freehit,
                     c.freemiss);
  return out;
}

}  // namespace slabsim::alloc
