// A cache's derived settings, computed at creation as kmem_cache_open() does (mm/slub.c and
// mm/slab_common.c, v5.10): object layout, slab order and objects per slab, min_partial,
// cpu_partial and the NUMA defrag ratio.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "allocator/mm/machine_layout.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab_flags.hpp"
#include "allocator/strategy.hpp"

namespace slabsim::alloc {

// Boot parameters that feed calculate_order().
struct SlubBootParams {
  unsigned slub_min_order = 0;
  unsigned slub_max_order = 3;      // PAGE_ALLOC_COSTLY_ORDER
  unsigned slub_min_objects = 0;    // 0: 4 * (fls(calculate_order_cpus()) + 1)
  bool cpu_partial_enabled = true;  // CONFIG_SLUB_CPU_PARTIAL
  // The generation of mm/slub.c: SlubAllocator sets it from its strategy's slub_version.
  SlubVersion version = SlubVersion::v5_12;
};

struct CacheSettings {
  unsigned object_size = 0;  // as requested
  unsigned align = 0;        // after calculate_alignment()
  unsigned inuse = 0;        // bytes in use by the object and its metadata before the free pointer
  unsigned offset = 0;       // free pointer offset
  unsigned size = 0;         // s->size: object plus metadata, aligned
  unsigned order = 0;        // oo_order(s->oo)
  unsigned objects = 0;      // oo_objects(s->oo): objects per slab of `order`
  unsigned min_order = 0;    // oo_order(s->min): get_order(size), the fallback order
  unsigned min_objects = 0;  // oo_objects(s->min)
  unsigned long min_partial = 0;
  unsigned cpu_partial = 0;  // objects kept on per-CPU partial lists (v5.10 counts objects)
  // v6.1 (b47291ef02b0, v5.16): the per-CPU partial list's bound in slabs,
  // DIV_ROUND_UP(cpu_partial * 2, objects); 0 under v5.12, which has no such field.
  unsigned cpu_partial_slabs = 0;
  unsigned remote_node_defrag_ratio = 1000;  // internal value; sysfs shows /10
  SlubVersion version = SlubVersion::v5_12;  // the generation whose rules derived these
  bool operator==(const CacheSettings&) const = default;
};

// calculate_alignment() + calculate_sizes() + set_min_partial() + set_cpu_partial(). Returns
// nullopt with `why` set when the kernel would fail the creation (object too large for
// MAX_ORDER, object_size 0, align not a power of two).
std::optional<CacheSettings> derive_cache_settings(unsigned object_size, unsigned align,
                                                   const CacheFlags& flags, int nr_cpus,
                                                   const SlubBootParams& params,
                                                   std::string* why = nullptr);

// The CPU count calculate_order() sizes slabs for, the machine's CPUs only (never the
// simulator's event-task CPUs): nr_cpu_ids in v5.10; num_present_cpus() since 3286222fc609
// (v5.12, v6.1), nr_cpu_ids when that is at most 1. (v5.11-rc1's 045ab8c9487b used
// num_online_cpus(), which 3286222fc609 replaced before v5.11; no preset models it.)
int calculate_order_cpus(SlubVersion version, const MachineLayout& layout);

// mm/slub.c helpers, exposed for tests. calculate_order() returns 11 (MAX_ORDER) where the
// kernel returns -ENOSYS. `nr_cpus` is calculate_order_cpus().
unsigned calculate_order(unsigned size, int nr_cpus, const SlubBootParams& params);
// (PAGE_SIZE << order) / size: objects of `size` bytes in a slab of `order`.
unsigned order_objects(unsigned order, unsigned size);

}  // namespace slabsim::alloc
