#include "topology/qemu_machine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/diagnostics.hpp"
#include "config/json_pointer.hpp"
#include "config/units.hpp"

namespace slabsim::topology {

using config::at;

namespace {

constexpr std::uint64_t gib = 1ull << 30;
constexpr std::uint64_t four_gib = 4 * gib;

// Where QEMU's pc machine puts guest RAM (hw/i386/pc_piix.c, pc_init1, QEMU 7.2): all of it below
// 4 GiB when it is less than 3.5 GiB (max-ram-below-4g); otherwise the split moves to 3 GiB for
// gigabyte alignment and the rest starts at 4 GiB ("qemu -M pc -m 4G -> 3072M low, 1024M high").
std::uint64_t below_4g_bytes(std::uint64_t ram) {
  constexpr std::uint64_t max_ram_below_4g = 0xe0000000;
  return ram >= max_ram_below_4g ? 0xc0000000 : ram;
}

// The guest physical address of byte `offset` of the boot RAM (nodes fill it in id order, as
// QEMU's SRAT and E820 lay them out).
std::uint64_t guest_address(std::uint64_t offset, std::uint64_t below_4g) {
  return offset < below_4g ? offset : offset - below_4g + four_gib;
}

std::string size_words(std::uint64_t bytes) {
  return bytes % gib == 0 ? fmt::format("{} GiB", bytes / gib) : fmt::format("{} MiB", bytes >> 20);
}

class Builder {
 public:
  Builder(const Topology& t, const std::string& file, const QemuLimits& limits)
      : t_(t), diag_(file), limits_(limits) {}

  QemuMachine build() {
    m_.name = t_.name;
    m_.description = t_.description;
    check_memory();
    check_cpus();
    check_limits();
    diag_.throw_if_any();
    plan_nodes();
    plan_dimms();
    diag_.throw_if_any();
    note_not_expressed();
    m_.machine_args = machine_args();
    m_.kernel_cmdline = kernel_cmdline();
    return std::move(m_);
  }

 private:
  std::string block_path(const MemoryBlock& b) const {
    return at(at(at(t_.nodes[b.node].pointer, "memory"), "blocks"), b.run);
  }

  // Boot memory is what -m gives: all of it online at boot in the zones the kernel picks
  // (ZONE_DMA32 below 4 GiB, ZONE_NORMAL above), whatever memhp_default_state says, since that
  // only applies to memory added after boot (mm/memory_hotplug.c: add_memory_resource).
  void check_memory() {
    if (t_.block_size != qemu_block_size)
      diag_.error("/memory_block_size",
                  fmt::format("expected 128MiB for a QEMU x86_64 guest (the kernel picks 128 MiB "
                              "blocks when boot memory ends below 64 GiB: "
                              "probe_memory_block_size), got {} bytes",
                              t_.block_size));
    int last_run_node = -1, last_run = -1;
    for (const auto& b : t_.blocks) {
      if (b.node == last_run_node && b.run == last_run) continue;  // one error per entry
      last_run_node = b.node;
      last_run = b.run;
      if (b.state == BlockState::offline)
        diag_.error(at(block_path(b), "state"),
                    "expected \"online\" or \"absent\" for a QEMU guest, got \"offline\": QEMU "
                    "boots all of -m online (memhp_default_state=offline only keeps memory "
                    "hot-added after boot offline); declare it \"absent\" to plug it as a "
                    "pc-dimm that stays offline until onlined");
      if (b.state == BlockState::online && b.zone == Zone::movable)
        diag_.error(at(block_path(b), "zone"),
                    "expected \"normal\" for memory online at boot in a QEMU guest, got "
                    "\"movable\": the kernel onlines boot memory into ZONE_DMA32/ZONE_NORMAL; "
                    "declare it \"absent\" to plug it as a pc-dimm and online it movable");
    }
  }

