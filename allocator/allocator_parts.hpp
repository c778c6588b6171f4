// The optional parts of an allocator: what a model registers with the rest of the kernel, or
// offers user space, only when the kernel's allocator does. Allocator's accessors return a part,
// or nullptr when the model has none; a caller tests for the part instead of a flag.
//
//                      SLUB                 SLAB                     SLOB
//   memory callback    slab_memory_callback slab_memory_callback     -
//   CPU hotplug        CPUHP_SLUB_DEAD      CPUHP_SLAB_PREPARE       -
//   periodic work      -                    cache_reap()             -
//   sysfs              /sys/kernel/slab     -                        -
//   /proc/slabinfo     (CONFIG_SLUB_DEBUG)  (with CONFIG_DEBUG_SLAB) -
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/cache.hpp"
#include "allocator/lock_class.hpp"
#include "allocator/mm/memory_notify.hpp"

namespace slabsim::alloc {

// hotplug_memory_notifier(slab_memory_callback, SLAB_CALLBACK_PRI), which SLUB's kmem_cache_init()
// and SLAB's kmem_cache_init_late() register. Called on the memory notifier chain by the CPU
// running the hotplug operation; returns 0 or a negative errno, which vetoes a GOING_* action.
class MemoryCallback {
 public:
  virtual int slab_memory_callback(MemoryAction action, const MemoryNotify& arg) = 0;

 protected:
  ~MemoryCallback() = default;
};

// The startup callback of the allocator's CPU hotplug state (kernel/cpu.c cpuhp_hp_states[]):
// SLAB's slab_prepare_cpu() of CPUHP_SLAB_PREPARE, run by the CPU bringing `cpu` up, before it
// starts; 0 or a negative errno, which fails the online. SLUB's CPUHP_SLUB_DEAD has none.
class CpuhpPrepare {
 public:
  virtual int prepare_cpu(int cpu) = 0;

 protected:
  ~CpuhpPrepare() = default;
};

// The teardown callback once `cpu` is dead, run by the CPU taking it down: SLUB's
// slub_cpu_dead() (CPUHP_SLUB_DEAD), SLAB's slab_dead_cpu() (CPUHP_SLAB_PREPARE).
class CpuhpDead {
 public:
  virtual void dead_cpu(int cpu) = 0;

 protected:
  ~CpuhpDead() = default;
};

// SLAB's per-CPU delayed work, which start_cpu_timer() arms on every online CPU: cache_reap().
class CacheReaper {
 public:
  // REAPTIMEOUT_AC: the interval between two rounds on one CPU.
  [[nodiscard]] virtual std::int64_t reap_interval_ns() const = 0;
  // One round on the current CPU.
  virtual void cache_reap() = 0;

 protected:
  ~CacheReaper() = default;
};

// /sys/kernel/slab/<cache>/, which only SLUB has (SLAB_SUPPORTS_SYSFS).
class SlabSysfs {
 public:
  // slab_attr_show(): a read of one file by the current CPU, which holds the file's active
  // reference; nullopt for a file the model does not have. `online_cpus` is indexed by CPU id.
  virtual std::optional<std::string> slab_attr_show(Cache* s, std::string_view file,
                                                    const std::vector<bool>& online_cpus) = 0;
  // sysfs_slab_unlink(), from shutdown_cache() (v5.10-v5.12) or kmem_cache_release() (v6.1): the
  // cache's directory goes, and kernfs removal waits for the active references of its files to
  // drain.
  virtual void sysfs_slab_unlink(Cache* s) = 0;
  // Whether /sys/kernel/slab/<s->name> still leads to `s`: from sysfs_slab_add() until
  // sysfs_slab_unlink(), or until a later cache of the same name took the name over.
  [[nodiscard]] virtual bool sysfs_slab_linked(const Cache* s) const = 0;
  // The lockdep class of the file's kn->active (one per attribute: lock_class.hpp), or nullopt
  // when the cache directories of this kernel have no such file.
  [[nodiscard]] virtual std::optional<LockClass> active_ref_class(std::string_view file) const = 0;

 protected:
  ~SlabSysfs() = default;
};

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
