// The SLAB allocator (mm/slab.c, v5.10, CONFIG_NUMA, CONFIG_SMP, CONFIG_MEMORY_HOTPLUG) as a
// model of the Allocator contract: per-CPU array caches, per-node shared arrays and alien
// caches, three slab lists per node, cache_reap(), and SLAB's memory and CPU hotplug callbacks.
// Statistics are the CONFIG_DEBUG_SLAB ones (/proc/slabinfo "2.1 (statistics)"); everything
// else behaves as a non-debug kernel (no red zones, no poisoning, no limit cap of 32).
//
// Concurrency: as in the SLUB model, simulated CPUs call in cooperatively; code between two
// Environment::lock() calls runs atomically, and paths re-read shared state after each lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/boot_environment.hpp"
#include "allocator/environment.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab/slab_def.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/strategy.hpp"
#include "allocator/struct_pool.hpp"

namespace slabsim::alloc {

class SlabInvariants;

// SLAB's cache layout: the fields of struct kmem_cache (include/linux/slab_def.h) that
// __kmem_cache_create() and enable_cpucache() set, with the kernel's names (/proc/slabinfo
// shows num as <objperslab>, 1 << gfporder as <pagesperslab>, size as <objsize>, and the
// tunables limit, batchcount and shared), s->flags with CONFIG_DEBUG_SLAB's mask and the
// internal CFLGS_* placement flag, and the cache it was merged into.
const std::vector<LayoutField>& slab_layout_fields();

struct SlabParams {
  // REAPTIMEOUT_AC (2*HZ): the period of each CPU's cache_reap(). The per-node part runs every
  // REAPTIMEOUT_NODE (4*HZ), modelled as twice this.
  std::int64_t reap_interval_ns = 2'000'000'000;
  // "noaliencache" boot parameter clears it; kmem_cache_init() also clears it on a machine
  // with a single possible node.
  bool use_alien_caches = true;
  // "slab_max_order=" boot parameter; -1: kmem_cache_init()'s default, SLAB_MAX_ORDER_HI (1)
  // with more than 32 MiB of RAM, else SLAB_MAX_ORDER_LO (0).
  int slab_max_order = -1;
};

// Simulated ns of SLAB's own work, on top of memory accesses and lock waits. Order-of-magnitude
// choices like SlubCosts: the array-cache hit paths are a few instructions (SLAB's fast path is
// an array pop/push with interrupts off), the rest are named so that a user can change them.
struct SlabCosts {
  std::int64_t alloc_hit = 6;       // ____cache_alloc() array hit, with local_irq_save/restore
  std::int64_t free_hit = 6;        // ___cache_free() array push
  std::int64_t refill_entry = 10;   // cache_alloc_refill()/cache_flusharray() bookkeeping
  std::int64_t object_move = 2;     // one object between an array and a slab or two arrays
  std::int64_t list_update = 5;     // moving a slab between slabs_full/partial/free
  std::int64_t alien_free = 10;     // cache_free_alien(): the node test and alien bookkeeping
  std::int64_t grow = 250;          // cache_grow_begin(): page allocator call, page set-up
  std::int64_t object_setup = 2;    // cache_init_objs() per object
  std::int64_t slab_destroy = 150;  // kmem_freepages()
  std::int64_t reap_cache = 20;     // cache_reap() per cache visited
};

class SlabAllocator final : public Allocator,
                            public AllocatorState,
                            public MemoryCallback,
                            public CpuhpPrepare,
                            public CpuhpDead,
                            public CacheReaper,
                            public SlabinfoSource {
 public:
  // kmem_cache_init() + kmem_cache_init_late(): the "kmem_cache" boot cache and the kmalloc
  // caches SLAB's own structures come from, each with a kmem_cache_node for every N_ONLINE node.
  SlabAllocator(Environment& env, PageAllocator& pages, NodeStates& states, Strategy strategy,
                SlabParams params = {}, SlabCosts costs = {});

  [[nodiscard]] AllocatorKind kind() const override { return AllocatorKind::slab; }

  // kmem_cache_alloc() / kmem_cache_alloc_node(): slab_alloc() / slab_alloc_node() with
  // interrupts off; kmem_cache_free(): ___cache_free() (or an alien free).
  ObjectRef kmem_cache_alloc(Cache* s, Gfp gfp) override;
  ObjectRef kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) override;
  void kmem_cache_free(Cache* s, ObjectRef x) override;