  // QEMU numbers vCPUs socket-major (vCPU i is on socket i / cores with threads=1: hw/core/
  // machine-smp.c, x86_topo_ids_from_idx), and -smp gives every socket the same core count.
  void check_cpus() {
    const auto cpus = t_.cpu_ids();
    m_.vcpus = static_cast<int>(cpus.size());
    for (int i = 0; i < m_.vcpus; ++i)
      if (cpus[i] != i) {
        diag_.error(at(t_.nodes[t_.node_of_cpu(cpus[i])].pointer, "cpus"),
                    fmt::format("expected CPU ids 0 to {} (QEMU's vCPU indexes for {} CPUs), "
                                "got CPU {}",
                                m_.vcpus - 1, m_.vcpus, cpus[i]));
        return;
      }
    std::vector<std::size_t> with_cpus;  // indexes into t_.sockets, by first CPU
    for (std::size_t i = 0; i < t_.sockets.size(); ++i)
      if (!t_.sockets[i].cpus.empty()) with_cpus.push_back(i);
    std::sort(with_cpus.begin(), with_cpus.end(), [&](std::size_t a, std::size_t b) {
      return t_.sockets[a].cpus.front() < t_.sockets[b].cpus.front();
    });
    m_.sockets = static_cast<int>(with_cpus.size());
    m_.cores_per_socket = m_.vcpus / std::max(1, m_.sockets);
    for (std::size_t k = 0; k < with_cpus.size(); ++k) {
      const Socket& s = t_.sockets[with_cpus[k]];
      const std::string p = at("/sockets", with_cpus[k]);
      if (static_cast<int>(s.cpus.size()) != m_.cores_per_socket) {
        diag_.error(p, fmt::format("expected {} CPUs in every socket (QEMU's -smp gives each "
                                   "socket the same number of cores: {} CPUs over {} sockets), "
                                   "got {} in socket {}",
                                   m_.cores_per_socket, m_.vcpus, m_.sockets, s.cpus.size(), s.id));
        continue;
      }
      const int first = static_cast<int>(k) * m_.cores_per_socket;
      for (int c = 0; c < m_.cores_per_socket; ++c)
        if (s.cpus[c] != first + c) {
          diag_.error(at(t_.nodes[t_.node_of_cpu(s.cpus[c])].pointer, "cpus"),
                      fmt::format("expected socket {} to hold CPUs {}-{} (QEMU numbers vCPUs "
                                  "socket-major, and this is package {} in CPU order), got CPU {}",
                                  s.id, first, first + m_.cores_per_socket - 1, k, s.cpus[c]));
          break;
        }
    }
  }

  void check_limits() {
    const auto limit = [&](bool over, const std::string& what) {
      if (over) diag_.error("/nodes", what);
    };
    limit(m_.vcpus > limits_.max_vcpus,
          fmt::format("expected at most {} CPUs for a QEMU guest under TCG, got {}",
                      limits_.max_vcpus, m_.vcpus));
    limit(t_.node_count() > limits_.max_nodes,
          fmt::format("expected at most {} nodes for a QEMU guest, got {}", limits_.max_nodes,
                      t_.node_count()));
    std::uint64_t boot = 0, all = 0;
    int absent_runs = 0;
    for (const auto& b : t_.blocks) {
      (b.state == BlockState::absent ? all : boot) += t_.block_size;
      const bool first_of_run =
          b.id == 0 || t_.blocks[b.id - 1].node != b.node || t_.blocks[b.id - 1].run != b.run;
      if (b.state == BlockState::absent && first_of_run) ++absent_runs;
    }
    all += boot;
    limit(boot > limits_.max_boot_memory,
          fmt::format("expected at most {} of memory present at boot (online or offline) for "
                      "a QEMU guest on this host, got {}",
                      size_words(limits_.max_boot_memory), size_words(boot)));
    limit(all > limits_.max_memory,
          fmt::format("expected at most {} of memory, boot and hot-pluggable, for a QEMU guest "
                      "on this host, got {}",
                      size_words(limits_.max_memory), size_words(all)));
    limit(absent_runs > limits_.max_dimms,
          fmt::format("expected at most {} entries of absent memory (one pc-dimm slot each), "
                      "got {}",
                      limits_.max_dimms, absent_runs));
  }

  void plan_nodes() {
    for (const auto& n : t_.nodes)
      for (int id : n.blocks)
        if (t_.blocks[id].state != BlockState::absent) m_.boot_memory_bytes += t_.block_size;
    const std::uint64_t below_4g = below_4g_bytes(m_.boot_memory_bytes);
    std::uint64_t offset = 0;
    for (const auto& n : t_.nodes) {
      QemuNode q;
      q.node = n.id;
      q.cpus = n.cpus;
      for (int id : n.blocks) {
        if (t_.blocks[id].state == BlockState::absent) continue;
        q.model_blocks.push_back(id);
        q.guest_blocks.push_back(static_cast<int>(guest_address(offset, below_4g) / t_.block_size));
        offset += t_.block_size;
        q.boot_memory_bytes += t_.block_size;
      }
      if (q.boot_memory_bytes > 0) q.memdev = fmt::format("m{}", n.id);
      m_.nodes.push_back(std::move(q));
    }
  }

  // The hot-plug window starts at the first GiB boundary above the RAM above 4 GiB
  // (hw/i386/pc.c, pc_memory_init: device_memory->base), and a pc-dimm takes the lowest free
  // address aligned to its backend (memory_device_get_free_addr; 2 MiB for memory-backend-ram):
  // DIMMs of whole 128 MiB blocks follow each other; each is given its address (QemuDimm::addr).
  std::uint64_t hotplug_window_base() const {
    const std::uint64_t below_4g = below_4g_bytes(m_.boot_memory_bytes);
    const std::uint64_t above_4g = m_.boot_memory_bytes - below_4g;
    return (four_gib + above_4g + gib - 1) / gib * gib;
  }

