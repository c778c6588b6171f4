#include "allocator/allocator.hpp"

namespace slabsim::alloc {

const std::vector<std::pair<AllocatorKind, std::string_view>>& allocator_kinds() {
  static const std::vector<std::pair<AllocatorKind, std::string_view>> kinds = {
      {AllocatorKind::slub, "SLUB (mm/slub.c): per-CPU slabs and partial lists, the default"},
      {AllocatorKind::slab,
       "SLAB (mm/slab.c, v5.10): per-CPU array caches, shared and alien caches, periodic reaping"},
      {AllocatorKind::slob,
       "SLOB (mm/slob.c): one lock, three free lists, no per-CPU or node state"},
  };
  return kinds;
}

std::string_view allocator_name(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::slub:
      return "slub";
    case AllocatorKind::slab:
      return "slab";
    case AllocatorKind::slob:
      return "slob";
  }
  return "?";
}

std::optional<AllocatorKind> find_allocator(std::string_view name) {
  for (const auto& [kind, description] : allocator_kinds())
    if (allocator_name(kind) == name) return kind;
  return std::nullopt;
}

void register_memory_callback(MemoryHotplug& hotplug, Allocator& allocator) {
  MemoryCallback* callback = allocator.memory_callback();
  if (!callback) return;
  hotplug.register_notifier({"slab_memory_callback", slab_callback_pri,
                             [callback](MemoryAction a, const MemoryNotify& arg) {
                               return callback->slab_memory_callback(a, arg);
                             }});
}

}  // namespace slabsim::alloc
