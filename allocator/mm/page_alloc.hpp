// The buddy page allocator as far as slab behaviour depends on it (mm/page_alloc.c, v5.10):
// per-node, per-zone free pages by order and migratetype, grouping pages by mobility in
// pageblocks (the fallback that steals and claims a pageblock), the preferred node with
// zonelist fallback, __GFP_THISNODE, numastat counters, and the memory-block operations memory
// hotplug needs, and the per-CPU page lists in front of them (per_cpu_pages.hpp). Not modelled:
// ALLOC_NOFRAGMENT, watermark checks, highatomic and CMA pageblocks, shuffling, compaction,
// vmstat's periodic drain of remote pcp lists.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "allocator/mm/gfp.hpp"
#include "allocator/mm/machine_layout.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/per_cpu_pages.hpp"

namespace slabsim::alloc {

inline constexpr unsigned page_size = 4096;     // PAGE_SIZE
inline constexpr unsigned max_order = 11;       // MAX_ORDER: orders 0..10
inline constexpr unsigned pageblock_order = 9;  // x86-64 with huge pages: HPAGE_PMD_ORDER

// The free-list types of a pageblock (enum migratetype, MIGRATE_PCPTYPES of them): what
// gfp_migratetype() makes of a request and what set_pageblock_migratetype() records.
enum class MigrateType : std::uint8_t { unmovable, movable, reclaimable };
inline constexpr int migrate_types = 3;

// get_order(): the smallest order whose pages hold `size` bytes (0 for 0).
unsigned get_order(unsigned long size);

// The six counters of /sys/devices/system/node/nodeN/numastat.
struct NumaStat {
  std::uint64_t numa_hit = 0, numa_miss = 0, numa_foreign = 0, interleave_hit = 0, local_node = 0,
                other_node = 0;
  bool operator==(const NumaStat&) const = default;
};

struct PageBlockRef {
  std::uint64_t pfn = 0;  // first page frame
  unsigned order = 0;
  int node = 0;
  int block = 0;  // memory block holding it
  ZoneType zone = ZoneType::normal;
};

class PageAllocator {
 public:
  // Blocks whose state is online are given to the buddy allocator at construction; node
  // states are not touched here (the boot sequence sets them, see boot_node_states()).
  explicit PageAllocator(const MachineLayout& layout);

  // __alloc_pages_nodemask(): walks the zonelist of `preferred_nid` (the allocating CPU's node
  // when numa_no_node), zones from the highest the gfp allows down (GFP_KERNEL: ZONE_NORMAL
  // only; __GFP_MOVABLE: ZONE_MOVABLE first), taking the first zone that can serve `order`
  // (__rmqueue()): the smallest free chunk of the request's migratetype (gfp_migratetype():
  // __GFP_MOVABLE movable, __GFP_RECLAIMABLE reclaimable, else unmovable), or else, by
  // __rmqueue_fallback(), the largest chunk of another type, stealing its pageblock (see
  // pageblock_migratetype()); within a list the lowest pfn first, where the kernel takes the
  // list head (boot and onlined memory are freed to the tail in pfn order, so the two agree
  // until frees reorder the lists). Splits as the buddy allocator does. An order the per-CPU
  // lists keep (pcp_allowed_order()) comes from the head of `cpu`'s list for the zone and type,
  // refilled from the buddy lists by rmqueue_bulk() when empty (rmqueue_pcplist()). __GFP_THISNODE
  // uses only the preferred node. No reclaim, no watermarks. On success updates numastat exactly
  // as zone_statistics() does, with `cpu`'s node as numa_node_id(). Fails (nullopt, no counter
  // touched) when no zone of the walk has a free chunk big enough, including a preferred node
  // that is offline or (with __GFP_THISNODE) memoryless. Throws std::out_of_range for a bad node
  // or CPU id, std::invalid_argument for order >= max_order.
  std::optional<PageBlockRef> alloc_pages(int preferred_nid, unsigned order, Gfp gfp, int cpu);
  // __free_pages() on `cpu`: free_unref_page() puts an order the lists keep at the head of the
  // CPU's list for the pageblock's migratetype and returns a bulk to the buddy lists past
  // pcp->high; other orders, and pages of an isolated pageblock, go to the buddy allocator,
  // which merges them. `pages` must be exactly what alloc_pages() returned and is still live
  // (std::invalid_argument otherwise: double free, wrong order, or a movable allocation already
  // dropped by offline_block()).
  void free_pages(const PageBlockRef& pages, int cpu);
  // Whether `pages` is a live allocation: false once freed, or once an offline migrated the
  // movable page away (the model does not follow it to its new place).
  [[nodiscard]] bool allocated(const PageBlockRef& pages) const;

