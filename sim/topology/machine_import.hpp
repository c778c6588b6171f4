// A real machine as a topology file: from a snapshot of scripts/collect-machine (sysfs files at
// their kernel paths) to slabsim's topology format, plus the list of the machine's slab caches.
// Pure: it reads the snapshot folder and nothing else (a .tar.gz is the CLI's to extract).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "topology/boot_caches.hpp"
#include "topology/topology.hpp"

namespace slabsim::topology {

// What a snapshot cannot know, chosen by the user (or these defaults), and written into the
// topology's header comment and description so that nobody mistakes them for measurements.
struct ImportChoices {
  std::string name;                    // empty: from the snapshot folder's name
  std::int64_t local_latency_ns = 80;  // sysfs has no latencies
  // A possible node that is not online has no /sys/devices/system/node/nodeN, hence no distance
  // row: REMOTE_DISTANCE (include/linux/topology.h) to and from every other node.
  int offline_node_distance = 20;
  // Memory that can be hot-added into a node that has neither CPUs nor memory (a QEMU
  // `-numa node,nodeid=2`): absent ZONE_NORMAL blocks, since the format needs a node to have
  // CPUs or blocks and a workload hot-adds a node's absent blocks.
  std::uint64_t hotplug_memory_bytes = 1ull << 30;
};

struct MachineImport {
  std::string topology_text;  // the topology file: a header comment, then the JSON
  Topology topology;          // topology_text loaded back (it always validates)
  std::vector<BootCache> boot_caches;
  std::vector<std::string> notes;  // what was mapped or chosen, also in the header comment
};

// Throws SnapshotError naming the snapshot file and what was expected.
MachineImport import_machine(const std::filesystem::path& snapshot, const ImportChoices& choices);

// A topology name ([a-z0-9][a-z0-9._-]*) from a folder name such as "machine-Box1-20260101T..".
std::string topology_name_from(const std::string& folder_name);

}  // namespace slabsim::topology
