// SlabAllocator::check_invariants(): the SLAB model's consistency checks, run after any
// operation. They record what is broken (each distinct problem once) and never stop the model.
// No kernel function does this; CONFIG_DEBUG_SLAB checks single objects, not the lists.
#include <fmt/format.h>

#include <list>
#include <map>
#include <set>
#include <utility>

#include "allocator/slab/slab.hpp"

namespace slabsim::alloc {

// The checks of one cache, one a function, in the order they run.
class SlabInvariants {
 public:
  SlabInvariants(const SlabAllocator& slab, const SlabCache& c, const InvariantReport& report)
      : slab_(slab), c_(c), report_(report), nodes_(static_cast<int>(c.node.size())) {}

  void check() {
    check_node_structs();
    count_array_caches();
    for (int nid = 0; nid < nodes_; ++nid)
      if (const SlabCacheNode* n = c_.node[nid]) check_node(nid, *n);
    check_slab_count();
    check_conservation();
  }

 private:
  // A node struct wherever SLAB can be asked to use one: every N_ONLINE node that has memory or
  // an online CPU. (An N_ONLINE node that is neither, between hot-add and MEM_GOING_ONLINE, is
  // legitimately without: slab_alloc_node() falls back there.)
  void check_node_structs() {
    for (int nid = 0; nid < nodes_; ++nid) {
      if (c_.node[nid] || !slab_.states_.test(nid, NodeState::online)) continue;
      const bool memory = slab_.states_.test(nid, NodeState::memory);
      if (memory || slab_.nr_cpus_node(nid) > 0)
        report_(fmt::format("cache {} has no kmem_cache_node for node {}, which is N_ONLINE "
                            "and has {}",
                            c_.name, nid, memory ? "memory" : "online CPUs"),
                ViolationKind::missing_node);
    }
  }

  // The per-CPU arrays, then each node's shared array and alien caches: within their limits,
  // objects of this cache (and of the array's node), none twice.
  void count_array_caches() {
    for (const ArrayCache& ac : c_.cpu_cache)
      count_array(ac, -1, "a per-CPU array");
    for (int nid = 0; nid < nodes_; ++nid) {
      const SlabCacheNode* n = c_.node[nid];
      if (!n) continue;
      if (n->shared) count_array(*n->shared, nid, "a shared array");
      if (n->alien)
        for (int r = 0; r < nodes_; ++r)
          if (n->alien->caches[r]) count_array(n->alien->caches[r]->ac, r, "an alien cache");
    }
  }

  void count_array(const ArrayCache& ac, int want_node, const char* what) {
    if (ac.avail() > ac.limit)
      report_(fmt::format("cache {}: {} holds {} objects over its limit {}", c_.name, what,
                          ac.avail(), ac.limit));
    for (const SlabObject& o : ac.entry) {
      if (o.page->cache != &c_) {
        report_(fmt::format("cache {}: {} holds an object of another cache", c_.name, what));
        continue;
      }
      if (want_node >= 0 && o.page->pages.node != want_node)
        report_(fmt::format("cache {}: {} holds an object of node {}, not node {}", c_.name, what,
                            o.page->pages.node, want_node));
      if (!seen_.insert({o.page, o.index}).second)
        report_(fmt::format("cache {}: object {} of slab #{} is cached twice (a double free)",
                            c_.name, o.index, o.page->serial));
      ++cached_[o.page];
      ++cached_total_;
    }
  }

  // A node's three lists and its counters of slabs and free objects.
  void check_node(int nid, const SlabCacheNode& n) {
    unsigned long free_objects = 0;
    walk_list(nid, n.slabs_partial, SlabListKind::partial, "partial", free_objects);
    walk_list(nid, n.slabs_full, SlabListKind::full, "full", free_objects);
    walk_list(nid, n.slabs_free, SlabListKind::free, "free", free_objects);
    const unsigned long on_lists =
        n.slabs_partial.size() + n.slabs_full.size() + n.slabs_free.size();
    slabs_total_ += on_lists;
    if (n.total_slabs != on_lists || n.free_slabs != n.slabs_free.size())
      report_(
          fmt::format("cache {}: node {} counts {} slabs ({} free) but its lists hold {} "
                      "({} free)",
                      c_.name, nid, n.total_slabs, n.free_slabs, on_lists, n.slabs_free.size()));
    if (n.free_objects != free_objects)
      report_(fmt::format("cache {}: node {} counts {} free objects but its slabs hold {}", c_.name,
                          nid, n.free_objects, free_objects));
  }

  // Each slab of a list belongs there: this cache, this node, and the list its active count
  // calls for; no slab has more objects in array caches than it handed out.
  void walk_list(int nid, const std::list<SlabPage*>& list, SlabListKind kind, const char* name,
                 unsigned long& free_objects) {
    for (const SlabPage* page : list) {
      if (page->cache != &c_ || page->list != kind)
        report_(fmt::format("cache {}: node {}'s {} list holds a slab that does not belong there",
                            c_.name, nid, name));
      if (page->pages.node != nid)
        report_(fmt::format("cache {}: a slab of node {} is on node {}'s {} list", c_.name,
                            page->pages.node, nid, name));
      const bool right = kind == SlabListKind::free   ? page->active == 0
                         : kind == SlabListKind::full ? page->active == c_.num
                                                      : page->active > 0 && page->active < c_.num;
      if (!right)
        report_(
            fmt::format("cache {}: slab #{} with {} of {} objects active is on node {}'s {} "
                        "list",
                        c_.name, page->serial, page->active, c_.num, nid, name));
      free_objects += c_.num - page->active;
      active_total_ += page->active;
      const auto it = cached_.find(page);
      if (it != cached_.end() && it->second > static_cast<long>(page->active))
        report_(
            fmt::format("cache {}: slab #{} has more objects in array caches than it has "
                        "handed out",
                        c_.name, page->serial));
    }
  }

  // Every slab taken from the page allocator is on a node list.
  void check_slab_count() {
    if (slabs_total_ != c_.live_slabs)
      report_(fmt::format("cache {}: {} slabs are allocated but {} are on node lists", c_.name,
                          c_.live_slabs, slabs_total_));
  }

  // What the slabs handed out is in array caches or with a caller.
  void check_conservation() {
    const long in_use = static_cast<long>(c_.allocs) - static_cast<long>(c_.frees);
    if (active_total_ != cached_total_ + in_use)
      report_(
          fmt::format("cache {}: slabs hold {} objects handed out, but array caches hold {} "
                      "and callers {}",
                      c_.name, active_total_, cached_total_, in_use));
  }

  const SlabAllocator& slab_;
  const SlabCache& c_;
  const InvariantReport& report_;
  const int nodes_;
  std::map<const SlabPage*, long> cached_;  // objects held by the array caches, by slab
  std::set<std::pair<const SlabPage*, std::uint16_t>> seen_;
  long cached_total_ = 0;
  long active_total_ = 0;
  unsigned long slabs_total_ = 0;
};

int SlabAllocator::check_invariants(const char* function) {
  const InvariantReport report(common_, env_->current_cpu(), function);
  for (const SlabCache* c : slab_caches())
    SlabInvariants(*this, *c, report).check();
  return report.recorded();
}

}  // namespace slabsim::alloc
