// SLUB under test on a whole machine: layout, page allocator, node states, fake environment, the
// SLUB model with a strategy, and memory hotplug with SLUB's callback on its notifier chain.
#pragma once

#include <memory>
#include <string>

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slub/slub.hpp"
#include "allocator/strategy.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc::testing {

struct SlubMachine {
  explicit SlubMachine(MachineLayout l, const std::string& strategy = "slab_nodes_nocpu",
                       SlubBootParams params = {})
      : SlubMachine(std::move(l), *find_strategy_preset(strategy), params) {}
  SlubMachine(MachineLayout l, const Strategy& strategy, SlubBootParams params = {})
      : layout(std::move(l)),
        pages(layout),
        states(boot_node_states(layout)),
        env(layout),
        slub(env, pages, states, strategy, params),
        hotplug(env, pages, states) {
    register_memory_callback(hotplug, slub);
  }

  MachineLayout layout;
  PageAllocator pages;
  NodeStates states;
  FakeEnvironment env;
  SlubAllocator slub;
  MemoryHotplug hotplug;

  // kmem_cache_create() on the current CPU; nullptr when it fails.
  KmemCache* create(const std::string& name, unsigned size, unsigned align = 0,
                    CacheFlags flags = {}) {
    return static_cast<KmemCache*>(slub.kmem_cache_create(name, size, align, flags));
  }
  // Allocates on `cpu` and returns the object (fails the test on NULL).
  Object alloc(KmemCache* s, int cpu, int node = numa_no_node) {
    env.cpu = cpu;
    Object o = slub_object(node == numa_no_node ? slub.kmem_cache_alloc(s, gfp_kernel)
                                                : slub.kmem_cache_alloc_node(s, gfp_kernel, node));
    if (!o) throw std::runtime_error("allocation failed");
    return o;
  }
  void free(KmemCache* s, Object o, int cpu) {
    env.cpu = cpu;
    slub.kmem_cache_free(s, object_ref(o));
  }
  std::uint64_t stat(KmemCache* s, StatItem item) const { return s->stat_total(item); }
  int new_violations() { return slub.check_invariants("test"); }
};

}  // namespace slabsim::alloc::testing
