// Memory hotplug of whole memory blocks in the kernel's order (mm/memory_hotplug.c,
// drivers/base/memory.c, v5.10): the locks, the zone move, status_change_nid*, the memory
// notifier chain, node state updates and zonelist rebuilds. The slab allocator (and any other
// listener, such as an error injector) registers on the notifier chain.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "allocator/environment.hpp"
#include "allocator/mm/memory_notify.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"

namespace slabsim::alloc {

inline constexpr int slab_callback_pri = 1;  // SLAB_CALLBACK_PRI
inline constexpr int einval = 22;
inline constexpr int eintr = 4;  // EINTR: offline_pages()'s "signal backoff"

// Simulated time of the work memory hotplug does per memory block, besides its locks and
// notifier callbacks, where v5.10 and v6.1 do it (mm/memory_hotplug.c; struct pages are
// initialised at online since f1dd2cd13c4b, v4.13, in one pass since d0dc12e86b31, v4.17).
// Per 128 MiB block, scaled by the machine's block size; x86_64 bare metal or warm VMs.
// - add_memory_ns: add_memory_resource(): the direct map, sparse_add_section() allocating the
//   2 MiB memmap (one order-9 page, not initialised), the memory block device. No published
//   figure isolates it; an estimate bounded by Tianyou Li's virtio-mem plug timings ("Optimize
//   zone->contiguous update", 2025: add + online ~1 ms per block once the zone walk is gone).
// - online_memmap_ns: move_pfn_range_to_zone() -> memmap_init_zone() (memmap_init_range() in
//   v6.1), before MEM_GOING_ONLINE: ~10 ns per struct page warm (Li Zhe, "mm: add a
//   template-based fast path for zone-device page init", 2026: 273.5 ms per 100 GB rebind).
// - zone_walk_per_gib_ns: set_zone_contiguous() right after it (and again in offline's
//   remove_pfn_range_from_zone(), after MEM_OFFLINE) walks the whole zone span: ~28 us per GiB
//   (Tianyou Li 2025: plugging 256 GiB took 10 s with the walk, 2 s without).
// - online_pages_ns: after MEM_GOING_ONLINE, online_pages_range() frees the block to the buddy
//   allocator as 32 order-10 pages (a9cd410a3d29, v5.1: "less than 1 ms" per section; Daniel
//   Jordan's 2020 deferred-init figures give 15-22 ns per page for init + free), undo the
//   isolation, watermarks.
// - offline_pages_ns: an idle block's isolation, scans and buddy removal (Tianyou Li and Yuan
//   Liu's unplug timings after the fix: 1-2 ms per block with virtio-mem).
// - pcp_drain_page_ns: free_pcppages_bulk() per page a drain returns to the buddy lists, under
//   zone->lock: __free_one_page() with its merges, a few hundred cycles (an estimate; the
//   page allocator's order-0 free through the buddy lists, without the per-CPU lists).
// - offline_retry_ns: one more pass of v5.10's offline loop while test_pages_isolated() fails
//   (lru_add_drain_all(), scan_movable_pages() and the test over a 128 MiB block; an estimate).
//   The kernel repeats until a signal; the model gives up with -EINTR ("signal backoff")
//   after offline_retry_passes passes.
struct HotplugCosts {
  std::int64_t add_memory_ns = 300'000;        // per 128 MiB block
  std::int64_t online_memmap_ns = 350'000;     // per 128 MiB block, before MEM_GOING_ONLINE
  std::int64_t online_pages_ns = 200'000;      // per 128 MiB block, after MEM_GOING_ONLINE
  std::int64_t offline_pages_ns = 1'000'000;   // per 128 MiB block
  std::int64_t zone_walk_per_gib_ns = 28'000;  // per GiB of the zone's span
  std::int64_t pcp_drain_page_ns = 100;        // per page drained from a per-CPU list
  std::int64_t offline_retry_ns = 100'000;     // per 128 MiB block and pass
  int offline_retry_passes = 1000;
};

struct MemoryNotifier {
  std::string name;
  int priority = 0;  // the chain is sorted by decreasing priority
  std::function<int(MemoryAction, const MemoryNotify&)> call;  // 0 or a negative errno
};

// The points between the steps of online_pages()/offline_pages(), where a test or the
// simulator may act (e.g. create a cache between the GOING_ONLINE callbacks and
// node_states_set_node(), the window of 03afc0e25f7f).
enum class HotplugStep {
  locked,                  // after mem_hotplug_begin() (add_memory, online or offline)
  going_online_notified,   // after MEM_GOING_ONLINE, before the pages are onlined
  node_states_set,         // after node_states_set_node()
  isolated,                // offline: after start_isolate_page_range()
  going_offline_notified,  // after MEM_GOING_OFFLINE
  node_states_cleared,     // after node_states_clear_node()
};

// "locked", "going_online_notified", ...: the names results and traces show.
constexpr const char* hotplug_step_name(HotplugStep s) {
  switch (s) {
    case HotplugStep::locked:
      return "locked";
    case HotplugStep::going_online_notified:
      return "going_online_notified";
    case HotplugStep::node_states_set:
      return "node_states_set";
    case HotplugStep::isolated:
      return "isolated";
    case HotplugStep::going_offline_notified:
      return "going_offline_notified";
    case HotplugStep::node_states_cleared:
      return "node_states_cleared";
  }
  return "?";
}

// The lock the hotplug operations take (a strategy's hotplug_side, alloc::hotplug_sides()).
enum class HotplugSide : std::uint8_t {
  mem_hotplug_mutex,  // v3.14: lock_memory_hotplug(), mutex_lock(&mem_hotplug_mutex)
  mem_hotplug_lock,   // mem_hotplug_begin(): cpus_read_lock() + percpu_down_write() (v4.13+)
};

class MemoryHotplug {
 public:
  MemoryHotplug(Environment& env, PageAllocator& pages, NodeStates& states, HotplugCosts costs = {},
                HotplugSide side = HotplugSide::mem_hotplug_lock);

