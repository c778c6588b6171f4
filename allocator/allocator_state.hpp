// What an allocator model shows of itself to the simulator's reports and checks, kept apart
// from its operations (Allocator): a pure read, except that an invariant check records what it
// finds. The kernel has no such interface; its own views, /proc/slabinfo and the log, are
// slab_common's and are offered here too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "allocator/cache.hpp"
#include "allocator/cache_layout.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/violation.hpp"

namespace slabsim::alloc {

// What the memory hotplug callbacks did to per-node cache structs so far: allocated at
// MEM_GOING_ONLINE, freed at MEM_OFFLINE/MEM_CANCEL_ONLINE, or found still there at
// MEM_GOING_ONLINE and reused.
struct NodeStructCounts {
  std::uint64_t allocated = 0;
  std::uint64_t freed = 0;
  std::uint64_t reused = 0;
};

// One cache at the end of a run.
struct CacheReport {
  // The allocator's own statistics, in kernel order and with kernel names: SLUB's enum
  // stat_item totals (CONFIG_SLUB_STATS), SLAB's CONFIG_DEBUG_SLAB counters; none for SLOB.
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  // The same as the kernel shows them per cache (SLUB: the sysfs stat files); may be empty.
  std::string counters_text;
  std::uint64_t objects_in_use = 0;  // allocated and not yet freed, counted in the slabs
  // SLUB's ALLOC_NODE_MISMATCH; nullopt for allocators without the notion.
  std::optional<std::uint64_t> alloc_node_mismatch;
};

class AllocatorState {
 public:
  // Whether a cache created now could use `nid` for node-specific allocations: SLUB's usable
  // node test (N_NORMAL_MEMORY or slab_nodes, by strategy), SLAB's N_ONLINE, SLOB's
  // N_NORMAL_MEMORY.
  [[nodiscard]] virtual bool node_usable(int nid) const = 0;
  [[nodiscard]] virtual NodeStructCounts hotplug_node_structs() const = 0;
  [[nodiscard]] virtual CacheReport cache_report(const Cache* s,
                                                 const std::vector<bool>& online_cpus) const = 0;
  // The fields of the allocator's struct kmem_cache that make a cache's layout
  // (cache_layout.hpp), in the order results show them.
  [[nodiscard]] virtual const std::vector<LayoutField>& layout_fields() const = 0;
  // Slabs (SLOB: pages) taken from the page allocator since boot, over every cache.
  [[nodiscard]] virtual std::uint64_t slabs_allocated() const = 0;
  // Checks every invariant and records what is broken (each distinct problem once); returns
  // the number of new violations. `function` names where the check runs.
  virtual int check_invariants(const char* function) = 0;

  // Kept by slab_common for every model: what the model caught, what the kernel would print
  // (pr_err/pr_warn, in order), and /proc/slabinfo.
  [[nodiscard]] const std::vector<Violation>& violations() const {
    return slab_common_.violations();
  }
  [[nodiscard]] const std::vector<std::string>& kernel_log() const {
    return slab_common_.kernel_log();
  }
  [[nodiscard]] std::string proc_slabinfo() const { return slab_common_.proc_slabinfo(); }

 protected:
  explicit AllocatorState(const SlabCommon& common) : slab_common_(common) {}
  ~AllocatorState() = default;

 private:
  const SlabCommon& slab_common_;
};

}  // namespace slabsim::alloc
