// SlubAllocator::check_invariants(): the model's consistency checks, run after any operation. A
// broken invariant is how the historical races show (a cache missing the kmem_cache_node of a
// usable node; a struct used after it was freed); the checker records them, never stops the model.
// The kernel's nearest is CONFIG_SLUB_DEBUG's validate_slab_cache() (the sysfs validate file),
// which runs only on request.
#include <fmt/format.h>

#include <vector>

#include "allocator/slub/slub.hpp"

namespace slabsim::alloc {

namespace {

// What the walk over a cache's slabs counted, for the checks of the node counters and of object
// conservation that follow it.
struct SlabCounts {
  std::vector<long> slabs_per_node;
  std::vector<long> objects_per_node;
  long live_objects = 0;
};

// Length of a free-pointer chain, or -1 if it leaves the slab or loops; marks each object seen.
int chain_length(const Slab& page, std::uint16_t head, std::vector<bool>& seen) {
  int length = 0;
  for (std::uint16_t o = head; o != no_object; o = page.free_pointer[o]) {
    if (o >= page.objects || seen[o]) return -1;
    seen[o] = true;
    ++length;
  }
  return length;
}

// Every node the strategy lets SLUB use has the cache's struct, and no struct is a freed one.
void check_node_structs(const SlubAllocator& slub, const KmemCache& s,
                        const InvariantReport& report) {
  for (int nid = 0; nid < static_cast<int>(s.node.size()); ++nid) {
    if (slub.node_usable(nid) && !s.node[nid])
      report(
          fmt::format("cache {} has no kmem_cache_node for node {}, which SLUB considers "
                      "usable ({})",
                      s.name, nid,
                      slub.strategy().usable_nodes == UsableNodes::slab_nodes ? "slab_nodes"
                                                                              : "N_NORMAL_MEMORY"),
          ViolationKind::missing_node);
    if (s.node[nid] && s.node[nid]->freed)
      report(fmt::format("cache {} points at the freed kmem_cache_node of node {}", s.name, nid),
             ViolationKind::use_after_free);
  }
}

// One slab: frozen exactly when on a per-CPU list, the cpu slab of one CPU at most, free-pointer
// chains inside the slab and disjoint, inuse matching them, not full on a partial list. Adds the
// slab to `counts`.
void check_slab(const KmemCache& s, const Slab& page, SlabCounts& counts,
                const InvariantReport& report) {
  const int nid = page.pages.node;
  if (!s.node[nid]) {
    report(fmt::format("cache {} has a slab on node {} but no kmem_cache_node there", s.name, nid),
           ViolationKind::missing_node);
  } else {
    ++counts.slabs_per_node[nid];
    counts.objects_per_node[nid] += page.objects;
  }
  const bool frozen_place =
      page.where == Slab::Where::cpu_slab || page.where == Slab::Where::cpu_partial;
  if (page.frozen != frozen_place)
    report(fmt::format("cache {}: slab #{} is {} but {} a per-CPU list", s.name, page.serial,
                       page.frozen ? "frozen" : "not frozen", frozen_place ? "on" : "not on"));
  std::vector<bool> seen(page.objects, false);
  const int on_page = chain_length(page, page.freelist, seen);
  int on_cpu = 0;
  if (page.where == Slab::Where::cpu_slab) {
    int owners = 0;
    for (const auto& c : s.cpu_slab) {
      if (c.page != &page) continue;
      ++owners;
      on_cpu = chain_length(page, c.freelist, seen);
    }
    if (owners != 1)
      report(fmt::format("cache {}: slab #{} is the cpu slab of {} CPUs", s.name, page.serial,
                         owners));
  }
  if (on_page < 0 || on_cpu < 0) {
    report(fmt::format("cache {}: slab #{} has a corrupt or shared freelist", s.name, page.serial));
    return;
  }
  if (page.objects - page.inuse != on_page)
    report(fmt::format("cache {}: slab #{} counts inuse {} of {} but holds {} free objects", s.name,
                       page.serial, page.inuse, page.objects, on_page));
  counts.live_objects += page.inuse - on_cpu;
  if (page.where == Slab::Where::node_partial && on_page == 0)
    report(fmt::format("cache {}: full slab #{} is on a partial list", s.name, page.serial));
}

// Per-CPU partial chains hold frozen slabs of this cache only.
void check_cpu_partial_chains(const KmemCache& s, const InvariantReport& report) {
  for (std::size_t c = 0; c < s.cpu_slab.size(); ++c)
    for (const Slab* p = s.cpu_slab[c].partial; p; p = p->next)
      if (p->cache != &s || !p->frozen || p->where != Slab::Where::cpu_partial)
        report(
            fmt::format("cache {}: CPU {}'s partial list holds a slab that is not a frozen "
                        "cpu partial slab of the cache",
                        s.name, c));
}

// Each node's partial list holds unfrozen slabs of its node and cache, as many as nr_partial
// says; nr_slabs and total_objects match the slabs the walk found there.
void check_node_lists(const KmemCache& s, const SlabCounts& counts, const InvariantReport& report) {
  for (int nid = 0; nid < static_cast<int>(s.node.size()); ++nid) {
    const KmemCacheNode* n = s.node[nid];
    if (!n) continue;
    std::size_t counted = 0;
    for (const Slab* p = n->partial.front(); p; p = p->next, ++counted) {
      if (p->cache != &s || p->pages.node != nid || p->frozen ||
          p->where != Slab::Where::node_partial)
        report(
            fmt::format("cache {}: node {}'s partial list holds a slab that does not belong "
                        "there (frozen, other node or other cache)",
                        s.name, nid));
    }
    if (counted != n->nr_partial)
      report(fmt::format("cache {}: node {} has nr_partial {} but {} slabs on its partial list",
                         s.name, nid, n->nr_partial, counted));
    if (n->nr_slabs != counts.slabs_per_node[nid] ||
        n->total_objects != counts.objects_per_node[nid])
      report(fmt::format("cache {}: node {} counts {} slabs / {} objects but holds {} / {}", s.name,
                         nid, n->nr_slabs, n->total_objects, counts.slabs_per_node[nid],
                         counts.objects_per_node[nid]));
  }
}

// Objects allocated and not freed are the objects the slabs hold in use.
void check_object_conservation(const KmemCache& s, const SlabCounts& counts,
                               const InvariantReport& report) {
  const long expected = static_cast<long>(s.allocs) - static_cast<long>(s.frees);
  if (counts.live_objects != expected)
    report(fmt::format("cache {}: {} objects allocated and not freed, but slabs hold {} in use",
                       s.name, expected, counts.live_objects));
}

}  // namespace

int SlubAllocator::check_invariants(const char* function) {
  const InvariantReport report(common_, env_->current_cpu(), function);
  for (const KmemCache* s : slab_caches()) {
    check_node_structs(*this, *s, report);
    SlabCounts counts;
    counts.slabs_per_node.assign(s->node.size(), 0);
    counts.objects_per_node.assign(s->node.size(), 0);
    for (const Slab* page : slabs_of(s))
      check_slab(*s, *page, counts, report);
    check_cpu_partial_chains(*s, report);
    check_node_lists(*s, counts, report);
    check_object_conservation(*s, counts, report);
  }
  return report.recorded();
}

}  // namespace slabsim::alloc
