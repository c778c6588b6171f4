// The SLUB allocator (mm/slub.c, v5.10–v5.12) as a model of the Allocator contract: every entry
// point and path names the kernel function it models; locks go through the Environment; the
// strategy decides the usable-node test and what the hotplug callbacks do with node structs.
//
// Concurrency: simulated CPUs call into one SlubAllocator cooperatively. Code between two
// Environment::lock() calls runs atomically; the paths re-read shared state after each lock as
// the kernel does after spinning, so a slab changed meanwhile is seen as a failed cmpxchg
// (CMPXCHG_DOUBLE_FAIL) and retried.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/boot_environment.hpp"
#include "allocator/environment.hpp"
#include "allocator/kmalloc_caches.hpp"
#include "allocator/mm/gfp.hpp"
#include "allocator/mm/machine_layout.hpp"
#include "allocator/mm/memory_notify.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/slub/kmem_cache_open.hpp"
#include "allocator/slub/slub_costs.hpp"
#include "allocator/slub/slub_def.hpp"
#include "allocator/slub/slub_sysfs.hpp"
#include "allocator/strategy.hpp"
#include "allocator/struct_pool.hpp"
#include "allocator/violation.hpp"

namespace slabsim::alloc {

class SlubAllocator final : public Allocator,
                            public AllocatorState,
                            public MemoryCallback,
                            public CpuhpDead,
                            public SlabSysfs,
                            public SlabinfoSource {
 public:
  // kmem_cache_init(): creates the boot caches "kmem_cache_node" and "kmem_cache" with a
  // kmem_cache_node for every N_NORMAL_MEMORY node, seeds slab_nodes from N_NORMAL_MEMORY, and
  // creates the kmalloc family of the strategy's generation (slub_kmalloc_family()). `states`
  // and `pages` belong to the caller and outlive the allocator.
  SlubAllocator(Environment& env, PageAllocator& pages, NodeStates& states, Strategy strategy,
                SlubBootParams params = {}, SlubCosts costs = {});

  [[nodiscard]] AllocatorKind kind() const override { return AllocatorKind::slub; }

  // kmem_cache_alloc() / kmem_cache_alloc_node(): slab_alloc_node() on the current CPU.
  ObjectRef kmem_cache_alloc(Cache* s, Gfp gfp) override;
  ObjectRef kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) override;
  // kmem_cache_free(): slab_free() -> do_slab_free() on the current CPU.
  void kmem_cache_free(Cache* s, ObjectRef x) override;
  // flush_all(): IPIs (v5.12), or per-CPU work under cpu_hotplug_lock and flush_lock (v6.1), to
  // the CPUs holding cpu slabs or cpu partial slabs of `s`.
  void flush_all(KmemCache* s);

  // The optional parts SLUB has: a memory callback, CPUHP_SLUB_DEAD, sysfs, /proc/slabinfo.
  MemoryCallback* memory_callback() override { return this; }
  CpuhpDead* cpuhp_dead() override { return this; }
  SlabSysfs* sysfs() override { return this; }
  [[nodiscard]] const SlabinfoSource* slabinfo_source() const override { return this; }

  // slab_memory_callback() (slub_hotplug.cpp): GOING_ONLINE allocates the node's
  // kmem_cache_node of every cache (or, with the strategy, reuses one still there),
  // GOING_OFFLINE shrinks every cache, OFFLINE and CANCEL_ONLINE free the node's structs (or,
  // with the strategy, keep them); slab_nodes follows when the strategy uses it.
  int slab_memory_callback(MemoryAction action, const MemoryNotify& arg) override;
  // slub_cpu_dead(): flushes the dead CPU's cpu slab and cpu partial slabs of every cache.
  void dead_cpu(int cpu) override;
  // slab_attr_show(): the files of show_slab_objects() take the strategy's show locks;
  // "objects" and "objects_partial" walk every node's partial list under its list_lock
  // (count_partial()) with no lock keeping the node structs alive, so a struct freed meanwhile
  // by MEM_OFFLINE is a use-after-free (666716fd267d).
  std::optional<std::string> slab_attr_show(Cache* s, std::string_view file,
                                            const std::vector<bool>& online_cpus) override;
  // sysfs_slab_unlink(): kernfs removal waits for the files' active references to drain, still
  // inside slab_mutex in v5.10-v5.12.
  void sysfs_slab_unlink(Cache* s) override;
  [[nodiscard]] bool sysfs_slab_linked(const Cache* s) const override;
  [[nodiscard]] std::optional<LockClass> active_ref_class(std::string_view file) const override;
  // sysfs_slab_add(): the directory (or first alias link) of `s`, taking its name from any
  // earlier cache's.
  void sysfs_slab_add(KmemCache* s);
  // get_slabinfo() (slub_sysfs.cpp); SLUB's slabinfo_show_stats() prints nothing, and SLUB has
  // no CONFIG_DEBUG_SLAB.
  [[nodiscard]] SlabInfo get_slabinfo(const Cache& s) const override;
  [[nodiscard]] std::string slabinfo_show_stats(const Cache&) const override { return {}; }
  [[nodiscard]] bool config_debug_slab() const override { return false; }

