#include "allocator/make_allocator.hpp"

#include "allocator/slub/slub.hpp"
#include "allocator/slub/slub_sysfs.hpp"

namespace slabsim::alloc {

std::unique_ptr<Allocator> make_allocator(AllocatorKind kind, Environment& env,
                                          PageAllocator& pages, NodeStates& states,
                                          const Strategy& strategy, const AllocatorTuning& tuning) {
  std::unique_ptr<Allocator> a;
  switch (kind) {
    case AllocatorKind::slub:
      a = std::make_unique<SlubAllocator>(env, pages, states, strategy, tuning.slub_params,
                                          tuning.slub_costs);
      break;
    case AllocatorKind::slab:
      a = std::make_unique<SlabAllocator>(env, pages, states, strategy, tuning.slab_params,
                                          tuning.slab_costs);
      break;
    case AllocatorKind::slob:
      a = std::make_unique<SlobAllocator>(env, pages, states, strategy, tuning.slob_costs);
      break;
  }
  // Boot caches are never merge targets, so setting it after kmem_cache_init() changes nothing
  // the early __setup() would.
  if (a) a->set_slab_nomerge(tuning.slab_nomerge);
  return a;
}

const std::vector<LayoutField>& layout_fields(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::slub:
      return slub_layout_fields();
    case AllocatorKind::slab:
      return slab_layout_fields();
    case AllocatorKind::slob:
      return slob_layout_fields();
  }
  return slub_layout_fields();
}

}  // namespace slabsim::alloc
