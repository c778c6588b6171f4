// Builds the allocator model a run asks for, with every model's parameters in one place.
#pragma once

#include <memory>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/cache_layout.hpp"
#include "allocator/environment.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab/slab.hpp"
#include "allocator/slob/slob.hpp"
#include "allocator/slub/kmem_cache_open.hpp"
#include "allocator/slub/slub_costs.hpp"
#include "allocator/strategy.hpp"

namespace slabsim::alloc {

// Parameters of each model; only the chosen allocator's are used.
struct AllocatorTuning {
  // The slab_nomerge boot parameter (mm/slab_common.c): no cache merging, for every allocator.
  bool slab_nomerge = false;
  SlubBootParams slub_params;
  SlubCosts slub_costs;
  SlabParams slab_params;
  SlabCosts slab_costs;
  SlobCosts slob_costs;
};

// The model of `kind` after its boot (kmem_cache_init()). `pages` and `states` belong to the
// caller and outlive it.
std::unique_ptr<Allocator> make_allocator(AllocatorKind kind, Environment& env,
                                          PageAllocator& pages, NodeStates& states,
                                          const Strategy& strategy,
                                          const AllocatorTuning& tuning = {});

// The layout fields of `kind`'s struct kmem_cache (cache_layout.hpp), as its model's
// AllocatorState::layout_fields() gives them, without making the model.
const std::vector<LayoutField>& layout_fields(AllocatorKind kind);

}  // namespace slabsim::alloc