  // The model's state (slub_state.cpp, slub_invariants.cpp).
  AllocatorState& state() override { return *this; }
  // The strategy's usable-node test of ___slab_alloc() and init_kmem_cache_nodes().
  [[nodiscard]] bool node_usable(int nid) const override;
  // What the memory hotplug callbacks did to kmem_cache_node structs so far.
  [[nodiscard]] NodeStructCounts hotplug_node_structs() const override { return node_structs_; }
  // The stat_item totals, the sysfs stat files, and the objects in use.
  [[nodiscard]] CacheReport cache_report(const Cache* s,
                                         const std::vector<bool>& online_cpus) const override;
  // order, objs_per_slab, ... (slub_layout_fields()).
  [[nodiscard]] const std::vector<LayoutField>& layout_fields() const override {
    return slub_layout_fields();
  }
  // ALLOC_SLAB over every cache ever created.
  [[nodiscard]] std::uint64_t slabs_allocated() const override;
  // Object conservation, list membership and counts, frozen slabs on no node list, per-node
  // accounting, a kmem_cache_node for every usable node.
  int check_invariants(const char* function) override;

  // For tests and the checks: slab_caches, newest first.
  [[nodiscard]] auto slab_caches() const { return common_.slab_caches_as<KmemCache>(); }
  // Every cache ever created, destroyed ones included (their structs stay as tombstones).
  [[nodiscard]] std::vector<const KmemCache*> all_caches() const;
  // Every slab of `s` that is allocated now (cpu, partial, full or lost), oldest first.
  [[nodiscard]] std::vector<const Slab*> slabs_of(const KmemCache* s) const;
  [[nodiscard]] bool slab_nodes_test(int nid) const { return slab_nodes_[nid]; }
  [[nodiscard]] const Strategy& strategy() const { return common_.strategy(); }
  [[nodiscard]] KmemCache* kmem_cache_node_cache() const { return boot_node_cache_; }
  [[nodiscard]] KmemCache* kmem_cache_cache() const { return boot_cache_cache_; }

