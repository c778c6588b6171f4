// The QEMU 7.2 x86_64 machine that boots a topology, so that a real Linux 6.1 kernel can be run
// on the machine slabsim models and the two compared (DESIGN.md, "the ground truth";
// reference/real-kernel-qemu.md has the facts this relies on).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace slabsim::topology {

// What the ground-truth harness can boot: QEMU runs in TCG (no /dev/kvm) on a host of 2 cores
// and 24 GiB shared with other work. Declared once; the refusals quote them.
struct QemuLimits {
  // TCG runs every vCPU on the host's 2 cores: beyond 16 a boot takes minutes.
  int max_vcpus = 16;
  // Enough for every preset's node count; each node adds SRAT/SLIT entries and a memory backend.
  int max_nodes = 8;
  // Boot memory is host memory the guest may touch; 8 GiB leaves room on a shared 24 GiB host.
  std::uint64_t max_boot_memory = 8ull << 30;
  // Boot plus every planned DIMM, once all are plugged.
  std::uint64_t max_memory = 16ull << 30;
  // pc-dimm slots; QEMU allows 256 (ACPI_MAX_RAM_SLOTS), each slot costs ACPI table space.
  int max_dimms = 32;
};
inline constexpr QemuLimits qemu_limits{};

// x86_64 guests use 128 MiB memory blocks when boot memory ends below 64 GiB
// (arch/x86/mm/init_64.c: probe_memory_block_size, MIN_MEMORY_BLOCK_SIZE).
inline constexpr std::uint64_t qemu_block_size = 128ull << 20;

// A node as booted: its vCPUs and the backend of its boot memory.
struct QemuNode {
  int node = 0;
  std::vector<int> cpus;              // ascending, as the topology's
  std::optional<std::string> memdev;  // "m<node>" when the node has boot memory
  std::uint64_t boot_memory_bytes = 0;
  std::vector<int> model_blocks;  // the topology's ids of the node's boot blocks
  std::vector<int> guest_blocks;  // /sys/devices/system/memory/memory<id> in the guest
};

// Absent memory of the topology, to be hot-added later as one pc-dimm per "blocks" entry.
struct QemuDimm {
  std::string id;      // device id, "dimm<i>"
  std::string memdev;  // memory-backend-ram id, "hp<i>"
  int node = 0;
  std::uint64_t size_bytes = 0;
  Zone zone = Zone::normal;  // online_kernel (normal) or online_movable (movable)
  std::string block_path;    // the topology's "blocks" entry
  std::vector<int> model_blocks;
  // Its guest physical address in the hot-plug window, given to device_add as "addr" so that
  // the guest's block ids do not depend on the order DIMMs are plugged in (QEMU would otherwise
  // give each the lowest free address), and the guest's id of its first memory block there.
  std::uint64_t addr = 0;
  int first_block_id = 0;
};

// Something of the topology QEMU has no way to say; the machine still boots.
struct NotExpressed {
  std::string path;  // JSON pointer into the topology
  std::string why;
};

struct QemuMachine {
  std::string name;  // the topology's
  std::string description;
  int vcpus = 0;
  int sockets = 0;
  int cores_per_socket = 0;
  std::uint64_t boot_memory_bytes = 0;
  std::uint64_t max_memory_bytes = 0;  // boot memory plus every DIMM
  int slots = 0;
  std::vector<QemuNode> nodes;
  std::vector<QemuDimm> hotplug_dimms;
  std::vector<NotExpressed> not_expressed;
  // qemu-system-x86_64's arguments for the machine alone: no kernel, initrd, console or QMP.
  std::vector<std::string> machine_args;
  std::vector<std::string> kernel_cmdline;
};

// The machine that boots `t`, or a config::ConfigError naming `file` and the JSON path of each
// part of the topology QEMU cannot boot as the model means it.
QemuMachine qemu_machine(const Topology& t, const std::string& file,
                         const QemuLimits& limits = qemu_limits);

// "2G", "384M": how -m and memory-backend-ram sizes are written (bytes are whole MiB here).
std::string qemu_size(std::uint64_t bytes);

}  // namespace slabsim::topology
