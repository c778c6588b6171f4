#include "topology/machine_import.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config/json_document.hpp"
#include "config/units.hpp"
#include "topology/topology_format.hpp"
#include "topology/topology_loader.hpp"

namespace slabsim::topology {

using nlohmann::ordered_json;

namespace {

const std::string node_dir = "/sys/devices/system/node/";
const std::string memory_dir = "/sys/devices/system/memory/";
const std::string cpu_dir = "/sys/devices/system/cpu/";
constexpr const char* snapshot_format = "slabsim-machine-snapshot 1";

// JSON as people write topology files: an array or object of plain values on one line (a SLIT
// row, a block run), anything else indented by two.
std::string dump(const ordered_json& v, int indent) {
  if (!v.is_structured() || v.empty()) return v.dump();
  const bool flat =
      std::none_of(v.begin(), v.end(), [](const auto& e) { return e.is_structured(); });
  const std::string pad(indent + 2, ' ');
  std::string out = v.is_array() ? "[" : "{";
  std::size_t i = 0;
  for (auto it = v.begin(); it != v.end(); ++it, ++i) {
    out += i ? (flat ? ", " : ",\n" + pad) : (flat ? (v.is_array() ? "" : " ") : "\n" + pad);
    if (v.is_object()) out += ordered_json(it.key()).dump() + ": ";
    out += dump(*it, indent + 2);
  }
  out += flat ? (v.is_array() ? "]" : " }")
              : "\n" + std::string(indent, ' ') + (v.is_array() ? "]" : "}");
  return out;
}

struct ImportedBlock {
  int id = 0;  // the N of memoryN
  std::string zone, state;
};

// Nodes, CPUs, blocks and distances of one snapshot, checked as they are read.
class Importer {
 public:
  Importer(const SysfsSnapshot& s, const ImportChoices& c) : s_(s), c_(c) {}

  MachineImport run() {
    manifest_ = s_.manifest();
    if (manifest_["format"] != snapshot_format)
      s_.fail("MANIFEST", fmt::format("expected a first line \"format: {}\" (a snapshot of "
                                      "scripts/collect-machine), got \"format: {}\"",
                                      snapshot_format, manifest_["format"]));
    read_node_lists();
    block_size_ = s_.hex(memory_dir + "block_size_bytes");
    if (block_size_ < 4096 || (block_size_ & (block_size_ - 1)) != 0)
      s_.fail(
          memory_dir + "block_size_bytes",
          fmt::format("expected a power of two of at least 4096 bytes, got {:#x}", block_size_));
    if (c_.hotplug_memory_bytes == 0 || c_.hotplug_memory_bytes % block_size_ != 0)
      throw SnapshotError(fmt::format(
          "--hotplug-memory: expected a multiple of the snapshot's memory block size ({} MiB), "
          "got {} bytes",
          block_size_ >> 20, c_.hotplug_memory_bytes));
    read_cpus();
    read_blocks();
    read_distances();
    return finish();
  }

 private:
  void read_node_lists() {
    possible_ = s_.id_list(node_dir + "possible", max_node_id);
    for (std::size_t i = 0; i < possible_.size(); ++i)
      if (possible_[i] != static_cast<int>(i))
        s_.fail(node_dir + "possible",
                fmt::format("expected node ids 0 to N-1 (a topology numbers its nodes densely), "
                            "got \"{}\"",
                            config::format_cpulist(possible_)));
    if (possible_.empty()) s_.fail(node_dir + "possible", "expected at least node 0, got none");
    online_ = s_.id_list(node_dir + "online", max_node_id);
    has_cpu_ = s_.id_list(node_dir + "has_cpu", max_node_id);
    for (int n : online_)
      if (n >= static_cast<int>(possible_.size()))
        s_.fail(node_dir + "online",
                fmt::format("expected online nodes among the possible ones (0-{}), got node {}",
                            possible_.size() - 1, n));
    for (int n : has_cpu_)
      if (!is_online(n))
        s_.fail(node_dir + "has_cpu",
                fmt::format("expected nodes with CPUs among the online ones, got node {}", n));
  }

