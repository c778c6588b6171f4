#include "run/workload_caches.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace slabsim::sim {

WorkloadCaches::WorkloadCaches(const workload::Workload& workload)
    : workload_(workload),
      current_struct_(workload.caches.size(), nullptr),
      last_struct_(workload.caches.size(), nullptr),
      in_flight_(workload.caches.size(), 0),
      destroying_(workload.caches.size(), false),
      layout_(workload.caches.size()) {}

void WorkloadCaches::create_boot_caches(alloc::Allocator& allocator) {
  // The machine's own caches first, as the kernel's initcalls made them before any workload.
  for (const auto& c : workload_.boot_caches)
    if (!allocator.kmem_cache_create(c.name, c.object_size, c.align, c.flags))
      throw std::runtime_error(fmt::format("{}: cannot create boot cache \"{}\" ({} bytes)",
                                           workload_.boot_caches_file, c.name, c.object_size));
  for (std::size_t i = 0; i < workload_.caches.size(); ++i) {
    const auto& c = workload_.caches[i];
    if (!c.at_boot) continue;
    // SLOB has no kmalloc caches (kmalloc() is slob_alloc()): the workload gets a cache of that
    // name from kmem_cache_create(), as any other.
    if (c.kmalloc && allocator.kind() != alloc::AllocatorKind::slob) {
      alloc::Cache* own = allocator.slab_common().find_cache(c.name);
      if (!own)
        throw std::runtime_error(
            fmt::format("workload {}: /caches/{}: \"{}\" is not a kmalloc cache {} boots with this "
                        "strategy (its generation's create_kmalloc_caches() does not make it)",
                        workload_.name, i, c.name, alloc::allocator_name(allocator.kind())));
      created(i, own, allocator);
      continue;
    }
    created(i, allocator.kmem_cache_create(c.name, c.object_size, c.align, c.flags), allocator);
    if (!current_struct_[i]) throw std::runtime_error("cannot create boot cache " + c.name);
  }
}

alloc::Cache* WorkloadCaches::reachable_through_sysfs(std::size_t cache,
                                                      const alloc::SlabSysfs* sysfs) const {
  if (current_struct_[cache]) return current_struct_[cache];
  alloc::Cache* last = last_struct_[cache];
  if (destroying_[cache]) return last;
  // Only under its own name: a merged cache's other names are links the model does not keep.
  if (sysfs && last && last->name == workload_.caches[cache].name && sysfs->sysfs_slab_linked(last))
    return last;
  return nullptr;
}

void WorkloadCaches::created(std::size_t cache, alloc::Cache* s, alloc::Allocator& allocator) {
  current_struct_[cache] = s;
  if (!s) return;
  last_struct_[cache] = s;
  // At creation, as the caller asked for it by name: a cache merged into another shows that
  // one's struct (and its name).
  layout_[cache] =
      alloc::cache_layout(allocator.state().layout_fields(), *s, workload_.caches[cache].name);
}

alloc::Cache* WorkloadCaches::begin_destroy(std::size_t cache) {
  alloc::Cache* s = current_struct_[cache];
  current_struct_[cache] = nullptr;
  if (!destroying_[cache]) ++destroys_;
  destroying_[cache] = true;
  return s;
}

bool WorkloadCaches::shares_a_destroy(const alloc::Cache* s) const {
  for (std::size_t i = 0; i < destroying_.size(); ++i)
    if (destroying_[i] && last_struct_[i] == s) return true;
  return false;
}

void WorkloadCaches::end_destroy(std::size_t cache, alloc::Cache* s, int result) {
  if (destroying_[cache]) --destroys_;
  destroying_[cache] = false;
  if (result < 0 || (result > 0 && s->refcount < 0)) current_struct_[cache] = s;
}

}  // namespace slabsim::sim
