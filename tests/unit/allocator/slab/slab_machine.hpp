// A whole SLAB allocator under test: layout, page allocator, node states, fake environment, the
// SLAB model with a strategy, and memory hotplug with SLAB's callback on its notifier chain.
#pragma once

#include <stdexcept>
#include <string>

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab/slab.hpp"
#include "allocator/strategy.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc::testing {

struct SlabMachine {
  explicit SlabMachine(MachineLayout l, const std::string& strategy = "slab_nodes_nocpu",
                       SlabParams params = {}, bool register_callback = true)
      : layout(std::move(l)),
        pages(layout),
        states(boot_node_states(layout)),
        env(layout),
        slab(env, pages, states, *find_strategy_preset(strategy), params),
        hotplug(env, pages, states) {
    if (register_callback) register_memory_callback(hotplug, slab);
  }

  MachineLayout layout;
  PageAllocator pages;
  NodeStates states;
  FakeEnvironment env;
  SlabAllocator slab;
  MemoryHotplug hotplug;

  SlabCache* create(const std::string& name, unsigned size, CacheFlags flags = {}) {
    auto* c = static_cast<SlabCache*>(slab.kmem_cache_create(name, size, 0, flags));
    if (!c) throw std::runtime_error("kmem_cache_create failed");
    return c;
  }
  // The listed cache of that name (throws when there is none).
  SlabCache* find(const std::string& name) const {
    auto* c = static_cast<SlabCache*>(slab.slab_common().find_cache(name));
    if (!c) throw std::runtime_error("no cache " + name);
    return c;
  }
  // Allocates on `cpu` and returns the object (throws on NULL).
  ObjectRef alloc(SlabCache* c, int cpu, int node = numa_no_node) {
    env.cpu = cpu;
    ObjectRef o = node == numa_no_node ? slab.kmem_cache_alloc(c, gfp_kernel)
                                       : slab.kmem_cache_alloc_node(c, gfp_kernel, node);
    if (!o) throw std::runtime_error("allocation failed");
    return o;
  }
  void free(SlabCache* c, ObjectRef o, int cpu) {
    env.cpu = cpu;
    slab.kmem_cache_free(c, o);
  }
  int new_violations() { return slab.check_invariants("test"); }
};

}  // namespace slabsim::alloc::testing
