// What SLAB shows of itself to the simulator's reports: the CONFIG_DEBUG_SLAB counters per cache
// and the slabs it took from the page allocator.
#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

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
