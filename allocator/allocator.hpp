// The slab allocator as the simulator drives it: one interface, three models chosen by name as
// the kernel chooses one at build time (CONFIG_SLUB, CONFIG_SLAB, CONFIG_SLOB). Each model
// names the kernel functions it follows; this interface is the part of include/linux/slab.h,
// mm/slab_common.c and the hotplug callbacks that the simulator calls, plus read-only state for
// reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "allocator/allocator_parts.hpp"
#include "allocator/cache.hpp"
#include "allocator/mm/gfp.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/memory_notify.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/slab_flags.hpp"
#include "allocator/violation.hpp"

namespace slabsim::alloc {

enum class AllocatorKind { slub, slab, slob };

// "slub", "slab", "slob".
std::string_view allocator_name(AllocatorKind kind);
// nullopt for an unknown name.
std::optional<AllocatorKind> find_allocator(std::string_view name);
// Every kind, in the order above, with a one-line description each (for --help and listings).
const std::vector<std::pair<AllocatorKind, std::string_view>>& allocator_kinds();

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

// What an allocator's __kmem_cache_create() made: the cache (its struct allocated and set up,
// not yet on slab_caches), or nullptr with the errno and why, for the line the kernel logs.
struct CreatedCache {
  Cache* cache = nullptr;
  int error = 0;
  std::string why;
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;
  [[nodiscard]] virtual AllocatorKind kind() const = 0;

  // mm/slab_common.c, the same for every model (SlabCommon): kmem_cache_create_usercopy(),
  // kmem_cache_destroy(), kmem_cache_shrink(), each with the strategy's lock nest around the
  // allocator's hook. create returns nullptr on failure (logged as the kernel does); destroy
  // returns 0 when released, -EBUSY when objects remain, 1 when a reference remains.
  Cache* kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                           CacheFlags flags) {
    return common_.kmem_cache_create(name, object_size, align, flags);
  }
  int kmem_cache_destroy(Cache* s) { return common_.kmem_cache_destroy(s); }
  int kmem_cache_shrink(Cache* s) { return common_.kmem_cache_shrink(s); }
  // slab_caches, the kernel log, the violations the model caught.
  [[nodiscard]] const SlabCommon& slab_common() const { return common_; }

  // kmem_cache_alloc(), kmem_cache_alloc_node(), kmem_cache_free() on the current CPU. A failed
  // allocation returns an empty ObjectRef.
  virtual ObjectRef kmem_cache_alloc(Cache* s, Gfp gfp) = 0;
  virtual ObjectRef kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) = 0;
  virtual void kmem_cache_free(Cache* s, ObjectRef x) = 0;

  // The optional parts (allocator_parts.hpp): what the model registers with the rest of the
  // kernel or shows user space, nullptr when it has no such part.
  virtual MemoryCallback* memory_callback() { return nullptr; }
  virtual CpuhpPrepare* cpuhp_prepare() { return nullptr; }
  virtual CpuhpDead* cpuhp_dead() { return nullptr; }
  virtual CacheReaper* cache_reaper() { return nullptr; }
  virtual SlabSysfs* sysfs() { return nullptr; }
  [[nodiscard]] virtual const SlabinfoSource* slabinfo_source() const { return nullptr; }

  // State, for reports and the invariant checks.
  // Whether a cache created now could use `nid` for node-specific allocations.
  [[nodiscard]] virtual bool node_usable(int nid) const = 0;
  [[nodiscard]] virtual NodeStructCounts hotplug_node_structs() const = 0;
  [[nodiscard]] virtual CacheReport cache_report(const Cache* s,
                                                 const std::vector<bool>& online_cpus) const = 0;
  // Slabs (SLOB: pages) taken from the page allocator since boot, over every cache.
  [[nodiscard]] virtual std::uint64_t slabs_allocated() const = 0;
  // Checks every invariant and records what is broken (each distinct problem once); returns
  // the number of new violations. `function` names where the check runs.
  virtual int check_invariants(const char* function) = 0;
  [[nodiscard]] virtual const std::vector<Violation>& violations() const = 0;
  // Messages the kernel would print (pr_err/pr_warn), in order.
  [[nodiscard]] virtual const std::vector<std::string>& kernel_log() const = 0;

 protected:
  Allocator(Environment& env, Strategy strategy) : common_(*this, env, std::move(strategy)) {}

  SlabCommon common_;

 private:
  friend class SlabCommon;

  // The hooks mm/slab.h declares for mm/slab_common.c, which calls them inside the strategy's
  // lock nests. __kmem_cache_create() is create_cache() and the allocator's part of it: the
  // struct kmem_cache (each model's own type) from the "kmem_cache" cache, its layout and its
  // per-CPU and per-node structures; slab_common puts it on slab_caches.
  virtual CreatedCache __kmem_cache_create(const std::string& name, unsigned object_size,
                                           unsigned align, CacheFlags flags) = 0;
  // Non-zero when objects remain (kmem_cache_destroy() then fails with -EBUSY).
  virtual int __kmem_cache_shutdown(Cache* s) = 0;
  // slab_kmem_cache_release(): the per-CPU and per-node structures, then the struct itself
  // (kmem_cache_free(kmem_cache, s)), once the cache is off slab_caches.
  virtual void __kmem_cache_release(Cache* s) = 0;
  // Gives back what the cache can; non-zero when slabs remain.
  virtual int __kmem_cache_shrink(Cache* s) = 0;
};

// hotplug_memory_notifier(slab_memory_callback, SLAB_CALLBACK_PRI), as the allocator's
// kmem_cache_init() does: its memory callback on `hotplug`'s chain, if it has one (SLOB has none).
void register_memory_callback(MemoryHotplug& hotplug, Allocator& allocator);

}  // namespace slabsim::alloc