  // Memory hotplug on whole blocks (mm/memory_hotplug.c):
  // add_memory(): an absent block becomes present (offline).
  void add_block(int block);
  // arch_remove_memory(): an offline block becomes absent.
  void remove_block(int block);
  // online_pages(): the block's pages join `zone` of its node and become allocatable.
  void online_block(int block, ZoneType zone);
  // start_isolate_page_range() -> set_migratetype_isolate() (mm/page_isolation.c, v5.10 to
  // v6.1) of an online block: false, and nothing changes, if an allocated unmovable page (a
  // slab page: has_unmovable_pages()) lies in the block or it is already isolated; offlining
  // then fails with -EBUSY before any notifier runs. Otherwise the block's pageblocks become
  // MIGRATE_ISOLATE: move_freepages_block() puts its free pages on the isolate free lists and
  // __mod_zone_freepage_state(zone, -nr_pages) takes them out of the zone's free count, so
  // alloc_pages() never hands them out and pages freed into the block stay uncounted
  // (__free_one_page() skips the count for an isolated migratetype) until the undo.
  [[nodiscard]] bool isolate_block(int block);
  // undo_isolate_page_range() -> unset_migratetype_isolate(): the block's free pages go back to
  // the allocatable free lists and the zone's free count (__mod_zone_freepage_state(+nr_pages)).
  void undo_isolate_block(int block);
  // __offline_isolated_pages(): the isolated block's pages leave the buddy allocator (its free
  // pages were already out of the free count since isolation). Allocated movable pages are
  // treated as migrated away. Throws std::logic_error for a block not isolated, or with pages
  // still allocated unmovable or on a per-CPU list (test_pages_isolated() would fail).
  void offline_block(int block);

  // The per-CPU page lists. Until set_pcp_version(), every zone runs with the boot pageset
  // (high 0, batch 1: each page passes straight through), as unit tests of the buddy lists
  // want. Setting it sizes every zone's lists (zone_pcp_update()); online_block(),
  // offline_block() and set_cpu_online() resize them as the kernel's hotplug paths do.
  void set_pcp_version(PcpVersion v);
  [[nodiscard]] std::optional<PcpVersion> pcp_version() const { return pcp_version_; }
  // The CPUs drain_all_pages() considers and v6.1's zone_highsize() splits high across: every
  // present CPU at construction. Going offline does not drain (see drain_pages()).
  void set_cpu_online(int cpu, bool online);
  [[nodiscard]] bool cpu_online(int cpu) const;
  // drain_pages_zone() / drain_pages(): every page on `cpu`'s lists (for one zone, or all) goes
  // back to the buddy lists (free_pcppages_bulk()); returns how many pages moved.
  std::uint64_t drain_pages_zone(int cpu, int node, ZoneType zone);
  std::uint64_t drain_pages(int cpu);
  // __drain_all_pages()'s choice of CPUs: the online CPUs with pages on their lists for the
  // zone, or every online CPU when `force_all_cpus`.
  [[nodiscard]] std::vector<int> cpus_with_pcps(int node, ZoneType zone, bool force_all_cpus) const;
  // zone_pcp_disable() / zone_pcp_enable() (v5.11+): high 0 and batch 1 on every CPU, so that
  // no page stays on a list of the zone, until enabled again. The caller drains.
  void zone_pcp_disable(int node, ZoneType zone);
  void zone_pcp_enable(int node, ZoneType zone);
  [[nodiscard]] int pcp_high(int node, ZoneType zone) const;            // pcp->high, as in effect
  [[nodiscard]] int pcp_batch(int node, ZoneType zone) const;           // pcp->batch, as in effect
  [[nodiscard]] int pcp_count(int cpu, int node, ZoneType zone) const;  // pcp->count
  // Pages on the per-CPU lists: of `node` (any CPU), or inside memory block `block`. They are
  // neither allocated nor in free_pages() (NR_FREE_PAGES does not count them).
  [[nodiscard]] std::uint64_t pcp_pages(int node) const;
  [[nodiscard]] std::uint64_t pcp_pages_in_block(int block) const;