  bool is_online(int n) const { return std::binary_search(online_.begin(), online_.end(), n); }

  // Node CPUs from nodeN/cpulist (drivers/base/node.c: cpulist_show(), the node's online CPUs),
  // their socket from cpuC/topology/physical_package_id (drivers/base/topology.c).
  void read_cpus() {
    cpus_.resize(possible_.size());
    socket_.resize(possible_.size(), -1);
    for (int n : online_) {
      const std::string file = fmt::format("{}node{}/cpulist", node_dir, n);
      const bool listed = std::binary_search(has_cpu_.begin(), has_cpu_.end(), n);
      if (!s_.exists(file) && listed)
        s_.fail(file, fmt::format("expected the CPUs of node {}, which has_cpu lists", n));
      if (!s_.exists(file)) continue;
      cpus_[n] = s_.id_list(file, max_cpu_id);
      if (listed && cpus_[n].empty())
        s_.fail(file,
                fmt::format("expected the CPUs of node {}, which has_cpu lists, got none", n));
      std::set<std::int64_t> packages;
      for (int cpu : cpus_[n]) {
        const std::string package =
            fmt::format("{}cpu{}/topology/physical_package_id", cpu_dir, cpu);
        const auto id = s_.integer(package);
        if (id < 0 || id > max_node_id)
          s_.fail(package,
                  fmt::format("expected a package id from 0 to {}, got {}", max_node_id, id));
        packages.insert(id);
      }
      if (packages.empty()) continue;
      socket_[n] = static_cast<int>(s_.integer(
          fmt::format("{}cpu{}/topology/physical_package_id", cpu_dir, cpus_[n].front())));
      if (packages.size() > 1)
        notes_.push_back(fmt::format(
            "node {}'s CPUs are in packages {}: the topology format has one socket per node, "
            "so the node is put in socket {}, the package of its first CPU",
            n, fmt::join(packages, ", "), socket_[n]));
    }
  }

  // drivers/base/memory.c: state_show() prints "online", "offline" or "going-offline";
  // valid_zones_show() prints an online block's zone ("none" if it spans two, e.g. DMA and DMA32
  // in x86's first block) and, for an offline block, the zone onlining would pick first, then
  // the others.
  ImportedBlock read_block(int id) {
    const std::string dir = fmt::format("{}memory{}/", memory_dir, id);
    ImportedBlock b{id, {}, s_.text(dir + "state")};
    if (b.state != "online" && b.state != "offline")
      s_.fail(dir + "state",
              fmt::format("expected \"online\" or \"offline\", got \"{}\"", b.state));
    const std::string zones = s_.text(dir + "valid_zones");
    const std::string first = zones.substr(0, zones.find(' '));
    // slabsim has ZONE_NORMAL and ZONE_MOVABLE. DMA and DMA32 are kernel zones below Normal
    // that GFP_KERNEL (hence slab) allocations may fall back to, so they count as normal, as
    // does "none" (a block spanning two kernel zones) and HighMem (32-bit only).
    if (first == "Movable") {
      b.zone = "movable";
    } else if (first == "Normal" || first == "DMA" || first == "DMA32" || first == "none" ||
               first == "HighMem") {
      b.zone = "normal";
      if (first != "Normal") mapped_zones_.insert(first);
    } else {
      s_.fail(dir + "valid_zones",
              fmt::format("expected a zone name first (Normal, Movable, DMA, DMA32, HighMem) or "
                          "\"none\", got \"{}\"",
                          zones));
    }
    return b;
  }

