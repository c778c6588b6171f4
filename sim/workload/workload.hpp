// A workload as slabsim runs it, resolved from a workload file (see workloads/README.md) against
// a topology: caches, thread groups pinned to CPUs, timed events, duration and seed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "allocator/slab_flags.hpp"
#include "workload/kernel_times.hpp"

namespace slabsim::workload {

// A random duration in ns.
struct Distribution {
  enum class Kind { constant, exponential, uniform };
  Kind kind = Kind::constant;
  std::int64_t a_ns = 0;  // constant value, exponential mean, uniform low
  std::int64_t b_ns = 0;  // uniform high
};

struct CacheSpec {
  std::string name;
  unsigned object_size = 0;
  unsigned align = 0;
  alloc::CacheFlags flags;
  bool at_boot = true;  // false: created by a cache_create event
  // A name of the kmalloc family (alloc::is_kmalloc_cache_name()): the kernel's own cache of that
  // name, which kmem_cache_init() made; its allocations are kmalloc()s of object_size.
  bool kmalloc = false;
};

// Which node an alloc_node() asks for, relative to the allocating CPU.
struct NodeSelector {
  enum class Kind { local, remote, nearest, node, random };
  Kind kind = Kind::local;
  int node = 0;  // Kind::node
  // local: the CPU's node. remote: the next node with memory after the CPU's (round robin by
  // CPU). nearest: the nearest other node with memory. random: any node, uniformly.
};

struct ThreadGroup {
  std::string name;
  std::vector<int> cpus;           // one actor per CPU, ascending
  int cache = 0;                   // index into Workload::caches
  double alloc_node_fraction = 0;  // share of allocations made with kmem_cache_alloc_node()
  NodeSelector node;
  Distribution think_time;          // between two operations of one actor
  Distribution lifetime;            // how long an object lives before it is freed
  double remote_free_fraction = 0;  // share of objects freed by another CPU (of another node)
  int accesses_per_object = 0;      // memory accesses to each object while it lives
  int max_live_per_cpu = 4096;      // an actor stops allocating at this many live objects
  std::int64_t start_ns = 0;
  std::optional<std::int64_t> stop_ns;
};

struct Event {
  enum class Type {
    memory_add,      // absent blocks of a node: add_memory(), left offline
    memory_online,   // blocks of a node: hot-add if absent, then online_pages()
    memory_offline,  // offline_pages() of blocks of a node
    memory_remove,   // try_remove_memory() of offline blocks of a node, as a DIMM's eject
    cpu_online,
    cpu_offline,  // slub_cpu_dead() after the CPU stops running its actors
    cache_create,
    cache_destroy,
    shrink,        // sysfs write of "1" to /sys/kernel/slab/<cache>/shrink
    sysfs_read,    // a read of a show_slab_objects() file
    inject_error,  // the notifier error injector starts failing an action
    clear_error,
    alloc_burst,  // `count` kmem_cache_alloc_node(cache, node) on `cpu`, objects kept
    free_burst,   // kmem_cache_free() of the oldest `count` kept objects, on `cpu`
    page_burst,   // `count` alloc_pages_node(node, GFP_KERNEL, order) on `cpu`, pages kept
    page_free,    // __free_pages() of every kept page
  };
  Type type = Type::memory_online;
  std::int64_t at_ns = 0;
  int node = -1;   // alloc_burst: -1 is NUMA_NO_NODE
  int blocks = 0;  // number of blocks, in block-id order; 0 = all eligible blocks of the node
  // memory_online: the zone (unset: the blocks' declared zone); page_burst: user pages
  std::optional<bool> movable;
  int cpu = -1;
  int count = 0;       // alloc_burst, free_burst (0: all kept objects), page_burst
  int order = 0;       // page_burst
  int cache = -1;      // index into Workload::caches
  std::string file;    // sysfs_read
  std::string action;  // inject_error / clear_error: "going_online" or "going_offline"
  int error = -12;     // inject_error: the errno returned (negative)
  std::string source;  // JSON pointer of the event in the file, e.g. "/events/3"
  int occurrence = 0;  // 0-based occurrence of a repeated event
};

// A named time bucket width ("time_bucket", --time-bucket) may cut the duration into at most
// this many buckets (sim/run/time_buckets.hpp).
inline constexpr std::int64_t max_time_buckets = 100'000;

struct Workload {
  std::string name;
  std::string description;
  std::string topology;  // the "topology" the file names, as written ("" if none)
  std::int64_t duration_ns = 0;
  std::int64_t time_bucket_ns = 0;  // "time_bucket"; 0: automatic (sim/run/time_buckets.hpp)
  std::uint64_t seed = 1;
  int event_tasks = 4;  // tasks playing the timed events, each on a CPU of its own
  std::vector<CacheSpec> caches;
  // The "boot_caches" list's caches the allocator does not make itself, in the list's order:
  // kmem_cache_create()d at boot before `caches`; no thread or event uses them.
  std::vector<CacheSpec> boot_caches;
  std::string boot_caches_file;  // the list's path as resolved ("" if none)
  std::vector<ThreadGroup> threads;
  std::vector<Event> events;  // sorted by time, then file order
  KernelTimes kernel;
};

}  // namespace slabsim::workload