  // Rebuilds the zonelists (build_all_zonelists) from the current node states: called when
  // a node's N_MEMORY changes, where the kernel does (online_pages: after online_block() and
  // node_states_set_node; offline_pages: after offline_block(), before node_states_clear_node).
  // The node order is fixed here; which of its nodes and zones hold pages is read live, so
  // a zone that becomes (un)populated without an N_MEMORY change needs no rebuild.
  void build_all_zonelists(const NodeStates& states);
  // The nodes of `nid`'s zonelist that currently have memory, nearest first (empty for a node
  // that was offline at the last rebuild).
  [[nodiscard]] const std::vector<int>& node_order(int nid) const;
  // numa_mem_id() for a CPU on `nid`: the first node with normal memory in its zonelist
  // (the node itself unless it is memoryless); numa_no_node if there is none.
  [[nodiscard]] int numa_mem_node(int nid) const;

  [[nodiscard]] BlockPresence block_state(int block) const;
  [[nodiscard]] ZoneType block_zone(int block) const;
  // Pages of `node` (in `zone`) that are present and online / free right now.
  [[nodiscard]] std::uint64_t managed_pages(int node, ZoneType zone) const;
  [[nodiscard]] std::uint64_t free_pages(int node, ZoneType zone) const;
  [[nodiscard]] std::uint64_t free_pages(int node) const;
  // Free pages of `node` in isolated blocks: buddy pages no longer in free_pages() (NR_FREE_PAGES)
  // and not allocatable, until the block is offlined or its isolation undone.
  [[nodiscard]] std::uint64_t isolated_free_pages(int node) const;
  [[nodiscard]] bool block_isolated(int block) const;            // is_migrate_isolate_page()
  [[nodiscard]] std::uint64_t unmovable_pages(int block) const;  // allocated, in use by slab
  // get_pageblock_migratetype() of the pageblock holding `pfn` (std::out_of_range for a pfn of
  // no block). Onlining and a failed offline's undo make a block's pageblocks movable
  // (undo_isolate_page_range(..., MIGRATE_MOVABLE)); a fallback steal claims a pageblock for
  // the request's type when the stolen chunk covers it or at least half of it is free or of
  // that type (steal_suitable_fallback()).
  [[nodiscard]] MigrateType pageblock_migratetype(std::uint64_t pfn) const;
  // Pages per pageblock: 1 << pageblock_order, or the memory block's pages if fewer.
  [[nodiscard]] std::uint64_t pageblock_pages() const { return pageblock_pages_; }
  [[nodiscard]] const NumaStat& numastat(int node) const;
  [[nodiscard]] const MachineLayout& layout() const { return layout_; }

 private:
  // One free-list type of a zone (struct free_area's free_list[mt]): orders below top_order_
  // hold pfns sorted (lowest first); top-order chunks live in a bitmap per block (with the
  // list each free one is on), the list counting the blocks that have one on it, so an
  // all-free block costs a few bits.
  struct FreeArea {
    std::array<std::set<std::uint64_t>, max_order> free_lists;  // orders < top_order_ only
    std::map<int, std::uint32_t> top_blocks;  // block -> its free top-order chunks on this list
  };
  // The lists of a zone: one per MigrateType, then MIGRATE_ISOLATE.
  static constexpr int isolate_list = migrate_types;
  // `free` is NR_FREE_PAGES: the free pages of the migratetype lists, which alloc_pages() takes
  // from; `isolated_free` counts those on the isolate list, which it never touches.
  // pcp_batch/pcp_high are zone->pageset_batch/pageset_high, what zone_pcp_enable() restores.
  struct Zone {
    std::uint64_t managed = 0, free = 0, isolated_free = 0;
    std::uint64_t pcp_pages = 0;  // on any CPU's lists
    int pcp_batch = 1, pcp_high = 0;
    bool pcp_disabled = false;
    std::array<FreeArea, migrate_types + 1> lists;
  };
  struct Block {
    BlockPresence state = BlockPresence::absent;
    ZoneType zone = ZoneType::normal;
    int node = 0;
    std::vector<std::uint64_t> top_free;  // bit i: chunk [i << top_order_, ...) is free
    std::vector<std::uint8_t> top_list;   // the list free top chunk i is on
    std::vector<MigrateType> pageblock_mt;
    std::uint64_t free_pages = 0;
    std::uint64_t unmovable_pages = 0;
    std::uint64_t movable_pages = 0;
    std::uint64_t pcp_pages = 0;  // on a per-CPU list
    bool isolated = false;        // MIGRATE_ISOLATE: its free pages are on the zone's isolate lists
  };
  struct Allocation {
    unsigned order = 0;
    bool movable = false;
  };

