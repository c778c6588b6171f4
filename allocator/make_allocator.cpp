#include "allocator/make_allocator.hpp"

#include "allocator/slub/slub.hpp"
#include "allocator/slub/slub_sysfs.hpp"

namespace slabsim::alloc {

std::unique_ptr<Allocator> make_allocator(AllocatorKind kind, Environment& env,
                                          PageAllocator& pages, NodeStates& states,
                                          const Strategy& strategy, const AllocatorTuning& tuning) {
  switch (kind) {
    case AllocatorKind::slub:
      return std::make_unique<SlubAllocator>(env, pages, states, strategy, tuning.slub_params,
                                             tuning.slub_costs);
    case AllocatorKind::slab:
      return std::make_unique<SlabAllocator>(env, pages, states, strategy, tuning.slab_params,
                                             tuning.slab_costs);
    case AllocatorKind::slob:
      return std::make_unique<SlobAllocator>(env, pages, states, strategy, tuning.slob_costs);
  }
  return nullptr;
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
