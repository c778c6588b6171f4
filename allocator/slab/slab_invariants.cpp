// SlabAllocator::check_invariants(): the SLAB model's consistency checks, run after any
// operation. They record what is broken (each distinct problem once) and never stop the model.
#include <fmt/format.h>

#include <map>
#include <set>
#include <utility>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

int SlabAllocator::check_invariants(const char* function) {
  const std::size_t before = common_.violation_count();
  const int cpu = env_->current_cpu();
  auto report = [&](std::string what, ViolationKind kind = ViolationKind::other) {
    common_.invariant_violation(cpu, function, std::move(what), kind);
  };
  const int nodes = layout_.nr_node_ids();

  for (SlabCache* c : slab_caches()) {
    // A node struct wherever SLAB can be asked to use one: every N_ONLINE node that has memory
    // or an online CPU. (An N_ONLINE node that is neither, between hot-add and
    // MEM_GOING_ONLINE, is legitimately without: slab_alloc_node() falls back there.)
    for (int nid = 0; nid < nodes; ++nid) {
      if (c->node[nid] || !states_.test(nid, NodeState::online)) continue;
      if (states_.test(nid, NodeState::memory) || nr_cpus_node(nid) > 0)
        report(fmt::format("cache {} has no kmem_cache_node for node {}, which is N_ONLINE "
                           "and has {}",
                           c->name, nid,
                           states_.test(nid, NodeState::memory) ? "memory" : "online CPUs"),
               ViolationKind::missing_node);
    }

    // Objects held by the array caches, by slab.
    std::map<const SlabPage*, long> cached;
    std::set<std::pair<const SlabPage*, std::uint16_t>> seen;
    long cached_total = 0;
    auto count_array = [&](const ArrayCache& ac, int want_node, const char* what) {
      if (ac.avail() > ac.limit)
        report(fmt::format("cache {}: {} holds {} objects over its limit {}", c->name, what,
                           ac.avail(), ac.limit));
      for (const SlabObject& o : ac.entry) {
        if (o.page->cache != c) {
          report(fmt::format("cache {}: {} holds an object of another cache", c->name, what));
          continue;
        }
        if (want_node >= 0 && o.page->pages.node != want_node)
          report(fmt::format("cache {}: {} holds an object of node {}, not node {}", c->name, what,
                             o.page->pages.node, want_node));
        if (!seen.insert({o.page, o.index}).second)
          report(fmt::format("cache {}: object {} of slab #{} is cached twice (a double free)",
                             c->name, o.index, o.page->serial));
        ++cached[o.page];
        ++cached_total;
      }
    };
    for (std::size_t k = 0; k < c->cpu_cache.size(); ++k)
      count_array(c->cpu_cache[k], -1, "a per-CPU array");
    for (int nid = 0; nid < nodes; ++nid) {
      const SlabCacheNode* n = c->node[nid];
      if (!n) continue;
      if (n->shared) count_array(*n->shared, nid, "a shared array");
      if (n->alien)
        for (int r = 0; r < nodes; ++r)
          if (n->alien->caches[r]) count_array(n->alien->caches[r]->ac, r, "an alien cache");
    }

    long active_total = 0;
    unsigned long slabs_total = 0;
    for (int nid = 0; nid < nodes; ++nid) {
      const SlabCacheNode* n = c->node[nid];
      if (!n) continue;
      unsigned long free_objects = 0;
      auto walk = [&](const std::list<SlabPage*>& list, SlabListKind kind, const char* name) {
        for (const SlabPage* page : list) {
          if (page->cache != c || page->list != kind)
            report(
                fmt::format("cache {}: node {}'s {} list holds a slab that does not belong "
                            "there",
                            c->name, nid, name));
          if (page->pages.node != nid)
            report(fmt::format("cache {}: a slab of node {} is on node {}'s {} list", c->name,
                               page->pages.node, nid, name));
          const bool right = kind == SlabListKind::free ? page->active == 0
                             : kind == SlabListKind::full
                                 ? page->active == c->num
                                 : page->active > 0 && page->active < c->num;
          if (!right)
            report(
                fmt::format("cache {}: slab #{} with {} of {} objects active is on node {}'s "
                            "{} list",
                            c->name, page->serial, page->active, c->num, nid, name));
          free_objects += c->num - page->active;
          active_total += page->active;
          const auto it = cached.find(page);
          if (it != cached.end() && it->second > static_cast<long>(page->active))
            report(
                fmt::format("cache {}: slab #{} has more objects in array caches than it has "
                            "handed out",
                            c->name, page->serial));
        }
      };
      walk(n->slabs_partial, SlabListKind::partial, "partial");
      walk(n->slabs_full, SlabListKind::full, "full");
      walk(n->slabs_free, SlabListKind::free, "free");
      const unsigned long on_lists =
          n->slabs_partial.size() + n->slabs_full.size() + n->slabs_free.size();
      slabs_total += on_lists;
      if (n->total_slabs != on_lists || n->free_slabs != n->slabs_free.size())
        report(fmt::format(
            "cache {}: node {} counts {} slabs ({} free) but its lists hold {} "
            "({} free)",
            c->name, nid, n->total_slabs, n->free_slabs, on_lists, n->slabs_free.size()));
      if (n->free_objects != free_objects)
        report(fmt::format("cache {}: node {} counts {} free objects but its slabs hold {}",
                           c->name, nid, n->free_objects, free_objects));
    }
    if (slabs_total != c->live_slabs)
      report(fmt::format("cache {}: {} slabs are allocated but {} are on node lists", c->name,
                         c->live_slabs, slabs_total),
             ViolationKind::other);
    // Conservation: what the slabs handed out is in array caches or with a caller.
    const long in_use = static_cast<long>(c->allocs) - static_cast<long>(c->frees);
    if (active_total != cached_total + in_use)
      report(
          fmt::format("cache {}: slabs hold {} objects handed out, but array caches hold {} "
                      "and callers {}",
                      c->name, active_total, cached_total, in_use));
  }
  return static_cast<int>(common_.violation_count() - before);
}

}  // namespace slabsim::alloc
