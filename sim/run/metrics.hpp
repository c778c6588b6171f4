// What one run measured, gathered from the model, the machine and the runner.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/lock_class.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "kernel/lock_stat.hpp"

namespace slabsim::sim {

struct Ratio {
  std::uint64_t remote = 0;
  std::uint64_t total = 0;
  [[nodiscard]] double value() const { return total ? static_cast<double>(remote) / total : 0.0; }
};

struct CacheMetrics {
  std::string name;
  std::uint64_t allocations = 0, frees = 0, failed_allocations = 0, skipped = 0;
  Ratio remote_alloc;   // object on another node than the allocating CPU's
  Ratio remote_access;  // workload accesses to objects on another node
  std::vector<std::uint64_t> fallbacks_per_node;  // NUMA_NO_NODE fallbacks by requested node
  // The allocator's statistics (alloc::CacheReport): SLUB's stat_item totals, SLAB's
  // CONFIG_DEBUG_SLAB counters, none for SLOB; and their per-cache text (SLUB's sysfs stat files,
  // "alloc_fastpath 12 C0=5 C1=7" lines).
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::string counters_text;
  std::optional<std::uint64_t> alloc_node_mismatch;  // SLUB only
  std::uint64_t objects_in_use = 0;                  // at the end, counted in the slabs themselves
  bool destroyed = false;
  // The layout its last kmem_cache_create() gave it, one value per field of the allocator's
  // alloc::layout_fields(); nullopt when it was never created.
  std::optional<std::vector<alloc::LayoutValue>> layout;
};

enum class HotplugType {
  memory_add,
  memory_online,
  memory_offline,
  memory_remove,
  cpu_online,
  cpu_offline
};

// "memory_add", "memory_online", ...: the names results show.
constexpr const char* hotplug_type_name(HotplugType type) {
  switch (type) {
    case HotplugType::memory_add:
      return "memory_add";
    case HotplugType::memory_online:
      return "memory_online";
    case HotplugType::memory_offline:
      return "memory_offline";
    case HotplugType::memory_remove:
      return "memory_remove";
    case HotplugType::cpu_online:
      return "cpu_online";
    case HotplugType::cpu_offline:
      return "cpu_offline";
  }
  return "?";
}

constexpr bool is_memory_hotplug(HotplugType type) {
  return type == HotplugType::memory_add || type == HotplugType::memory_online ||
         type == HotplugType::memory_offline || type == HotplugType::memory_remove;
}

// A step of a memory hotplug operation (alloc::HotplugStep), and when the operation reached it.
struct HotplugStepMark {
  alloc::HotplugStep step = alloc::HotplugStep::locked;
  std::int64_t at_ns = 0;
};

struct HotplugRecord {
  HotplugType type = HotplugType::memory_online;  // one memory block, or one CPU
  int node = -1, block = -1, cpu = -1;
  std::int64_t start_ns = 0;
  std::int64_t lock_wait_ns = 0;  // until mem_hotplug_lock / cpu_hotplug_lock was held
  std::int64_t duration_ns = 0;
  int result = 0;  // 0 or a negative errno
  // Memory hotplug: what the allocator's callbacks did to per-node cache structs during the
  // operation (allocated, freed, reused), and the nodes it may use once it ended (SLUB:
  // N_NORMAL_MEMORY or slab_nodes, as the strategy says; SLAB: N_ONLINE; SLOB: N_NORMAL_MEMORY).
  std::uint64_t node_structs_allocated = 0, node_structs_freed = 0, node_structs_reused = 0;
  std::vector<int> usable_nodes_after;
  std::vector<int> normal_nodes_after;  // N_NORMAL_MEMORY once it ended
  std::vector<HotplugStepMark> steps;   // memory hotplug, in order
};

// The memory hotplug windows where the strategies differ, from each operation's steps: from
// MEM_GOING_ONLINE to node_states_set_node(), from MEM_GOING_OFFLINE to
// node_states_clear_node() (or to the operation's end when it failed in between).
std::vector<std::int64_t> hotplug_windows_ns(const std::vector<HotplugRecord>& hotplug);

struct EventRecord {
  std::string type;
  std::string target;  // cache name, sysfs file, notifier action
  std::int64_t start_ns = 0, duration_ns = 0;
  int result = 0;
  // sysfs_read: the text the read returned, as the kernel's show function formats it (none
  // when the read failed).
  std::optional<std::string> text;
};

// The time one kernel function waited for one lock class in one mode, within a time bucket.
struct BucketLockWait {
  alloc::LockClass cls = alloc::LockClass::slab_mutex;
  alloc::LockMode mode = alloc::LockMode::exclusive;
  const char* function = "";  // the waiter, a literal of the model
  std::uint64_t waits = 0;    // waits that began in the bucket
  std::int64_t wait_ns = 0;   // waiting within the bucket, of every waiter together
};

// One time bucket (time_buckets.hpp). A run makes thousands as it reaches them (a thousandth of
// its duration each), so their lists live inside the bucket up to a size most machines and
// buckets stay within (8 nodes, 4 waiting functions), not in two heap blocks each.
struct BucketMetrics {
  std::int64_t start_ns = 0;
  Ratio remote_alloc;
  std::uint64_t fallbacks = 0;
  // By the node the object landed on.
  boost::container::small_vector<std::uint64_t, 8> allocations_by_node;
  boost::container::small_vector<BucketLockWait, 4> lock_waits;  // in the order first seen