 private:
  // The hooks of mm/slab.h (see Allocator).
  // __kmem_cache_create() -> kmem_cache_open(): calculate_sizes() and the rest of the layout
  // (derive_cache_settings()), the struct from the "kmem_cache" cache, init_kmem_cache_nodes(),
  // and sysfs_slab_add()'s refusal of a second directory of the same name, checked before any
  // allocation.
  // __kmem_cache_alias() (mm/slub.c, v5.10-v6.1): find_mergeable(), then the target's refcount
  // raised, object_size and inuse widened to the new size, and sysfs_slab_alias().
  Cache* __kmem_cache_alias(const std::string& name, unsigned object_size, unsigned align,
                            CacheFlags flags) override;
  CreatedCache __kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                                   CacheFlags flags) override;
  // flush_all(), then free_partial() on every node: empty partial slabs are discarded, others
  // reported; non-zero when a node still has slabs.
  int __kmem_cache_shutdown(Cache* s) override;
  // sysfs_slab_release() -> kmem_cache_release(): the node structs and the struct.
  void __kmem_cache_release(Cache* s) override;
  // flush_all(), then every node's partial list sorted by free objects, empty slabs discarded;
  // called without locks by the hotplug callback and sysfs too.
  int __kmem_cache_shrink(Cache* s) override;
  // __kmem_cache_do_shrink() (the name is v5.15's): the node loop of __kmem_cache_shrink().
  int __kmem_cache_do_shrink(KmemCache* s);

  // Boot and structs (slub.cpp).
  KmemCache* create_boot_cache(const std::string& name, unsigned size);
  // create_kmalloc_cache() (mm/slab_common.c): one cache of the kmalloc family, listed.
  KmemCache* create_kmalloc_cache(const KmallocCache& k);
  // struct kmem_cache with its per-CPU data, no node structs yet; owned by the allocator.
  KmemCache* new_cache(const std::string& name, CacheFlags flags, const CacheSettings& settings);
  KmemCacheNode* alloc_kmem_cache_node(KmemCache* s, int nid, int alloc_node);
  void free_kmem_cache_node(KmemCache* s, int nid);
  bool init_kmem_cache_nodes(KmemCache* s);
  // Node lists (below).
  void add_partial(KmemCacheNode* n, Slab* page, bool tail);
  void remove_partial(KmemCacheNode* n, Slab* page);
  void add_full(KmemCache* s, KmemCacheNode* n, Slab* page);
  void remove_full(KmemCache* s, KmemCacheNode* n, Slab* page);
  // The allocation path (slub_alloc.cpp).
  Object slab_alloc_node(KmemCache* s, Gfp gfp, int node);
  Object ___slab_alloc(KmemCache* s, Gfp gfp, int node, int cpu);
  std::uint16_t new_slab_objects(KmemCache* s, Gfp gfp, int node, int cpu);
  std::uint16_t get_partial(KmemCache* s, Gfp gfp, int node, int cpu);
  std::uint16_t get_partial_node(KmemCache* s, KmemCacheNode* n, int cpu);
  std::uint16_t get_any_partial(KmemCache* s, Gfp gfp, int cpu);
  std::uint16_t acquire_slab(KmemCache* s, KmemCacheNode* n, Slab* page, bool mode, int* objects);
  std::uint16_t get_freelist(KmemCache* s, Slab* page);
  // __cmpxchg_double_slab()/cmpxchg_double_slab(): the slab's freelist and counters change only
  // if nothing changed them since the caller read them (`old_version`). The cmpxchg's own time
  // is paid with the other CPUs running, so a change they make between the read and the
  // cmpxchg (or while the caller waited for a lock in between) makes it fail; every failed
  // attempt counts CMPXCHG_DOUBLE_FAIL, as both kernel functions do (v5.10-v6.1).
  bool cmpxchg_double_slab(KmemCache* s, const Slab* page, std::uint32_t old_version);
  Slab* new_slab(KmemCache* s, Gfp gfp, int node, int cpu);  // allocate_slab
  void discard_slab(KmemCache* s, Slab* page);
  void free_slab(KmemCache* s, Slab* page);
  void __free_slab(Slab* page);
  void lockless_node_reads(KmemCache* s);  // show_slab_objects()'s SO_ALL reads
  // kernfs_remove()/kernfs_remove_by_name() of the cache's directory: its files' active
  // references drain first.
  void kernfs_remove(KmemCache& s, const char* function);
  // The free path (slub_free.cpp).
  void slab_free(KmemCache* s, Object x);  // slab_free() -> do_slab_free()
  void __slab_free(KmemCache* s, Slab* page, std::uint16_t object, int cpu);
  void put_cpu_partial(KmemCache* s, Slab* page, bool drain, int cpu);
  void unfreeze_partials(KmemCache* s, int cpu);
  void __unfreeze_partials(KmemCache* s, Slab* chain, int cpu);
  // Back to the node lists (slub_deactivate.cpp).
  void deactivate_slab(KmemCache* s, Slab* page, std::uint16_t freelist, int cpu);
  void deactivate_slab_v6_1(KmemCache* s, Slab* page, std::uint16_t freelist, int cpu);
  // has_cpu_slab() of every CPU, in CPU order: who on_each_cpu_cond() sends to.
  [[nodiscard]] std::vector<int> cpus_with_slab(const KmemCache* s) const;
  // v6.1: flush_all() minus the cpus_read_lock(), for callers that hold it already.
  void flush_all_cpus_locked(KmemCache* s);
  void flush_slab(KmemCache* s, int cpu);
  void flush_cpu_slab(KmemCache* s, int cpu);  // __flush_cpu_slab
  // slab_memory_callback()'s actions (slub_hotplug.cpp).
  int slab_mem_going_online_callback(const MemoryNotify& arg);
  int slab_mem_going_offline_callback();
  void slab_mem_offline_callback(const MemoryNotify& arg);

  // Helpers (below, and slub.cpp).
  // stat(): raw_cpu_inc() counts on the CPU that runs the code, which is not the CPU whose slabs
  // are flushed when slub_cpu_dead() runs on the CPU taking another one down.
  void stat(KmemCache* s, StatItem item) { ++s->cpu_slab[env_->current_cpu()].stat[item]; }
  // get_node(s, page_to_nid(page)); nullptr (recorded as a violation) where the kernel would
  // dereference NULL or freed memory.
  KmemCacheNode* node_of(KmemCache* s, const Slab* page, const char* function);
  KmemCacheNode* bad_node(KmemCache* s, const Slab* page, const char* function);
  // One step of the node walks of kmem_cache_shrink(), kmem_cache_close() and
  // show_slab_objects(): the struct to visit for node nid, or nullptr to skip it. Under
  // NodePaths::v3_14 the walk is N_NORMAL_MEMORY with get_node() unchecked, and a missing struct
  // is recorded as the kernel's NULL dereference.
  KmemCacheNode* walk_node(KmemCache* s, int nid, const char* function);
  void list_lock(KmemCacheNode* n, const char* function);
  void list_unlock(KmemCacheNode* n);
  Slab* make_slab();
  void release_slab(Slab* page);
  int numa_mem_id(int cpu) const;
  bool has_cpu_partial(const KmemCache* s) const;

  // kmem_cache_init() runs before the simulation: during the constructor env_ points at
  // boot_env_, where time stands still and locks are free; afterwards at the simulator's.
  BootEnvironment boot_env_;
  Environment* env_;
  PageAllocator& pages_;
  NodeStates& states_;
  const MachineLayout& layout_;
  const Strategy& strategy_ = common_.strategy();
  SlubBootParams params_;
  SlubCosts costs_;
  std::vector<bool> slab_nodes_;
  std::vector<int> shown_cpus_;  // per CPU id: the id its sysfs counts show under (shown_cpu())
  std::vector<std::unique_ptr<KmemCache>> caches_;  // every cache ever created (tombstones too)
  KmemCache* boot_node_cache_ = nullptr;
  KmemCache* boot_cache_cache_ = nullptr;
  StructPool<Slab> slab_pool_;
  std::uint64_t next_slab_serial_ = 0;
  std::uint64_t next_lock_instance_ = 0;
  NodeStructCounts node_structs_;
};

