// What the allocator knows of the machine: CPUs, nodes, distances and memory blocks. The
// simulator fills it from a topology; unit tests write it by hand.
#pragma once

#include <cstdint>
#include <vector>

namespace slabsim::alloc {

enum class ZoneType : std::uint8_t { normal, movable };  // ZONE_NORMAL, ZONE_MOVABLE
enum class BlockPresence : std::uint8_t { online, offline, absent };

struct BlockLayout {
  int node = 0;
  ZoneType zone = ZoneType::normal;
  BlockPresence state = BlockPresence::online;
};

// CPU ids come in two kinds. The machine's own (0..nr_cpu_ids-1, possibly with holes, which
// no_cpu marks) are what the kernel counts. After them come the simulator's event-task CPUs:
// a timed event (a sysfs write, a hotplug script) runs as a task of its own so that a task
// blocked for milliseconds does not stall a workload CPU, and gets per-CPU slab state of its
// own; in the kernel such a task runs on one of the machine's CPUs. Nothing the kernel derives
// from its CPU counts (calculate_order(), enable_cpucache(), nr_cpus_node()) may count them.
struct MachineLayout {
  static constexpr int no_cpu = -1;        // cpu_node[] of an id no CPU has (a hole in the ids)
  std::vector<int> cpu_node;               // index: CPU id; the event-task CPUs last
  int nr_event_cpus = 0;                   // the last ids of cpu_node: the simulator's own
  std::vector<std::vector<int>> distance;  // SLIT, [from][to], nr_node_ids x nr_node_ids
  std::uint64_t block_pages = 32768;       // pages per memory block (128 MiB of 4 KiB pages)
  std::vector<BlockLayout> blocks;         // index: block id; pfns [id*block_pages, ...)

  // Per-CPU tables have an entry for every id, the event-task CPUs' included.
  [[nodiscard]] int nr_cpu_slots() const { return static_cast<int>(cpu_node.size()); }
  // The kernel's nr_cpu_ids (= num_possible_cpus() when the ids have no holes).
  [[nodiscard]] int nr_cpu_ids() const { return nr_cpu_slots() - nr_event_cpus; }
  [[nodiscard]] int nr_node_ids() const { return static_cast<int>(distance.size()); }
  [[nodiscard]] bool cpu_present(int cpu) const { return cpu_node[cpu] != no_cpu; }
  [[nodiscard]] bool is_event_cpu(int cpu) const { return cpu >= nr_cpu_ids(); }
  // The kernel's num_present_cpus() (= num_possible_cpus(): the model has no CPU hot-add).
  [[nodiscard]] int num_present_cpus() const {
    int n = 0;
    for (int cpu = 0; cpu < nr_cpu_ids(); ++cpu)
      n += cpu_present(cpu) ? 1 : 0;
    return n;
  }
  // The machine CPU whose column shows an event-task CPU's per-CPU counters (the first CPU of
  // its node, where a task on it would have run); a machine CPU shows as itself.
  [[nodiscard]] int shown_cpu(int cpu) const {
    if (!is_event_cpu(cpu)) return cpu;
    for (int c = 0; c < nr_cpu_ids(); ++c)
      if (cpu_node[c] == cpu_node[cpu]) return c;
    return cpu;
  }
};

}  // namespace slabsim::alloc
