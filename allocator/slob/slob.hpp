// SLOB, the "Simple List Of Blocks" allocator (mm/slob.c, v5.10), behind the Allocator interface.
// A K&R-style heap: order-0 pages on three global lists by object size class, each page with its
// own address-ordered list of free blocks in SLOB_UNITs; first fit within a page, a next-fit-like
// rotation of the list between searches, and objects of PAGE_SIZE or more straight from the page
// allocator. One spinlock (slob_lock) covers everything; there is no per-CPU or per-node state,
// so no hotplug callback, no sysfs and no /proc/slabinfo. Caches share pages: a cache struct is
// just a size, an alignment and flags, and SLOB cannot tell which objects belong to which cache.
//
// Objects are ObjectRef{SlobPage*, offset in SLOB_UNITs within the page, page node}. The model
// keeps, besides the kernel's state, which cache each live block belongs to: the kernel does not
// know it, but the invariant checker and the per-cache object counts need it.
#pragma once

#include <array>
#include <boost/container/flat_map.hpp>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/environment.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/slab_common.hpp"
#include "allocator/slab_flags.hpp"
#include "allocator/strategy.hpp"
#include "allocator/struct_pool.hpp"

namespace slabsim::alloc {

// SLOB_UNIT: sizeof(slob_t), whose slobidx_t is s16 while PAGE_SIZE <= 2 * 32767.
inline constexpr unsigned slob_unit = 2;
// SLOB_UNITS(size): units needed for `size` bytes.
constexpr unsigned long slob_units(unsigned long size) {
  return (size + slob_unit - 1) / slob_unit;
}
inline constexpr unsigned slob_page_units = slob_units(page_size);  // SLOB_UNITS(PAGE_SIZE): 2048
inline constexpr unsigned slob_break1 = 256;   // SLOB_BREAK1: below it, free_slob_small
inline constexpr unsigned slob_break2 = 1024;  // SLOB_BREAK2: below it, free_slob_medium

// The three lists of partially free pages: free_slob_small, free_slob_medium, free_slob_large.
enum class SlobList : std::uint8_t { small, medium, large };
inline constexpr int slob_list_count = 3;
// The list slob_alloc() searches, and slob_free() puts a formerly full page on, for `size`.
SlobList slob_list_for(unsigned long size);
const char* slob_list_name(SlobList list);  // "free_slob_small", ...

// Simulated CPU time of SLOB's own work, in ns, on top of memory accesses (touch_memory) and lock
// waits. Order-of-magnitude choices of this model in the spirit of SlubCosts (slub/slub_costs.hpp):
// the lock pairs follow local_irq_save/restore at ~9.4 ns plus an uncontended spinlock, page
// allocator calls match SLUB's new_slab/discard_slab figures, list and block steps are a few
// dependent loads or stores each.
struct SlobCosts {
  std::int64_t alloc_entry = 15;     // slob_alloc_node() checks, size class, spin_lock_irqsave pair
  std::int64_t page_examined = 2;    // slob_alloc(): page_to_nid() and sp->units of a listed page
  std::int64_t block_walked = 2;     // slob_page_alloc(): slob_units()/slob_next() of one block
  std::int64_t block_split = 4;      // slob_page_alloc(): the set_slob() writes of a hit
  std::int64_t list_update = 5;      // list_add/list_del/list_rotate_to_front on a free_slob_* list
  std::int64_t new_page = 250;       // slob_new_pages(): page allocator call, struct page set-up
  std::int64_t free_entry = 15;      // slob_free() checks and its spin_lock_irqsave pair
  std::int64_t free_merge_step = 2;  // slob_free(): one block walked to the reinsertion point
  std::int64_t free_merge = 4;       // slob_free(): the set_slob() writes of insertion and merging
  std::int64_t free_page = 150;      // slob_free_pages(): returning pages to the page allocator
};

// A free block: where it starts in the page and how long it is, both in SLOB_UNITs (what
// set_slob() encodes in the block itself).
struct SlobBlock {
  std::uint16_t offset = 0;
  std::uint16_t units = 0;
  bool operator==(const SlobBlock&) const = default;
};

struct SlobCache;
class SlobInvariants;

// The SLOB fields of struct page (sp->units, sp->freelist, PageSlobFree and sp->slab_list), or a
// large object's pages (kmem_cache objects of PAGE_SIZE or more, which are no SLOB page).
struct SlobPage {
  PageBlockRef pages;           // page_to_nid() is pages.node
  bool large = false;           // a >= PAGE_SIZE object straight from slob_new_pages()
  unsigned units = 0;           // sp->units: free units in the page
  std::vector<SlobBlock> free;  // sp->freelist and its chain: ascending offsets, merged
  // PageSlobFree: set while the page is on one of the lists (it has free units), and which.
  std::optional<SlobList> list;
  std::list<SlobPage*>::iterator list_pos;  // sp->slab_list while `list` is set
  // Model bookkeeping, not kernel state: live blocks by offset, with their length in units (the
  // kernel's slob_free() gets it from the cache's size) and the cache that allocated them.
  struct Block {
    unsigned long units = 0;
    SlobCache* cache = nullptr;
  };
  // Sorted in one vector, which the page keeps from one use to the next (a page of the usual
  // object sizes holds a few dozen): a tree cost a heap allocation and a free per object.
  boost::container::flat_map<std::uint16_t, Block> allocated;
  std::uint64_t serial = 0;  // allocation order, for deterministic walks
  bool live = false;         // taken from the page allocator and not yet given back
};

// struct kmem_cache as mm/slab.h defines it for SLOB.
struct SlobCache : Cache {
  unsigned object_size = 0;  // as requested
  unsigned align = 0;        // c->align: calculate_alignment()
  ObjectRef backing;         // the "kmem_cache" object holding this struct (none for the boot one)
  std::uint64_t live_objects = 0;  // model bookkeeping: allocated and not yet freed
};

// SLOB's cache layout: its struct kmem_cache (mm/slab.h) has only object_size, size, align and
// flags (CACHE_CREATE_MASK keeps only SLAB_CORE_FLAGS without CONFIG_SLAB or CONFIG_SLUB);
// __kmem_cache_alias() is NULL for SLOB, which never merges, so there is no merged_into.
const std::vector<LayoutField>& slob_layout_fields();

class SlobAllocator final : public Allocator, public AllocatorState {
 public:
  // kmem_cache_init(): only points kmem_cache at the static kmem_cache_boot. `pages` and
  // `states` belong to the caller and outlive the allocator.
  SlobAllocator(Environment& env, PageAllocator& pages, NodeStates& states, Strategy strategy,
                SlobCosts costs = {});