  BucketLockWait& lock_wait(alloc::LockClass cls, alloc::LockMode mode, const char* function);
  void merge(const BucketMetrics& other);
};

struct DeadlockInfo {
  std::vector<std::string> actors;   // "name on host"
  std::vector<std::string> held;     // "CPU 1 holds slab_mutex (read) taken in kmem_cache_destroy"
  std::vector<std::string> awaited;  // "CPU 0 waits for kn->active#3 (write) in kernfs_remove"
};

struct RunMetrics {
  alloc::AllocatorKind allocator = alloc::AllocatorKind::slub;
  std::int64_t simulated_ns = 0;
  std::uint64_t allocations = 0, frees = 0, failed_allocations = 0;
  Ratio remote_alloc;
  Ratio remote_access;                       // workload object accesses
  std::vector<Ratio> remote_alloc_per_node;  // by the allocating CPU's node
  std::int64_t bucket_width_ns = 0;          // of `buckets`, each [start_ns, start_ns + width)
  std::vector<BucketMetrics> buckets;
  std::vector<std::uint64_t> fallbacks_per_node;
  std::optional<std::uint64_t> alloc_node_mismatch;  // SLUB's, over the workload's caches
  // Slabs taken from the page allocator over every cache, boot caches included (SLUB:
  // ALLOC_SLAB; SLAB: slabs grown; SLOB: pages)
  std::uint64_t slab_pages_allocated = 0;
  std::vector<alloc::NumaStat> numastat;
  // Per lock class: the simulator's complete waits and holds (lock_waits), and what the kernel's
  // lockdep hooks would have recorded, frozen at lockdep's first report (lock_stat, the data of
  // /proc/lock_stat); see kernel/lock_stat.hpp.
  std::vector<LockClassStats> lock_waits;
  std::vector<LockClassStats> lock_stat;
  std::string lock_stat_text;
  bool debug_locks = true;  // false once lockdep reported (debug_locks_off())
  std::vector<CacheMetrics> caches;
  std::vector<HotplugRecord> hotplug;
  std::vector<EventRecord> events;
  std::vector<alloc::Violation> violations;
  std::optional<DeadlockInfo> deadlock;
  // Set when the run was stopped before its end (RunOptions::partial_results): every figure is
  // what the run had measured when it stopped, CPUs possibly inside a call.
  struct Partial {
    std::string reason;
    std::int64_t stopped_at_ns = 0;
  };
  std::optional<Partial> partial;
  std::vector<std::string> lockdep_reports;  // lockdep-style splats, one per distinct cycle
  std::vector<std::string> lockdep_cycles;   // the same, as "A -> B -> C" (findings.hpp)
  std::vector<std::string> lockdep_edges;    // the lock-order graph: "A -> B (functions)"
  std::vector<std::string> kernel_log;
  std::string slabinfo;  // /proc/slabinfo at the end of the run
  // For the host block: operations and events played, sleeps through SimGrid's clock, the
  // wrapper's hand-overs between actors, waits it ended without SimGrid, and its parks and
  // wake-ups (Simulation's RunResult).
  std::uint64_t engine_steps = 0;
  std::uint64_t engine_sleeps = 0;
  std::uint64_t engine_handoffs = 0;
  std::uint64_t skipped_sleeps = 0;
  std::uint64_t engine_parks = 0;
  std::uint64_t engine_releases = 0;
};

}  // namespace slabsim::sim
