// The optional parts of an allocator: what a model registers with the rest of the kernel, or
// offers user space, only when the kernel's allocator does. Allocator's accessors return a part,
// or nullptr when the model has none; a caller tests for the part instead of a flag.
//
//                      SLUB                 SLAB                     SLOB
//   memory notifier    slab_memory_callback slab_memory_callback     -
//   CPU hotplug        CPUHP_SLUB_DEAD      CPUHP_SLAB_PREPARE       -
//   periodic work      -                    cache_reap()             -
//   sysfs              /sys/kernel/slab     -                        -
//   /proc/slabinfo     (CONFIG_SLUB_DEBUG)  (with CONFIG_DEBUG_SLAB) -
#pragma once

#include <cstdint>
#include <string>

#include "allocator/cache.hpp"

namespace slabsim::alloc {

// struct slabinfo (mm/slab.h): one cache's row of /proc/slabinfo as the allocator's
// get_slabinfo() fills it; fields the allocator has no notion of stay 0.
struct SlabInfo {
  std::uint64_t active_objs = 0;
  std::uint64_t num_objs = 0;
  std::uint64_t active_slabs = 0;
  std::uint64_t num_slabs = 0;
  std::uint64_t shared_avail = 0;
  unsigned limit = 0;  // tunables
  unsigned batchcount = 0;
  unsigned shared = 0;
  unsigned objects_per_slab = 0;
  unsigned cache_order = 0;
};

// The allocator's half of /proc/slabinfo, which mm/slab_common.c prints (slab_show(),
// cache_show()) only with CONFIG_SLAB or CONFIG_SLUB_DEBUG: SLOB has no /proc/slabinfo.
class SlabinfoSource {
 public:
  // get_slabinfo(): the counts of one cache.
  [[nodiscard]] virtual SlabInfo get_slabinfo(const Cache& s) const = 0;
  // slabinfo_show_stats(): what the allocator appends to the row (SLAB's CONFIG_DEBUG_SLAB
  // statistics), "" for none.
  [[nodiscard]] virtual std::string slabinfo_show_stats(const Cache& s) const = 0;
  // CONFIG_DEBUG_SLAB, which print_slabinfo_header() tests: version "2.1 (statistics)" and the
  // columns of slabinfo_show_stats().
  [[nodiscard]] virtual bool config_debug_slab() const = 0;

 protected:
  ~SlabinfoSource() = default;
};

}  // namespace slabsim::alloc
