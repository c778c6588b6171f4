// The numeric files of /sys/kernel/slab/<cache>/ (the SLAB_ATTR show functions of mm/slub.c),
// computed straight from model state as v5.10-v5.12 print them on x86_64 with CONFIG_SLUB_DEBUG,
// CONFIG_SLUB_STATS, CONFIG_NUMA, CONFIG_SMP and CONFIG_SYSFS; SlubAllocator::get_slabinfo()
// counts /proc/slabinfo's the same way. Every function is a pure read of the model: no locks are
// taken (SlubAllocator::slab_attr_show() takes them), nothing changes, and the same state always
// gives the same bytes.
//
// Counting rules worth knowing (reference/slub-hotplug.md 8.5, 8.6 and mistake 1 of 11):
// - SLUB only knows the free objects of slabs on the NODE partial lists (count_partial()). The
//   free objects of cpu slabs and cpu partial slabs are counted as active/in use by
//   /proc/slabinfo and by the sysfs `objects` file.
// - objperslab and pagesperslab come from the cache's preferred order (s->oo) even when some
//   slabs were allocated with the fallback order.
// - `cpu_slabs` walks every possible CPU but skips a CPU without c->page entirely, even if it
//   holds cpu partial slabs; a counted CPU's partial chain adds the head's page->pages, all
//   charged to the node of the chain's head.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/cache_layout.hpp"
#include "allocator/slub/slub_def.hpp"
#include "allocator/slub/stat_item.hpp"
#include "allocator/strategy.hpp"