// The entry points of the fast paths, inline so that a caller holding a SlubAllocator calls
// slab_alloc_node() and slab_free() directly; and the node lists and the helpers every path uses,
// inline so that the paths, each in a file of its own, keep them inline.

inline ObjectRef SlubAllocator::kmem_cache_alloc(Cache* s, Gfp gfp) {
  return object_ref(slab_alloc_node(static_cast<KmemCache*>(s), gfp, numa_no_node));
}

inline void SlubAllocator::kmem_cache_free(Cache* s, ObjectRef x) {
  slab_free(static_cast<KmemCache*>(s), slub_object(x));
}

// get_node(s, page_to_nid(page)), the struct checked as the model checks it.
inline KmemCacheNode* SlubAllocator::node_of(KmemCache* s, const Slab* page, const char* function) {
  KmemCacheNode* n = s->node[page->pages.node];
  return n && !n->freed ? n : bad_node(s, page, function);
}

// kmem_cache_has_cpu_partial().
inline bool SlubAllocator::has_cpu_partial(const KmemCache* s) const {
  return params_.cpu_partial_enabled && !s->flags.debug();
}

// numa_mem_id(): x86_64 does not select CONFIG_HAVE_MEMORYLESS_NODES, so it is numa_node_id()
// even on a memoryless node (whose kmem_cache_node is then missing and get_any_partial() runs).
inline int SlubAllocator::numa_mem_id(int cpu) const {
  return layout_.cpu_node[cpu];
}

inline void SlubAllocator::list_lock(KmemCacheNode* n, const char* function) {
  env_->lock(LockClass::list_lock, n->lock_instance, LockMode::exclusive, function);
}

inline void SlubAllocator::list_unlock(KmemCacheNode* n) {
  env_->unlock(LockClass::list_lock, n->lock_instance, LockMode::exclusive);
}

inline void SlubAllocator::add_partial(KmemCacheNode* n, Slab* page, bool tail) {
  ++n->nr_partial;
  if (tail)
    n->partial.push_back(page);
  else
    n->partial.push_front(page);
  page->where = Slab::Where::node_partial;
  env_->charge(costs_.list_update);
}

inline void SlubAllocator::remove_partial(KmemCacheNode* n, Slab* page) {
  n->partial.remove(page);
  --n->nr_partial;
  page->where = Slab::Where::none;
  env_->charge(costs_.list_update);
}

// Only SLAB_STORE_USER caches keep a full list.
inline void SlubAllocator::add_full(KmemCache* s, KmemCacheNode* n, Slab* page) {
  page->where = Slab::Where::node_full;
  if (!s->flags.store_user) return;
  n->full.push_back(page);
}

inline void SlubAllocator::remove_full(KmemCache* s, KmemCacheNode* n, Slab* page) {
  if (s->flags.store_user && page->where == Slab::Where::node_full) n->full.remove(page);
  page->where = Slab::Where::none;
}

}  // namespace slabsim::alloc
