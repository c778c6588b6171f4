// What SLUB shows of itself to the simulator's reports: per-cache statistics and object counts,
// and the slabs it took from the page allocator.
#include <fmt/format.h>

#include <algorithm>

#include "allocator/slub/slub.hpp"
#include "allocator/slub/slub_sysfs.hpp"

namespace slabsim::alloc {

CacheReport SlubAllocator::cache_report(const Cache* c,
                                        const std::vector<bool>& online_cpus) const {
  const auto& s = *static_cast<const KmemCache*>(c);
  CacheReport r;
  for (int k = 0; k < NR_SLUB_STAT_ITEMS; ++k) {
    const auto item = static_cast<StatItem>(k);
    r.counters.emplace_back(stat_item_name(item), s.stat_total(item));
  }
  r.alloc_node_mismatch = s.stat_total(ALLOC_NODE_MISMATCH);
  for (StatItem item : sysfs_stat_order())
    r.counters_text += fmt::format("{} {}", stat_item_sysfs_name(item),
                                   sysfs_stat_file(s, item, online_cpus, shown_cpus_));
  for (const Slab* slab : slabs_of(&s)) {
    r.objects_in_use += slab->inuse;
    // Objects on a cpu freelist are counted in inuse but are free.
    for (const auto& pc : s.cpu_slab)
      if (pc.page == slab)
        for (std::uint16_t o = pc.freelist; o != no_object; o = slab->free_pointer[o])
          --r.objects_in_use;
  }
  return r;
}

std::uint64_t SlubAllocator::slabs_allocated() const {
  std::uint64_t total = 0;
  for (const KmemCache* s : all_caches())
    total += s->stat_total(ALLOC_SLAB);
  return total;
}

std::vector<const KmemCache*> SlubAllocator::all_caches() const {
  std::vector<const KmemCache*> out;
  for (const auto& c : caches_)
    out.push_back(c.get());
  return out;
}

std::vector<const Slab*> SlubAllocator::slabs_of(const KmemCache* s) const {
  std::vector<const Slab*> out;
  for (const auto& p : slab_pool_.all())
    if (p->cache == s && p->where != Slab::Where::rcu_free) out.push_back(p.get());
  std::sort(out.begin(), out.end(),
            [](const Slab* a, const Slab* b) { return a->serial < b->serial; });
  return out;
}

}  // namespace slabsim::alloc