  // QEMU's SRAT gives the whole hot-plug window to the last node (hw/i386/acpi-build.c,
  // build_srat: "proximity to the highest NUMA node"), which makes that node possible at boot.
  // A pc-dimm's _PXM names its own node, but the guest knows a proximity domain only if the SRAT
  // mentioned it: a node with CPUs (processor affinity) or boot memory does. An empty node before
  // the last has no SRAT entry at all (seen in the SRAT QEMU 7.2 builds, dumped from guest memory
  // after SeaBIOS), so the guest's _PXM lookup fails and the kernel falls back to the node of the
  // address (drivers/acpi/acpi_memory_hotplug.c: memory_add_physaddr_to_nid), the last node's.
  bool hot_pluggable(const Node& n) const {
    return n.id == t_.node_count() - 1 || !n.cpus.empty() || m_.nodes[n.id].boot_memory_bytes > 0;
  }

  void plan_dimms() {
    std::uint64_t address = hotplug_window_base();
    std::uint64_t absent_bytes = 0;
    for (const auto& b : t_.blocks) {
      if (b.state != BlockState::absent) continue;
      if (!m_.hotplug_dimms.empty() && m_.hotplug_dimms.back().node == b.node &&
          m_.hotplug_dimms.back().block_path == block_path(b)) {
        m_.hotplug_dimms.back().size_bytes += t_.block_size;
        m_.hotplug_dimms.back().model_blocks.push_back(b.id);
      } else {
        const Node& n = t_.nodes[b.node];
        if (!hot_pluggable(n))
          diag_.error(block_path(b),
                      fmt::format("expected absent memory only on the last node ({}) or on a "
                                  "node with CPUs or boot memory, got it on node {}, which has "
                                  "neither: QEMU's SRAT gives the hot-plug window to the last "
                                  "node and no entry to node {}, so the guest would add the DIMM "
                                  "to node {} instead",
                                  t_.node_count() - 1, n.id, n.id, t_.node_count() - 1));
        const auto i = m_.hotplug_dimms.size();
        m_.hotplug_dimms.push_back({.id = fmt::format("dimm{}", i),
                                    .memdev = fmt::format("hp{}", i),
                                    .node = b.node,
                                    .size_bytes = t_.block_size,
                                    .zone = b.zone,
                                    .block_path = block_path(b),
                                    .model_blocks = {b.id},
                                    .addr = address,
                                    .first_block_id = static_cast<int>(address / t_.block_size)});
      }
      address += t_.block_size;
      absent_bytes += t_.block_size;
    }
    m_.slots = static_cast<int>(m_.hotplug_dimms.size());
    // maxmem only has to be page-aligned and above -m when slots are given (hw/core/machine.c);
    // whole memory blocks already are, and QEMU sizes the window as maxmem - ram plus 1 GiB of
    // alignment slack per slot, so every DIMM fits with no rounding up.
    m_.max_memory_bytes = m_.boot_memory_bytes + absent_bytes;
  }

  void note_not_expressed() {
    const std::string latency_why =
        "QEMU gives the guest a SLIT (-numa dist) and no latencies: a vCPU's memory access costs "
        "whatever the host's does; latencies are the model's choice";
    if (t_.distance_form == DistanceForm::link_graph)
      m_.not_expressed.push_back({"/distance/links", latency_why + " (the SLIT derived from the "
                                                                   "links is given)"});
    else if (t_.local_latency_ns)
      m_.not_expressed.push_back({"/distance/local_latency", latency_why});
    else
      m_.not_expressed.push_back({"/distance/latency", latency_why});
    std::vector<std::size_t> with_cpus;
    for (std::size_t i = 0; i < t_.sockets.size(); ++i)
      if (!t_.sockets[i].cpus.empty()) with_cpus.push_back(i);
    std::sort(with_cpus.begin(), with_cpus.end(), [&](std::size_t a, std::size_t b) {
      return t_.sockets[a].cpus.front() < t_.sockets[b].cpus.front();
    });
    for (std::size_t k = 0; k < with_cpus.size(); ++k)
      if (t_.sockets[with_cpus[k]].id != static_cast<int>(k))
        m_.not_expressed.push_back(
            {at(at("/sockets", with_cpus[k]), "id"),
             fmt::format("QEMU numbers packages 0..{} in vCPU order: the guest's "
                         "physical_package_id of this socket's CPUs is {}",
                         with_cpus.size() - 1, k)});
    for (std::size_t i = 0; i < t_.sockets.size(); ++i)
      if (t_.sockets[i].cpus.empty())
        m_.not_expressed.push_back({at("/sockets", i),
                                    "a socket without CPUs does not exist in the guest (the "
                                    "kernel ties memory to nodes, not to sockets)"});
    for (const auto& q : m_.nodes)
      if (q.model_blocks != q.guest_blocks)
        m_.not_expressed.push_back(
            {at(t_.nodes[q.node].pointer, "memory"),
             fmt::format("block ids differ: QEMU puts RAM beyond {} at 4 GiB, above the PCI "
                         "hole, so the guest's memory blocks of node {} are {} where the model "
                         "has {}",
                         size_words(below_4g_bytes(m_.boot_memory_bytes)), q.node,
                         config::format_cpulist(q.guest_blocks),
                         config::format_cpulist(q.model_blocks))});
  }