  [[nodiscard]] AllocatorKind kind() const override { return AllocatorKind::slob; }

  // slob_alloc_node(c, gfp, NUMA_NO_NODE / node); kmem_cache_free() -> __kmem_cache_free().
  ObjectRef kmem_cache_alloc(Cache* s, Gfp gfp) override;
  ObjectRef kmem_cache_alloc_node(Cache* s, Gfp gfp, int node) override;
  void kmem_cache_free(Cache* s, ObjectRef x) override;

  // No optional part: no memory callback, no CPU hotplug state, no periodic work, no sysfs,
  // no /proc/slabinfo.

  // The model's state (slob.cpp, slob_invariants.cpp).
  AllocatorState& state() override { return *this; }
  // N_NORMAL_MEMORY: slob_new_pages() can get a GFP_KERNEL page there.
  [[nodiscard]] bool node_usable(int nid) const override;
  // SLOB has no per-node structs.
  [[nodiscard]] NodeStructCounts hotplug_node_structs() const override { return {}; }
  // No counters; the objects in use, which only the model can tell per cache.
  [[nodiscard]] CacheReport cache_report(const Cache* s,
                                         const std::vector<bool>& online_cpus) const override;
  // object_size, size, align, flags (slob_layout_fields()).
  [[nodiscard]] const std::vector<LayoutField>& layout_fields() const override {
    return slob_layout_fields();
  }
  // slob_new_pages() calls that succeeded since boot: SLOB pages and large objects, one each
  // (a large object of order > 0 counts once, as SLUB counts a slab of any order once).
  [[nodiscard]] std::uint64_t slabs_allocated() const override { return pages_allocated_; }
  // Units per page, sorted and merged free blocks, list membership, per-cache counts.
  int check_invariants(const char* function) override;

