#include "run/host_memory.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "run/time_buckets.hpp"

namespace slabsim::sim {

namespace {

std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.0f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

std::uint64_t host_physical_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(size)
             : 0;
}

std::uint64_t default_memory_limit() {
  return host_physical_bytes() / 4 * 3;
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
}

std::uint64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    std::uint64_t kib = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %" SCNu64 " kB", &kib) == 1) return kib * 1024;
  }
  return 0;
}

std::uint64_t max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  std::uint64_t n = 0;
  return f >> n ? n : 0;
}

void check_actor_mappings(const topology::Topology& machine, const workload::Workload& workload,
                          std::uint64_t max_maps) {
  if (max_maps == 0) return;
  const std::uint64_t cpus = machine.cpu_ids().size();
  const std::uint64_t actors =
      actors_per_cpu * cpus + static_cast<std::uint64_t>(workload.event_tasks) + 1;
  const std::uint64_t needed = actors * mappings_per_actor + process_base_mappings;
  if (needed <= max_maps) return;
  config::Diagnostics d("topology " + machine.name);
  d.error("/nodes",
          fmt::format("expected a machine whose actors' stacks fit vm.max_map_count "
                      "({}): {} simulated CPUs and {} event tasks can run up to {} "
                      "actors at once, whose stacks need up to {} memory mappings ({} "
                      "each: the stack and its guard page) besides the process's own "
                      "(about {}); raise it (sysctl vm.max_map_count) or use fewer CPUs",
                      max_maps, cpus, workload.event_tasks, actors, needed - process_base_mappings,
                      mappings_per_actor, process_base_mappings));
  d.throw_if_any();
}

namespace {

// The limit a run's estimate is held to, and how a refusal names it.
struct MemoryLimit {
  std::uint64_t bytes = 0;  // 0: none
  std::string text;
};

// Under ulimit -v the actors' stacks must fit (SimGrid aborts on the first it cannot map), and
// what is left of the address space after them and the process's own mappings bounds the run
// too, --max-memory 0 or not: past it an allocation fails (std::bad_alloc) however much memory
// the host has.
MemoryLimit memory_limit(const topology::Topology& machine, std::uint64_t actors,
                         std::uint64_t max_memory) {
  rlimit as{};
  const bool as_limited = ::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
  const std::uint64_t stacks = actors * actor_stack_bytes;
  if (as_limited && stacks + address_space_base_bytes > as.rlim_cur) {
    config::Diagnostics d("topology " + machine.name);
    d.error("/nodes",
            fmt::format("expected a machine whose actors fit the address-space limit (ulimit "
                        "-v) of {}: {} simulated CPUs and event tasks reserve {} of stacks ({} "
                        "each, SimGrid's contexts/stack-size), plus about {} for the rest",
                        mib(as.rlim_cur), actors, mib(stacks), mib(actor_stack_bytes),
                        mib(address_space_base_bytes)));
    d.throw_if_any();
  }
  const std::uint64_t room = as_limited ? as.rlim_cur - stacks - address_space_base_bytes : 0;
  if (as_limited && (max_memory == 0 || room < max_memory)) {
    const std::uint64_t bytes = std::max<std::uint64_t>(room, 1);
    return {bytes,
            fmt::format("the limit of {} (what the address-space limit, ulimit -v {}, "
                        "leaves after {} of actor stacks and {} for the process itself)",
                        mib(bytes), mib(as.rlim_cur), mib(stacks), mib(address_space_base_bytes))};
  }
  if (max_memory == 0) return {};
  return {max_memory, fmt::format("the limit of {} (--max-memory; by default 3/4 of the host's {})",
                                  mib(max_memory), mib(host_physical_bytes()))};
}

}  // namespace

void check_fits_in_memory(const topology::Topology& machine, const workload::Workload& workload,
                          const config::JsonDocument& document, std::uint64_t max_memory,
                          std::int64_t time_bucket_ns) {
  const std::uint64_t actors =
      static_cast<std::uint64_t>(machine.cpu_ids().size() + workload.event_tasks + 1);
  const MemoryLimit limit = memory_limit(machine, actors, max_memory);
  check_actor_mappings(machine, workload, max_map_count());
  if (limit.bytes == 0) return;
  std::uint64_t total = actors * host_bytes_per_cpu;
  std::uint64_t largest = 0;
  std::string largest_path = "/threads";
  const std::uint64_t block_bytes =
      static_cast<std::uint64_t>(machine.blocks.size()) * host_bytes_per_memory_block;
  total += block_bytes;
  for (std::size_t i = 0; i < workload.threads.size(); ++i) {
    const auto& g = workload.threads[i];
    const std::uint64_t bytes = static_cast<std::uint64_t>(g.cpus.size()) *
                                static_cast<std::uint64_t>(g.max_live_per_cpu) *
                                host_bytes_per_live_object;
    total += bytes;
    if (bytes > largest) {
      largest = bytes;
      largest_path = fmt::format("/threads/{}/max_live_per_cpu", i);
    }
  }
  {
    const std::int64_t width = recording_width_ns(
        workload.duration_ns, time_bucket_ns > 0 ? time_bucket_ns : workload.time_bucket_ns);
    const std::uint64_t bytes =
        static_cast<std::uint64_t>(max_recorded_buckets(workload.duration_ns, width)) *
        (host_bytes_per_time_bucket +
         static_cast<std::uint64_t>(machine.node_count()) * sizeof(std::uint64_t));
    total += bytes;
    if (bytes > largest) {
      largest = bytes;
      largest_path = "/time_bucket";
    }
  }
  for (const auto& e : workload.events)
    if (e.type == workload::Event::Type::alloc_burst) {
      const std::uint64_t bytes = static_cast<std::uint64_t>(e.count) * host_bytes_per_live_object;
      total += bytes;
      if (bytes > largest) {
        largest = bytes;
        largest_path = e.source + "/alloc_burst/count";
      }
    }
  if (total <= limit.bytes) return;
  if (block_bytes > largest) {
    config::Diagnostics d("topology " + machine.name);
    d.error("/nodes", fmt::format("expected a machine that fits the memory limit: its {} memory "
                                  "blocks take {} of host memory ({} B each; the run {}), over {}",
                                  machine.blocks.size(), mib(block_bytes),
                                  host_bytes_per_memory_block, mib(total), limit.text));
    d.throw_if_any();
  }
  config::Diagnostics d(document.name);
  d.error(largest_path,
          fmt::format("expected a workload that fits the memory limit: it can hold up to {} of "
                      "host memory ({} B per live object, {} KiB per CPU; this term {}), over {}",
                      mib(total), host_bytes_per_live_object, host_bytes_per_cpu / 1024,
                      mib(largest), limit.text));
  d.throw_if_any();
}

void check_resident(std::uint64_t limit, std::int64_t simulated_ns) {
  if (limit == 0) return;
  const std::uint64_t resident = resident_bytes();
  if (resident <= limit) return;
  throw MemoryLimitExceeded(
      fmt::format("the run holds {} of host memory at {:.3f} ms simulated, over the limit of {} "
                  "(--max-memory)",
                  mib(resident), static_cast<double>(simulated_ns) / 1e6, mib(limit)),
      simulated_ns);
}

}  // namespace slabsim::sim