  // The optional parts SLAB has: a memory callback, CPUHP_SLAB_PREPARE, cache_reap(),
  // /proc/slabinfo; no sysfs.
  MemoryCallback* memory_callback() override { return this; }
  CpuhpPrepare* cpuhp_prepare() override { return this; }
  CpuhpDead* cpuhp_dead() override { return this; }
  CacheReaper* cache_reaper() override { return this; }
  [[nodiscard]] const SlabinfoSource* slabinfo_source() const override { return this; }

  // slab_memory_callback() (slab_hotplug.cpp), keyed on N_MEMORY changes: GOING_ONLINE sets up
  // the node's structs, GOING_OFFLINE drains its free slabs and vetoes (-EBUSY) while others
  // remain; node structs are never freed.
  int slab_memory_callback(MemoryAction action, const MemoryNotify& arg) override;
  // slab_prepare_cpu() -> cpuup_prepare(), under slab_mutex.
  int prepare_cpu(int cpu) override;
  // slab_dead_cpu() -> cpuup_canceled(), under slab_mutex.
  void dead_cpu(int cpu) override;
  // REAPTIMEOUT_AC.
  [[nodiscard]] std::int64_t reap_interval_ns() const override { return params_.reap_interval_ns; }
  // cache_reap() (slab_reap.cpp): one round on the current CPU, given up when slab_mutex is
  // taken.
  void cache_reap() override;
  // get_slabinfo() and slabinfo_show_stats() with CONFIG_DEBUG_SLAB (slab_slabinfo.cpp).
  [[nodiscard]] SlabInfo get_slabinfo(const Cache& s) const override;
  [[nodiscard]] std::string slabinfo_show_stats(const Cache& s) const override;
  [[nodiscard]] bool config_debug_slab() const override { return true; }

  // The model's state (slab_state.cpp, slab_invariants.cpp).
  AllocatorState& state() override { return *this; }
  // setup_kmem_cache_nodes() walks N_ONLINE: every online node gets a struct.
  [[nodiscard]] bool node_usable(int nid) const override {
    return states_.test(nid, NodeState::online);
  }
  [[nodiscard]] NodeStructCounts hotplug_node_structs() const override { return node_structs_; }
  // The CONFIG_DEBUG_SLAB counters and the objects in use.
  [[nodiscard]] CacheReport cache_report(const Cache* s,
                                         const std::vector<bool>& online_cpus) const override;
  // num, gfporder, size, the tunables, ... (slab_layout_fields()).
  [[nodiscard]] const std::vector<LayoutField>& layout_fields() const override {
    return slab_layout_fields();
  }
  // cache_grow_end() count (grown) over every cache ever created.
  [[nodiscard]] std::uint64_t slabs_allocated() const override;
  // Objects conserved across arrays and slabs, list and counter consistency, a node struct for
  // every online node with memory or CPUs.
  int check_invariants(const char* function) override;

  // For tests and the checks: slab_caches, newest first.
  [[nodiscard]] auto slab_caches() const { return common_.slab_caches_as<SlabCache>(); }
  [[nodiscard]] SlabCache* kmem_cache_cache() const { return kmem_cache_; }
  // kmalloc_slab(): the smallest kmalloc cache of the model holding `size` bytes, or nullptr.
  [[nodiscard]] SlabCache* kmalloc_slab(std::size_t size) const;
  [[nodiscard]] int slab_max_order() const { return slab_max_order_; }
  [[nodiscard]] bool use_alien_caches() const { return use_alien_caches_; }
  [[nodiscard]] std::int64_t reap_node_interval_ns() const { return 2 * params_.reap_interval_ns; }
  // cache_reap() rounds that gave up because slab_mutex was taken.
  [[nodiscard]] std::uint64_t reap_rounds_skipped() const { return reap_skipped_; }
  [[nodiscard]] int reap_node(int cpu) const { return reap_node_[cpu]; }  // slab_reap_node
  [[nodiscard]] bool cpu_online(int cpu) const { return cpu_online_[cpu]; }
  [[nodiscard]] const Strategy& strategy() const { return common_.strategy(); }