  void register_notifier(MemoryNotifier notifier);  // register_memory_notifier()

  // add_memory(): an absent block becomes present (offline); its node comes online.
  int add_memory(int block);
  // try_online_node(), which cpu_up() calls for the CPU's node first: 1 when it brought the
  // node online (hotadd_new_pgdat(), node_set_online()), 0 when it was online. Since Oscar
  // Salvador's "mm/memory_hotplug: make add_memory_resource use __try_online_node" (2018) the
  // node_online() test is inside mem_hotplug_begin(), so every CPU online takes the write side;
  // v3.14's (lock_memory_hotplug()) tested first and took the lock only for an offline node.
  int try_online_node(int nid);
  // try_remove_memory() (v6.1) of one range, e.g. a DIMM's blocks: -EBUSY when one of them is
  // online (check_memblock_offlined_cb(), which logs it) or absent, and nothing is removed;
  // else each becomes absent (arch_remove_memory()) and try_offline_node() takes the node out
  // of N_ONLINE when it has neither present memory blocks nor present CPUs left.
  int remove_memory(const std::vector<int>& blocks);
  // online_pages(): 0, or the negative errno of the notifier that vetoed (after
  // MEM_CANCEL_ONLINE), or -EINVAL for a block that is absent or already online.
  int online_pages(int block, ZoneType zone);
  // offline_pages(): 0, -EBUSY when an unmovable (slab) page is in the block ("failure to
  // isolate range", no notifier runs), the negative errno of a notifier that vetoed
  // MEM_GOING_OFFLINE (isolation undone, then MEM_CANCEL_OFFLINE), -EINVAL for a block that is
  // not online. The block is isolated from before MEM_GOING_OFFLINE to the end: meanwhile
  // alloc_pages() falls back past it. The per-CPU page lists are drained as the strategy's
  // page allocator generation does (PcpVersion): v5.10 after isolating and while pages of the
  // block are still not free (a slab page a CPU took from its list after the isolation keeps
  // the loop going until it is freed: -EINTR after HotplugCosts::offline_retry_passes); v5.12
  // and v6.1 disable the zone's lists around the whole offline.
  int offline_pages(int block);

  // The page allocator's CPU hotplug callbacks (mm/page_alloc.c), run by the CPU taking `cpu`
  // up or down with the hotplug locks held: page_alloc_cpu_dead() drains the dead CPU's lists
  // (drain_pages()); from v5.14 both resize every populated zone's lists (zone_pcp_update()
  // under pcp_batch_high_lock), since high is split across the node's online CPUs.
  void page_alloc_cpu_online(int cpu);
  void page_alloc_cpu_dead(int cpu);

  std::function<void(HotplugStep)> on_step;  // called at each HotplugStep, if set
  [[nodiscard]] const std::vector<std::string>& log() const { return log_; }

 private:
  int notify(MemoryAction action, const MemoryNotify& arg);  // memory_notify()
  void notify_all(MemoryAction action, const MemoryNotify& arg);
  void mem_hotplug_begin();
  void mem_hotplug_done();
  void step(HotplugStep s) {
    if (on_step) on_step(s);
  }

  // `per_block_ns` of a 128 MiB block, scaled to this machine's block size, then paid.
  void work(std::int64_t per_block_ns);
  // set_zone_contiguous() over the zone of `nid` holding `pages` pages.
  void zone_walk(std::uint64_t pages);
  // __drain_all_pages(zone, force_all_cpus): under pcpu_drain_mutex, the list for the zone of
  // each online CPU that has pages on it, or of every online CPU when forced, is drained: by a
  // work on that CPU (v5.10, v5.12: mm_percpu_wq, then flush_work()), or by the caller itself
  // (v6.1: drain_pages_zone() on the remote CPU's list, 443c2accd1b6).
  void drain_all_pages(int nid, ZoneType zone, bool force_all_cpus = false);
  // zone_pcp_update(): the zone's batch and high change under pcp_batch_high_lock.
  void zone_pcp_update();
  // zone_pcp_disable() (takes pcp_batch_high_lock and drains every online CPU) and
  // zone_pcp_enable() (releases it), v5.11+.
  void zone_pcp_disable(int nid, ZoneType zone);
  void zone_pcp_enable(int nid, ZoneType zone);
  [[nodiscard]] bool pcp_disabled_in_offline() const;

  Environment& env_;
  PageAllocator& pages_;
  NodeStates& states_;
  HotplugCosts costs_;
  HotplugSide side_;
  std::vector<MemoryNotifier> chain_;
  std::vector<std::string> log_;
};

}  // namespace slabsim::alloc
