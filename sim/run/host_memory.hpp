// What a run may take of the host's memory. A limit (--max-memory, RunRequest::max_memory_bytes;
// by default three quarters of the host's physical memory) is checked twice: before the run
// against what the workload can hold at most (its live objects), and during it against the
// process's resident size, every RunOptions::progress_every operations. Either way the run
// stops with a clear error rather than the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "engine/simulation.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::config {
struct JsonDocument;
}

namespace slabsim::sim {

// The host's physical memory (sysconf(_SC_PHYS_PAGES)), and the default limit: 3/4 of it.
std::uint64_t host_physical_bytes();
std::uint64_t default_memory_limit();
// This process's resident set now (/proc/self/statm); 0 when it cannot be read.
std::uint64_t resident_bytes();
// Its high-water mark so far (VmHWM of /proc/self/status); 0 when it cannot be read.
std::uint64_t peak_resident_bytes();

// Host memory per live object of the model, measured by scripts/bench (31.3 B in
// results/machine-bench.txt, 2026-12-06), with room for the slab pages' own records and a
// pending-free heap caught growing. Before 5449b2b the bench left out glibc's mapped blocks and
// read 37-51 B while the model took 84 B: more than this estimate.
inline constexpr std::uint64_t host_bytes_per_live_object = 64;
// Per simulated CPU: its actor, the pages of its stack that are touched, its per-CPU caches.
inline constexpr std::uint64_t host_bytes_per_cpu = 256 * 1024;
// Per time bucket of the metrics over time (time_buckets.hpp): its record, plus one count per
// node.
inline constexpr std::uint64_t host_bytes_per_time_bucket = 128;
// Per memory block of the machine, present or not: the page allocator's record of it (its
// top-order bitmap, pageblock types, free-list entries) and the topology's; an upper estimate.
inline constexpr std::uint64_t host_bytes_per_memory_block = 512;

// The address space each actor reserves for its stack (SimGrid's contexts/stack-size, as
// Simulation sets it; touched only as it grows).
inline constexpr std::uint64_t actor_stack_bytes =
    std::uint64_t{Simulation::default_actor_stack_kib} * 1024;
// What the rest of the process may map (the binary, its libraries, the heap) on top of the
// stacks, for the address-space check.
inline constexpr std::uint64_t address_space_base_bytes = std::uint64_t{2} << 30;

// SimGrid maps each actor's stack with a guard page (mmap, then mprotect): two memory mappings
// an actor, and past vm.max_map_count the mprotect fails and SimGrid aborts ("Failed to protect
// stack"). A run has up to three actors a simulated CPU at once (its own, an RCU callback task,
// an IPI handler) and one an event task, plus the kworker, on top of what the process maps
// itself (the binary, its ~30 libraries, heap arenas; about 200 mappings measured).
inline constexpr std::uint64_t mappings_per_actor = 2;
inline constexpr std::uint64_t actors_per_cpu = 3;
inline constexpr std::uint64_t process_base_mappings = 1024;
// The kernel's vm.max_map_count; 0 when it cannot be read.
std::uint64_t max_map_count();
// Throws config::ConfigError naming the topology's /nodes when the run's actors could need more
// memory mappings than `max_maps` (0: no check).
void check_actor_mappings(const topology::Topology& machine, const workload::Workload& workload,
                          std::uint64_t max_maps);

// What the workload can hold at most: every thread group's CPUs at max_live_per_cpu objects and
// every object an alloc_burst keeps, plus the CPUs, the machine's memory blocks (a topology
// of millions of blocks is named, with /nodes, when it is the largest term) and the time buckets
// recorded at `time_bucket_ns` (0: the workload's "time_bucket", or automatic). Throws
// config::ConfigError naming the workload's file, the JSON path of the largest term and the limit
// when that exceeds `limit` (0: no limit), or what an address-space limit (ulimit -v, RLIMIT_AS)
// leaves after the stacks and the process's own mappings, whichever is smaller. Also, whatever
// `limit`, when that address-space limit cannot hold one actor stack per simulated CPU and event
// task: SimGrid would abort() on the first stack it cannot map; and when vm.max_map_count cannot
// hold their stacks' mappings (check_actor_mappings()).
void check_fits_in_memory(const topology::Topology& machine, const workload::Workload& workload,
                          const config::JsonDocument& document, std::uint64_t limit,
                          std::int64_t time_bucket_ns = 0);

// Thrown from the run when its resident size passes the limit: the run is over, and its
// results are not written unless a partial result was asked for (RunOptions::partial_results).
class MemoryLimitExceeded : public std::runtime_error {
 public:
  MemoryLimitExceeded(std::string reason, std::int64_t simulated_ns)
      : std::runtime_error(reason + "; it was stopped and wrote nothing"),
        reason_(std::move(reason)),
        simulated_ns_(simulated_ns) {}
  // What was exceeded where, without what became of the results.
  [[nodiscard]] const std::string& reason() const { return reason_; }
  [[nodiscard]] std::int64_t simulated_ns() const { return simulated_ns_; }

 private:
  std::string reason_;
  std::int64_t simulated_ns_;
};

// The check made during the run: throws MemoryLimitExceeded when resident_bytes() > `limit`
// (0: no limit) at `simulated_ns`.
void check_resident(std::uint64_t limit, std::int64_t simulated_ns);

}  // namespace slabsim::sim
