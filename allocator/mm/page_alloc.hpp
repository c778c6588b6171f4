// The buddy page allocator as far as slab behaviour depends on it (mm/page_alloc.c, v5.10):
// per-node, per-zone free pages by order, the preferred node with zonelist fallback,
// __GFP_THISNODE, numastat counters, and the memory-block operations memory hotplug needs.
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

namespace slabsim::alloc {

inline constexpr unsigned page_size = 4096;  // PAGE_SIZE
inline constexpr unsigned max_order = 11;    // MAX_ORDER: orders 0..10

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
  // only; __GFP_MOVABLE: ZONE_MOVABLE first), taking the first zone with a free block of
  // `order` or larger (the lowest such pfn, for determinism), splitting as the buddy allocator
  // does. __GFP_THISNODE uses only the preferred node. No reclaim, no watermarks. On success
  // updates numastat exactly as zone_statistics() does, with `cpu_node` as numa_node_id().
  // Fails (nullopt, no counter touched) when no zone of the walk has a free chunk big enough,
  // including a preferred node that is offline or (with __GFP_THISNODE) memoryless. Throws
  // std::out_of_range for a bad node id, std::invalid_argument for order >= max_order.
  std::optional<PageBlockRef> alloc_pages(int preferred_nid, unsigned order, Gfp gfp, int cpu_node);
  // __free_pages(): returns the pages and merges buddies. `pages` must be exactly what
  // alloc_pages() returned and is still live (std::invalid_argument otherwise: double free,
  // wrong order, or a movable allocation already dropped by offline_block()).
  void free_pages(const PageBlockRef& pages);

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
  // treated as migrated away. Throws std::logic_error for a block not isolated.
  void offline_block(int block);

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
  [[nodiscard]] const NumaStat& numastat(int node) const;
  [[nodiscard]] const MachineLayout& layout() const { return layout_; }

 private:
  // One migratetype's free lists of a zone (struct free_area's free_list[mt]): orders below
  // top_order_ hold pfns sorted (lowest first); top-order chunks live in a bitmap per block,
  // with the area indexing the blocks that have one, so an all-free block costs a few bits.
  struct FreeArea {
    std::array<std::set<std::uint64_t>, max_order> free_lists;  // orders < top_order_ only
    std::set<int> top_blocks;  // blocks with a free top-order chunk, ascending
  };
  // `free` is NR_FREE_PAGES: the free pages of `buddy`, the lists alloc_pages() takes from;
  // `isolated_free` counts those on `isolate` (MIGRATE_ISOLATE), which it never touches.
  struct Zone {
    std::uint64_t managed = 0, free = 0, isolated_free = 0;
    FreeArea buddy, isolate;
  };
  struct Block {
    BlockPresence state = BlockPresence::absent;
    ZoneType zone = ZoneType::normal;
    int node = 0;
    std::vector<std::uint64_t> top_free;  // bit i: chunk [i << top_order_, ...) is free
    std::uint64_t top_count = 0;          // set bits in top_free
    std::uint64_t free_pages = 0;
    std::uint64_t unmovable_pages = 0;
    std::uint64_t movable_pages = 0;
    bool isolated = false;  // MIGRATE_ISOLATE: its free pages are on the zone's isolate lists
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
  std::optional<std::uint64_t> take_from_zone(int node, ZoneType zone, unsigned order);
  void give_to_zone(int block, std::uint64_t pfn, unsigned order);
  void move_free_chunks(int block, FreeArea& from, FreeArea& to);  // move_freepages_block()
  void refresh_zonelists();

  MachineLayout layout_;
  unsigned top_order_ = 0;  // min(max_order - 1, log2(block_pages)): no chunk spans two blocks
  std::vector<NumaStat> numastat_;
  std::vector<std::vector<int>> built_order_;  // build_node_orders() at the last rebuild
  std::vector<std::vector<int>> node_order_;   // built_order_ restricted to populated nodes
  std::vector<int> mem_node_;
  std::vector<Zone> zones_;  // [node * 2 + zone]
  std::vector<Block> blocks_;
  std::map<std::uint64_t, Allocation> allocated_;  // first pfn -> live allocation
};

// The node states the kernel has after boot for this layout (N_ONLINE for nodes with CPUs or
// present memory, N_MEMORY with online memory, N_NORMAL_MEMORY with online normal memory,
// N_CPU with CPUs).
NodeStates boot_node_states(const MachineLayout& layout);

}  // namespace slabsim::alloc