 private:
  // The hooks of mm/slab.h (see Allocator).
  // __kmem_cache_create(): the struct from the "kmem_cache" cache, the object layout
  // (calculate_slab_order() and the freelist placement), then setup_cpu_cache() ->
  // enable_cpucache(): tunables, per-CPU arrays and the node structs of every online node.
  // __kmem_cache_alias() (mm/slab.c, v5.10): find_mergeable(), then the target's refcount raised
  // and object_size widened to the new size; SLAB has no sysfs link to make.
  Cache* __kmem_cache_alias(const std::string& name, unsigned object_size, unsigned align,
                            CacheFlags flags) override;
  CreatedCache __kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                                   CacheFlags flags) override;
  // SLAB's __kmem_cache_shutdown() is __kmem_cache_shrink(): non-zero while any node still has
  // a full or partial slab.
  int __kmem_cache_shutdown(Cache* s) override;
  // __kmem_cache_release(): the arrays, alien caches and node structs; then the struct itself.
  void __kmem_cache_release(Cache* s) override;
  // drain_cpu_caches() (an IPI to every online CPU, the alien and shared arrays), then every
  // node's free slabs back to the page allocator.
  int __kmem_cache_shrink(Cache* s) override;

  // Creation and tuning (slab_create.cpp).
  SlabCache* new_cache(const std::string& name, unsigned object_size, unsigned align,
                       CacheFlags flags, std::string* why, int* error);
  bool calculate_slab_order(SlabCache* c, unsigned size, SlabMgmt mgmt, std::size_t* left);
  int enable_cpucache(SlabCache* c);
  int do_tune_cpucache(SlabCache* c, unsigned limit, unsigned batchcount, unsigned shared);
  int setup_kmem_cache_nodes(SlabCache* c);
  int setup_kmem_cache_node(SlabCache* c, int node, bool force_change);
  int init_cache_node(SlabCache* c, int node, bool from_hotplug);
  int init_cache_node_node(int node, bool from_hotplug);
  void free_cache_node(SlabCache* c, int nid);
  std::unique_ptr<AlienArray> alloc_alien_cache(int node, unsigned limit);
  void free_alien_cache(std::unique_ptr<AlienArray> alien);
  std::unique_ptr<ArrayCache> alloc_arraycache(int node, unsigned entries, unsigned batch);
  void kfree_array(std::unique_ptr<ArrayCache> ac);

  // The allocation path (slab_alloc.cpp).
  ObjectRef slab_alloc(SlabCache* c, Gfp gfp);
  ObjectRef slab_alloc_node(SlabCache* c, Gfp gfp, int nodeid);
  SlabObject cache_alloc(SlabCache* c, Gfp gfp, int cpu);  // ____cache_alloc
  SlabObject cache_alloc_refill(SlabCache* c, Gfp gfp, int cpu);
  SlabObject cache_alloc_node(SlabCache* c, Gfp gfp, int nodeid);  // ____cache_alloc_node
  SlabObject fallback_alloc(SlabCache* c, Gfp gfp);
  SlabPage* cache_grow_begin(SlabCache* c, Gfp gfp, int nodeid);
  void cache_grow_end(SlabCache* c, SlabPage* page);
  SlabPage* get_first_slab(SlabCacheNode* n);
  void fixup_slab_list(SlabCacheNode* n, SlabPage* page);
  int alloc_block(SlabCache* c, ArrayCache& ac, SlabPage* page, int batchcount);
  SlabObject slab_get_obj(SlabPage* page);
  ObjectRef finish_alloc(SlabCache* c, SlabObject obj);

  // The free path (slab_free.cpp).
  void cache_free(SlabCache* c, SlabObject obj, int cpu);  // ___cache_free
  bool cache_free_alien(SlabCache* c, SlabObject obj, int cpu);
  void cache_flusharray(SlabCache* c, ArrayCache& ac, int cpu);
  void free_block(SlabCache* c, const SlabObject* objs, std::size_t nr, int node,
                  std::vector<SlabPage*>& list);
  void slabs_destroy(SlabCache* c, std::vector<SlabPage*>& list);
  void slab_destroy(SlabCache* c, SlabPage* page);
  void kmem_freepages(SlabCache* c, SlabPage* page);  // the pages back to the page allocator
  void drain_alien_cache_one(SlabCache* c, ArrayCache& ac, int node,
                             std::vector<SlabPage*>& list);  // __drain_alien_cache
  void drain_alien_cache(SlabCache* c, AlienArray& alien);

  // Draining and reaping (slab_reap.cpp).
  int drain_freelist(SlabCache* c, SlabCacheNode* n, long tofree);
  void drain_array(SlabCache* c, SlabCacheNode* n, ArrayCache* ac, int node);
  void drain_array_locked(SlabCache* c, ArrayCache* ac, int node, bool free_all,
                          std::vector<SlabPage*>& list);
  void do_drain(SlabCache* c, int cpu);
  void drain_cpu_caches(SlabCache* c);
  void reap_alien(SlabCache* c, SlabCacheNode* n, int cpu);

  // Hotplug (slab_hotplug.cpp).
  int drain_cache_node_node(int node);
  int cpuup_prepare(int cpu);
  void cpuup_canceled(int cpu);

  // Boot, kmalloc_node()/kfree() of SLAB's own structures, and helpers (slab.cpp).
  SlabCache* create_boot_cache(const std::string& name, unsigned size, CacheFlags flags);
  ObjectRef kmalloc_node(std::size_t size, int node);
  void kfree(ObjectRef obj);
  void list_del(SlabCacheNode* n, SlabPage* page);
  static unsigned transfer_objects(ArrayCache& to, ArrayCache& from, unsigned max);
  int numa_mem_id(int cpu) const { return layout_.cpu_node[cpu]; }
  int nr_cpus_node(int node) const;
  int nr_online_nodes() const;
  int next_online_node(int node) const;  // next_node_in(node, node_online_map)
  SlabCacheNode* node_of(SlabCache* c, int nid, const char* function);
  void list_lock(SlabCacheNode* n, const char* function);
  void list_unlock(SlabCacheNode* n);
  void touch_node_struct(const SlabCacheNode* n);
  std::int64_t initial_next_reap(const SlabCache* c);
  void set_high(SlabCache* c) {
    if (c->num_active > c->high_mark) c->high_mark = c->num_active;
  }
  static SlabCache* cache_of(Cache* s) { return static_cast<SlabCache*>(s); }

  friend class SlabInvariants;  // slab_invariants.cpp: reads the node states and online CPUs

  // kmem_cache_init() runs before the simulation (and before SMP in the kernel): during the
  // constructor env_ points at a boot environment where time stands still and locks are free;
  // afterwards at the simulator's.
  BootEnvironment boot_env_;
  Environment* env_;
  PageAllocator& pages_;
  NodeStates& states_;
  const MachineLayout& layout_;
  SlabParams params_;
  SlabCosts costs_;
  int slab_max_order_ = 0;
  bool use_alien_caches_ = true;
  std::vector<bool> cpu_online_;
  std::vector<int> reap_node_;                      // per-CPU slab_reap_node
  std::vector<std::unique_ptr<SlabCache>> caches_;  // every cache ever created
  std::vector<SlabCache*> kmalloc_caches_;          // ascending size
  SlabCache* kmem_cache_ = nullptr;
  StructPool<SlabPage> page_pool_;
  std::uint64_t next_slab_serial_ = 0;
  std::uint64_t next_lock_instance_ = 0;
  std::uint64_t reap_skipped_ = 0;
  NodeStructCounts node_structs_;
};

}  // namespace slabsim::alloc
