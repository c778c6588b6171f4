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

namespace {

const SlabCache& slab_cache(const Cache& s) {
  return static_cast<const SlabCache&>(s);
}

template <auto Field>
LayoutValue slab_field(const Cache& s, std::string_view) {
  return {.number = slab_cache(s).*Field};
}

// cachep->flags: what CACHE_CREATE_MASK keeps with CONFIG_DEBUG_SLAB, then the placement of the
// freelist index array that set_objfreelist_slab_cache() (CFLGS_OBJFREELIST_SLAB, 0x40000000)
// or set_off_slab_cache() (CFLGS_OFF_SLAB, 0x80000000) adds; on-slab adds none.
LayoutValue slab_flags(const Cache& s, std::string_view) {
  const SlabCache& c = slab_cache(s);
  LayoutValue v{.flags = slab_flag_names(c.flags, {})};
  if (c.mgmt == SlabMgmt::objfreelist) v.flags.emplace_back("CFLGS_OBJFREELIST_SLAB");
  if (c.mgmt == SlabMgmt::off_slab) v.flags.emplace_back("CFLGS_OFF_SLAB");
  return v;
}

}  // namespace

const std::vector<LayoutField>& slab_layout_fields() {
  using T = LayoutType;
  using C = SlabCache;
  static const std::vector<LayoutField> fields = {
      {"object_size", T::number, "cachep->object_size: the size asked for",
       slab_field<&C::object_size>},
      {"size", T::number, "cachep->size: the object aligned; /proc/slabinfo <objsize>",
       slab_field<&Cache::size>},
      {"align", T::number, "cachep->align", slab_field<&C::align>},
      {"num", T::number, "cachep->num: objects per slab; /proc/slabinfo <objperslab>",
       slab_field<&C::num>},
      {"gfporder", T::number, "cachep->gfporder: /proc/slabinfo <pagesperslab> is 1 << gfporder",
       slab_field<&C::gfporder>},
      {"colour", T::number, "cachep->colour: colours (offsets) a slab can start at",
       slab_field<&C::colour>},
      {"colour_off", T::number, "cachep->colour_off: bytes between two colours",
       slab_field<&C::colour_off>},
      {"limit", T::number, "cachep->limit: per-CPU array size; slabinfo tunables <limit>",
       slab_field<&C::limit>},
      {"batchcount", T::number, "cachep->batchcount: refill batch; tunables <batchcount>",
       slab_field<&C::batchcount>},
      {"shared", T::number, "cachep->shared: shared array factor; tunables <sharedfactor>",
       slab_field<&C::shared>},
      {"flags", T::flags, "cachep->flags (CONFIG_DEBUG_SLAB keeps the debug flags)", slab_flags},
      {"merged_into", T::cache, "__kmem_cache_alias(): the cache returned; null: not merged",
       [](const Cache& s, std::string_view requested) {
         return LayoutValue{.cache = merged_into(s, requested)};
       }},
  };
  return fields;
}

}  // namespace slabsim::alloc