  // For tests and the checks.
  // The pages on `list`, head first (the order the next slob_alloc() searches them in).
  [[nodiscard]] std::vector<const SlobPage*> free_list(SlobList list) const;
  // Pages currently taken from the page allocator (SLOB pages and large objects), oldest first.
  [[nodiscard]] std::vector<const SlobPage*> pages_in_use() const;
  [[nodiscard]] static const SlobPage* page_of(ObjectRef x) {
    return static_cast<const SlobPage*>(x.slab);
  }
  // kmem_cache_boot: the static "kmem_cache" cache struct caches are allocated from.
  [[nodiscard]] const SlobCache* kmem_cache_cache() const { return &kmem_cache_boot_; }

 private:
  // The hooks of mm/slab.h (see Allocator and the .cpp for what each can return).
  CreatedCache __kmem_cache_create(const std::string& name, unsigned object_size, unsigned align,
                                   CacheFlags flags) override;
  int __kmem_cache_shutdown(Cache* s) override;
  void __kmem_cache_release(Cache* s) override;
  int __kmem_cache_shrink(Cache* s) override;

  static SlobCache* cache(Cache* s) { return static_cast<SlobCache*>(s); }
  std::list<SlobPage*>& list_head(SlobList list) { return lists_[static_cast<int>(list)]; }

  ObjectRef slob_alloc_node(SlobCache* c, Gfp gfp, int node);
  ObjectRef slob_alloc(SlobCache* c, unsigned long size, Gfp gfp, unsigned align, int node);
  // The offset of the block taken, or nullopt when no free block of the page fits. Sets
  // `removed` when the page became full and left its list.
  std::optional<std::uint16_t> slob_page_alloc(SlobPage* sp, unsigned long size, unsigned align,
                                               bool* removed);
  void kmem_cache_free_block(SlobCache* c, ObjectRef x);  // __kmem_cache_free
  void slob_free(SlobPage* sp, std::uint16_t offset, unsigned long size);
  SlobPage* slob_new_pages(Gfp gfp, unsigned order, int node);
  void slob_free_pages(SlobPage* sp);
  void set_slob_page_free(SlobPage* sp, SlobList list);
  void clear_slob_page_free(SlobPage* sp);
  void lock_slob(const char* function);  // spin_lock_irqsave(&slob_lock)
  void unlock_slob();                    // spin_unlock_irqrestore(&slob_lock)
  SlobPage* make_page();
  void release_page(SlobPage* sp);

  friend class SlobInvariants;  // slob_invariants.cpp: walks the lists and pages

  Environment& env_;
  PageAllocator& pages_;
  NodeStates& states_;
  const MachineLayout& layout_;
  SlobCosts costs_;
  std::array<std::list<SlobPage*>, slob_list_count> lists_;  // free_slob_small/medium/large
  SlobCache kmem_cache_boot_;
  std::vector<std::unique_ptr<SlobCache>> caches_;  // every cache ever created (tombstones too)
  StructPool<SlobPage> page_pool_;
  std::map<std::uint64_t, SlobPage*> in_use_;  // live pages by serial
  std::uint64_t next_page_serial_ = 0;
  std::uint64_t pages_allocated_ = 0;
  // By node: slob_new_pages() already reported its oops for that node, not online.
  std::vector<bool> oops_reported_;
};

}  // namespace slabsim::alloc
