// The model's state as the guest's sysfs shows it, in the lines `grep -H ''` prints
// ("path:content"), so that the kernel-check harness parses the model's view and the booted
// kernel's with one parser (kernel-check/harness/protocol.py, parse_dump()). Memory blocks carry
// the guest's ids (QEMU puts RAM above 3 GiB at 4 GiB, so they differ from the topology's).
#pragma once

#include <string>
#include <vector>

#include "run/machine.hpp"
#include "topology/qemu_machine.hpp"

namespace slabsim::check {

// The guest's /sys/devices/system/memory/memory<id> of each of the topology's blocks, by the
// topology's block id; -1 where QEMU has none.
std::vector<int> guest_block_ids(const topology::QemuMachine& m, std::size_t model_blocks);

class SysfsView {
 public:
  SysfsView(sim::Machine& machine, std::vector<int> guest_block_of);

  // drivers/base/node.c (v6.1): the node state masks (print_nodes_state()) and, for each online
  // node, cpulist, numastat and distance (node_read_distance(): one entry per online node).
  [[nodiscard]] std::vector<std::string> nodes() const;
  // drivers/base/memory.c (v6.1): block_size_bytes and, for each present block, state,
  // valid_zones, phys_index, removable, and its node link.
  [[nodiscard]] std::vector<std::string> blocks() const;
  // The cache's /proc/slabinfo row and the /sys/kernel/slab/<cache> files the guest dumps; no
  // line when the cache does not exist.
  [[nodiscard]] std::vector<std::string> slab(const std::string& cache) const;

 private:
  // valid_zones_show(): an online block's zone; an offline block's default zone
  // (zone_for_pfn_range(MMOP_ONLINE): default_zone_for_pfn() under the "contig-zones" policy),
  // then the other zone it may be onlined to.
  [[nodiscard]] std::string valid_zones(int block) const;
  // zone_intersects(): the zone spans its online blocks, lowest to highest (resize_zone_range(),
  // shrink_zone_span()).
  [[nodiscard]] bool zone_spans(int node, alloc::ZoneType zone, int block) const;

  sim::Machine& machine_;
  std::vector<int> guest_block_of_;
};

}  // namespace slabsim::check