  Zone& zone_of(int node, ZoneType zone);
  [[nodiscard]] const Zone& zone_of(int node, ZoneType zone) const;
  void check_node(int nid, const char* what) const;
  void check_block(int block) const;
  [[nodiscard]] std::uint64_t node_managed(int node) const;
  std::optional<std::uint64_t> take_from_zone(int node, ZoneType zone, unsigned order,
                                              MigrateType mt);
  // The per-CPU page lists' half of free_pages() (per_cpu_pages.cpp).
  void free_unref_page_commit(const PageBlockRef& pages, int cpu);
  // rmqueue(): through `cpu`'s list when the order allows, else take_from_zone().
  std::optional<std::uint64_t> rmqueue(int cpu, int node, ZoneType zone, unsigned order,
                                       MigrateType mt);
  PerCpuPages& pcp_of(int cpu, int node, ZoneType zone);
  [[nodiscard]] const PerCpuPages* find_pcp(int cpu, int node, ZoneType zone) const;
  [[nodiscard]] std::size_t zone_index(int node, ZoneType zone) const;
  // free_pcppages_bulk(): `count` pages from the tails of the lists back to the buddy lists.
  void free_pcppages_bulk(int node, ZoneType zone, PerCpuPages& pcp, int count, int pindex);
  // zone_pcp_update() of every zone: batch and high from the zone's size (and, v6.1, from the
  // watermarks and the online CPUs).
  void update_pcp_sizes();
  void check_cpu(int cpu, const char* what) const;
  bool steal_fallback(Zone& z, unsigned order, MigrateType mt);  // __rmqueue_fallback()
  void give_to_zone(int block, std::uint64_t pfn, unsigned order);
  // Free-list primitives: the lowest chunk of `order` on list `list` (removed), a chunk added
  // to a list, a free chunk found (its list, or -1) and removed.
  std::optional<std::uint64_t> pop_chunk(Zone& z, int list, unsigned order);
  void push_chunk(Zone& z, int list, std::uint64_t pfn, unsigned order);
  [[nodiscard]] int list_of_chunk(const Zone& z, std::uint64_t pfn, unsigned order) const;
  void erase_chunk(Zone& z, int list, std::uint64_t pfn, unsigned order);
  // Every free chunk in [start, end) (whole chunks: a range of whole pageblocks or a block) onto
  // list `to`; returns the pages moved (move_freepages()).
  std::uint64_t move_free_range(Zone& z, std::uint64_t start, std::uint64_t end, int to);
  [[nodiscard]] std::uint64_t movable_pages_in(std::uint64_t start, std::uint64_t end) const;
  MigrateType& pageblock_of(std::uint64_t pfn);
  void refresh_zonelists();

  MachineLayout layout_;
  unsigned top_order_ = 0;  // min(max_order - 1, log2(block_pages)): no chunk spans two blocks
  unsigned pageblock_order_ = 0;  // min(pageblock_order, top_order_)
  std::uint64_t pageblock_pages_ = 0;
  std::vector<NumaStat> numastat_;
  std::vector<std::vector<int>> built_order_;  // build_node_orders() at the last rebuild
  std::vector<std::vector<int>> node_order_;   // built_order_ restricted to populated nodes
  std::vector<int> mem_node_;
  std::vector<Zone> zones_;  // [node * 2 + zone]
  std::vector<Block> blocks_;
  std::map<std::uint64_t, Allocation> allocated_;  // first pfn -> live allocation
  std::optional<PcpVersion> pcp_version_;
  std::vector<bool> cpu_online_;
  std::map<std::size_t, PerCpuPages> pcp_;  // [cpu * zones_.size() + zone index], made on use
};

// The node states the kernel has after boot for this layout (N_ONLINE for nodes with CPUs or
// present memory, N_MEMORY with online memory, N_NORMAL_MEMORY with online normal memory,
// N_CPU with CPUs).
NodeStates boot_node_states(const MachineLayout& layout);

}  // namespace slabsim::alloc