  std::vector<std::string> machine_args() const;
  std::vector<std::string> kernel_cmdline() const;

  const Topology& t_;
  config::Diagnostics diag_;
  const QemuLimits& limits_;
  QemuMachine m_;
};

// -machine pc (i440FX): with less than 3.5 GiB all RAM stays below 4 GiB, so the guest's block
// ids are the model's (q35 splits at 2.75 GiB); it has fewer devices for TCG to emulate, and its
// PIIX4 ACPI memory hotplug works as q35's does (reference/real-kernel-qemu.md).
std::vector<std::string> Builder::machine_args() const {
  std::vector<std::string> a = {
      "-machine", "pc", "-smp",
      fmt::format("{},sockets={},cores={},threads=1", m_.vcpus, m_.sockets, m_.cores_per_socket)};
  if (m_.hotplug_dimms.empty())
    a.insert(a.end(), {"-m", qemu_size(m_.boot_memory_bytes)});
  else
    a.insert(a.end(), {"-m", fmt::format("{},slots={},maxmem={}", qemu_size(m_.boot_memory_bytes),
                                         m_.slots, qemu_size(m_.max_memory_bytes))});
  for (const auto& q : m_.nodes) {
    // QEMU 7.2 takes nodes without memdev beside nodes with one (checked by the QEMU test), and
    // "cpus" repeated for each range of a non-contiguous list (qemu-options.hx, -numa node).
    std::string node = fmt::format("node,nodeid={}", q.node);
    const std::string list = config::format_cpulist(q.cpus);
    std::size_t start = 0;
    while (!q.cpus.empty() && start <= list.size()) {
      const auto comma = std::min(list.find(',', start), list.size());
      node += ",cpus=" + list.substr(start, comma - start);
      start = comma + 1;
    }
    if (q.memdev) {
      a.insert(a.end(), {"-object", fmt::format("memory-backend-ram,id={},size={}", *q.memdev,
                                                qemu_size(q.boot_memory_bytes))});
      node += ",memdev=" + *q.memdev;
    }
    a.insert(a.end(), {"-numa", node});
  }
  // Every ordered pair: QEMU 7.2 would take one direction per pair and mirror it, but the SLIT
  // may be asymmetric, and the full list leaves nothing to QEMU's defaults (-numa dist).
  for (int i = 0; i < t_.node_count(); ++i)
    for (int k = 0; k < t_.node_count(); ++k)
      if (i != k)
        a.insert(a.end(), {"-numa", fmt::format("dist,src={},dst={},val={}", i, k, t_.slit[i][k])});
  return a;
}

std::vector<std::string> Builder::kernel_cmdline() const {
  return {
      // The console on the serial port QEMU connects to stdio.
      "console=ttyS0",
      // Reboot at once on a panic; with QEMU's -no-reboot that ends the run instead of hanging.
      "panic=-1",
      // Hot-added blocks wait offline for the harness to online them into the zone the
      // topology names (online_kernel / online_movable), as the model's hot-add does.
      "memhp_default_state=offline",
      // A test cache must stay a cache of its own, not an alias of a kmalloc cache.
      "slab_nomerge",
      // Physical KASLR puts the kernel image at a random physical address, so which memory
      // block holds it (and can never be offlined) would change from boot to boot.
      "nokaslr",
      // Automatic NUMA balancing (on by default on NUMA machines) migrates pages and tasks
      // between nodes behind the harness's back; the model has no such thing.
      "numa_balancing=disable",
  };
}

}  // namespace

std::string qemu_size(std::uint64_t bytes) {
  return bytes % gib == 0 ? fmt::format("{}G", bytes / gib) : fmt::format("{}M", bytes >> 20);
}

QemuMachine qemu_machine(const Topology& t, const std::string& file, const QemuLimits& limits) {
  return Builder(t, file, limits).build();
}

}  // namespace slabsim::topology