  // The collector's nodeN/memory_blocks lists the node's memoryN links, one a line.
  void read_blocks() {
    blocks_.resize(possible_.size());
    std::map<int, int> owner;  // block id -> node
    for (int n : online_) {
      const std::string file = fmt::format("{}node{}/memory_blocks", node_dir, n);
      const std::string text = s_.text(file);
      std::size_t pos = 0;
      while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        const std::string digits = line.starts_with("memory") ? line.substr(6) : "";
        if (digits.empty() || digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
          s_.fail(file, fmt::format("expected lines such as \"memory12\", got \"{}\"", line));
        const int id = std::stoi(digits);
        // register_mem_block_under_node_early() links a block whose pages straddle two nodes
        // to both; the topology format gives it to one.
        if (auto [it, fresh] = owner.emplace(id, n); !fresh) {
          notes_.push_back(fmt::format("memory{} is linked to nodes {} and {}: given to node {}",
                                       id, it->second, n, it->second));
          continue;
        }
        blocks_[n].push_back(read_block(id));
      }
      std::sort(blocks_[n].begin(), blocks_[n].end(),
                [](const ImportedBlock& a, const ImportedBlock& b) { return a.id < b.id; });
    }
    for (const auto& name : s_.list(memory_dir)) {
      if (!name.starts_with("memory") || name.size() == 6) continue;
      const auto id = name.substr(6);
      if (std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
          !owner.contains(std::stoi(id)))
        s_.fail(memory_dir + name,
                "expected every memory block in some online node's "
                "memory_blocks list, but no node lists this one");
    }
  }

  // nodeN/distance: node_read_distance() prints node_distance() to every online node, in order.
  void read_distances() {
    const std::size_t count = possible_.size();
    slit_.assign(count, std::vector<int>(count, c_.offline_node_distance));
    for (std::size_t i = 0; i < count; ++i)
      slit_[i][i] = local_distance;
    for (int a : online_) {
      const std::string file = fmt::format("{}node{}/distance", node_dir, a);
      const auto row = s_.integers(file);
      if (row.size() != online_.size())
        s_.fail(file, fmt::format("expected {} distances, one per online node ({}), got {}",
                                  online_.size(), config::format_cpulist(online_), row.size()));
      for (std::size_t k = 0; k < row.size(); ++k) {
        const int b = online_[k];
        const int v = row[k];
        if ((a == b && v != local_distance) ||
            (a != b && (v <= local_distance || v > max_distance)))
          s_.fail(file, fmt::format("expected {} to node {}, got {}",
                                    a == b ? "10 (LOCAL_DISTANCE)" : "11 to 255", b, v));
        slit_[a][b] = v;
      }
    }
  }

  MachineImport finish();
  ordered_json node_json(int n);
  std::string header(const std::string& name) const;

