// SlabAllocator::proc_slabinfo(): /proc/slabinfo as SLAB prints it with CONFIG_DEBUG_SLAB
// (mm/slab_common.c print_slabinfo_header() and cache_show(), mm/slab.c get_slabinfo() and
// slabinfo_show_stats(), v5.10). A pure read of the model: no locks, nothing changes.
#include <fmt/format.h>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

namespace {

std::string slabinfo_header_debug() {
  return "slabinfo - version: 2.1 (statistics)\n"
         "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
         " : tunables <limit> <batchcount> <sharedfactor>"
         " : slabdata <active_slabs> <num_slabs> <sharedavail>"
         " : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable>"
         " <nodeallocs> <remotefrees> <alienoverflow>"
         " : cpustat <allochit> <allocmiss> <freehit> <freemiss>\n";
}

// get_slabinfo(): SLAB knows its free objects exactly (n->free_objects), so objects in array
// caches count as active; active_slabs leaves out the free slabs.
std::string cache_show(const SlabCache& c) {
  unsigned long total_slabs = 0, free_slabs = 0, free_objs = 0, shared_avail = 0;
  for (const SlabCacheNode* n : c.node) {  // for_each_kmem_cache_node()
    if (!n) continue;
    total_slabs += n->total_slabs;
    free_slabs += n->free_slabs;
    free_objs += n->free_objects;
    if (n->shared) shared_avail += n->shared->avail();
  }
  const unsigned long num_objs = total_slabs * c.num;
  std::string row = fmt::format("{:<17} {:>6} {:>6} {:>6} {:>4} {:>4}", c.name,
                                num_objs - free_objs, num_objs, c.size, c.num, 1 << c.gfporder);
  row += fmt::format(" : tunables {:>4} {:>4} {:>4}", c.limit, c.batchcount, c.shared);
  row += fmt::format(" : slabdata {:>6} {:>6} {:>6}", total_slabs - free_slabs, total_slabs,
                     shared_avail);
  // slabinfo_show_stats()
  row += fmt::format(" : globalstat {:>7} {:>6} {:>5} {:>4} {:>4} {:>4} {:>4} {:>4} {:>4}",
                     c.num_allocations, c.high_mark, c.grown, c.reaped, c.errors, c.max_freeable,
                     c.node_allocs, c.node_frees, c.node_overflow);
  row += fmt::format(" : cpustat {:>6} {:>6} {:>6} {:>6}", c.allochit, c.allocmiss, c.freehit,
                     c.freemiss);
  row += '\n';
  return row;
}

}  // namespace

std::string SlabAllocator::proc_slabinfo() const {
  std::string out;
  for (const SlabCache* c : slab_caches()) {
    if (out.empty()) out = slabinfo_header_debug();  // slab_show(): before the first cache
    out += cache_show(*c);
  }
  return out;
}

}  // namespace slabsim::alloc
