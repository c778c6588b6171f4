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

struct MachineLayout {
  std::vector<int> cpu_node;               // index: CPU id (dense 0..nr_cpu_ids-1)
  std::vector<std::vector<int>> distance;  // SLIT, [from][to], nr_node_ids x nr_node_ids
  std::uint64_t block_pages = 32768;       // pages per memory block (128 MiB of 4 KiB pages)
  std::vector<BlockLayout> blocks;         // index: block id; pfns [id*block_pages, ...)

  [[nodiscard]] int nr_cpu_ids() const { return static_cast<int>(cpu_node.size()); }
  [[nodiscard]] int nr_node_ids() const { return static_cast<int>(distance.size()); }
};

}  // namespace slabsim::alloc
