#include "check/sysfs_view.hpp"

#include <fmt/format.h>

#include "allocator/slab_common.hpp"
#include "config/units.hpp"

namespace slabsim::check {

namespace {

using alloc::BlockPresence;
using alloc::NodeState;
using alloc::ZoneType;

const char* const node_dir = "/sys/devices/system/node";
const char* const memory_dir = "/sys/devices/system/memory";

// The files the guest's dump of a cache reads, in its order (kernel-check/guest/init, dump_slab).
const std::vector<std::string>& slab_files() {
  static const std::vector<std::string> files = {
      "order",       "objs_per_slab",     "min_partial",     "cpu_partial",
      "object_size", "slab_size",         "align",           "slabs",
      "partial",     "objects",           "objects_partial", "total_objects",
      "cpu_slabs",   "slabs_cpu_partial", "hwcache_align",   "reclaim_account"};
  return files;
}

const char* zone_name(ZoneType z) {
  return z == ZoneType::normal ? "Normal" : "Movable";
}

// A file's text as `grep -H ''` prints it: one "path:line" per line.
void add_lines(std::vector<std::string>& out, const std::string& path, std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find('\n', start);
    out.push_back(path + ":" + std::string(text.substr(start, end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

}  // namespace

std::vector<int> guest_block_ids(const topology::QemuMachine& m, std::size_t model_blocks) {
  std::vector<int> out(model_blocks, -1);
  auto map = [&](const std::vector<int>& model, const std::vector<int>& guest) {
    for (std::size_t i = 0; i < model.size() && i < guest.size(); ++i)
      if (model[i] >= 0 && static_cast<std::size_t>(model[i]) < model_blocks)
        out[model[i]] = guest[i];
  };
  for (const auto& n : m.nodes)
    map(n.model_blocks, n.guest_blocks);
  for (const auto& d : m.hotplug_dimms)
    for (std::size_t i = 0; i < d.model_blocks.size(); ++i)
      if (static_cast<std::size_t>(d.model_blocks[i]) < model_blocks)
        out[d.model_blocks[i]] = d.first_block_id + static_cast<int>(i);
  return out;
}

SysfsView::SysfsView(sim::Machine& machine, std::vector<int> guest_block_of)
    : machine_(machine), guest_block_of_(std::move(guest_block_of)) {}

std::vector<std::string> SysfsView::nodes() const {
  const auto& t = machine_.topology();
  const auto& states = machine_.states();
  std::vector<int> possible;
  for (int n = 0; n < t.node_count(); ++n)
    possible.push_back(n);
  std::vector<int> has_cpu;
  for (int n = 0; n < t.node_count(); ++n)
    if (!t.nodes[n].cpus.empty()) has_cpu.push_back(n);
  const auto online = states.nodes(NodeState::online);
  std::vector<std::string> out;
  auto mask = [&](const char* file, const std::vector<int>& nodes) {
    out.push_back(fmt::format("{}/{}:{}", node_dir, file, config::format_cpulist(nodes)));
  };
  // The QEMU machine's SRAT names every node, so all are possible from boot.
  mask("possible", possible);
  mask("online", online);
  mask("has_memory", states.nodes(NodeState::memory));
  mask("has_normal_memory", states.nodes(NodeState::normal_memory));
  // N_CPU of the machine's own CPUs: the simulator's event-task CPUs are not the guest's.
  mask("has_cpu", has_cpu);
  for (int n : online)
    out.push_back(
        fmt::format("{}/node{}/cpulist:{}", node_dir, n, config::format_cpulist(t.nodes[n].cpus)));
  // node_read_numastat(): the six counters of zone_statistics(), one "name value" line each.
  for (int n : online) {
    const alloc::NumaStat& s = machine_.pages().numastat(n);
    const std::string path = fmt::format("{}/node{}/numastat:", node_dir, n);
    out.push_back(path + fmt::format("numa_hit {}", s.numa_hit));
    out.push_back(path + fmt::format("numa_miss {}", s.numa_miss));
    out.push_back(path + fmt::format("numa_foreign {}", s.numa_foreign));
    out.push_back(path + fmt::format("interleave_hit {}", s.interleave_hit));
    out.push_back(path + fmt::format("local_node {}", s.local_node));
    out.push_back(path + fmt::format("other_node {}", s.other_node));
  }
  for (int n : online) {
    std::vector<int> row;
    for (int m : online)
      row.push_back(t.slit[n][m]);
    out.push_back(fmt::format("{}/node{}/distance:{}", node_dir, n, fmt::join(row, " ")));
  }
  return out;
}

std::vector<std::string> SysfsView::blocks() const {
  const auto& pages = machine_.pages();
  const auto& layout = machine_.layout();
  std::vector<std::string> out;
  out.push_back(
      fmt::format("{}/block_size_bytes:{:x}", memory_dir, layout.block_pages * alloc::page_size));
  std::vector<std::pair<int, int>> present;  // guest id, model id
  for (std::size_t b = 0; b < layout.blocks.size(); ++b)
    if (guest_block_of_[b] >= 0 && pages.block_state(static_cast<int>(b)) != BlockPresence::absent)
      present.emplace_back(guest_block_of_[b], static_cast<int>(b));
  std::sort(present.begin(), present.end());
  for (const auto& [id, b] : present) {
    const std::string dir = fmt::format("{}/memory{}", memory_dir, id);
    const bool online = pages.block_state(b) == BlockPresence::online;
    out.push_back(fmt::format("{}/state:{}", dir, online ? "online" : "offline"));
    out.push_back(fmt::format("{}/valid_zones:{}", dir, valid_zones(b)));
    out.push_back(fmt::format("{}/phys_index:{:08x}", dir, id));
    out.push_back(fmt::format("{}/removable:1", dir));
  }
  for (const auto& [id, b] : present)
    out.push_back(fmt::format("link:{}/memory{}/node{}", memory_dir, id, layout.blocks[b].node));
  return out;
}

std::string SysfsView::valid_zones(int block) const {
  const auto& pages = machine_.pages();
  if (pages.block_state(block) == BlockPresence::online) return zone_name(pages.block_zone(block));
  const int node = machine_.layout().blocks[block].node;
  const bool in_kernel = zone_spans(node, ZoneType::normal, block);
  const bool in_movable = zone_spans(node, ZoneType::movable, block);
  // default_zone_for_pfn(): the zone the range already lies in, else the kernel zone
  // (movable_node is off).
  const ZoneType first = in_movable && !in_kernel ? ZoneType::movable : ZoneType::normal;
  const ZoneType other = first == ZoneType::normal ? ZoneType::movable : ZoneType::normal;
  return fmt::format("{} {}", zone_name(first), zone_name(other));
}

bool SysfsView::zone_spans(int node, ZoneType zone, int block) const {
  const auto& pages = machine_.pages();
  const auto& blocks = machine_.layout().blocks;
  int low = -1, high = -1;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const int id = static_cast<int>(b);
    if (blocks[b].node != node || pages.block_state(id) != BlockPresence::online ||
        pages.block_zone(id) != zone)
      continue;
    if (low < 0) low = id;
    high = id;
  }
  return low >= 0 && block >= low && block <= high;
}

std::vector<std::string> SysfsView::slab(const std::string& cache) const {
  alloc::Allocator& a = machine_.allocator();
  alloc::Cache* s = a.slab_common().find_cache(cache);
  std::vector<std::string> out;
  if (!s) return out;
  if (const auto* source = a.slabinfo_source())
    add_lines(out, "/proc/slabinfo", alloc::cache_show(*s, *source));
  auto* sysfs = a.sysfs();
  if (!sysfs) return out;
  const std::vector<bool> online(static_cast<std::size_t>(machine_.nr_cpu_slots()), true);
  for (const auto& file : slab_files())
    if (auto text = sysfs->slab_attr_show(s, file, online))
      add_lines(out, fmt::format("/sys/kernel/slab/{}/{}", cache, file), *text);
  return out;
}

}  // namespace slabsim::check
