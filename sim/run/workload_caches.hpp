// The workload's caches by index, as its CPUs and event tasks see them: the struct each has now
// (none before its kmem_cache_create() or once its destruction started), the last struct it had
// (a destroyed cache's struct stays in the model as a tombstone with its counters, and its sysfs
// directory stays reachable while kmem_cache_destroy() runs), whether a destruction is under
// way, and the operations under way in it, which a destruction waits for. A cache merged into
// another (__kmem_cache_alias()) has that one's struct: several names then share a struct, each
// holding one reference of its refcount.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "allocator/allocator.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class WorkloadCaches {
 public:
  explicit WorkloadCaches(const workload::Workload& workload);

  // kmem_cache_create() of the caches the workload has at boot, outside the engine. Throws
  // std::runtime_error when one cannot be created.
  void create_boot_caches(alloc::Allocator& allocator);

  [[nodiscard]] alloc::Cache* current_struct(std::size_t cache) const {
    return current_struct_[cache];
  }
  [[nodiscard]] const alloc::Cache* last_struct(std::size_t cache) const {
    return last_struct_[cache];
  }
  [[nodiscard]] bool destroying(std::size_t cache) const { return destroying_[cache]; }
  // Whether a kmem_cache_destroy() of `s` runs under any of the names that share it: a free of
  // one of its objects waits, whichever name allocated it.
  [[nodiscard]] bool destroying_struct(const alloc::Cache* s) const {
    return destroys_ > 0 && shares_a_destroy(s);  // inline: every free asks
  }
  [[nodiscard]] int in_flight(std::size_t cache) const { return in_flight_[cache]; }
  // The struct whose sysfs directory a path names: the current one; while kmem_cache_destroy()
  // runs (it removes the directory last), the one being destroyed; and after it, a struct whose
  // directory `sysfs` still has (v6.1's SLAB_TYPESAFE_BY_RCU caches, until
  // slab_caches_to_rcu_destroy_workfn() releases them). nullptr `sysfs`: no /sys/kernel/slab.
  [[nodiscard]] alloc::Cache* reachable_through_sysfs(std::size_t cache,
                                                      const alloc::SlabSysfs* sysfs) const;

  // kmem_cache_create() returned `s` (nullptr: it failed); a cache made takes its layout from
  // the allocator now.
  void created(std::size_t cache, alloc::Cache* s, alloc::Allocator& allocator);
  // The layout of the cache's last successful kmem_cache_create() (alloc::layout_fields()
  // order), nullopt before any.
  [[nodiscard]] const std::optional<std::vector<alloc::LayoutValue>>& layout(
      std::size_t cache) const {
    return layout_[cache];
  }
  // The workload stops using the cache when its destruction starts (using a cache being
  // destroyed is a caller bug in the kernel); the struct is returned for kmem_cache_destroy().
  alloc::Cache* begin_destroy(std::size_t cache);
  // The cache comes back if kmem_cache_destroy() failed (-EBUSY), or dropped a reference the
  // name did not hold (the refcount fell below 0: an earlier destroy had failed at 0). A destroy
  // that dropped one of a merged cache's references (result 1, refcount still positive) takes
  // the name away for good, as a release does: the struct lives on for its other names.
  void end_destroy(std::size_t cache, alloc::Cache* s, int result);

  // An allocation, free or shrink entering and leaving the cache (ModelCall).
  void enter(std::size_t cache) { ++in_flight_[cache]; }
  void leave(std::size_t cache) { --in_flight_[cache]; }

 private:
  [[nodiscard]] bool shares_a_destroy(const alloc::Cache* s) const;

  const workload::Workload& workload_;
  std::vector<alloc::Cache*> current_struct_;
  std::vector<alloc::Cache*> last_struct_;
  std::vector<int> in_flight_;
  std::vector<char> destroying_;
  int destroys_ = 0;  // how many of destroying_ are set
  std::vector<std::optional<std::vector<alloc::LayoutValue>>> layout_;
};

}  // namespace slabsim::sim