namespace slabsim::alloc {

// ---------------------------------------------------------------------------------------------
// /sys/kernel/slab/<cache>/<stat>: CONFIG_SLUB_STATS

// mm/slub.c: show_stat() behind the STAT_ATTR files: the sum over ONLINE CPUs, then
// " C<cpu>=<count>" for each online CPU with a non-zero count, then '\n'. `online_cpus` is
// indexed by CPU id; CPUs beyond its end are offline. As in the kernel, each CPU's counter is
// read into an unsigned int (the low 32 bits of the model's counter), and no " C" entry is
// appended once the text reaches PAGE_SIZE - 20 bytes. `shown_as`, when not empty, gives for
// each CPU id the id it is printed under (MachineLayout::shown_cpu(): the simulator's
// event-task CPUs count under a machine CPU, where the kernel would have run the task).
std::string sysfs_stat_file(const KmemCache& s, StatItem item, const std::vector<bool>& online_cpus,
                            std::span<const int> shown_as = {});

// ---------------------------------------------------------------------------------------------
// /sys/kernel/slab/<cache>/ files printed by show_slab_objects()

// The files and the SO_* flags their show functions pass to show_slab_objects():
//   slabs           SO_ALL             sum of the nodes' nr_slabs
//   objects         SO_ALL|SO_OBJECTS  total_objects minus free objects on node partial lists
//   total_objects   SO_ALL|SO_TOTAL    sum of the nodes' total_objects
//   partial         SO_PARTIAL         nr_partial
//   objects_partial SO_PARTIAL|SO_OBJECTS  sum of inuse over node partial slabs
//   cpu_slabs       SO_CPU             per possible CPU with c->page: 1 (on c->page's node), plus
//                                      c->partial->pages (on the chain head's node)
// and slabs_cpu_partial, which has its own show function (slabs_cpu_partial_show()).
enum class SlabObjectsFile {
  slabs,
  objects,
  objects_partial,
  partial,
  total_objects,
  cpu_slabs,
  slabs_cpu_partial,
};

// The sysfs file name ("objects_partial", ...).
std::string_view slab_objects_file_name(SlabObjectsFile what);

// mm/slub.c: show_slab_objects(): "%lu" total, then " N<node>=<count>" for every node id
// (0..nr_node_ids-1) with a non-zero count, then '\n'. Each value passes through an `int`
// before it is added, as the kernel's `int x` does. For slabs_cpu_partial this returns
// slabs_cpu_partial_show() with every possible CPU online.
std::string show_slab_objects(const KmemCache& s, SlabObjectsFile what);
// The same with the set of online CPUs, which only slabs_cpu_partial looks at.
std::string show_slab_objects(const KmemCache& s, SlabObjectsFile what,
                              const std::vector<bool>& online_cpus,
                              std::span<const int> shown_as = {});

// mm/slub.c: slabs_cpu_partial_show(): "<objects>(<pages>)" summed over the ONLINE CPUs' cpu
// partial chains (the head's page->pobjects and page->pages; v6.1: slab->slabs and
// slabs * objs_per_slab / 2 for the objects), then " C<cpu>=<objects>(<pages>)"
// for each online CPU that has a chain (while the text is shorter than PAGE_SIZE - 20), '\n';
// `shown_as` as for sysfs_stat_file().
std::string slabs_cpu_partial_show(const KmemCache& s, const std::vector<bool>& online_cpus,
                                   std::span<const int> shown_as = {});

// ---------------------------------------------------------------------------------------------
// /sys/kernel/slab/<cache>/ scalar files

// The values of the scalar attribute files, each from its show function in mm/slub.c.
struct SysfsAttributes {
  unsigned slab_size = 0;         // slab_size_show(): s->size
  unsigned object_size = 0;       // object_size_show(): s->object_size
  unsigned objs_per_slab = 0;     // objs_per_slab_show(): oo_objects(s->oo)
  unsigned order = 0;             // order_show(): oo_order(s->oo)
  unsigned long min_partial = 0;  // min_partial_show(): s->min_partial
  unsigned cpu_partial = 0;       // cpu_partial_show(): slub_cpu_partial(s), objects
  int aliases = 0;                // aliases_show(): refcount - 1, or 0 for a negative refcount
  unsigned align = 0;             // align_show(): s->align
  unsigned remote_node_defrag_ratio = 0;  // remote_node_defrag_ratio_show(): internal / 10
  int hwcache_align = 0;                  // hwcache_align_show(): !!SLAB_HWCACHE_ALIGN
  int reclaim_account = 0;                // reclaim_account_show(): !!SLAB_RECLAIM_ACCOUNT
  int cache_dma = 0;                      // cache_dma_show(): !!SLAB_CACHE_DMA (CONFIG_ZONE_DMA)
  int destroy_by_rcu = 0;                 // destroy_by_rcu_show(): !!SLAB_TYPESAFE_BY_RCU
  int red_zone = 0;                       // red_zone_show(): !!SLAB_RED_ZONE
  int poison = 0;                         // poison_show(): !!SLAB_POISON
  int store_user = 0;                     // store_user_show(): !!SLAB_STORE_USER
};

SysfsAttributes sysfs_attributes(const KmemCache& s);

// SLUB's cache layout: the scalar sysfs files above that kmem_cache_open() sets (order,
// objs_per_slab, object_size, slab_size, align, min_partial, cpu_partial), v6.1's
// s->cpu_partial_slabs (absent under v5.12, which has no such field), s->flags with
// CONFIG_SLUB_DEBUG's mask, and the cache it was merged into.
const std::vector<LayoutField>& slub_layout_fields();

// The readable files of /sys/kernel/slab/<cache>/ that the model can show, in the order of
// slab_attrs[] in mm/slub.c (stat files last, with cmpxchg_double_fail before
// cmpxchg_double_cpu_fail). Files the model has nothing for (ctor, sanity_checks, trace,
// alloc_calls, free_calls, usersize, ...) and the write-only-in-effect shrink/validate are left
// out.
const std::vector<std::string_view>& sysfs_file_names();

// Every attribute of /sys/kernel/slab/<cache>/, as v5.10's slab_attrs[] (mm/slub.c) lists them
// with CONFIG_SLUB_DEBUG, ZONE_DMA, NUMA and SLUB_STATS and without FAILSLAB, then v6.1's
// skip_kfence (CONFIG_KFENCE). Attribute i's kn->active is LockClass kernfs_active_class(i).
const std::vector<std::string_view>& slab_attribute_names();
// The attributes a cache directory of `version` has, in slab_attrs[] order: v6.1 has no
// alloc_calls and free_calls (moved to debugfs in v5.14) and has skip_kfence; v5.10 and v5.12
// the reverse.
const std::vector<int>& slab_attributes(SlubVersion version);
// The index of `file` in slab_attribute_names(), or -1.
int slab_attribute_index(std::string_view file);

// The text a read of /sys/kernel/slab/<cache>/<file> returns (slab_attr_show()), for any name
// of sysfs_file_names(); nullopt for other names.
std::optional<std::string> sysfs_file(const KmemCache& s, std::string_view file,
                                      const std::vector<bool>& online_cpus,
                                      std::span<const int> shown_as = {});

}  // namespace slabsim::alloc