  const SysfsSnapshot& s_;
  const ImportChoices& c_;
  std::map<std::string, std::string> manifest_;
  std::vector<int> possible_, online_, has_cpu_;
  std::uint64_t block_size_ = 0;
  std::vector<std::vector<int>> cpus_;
  std::vector<int> socket_;
  std::vector<std::vector<ImportedBlock>> blocks_;
  std::vector<std::vector<int>> slit_;
  std::set<std::string> mapped_zones_;
  std::vector<std::string> notes_;
  std::vector<int> empty_nodes_;
};

// Consecutive blocks of one zone and state make a run.
ordered_json Importer::node_json(int n) {
  ordered_json node{{"id", n}};
  if (socket_[n] >= 0) node["socket"] = socket_[n];
  if (!cpus_[n].empty()) node["cpus"] = config::format_cpulist(cpus_[n]);
  auto runs = ordered_json::array();
  const auto& blocks = blocks_[n];
  for (std::size_t i = 0; i < blocks.size();) {
    std::size_t j = i;
    while (j + 1 < blocks.size() && blocks[j + 1].zone == blocks[i].zone &&
           blocks[j + 1].state == blocks[i].state)
      ++j;
    runs.push_back({{"zone", blocks[i].zone},
                    {"state", blocks[i].state},
                    {"count", static_cast<std::uint64_t>(j - i + 1)}});
    i = j + 1;
  }
  if (blocks.empty() && cpus_[n].empty()) {
    empty_nodes_.push_back(n);
    runs.push_back({{"zone", "normal"},
                    {"state", "absent"},
                    {"count", c_.hotplug_memory_bytes / block_size_}});
  }
  if (!runs.empty()) node["memory"] = {{"blocks", runs}};
  return node;
}

std::string Importer::header(const std::string& name) const {
  std::string h = fmt::format(
      "// {}: imported by `slabsim topology import` from a scripts/collect-machine snapshot\n"
      "// (Linux {} {}, collected {}).\n"
      "// From the snapshot: nodes (possible, online), CPUs per node (nodeN/cpulist), sockets\n"
      "// (physical_package_id), memory blocks with zone and state (memoryN/state, valid_zones),\n"
      "// the SLIT (nodeN/distance) and memory_block_size (block_size_bytes). Block ids are\n"
      "// renumbered densely in node order: holes in the physical address map are not kept.\n"
      "// CHOICES, not in the snapshot:\n"
      "// * local_latency {} ns (--local-latency): sysfs has no latencies; remote latencies\n"
      "//   follow the SLIT (local x SLIT / 10).\n",
      name, manifest_.count("uname-r") ? manifest_.at("uname-r") : "?",
      manifest_.count("uname-m") ? manifest_.at("uname-m") : "?",
      manifest_.count("date") ? manifest_.at("date") : "?", c_.local_latency_ns);
  for (int n : possible_)
    if (!is_online(n))
      h += fmt::format(
          "// * node {} is possible but not online: sysfs has no distances for it, so "
          "SLIT {} to\n//   and from every other node (--offline-node-distance).\n",
          n, c_.offline_node_distance);
  for (int n : empty_nodes_)
    h += fmt::format(
        "// * node {} has neither CPUs nor memory: {} MiB of absent normal memory\n"
        "//   for a workload to hot-add (--hotplug-memory).\n",
        n, c_.hotplug_memory_bytes >> 20);
  if (!mapped_zones_.empty())
    h += fmt::format("// * blocks in {} count as zone normal (slabsim has normal and movable).\n",
                     fmt::join(mapped_zones_, ", "));
  for (const auto& note : notes_)
    h += "// * " + note + ".\n";
  return h;
}

MachineImport Importer::finish() {
  const std::string name =
      c_.name.empty() ? topology_name_from(s_.root().filename().string()) : c_.name;
  ordered_json doc{{"name", name}, {"description", ""}};
  doc["memory_block_size"] = block_size_ % (1 << 20) == 0 ? fmt::format("{}MiB", block_size_ >> 20)
                                                          : fmt::format("{}", block_size_);
  std::set<int> packages(socket_.begin(), socket_.end());
  packages.erase(-1);
  auto sockets = ordered_json::array();
  for (int p : packages)
    sockets.push_back({{"id", p}, {"name", fmt::format("physical_package_id {}", p)}});
  doc["sockets"] = sockets;
  auto nodes = ordered_json::array();
  for (int n : possible_)
    nodes.push_back(node_json(n));
  doc["nodes"] = nodes;
  doc["distance"] = {{"slit", slit_}, {"local_latency", fmt::format("{}ns", c_.local_latency_ns)}};
  std::size_t cpu_count = 0;
  for (const auto& c : cpus_)
    cpu_count += c.size();
  doc["description"] = fmt::format(
      "Imported: {} node{}, {} CPU{} (Linux {} {}); local latency {} ns is a choice, not a "
      "measurement",
      possible_.size(), possible_.size() == 1 ? "" : "s", cpu_count, cpu_count == 1 ? "" : "s",
      manifest_["uname-r"], manifest_["uname-m"], c_.local_latency_ns);

  MachineImport out;
  out.topology_text = header(name) + dump(doc, 0) + "\n";
  out.topology =
      load_topology(config::parse_json_document(out.topology_text, "<imported " + name + ">"));
  out.boot_caches = read_boot_caches(s_);
  out.notes = notes_;
  return out;
}

}  // namespace

std::string topology_name_from(const std::string& folder_name) {
  std::string name;
  for (char c : folder_name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok =
        (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-';
    name += ok ? l : '-';
  }
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front())))
    name.erase(name.begin());
  return name.empty() ? "imported" : name;
}

MachineImport import_machine(const std::filesystem::path& snapshot, const ImportChoices& choices) {
  return Importer(SysfsSnapshot(snapshot), choices).run();
}

}  // namespace slabsim::topology
