// A NUMA machine as slabsim simulates it: sockets, CPUs, nodes, memory blocks and the distances
// between nodes, resolved from a topology file (see topologies/README.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace slabsim::topology {

// The zones a memory block can be onlined into (online_kernel vs online_movable).
enum class Zone { normal, movable };
// A memory block's initial state: online, offline (present, can be onlined), or absent (not yet
// hot-added: its node is not in N_ONLINE unless it has CPUs or other present memory).
enum class BlockState { online, offline, absent };

const char* to_string(Zone zone);
const char* to_string(BlockState state);

// One memory block, /sys/devices/system/memory/memory<id>. Ids are global, in node order.
struct MemoryBlock {
  int id = 0;
  int node = 0;
  Zone zone = Zone::normal;
  BlockState state = BlockState::online;
  int run = 0;  // index of the entry of its node's "memory/blocks" array that declared it
};

struct Socket {
  int id = 0;
  std::string name;
  std::vector<int> nodes;  // nodes that reference this socket, ascending
  std::vector<int> cpus;   // ascending
};

struct Node {
  int id = 0;
  std::optional<int> socket;
  std::vector<int> cpus;    // ascending; empty for a CPU-less memory node
  std::vector<int> blocks;  // ids into Topology::blocks; empty for a memoryless node
  std::string pointer;      // where the file declares it ("/nodes/2"), for later diagnostics
};

// An interconnect link of the link-graph form of distances.
struct Link {
  int a = 0, b = 0;
  std::int64_t latency_ns = 0;
};

enum class DistanceForm { slit_matrix, link_graph };

template <typename T>
using Matrix = std::vector<std::vector<T>>;

// The most memory blocks a machine may have, present or not: 2 PiB of 128 MiB blocks, past the
// 4-level page tables' 64 TiB of x86_64 and within 5-level's 4 PiB. Each costs the model host
// memory (run/host_memory.hpp), so a file cannot ask for billions.
inline constexpr std::uint64_t max_memory_blocks = std::uint64_t{1} << 24;

struct Topology {
  std::string name;
  std::string description;
  std::uint64_t block_size = 128ull << 20;
  std::vector<Socket> sockets;      // in file order
  std::vector<Node> nodes;          // index == node id
  std::vector<MemoryBlock> blocks;  // index == block id
  DistanceForm distance_form = DistanceForm::slit_matrix;
  std::optional<std::int64_t> local_latency_ns;  // given, or absent with an explicit matrix
  std::vector<Link> links;                       // link-graph form only
  Matrix<int> slit;                              // ACPI SLIT: 10 local, 255 unreachable
  Matrix<std::int64_t> latency_ns;  // load-to-use latency from a CPU of row node to column memory

  [[nodiscard]] int node_count() const { return static_cast<int>(nodes.size()); }
  [[nodiscard]] std::vector<int> cpu_ids() const;  // ascending
  [[nodiscard]] int node_of_cpu(int cpu) const;    // -1 if the CPU does not exist
  // Bytes of the node's memory in `state`.
  [[nodiscard]] std::uint64_t node_bytes(int node, BlockState state) const;
  [[nodiscard]] std::uint64_t node_bytes(int node, BlockState state, Zone zone) const;

  // Node states at boot (include/linux/nodemask.h): N_ONLINE if the node has CPUs or present
  // memory; N_MEMORY with online memory; N_NORMAL_MEMORY with online ZONE_NORMAL memory.
  [[nodiscard]] bool boot_online(int node) const;
  [[nodiscard]] bool boot_has_memory(int node) const;
  [[nodiscard]] bool boot_has_normal_memory(int node) const;
};

}  // namespace slabsim::topology
