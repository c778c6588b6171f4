// The contract between the simulator, mm/slab_common.c and one slab allocator, as the kernel
// has it between include/linux/slab.h, mm/slab_common.c and the allocator chosen at build time
// (CONFIG_SLUB, CONFIG_SLAB, CONFIG_SLOB); here the model is chosen by name at run time.
//
// - kmem_cache_create/destroy/shrink are mm/slab_common.c's, the same for every model
//   (SlabCommon): the strategy's lock nests, the refcount, slab_caches, /proc/slabinfo.
// - Each model supplies the hooks mm/slab.h declares (__kmem_cache_create, _shutdown, _release,
//   _shrink) and its own kmem_cache_alloc, kmem_cache_alloc_node and kmem_cache_free.
// - What only some allocators have is an optional part (allocator_parts.hpp), null when absent.
// - What the model shows of itself to reports and checks is its state (allocator_state.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "allocator/allocator_parts.hpp"
#include "allocator/allocator_state.hpp"
#include "allocator/cache.hpp"
#include "allocator/environment.hpp"
#include "allocator/mm/gfp.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/slab_flags.hpp"
#include "allocator/strategy.hpp"

namespace slabsim::alloc {

enum class AllocatorKind { slub, slab, slob };

// "slub", "slab", "slob".
std::string_view allocator_name(AllocatorKind kind);
// nullopt for an unknown name.
std::optional<AllocatorKind> find_allocator(std::string_view name);
// Every kind, in the order above, with a one-line description each (for --help and listings).
const std::vector<std::pair<AllocatorKind, std::string_view>>& allocator_kinds();

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
  // allocator's hook. create returns nullptr on failure (logged as the kernel does), or the
  // cache it merged into (__kmem_cache_alias()); destroy returns 0 when released, -EBUSY when
  // objects remain, 1 when a reference remains.
  Cache* kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                           CacheFlags flags) {
    return common_.kmem_cache_create(name, object_size, align, flags);
  }
  int kmem_cache_destroy(Cache* s) { return common_.kmem_cache_destroy(s); }
  int kmem_cache_shrink(Cache* s) { return common_.kmem_cache_shrink(s); }
  // The slab_nomerge boot parameter (mm/slab_common.c __setup("slab_nomerge"), parsed before
  // kmem_cache_init()): no create merges into an existing cache.
  void set_slab_nomerge(bool on) { common_.set_slab_nomerge(on); }
  // The state of mm/slab_common.c: slab_caches, find_cache(), the strategy.
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

  // What the model shows of itself to reports and checks (allocator_state.hpp), apart from the
  // operations above.
  virtual AllocatorState& state() = 0;

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
  // __kmem_cache_alias(), which kmem_cache_create_usercopy() tries first inside the same lock
  // nest: a listed cache that SlabCommon::find_mergeable() accepts, with its refcount raised and
  // the caller's name made an alias of it, or nullptr to create a cache. The default is SLOB's,
  // mm/slab.h's inline that returns NULL: SLOB never merges.
  virtual Cache* __kmem_cache_alias(const std::string& /*name*/, unsigned /*object_size*/,
                                    unsigned /*align*/, CacheFlags /*flags*/) {
    return nullptr;
  }
  // Non-zero when objects remain (kmem_cache_destroy() then fails with -EBUSY).
  virtual int __kmem_cache_shutdown(Cache* s) = 0;
  // slab_kmem_cache_release(): the per-CPU and per-node structures, then the struct itself
  // (kmem_cache_free(kmem_cache, s)), once the cache is off slab_caches.
  virtual void __kmem_cache_release(Cache* s) = 0;
  // Gives back what the cache can; non-zero when slabs remain.
  virtual int __kmem_cache_shrink(Cache* s) = 0;
};

// hotplug_memory_notifier(slab_memory_callback, SLAB_CALLBACK_PRI), as SLUB's kmem_cache_init()
// and SLAB's kmem_cache_init_late() do: the allocator's memory callback on `hotplug`'s chain, if
// it has one (SLOB has none).
void register_memory_callback(MemoryHotplug& hotplug, Allocator& allocator);

}  // namespace slabsim::alloc
