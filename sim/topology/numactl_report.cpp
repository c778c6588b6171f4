#include "topology/numactl_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/units.hpp"
#include "topology/zonelist.hpp"

namespace slabsim::topology {

namespace {

std::vector<int> nodes_where(const Topology& t, bool (Topology::*pred)(int) const) {
  std::vector<int> ids;
  for (const auto& n : t.nodes)
    if ((t.*pred)(n.id)) ids.push_back(n.id);
  return ids;
}

std::string node_list(const std::vector<int>& ids) {
  return ids.empty() ? std::string("(none)") : config::format_cpulist(ids);
}

}  // namespace

std::string numactl_hardware(const Topology& t) {
  const std::vector<int> online = nodes_where(t, &Topology::boot_online);
  std::string out =
      fmt::format("available: {} nodes ({})\n", online.size(), config::format_cpulist(online));
  for (int id : online) {
    const auto& n = t.nodes[id];
    out += fmt::format("node {} cpus:", id);
    for (int cpu : n.cpus)
      out += fmt::format(" {}", cpu);
    out += '\n';
    // At boot nothing is allocated yet, so free equals size (numactl prints MB = bytes >> 20).
    const auto mb = t.node_bytes(id, BlockState::online) >> 20;
    out += fmt::format("node {} size: {} MB\n", id, mb);
    out += fmt::format("node {} free: {} MB\n", id, mb);
  }
  out += "node distances:\nnode ";
  for (int id : online)
    out += fmt::format("{: 3} ", id);
  out += '\n';
  for (int i : online) {
    out += fmt::format("{: 3}: ", i);
    for (int k : online)
      out += fmt::format("{: 3} ", t.slit[i][k]);
    out += '\n';
  }
  return out;
}

namespace {

// A node-by-node matrix: `head` then each column's id, then a row per node, its id and cells,
// each formatted with `id` and `cell` (fmt format strings of one argument).
template <class T>
std::string node_matrix(const Topology& t, const Matrix<T>& values, std::string head,
                        const char* id, const char* row_id, const char* cell) {
  std::string out = std::move(head);
  for (const auto& n : t.nodes)
    out += fmt::format(fmt::runtime(id), n.id);
  out += '\n';
  for (const auto& row : t.nodes) {
    out += fmt::format(fmt::runtime(row_id), row.id);
    for (const auto& col : t.nodes)
      out += fmt::format(fmt::runtime(cell), values[row.id][col.id]);
    out += '\n';
  }
  return out;
}

std::string distances_section(const Topology& t, std::size_t online_nodes) {
  std::string out = node_matrix(
      t, t.latency_ns,
      fmt::format("\nnode latencies (ns, {}; from a CPU of the row node to memory of the column "
                  "node):\nnode",
                  t.distance_form == DistanceForm::link_graph ? "derived from the link graph"
                  : t.local_latency_ns ? fmt::format("local {} ns x SLIT / 10", *t.local_latency_ns)
                                       : std::string("measured matrix")),
      " {:>6}", "{:>4}", " {:>6}");
  if (t.distance_form == DistanceForm::link_graph) {
    out += "links (SLIT derived from them):";
    for (const auto& l : t.links)
      out += fmt::format(" {}-{} {} ns;", l.a, l.b, l.latency_ns);
    out.back() = '\n';
  }
  // numactl shows online nodes only; nodes that come online later have distances too.
  if (static_cast<int>(online_nodes) < t.node_count())
    out += node_matrix(t, t.slit, "node distances of all nodes, online or not:\nnode ", "{: 3} ",
                       "{: 3}: ", "{: 3} ");
  return out;
}

// Runs of consecutive blocks of one zone and state: "8 online normal (memory0-7)".
std::string blocks_section(const Topology& t) {
  std::string out = fmt::format("\nmemory blocks ({} MiB each):\n", t.block_size >> 20);
  for (const auto& n : t.nodes) {
    if (n.blocks.empty()) {
      out += fmt::format("node {}: none (memoryless)\n", n.id);
      continue;
    }
    std::vector<std::string> runs;
    for (std::size_t i = 0; i < n.blocks.size();) {
      const auto& first = t.blocks[n.blocks[i]];
      std::size_t j = i;
      while (j + 1 < n.blocks.size() && t.blocks[n.blocks[j + 1]].zone == first.zone &&
             t.blocks[n.blocks[j + 1]].state == first.state)
        ++j;
      const int last_id = t.blocks[n.blocks[j]].id;
      runs.push_back(fmt::format("{} {} {} (memory{})", j - i + 1, to_string(first.state),
                                 to_string(first.zone),
                                 last_id == first.id ? fmt::format("{}", first.id)
                                                     : fmt::format("{}-{}", first.id, last_id)));
      i = j + 1;
    }
    out += fmt::format("node {}: {}\n", n.id, fmt::join(runs, ", "));
  }
  return out;
}

std::string states_and_fallbacks_section(const Topology& t, const std::vector<int>& online) {
  std::vector<int> with_cpus;
  for (const auto& n : t.nodes)
    if (!n.cpus.empty()) with_cpus.push_back(n.id);
  std::string out = fmt::format(
      "\nnode states at boot:\nN_ONLINE {}\nN_MEMORY {}\nN_NORMAL_MEMORY {}\nN_CPU {}\n",
      node_list(online), node_list(nodes_where(t, &Topology::boot_has_memory)),
      node_list(nodes_where(t, &Topology::boot_has_normal_memory)), node_list(with_cpus));
  out +=
      "\nfallback order (build_zonelists; [n]: only ZONE_MOVABLE memory, which GFP_KERNEL and "
      "slab allocations skip):\n";
  const auto orders = boot_node_orders(t);
  for (int id : online) {
    std::vector<std::string> entries;
    for (int k : orders[id]) {
      if (!t.boot_has_memory(k)) continue;  // a memoryless local node has no zones to list
      entries.push_back(t.boot_has_normal_memory(k) ? fmt::format("{}", k)
                                                    : fmt::format("[{}]", k));
    }
    out += fmt::format("node {}: {}\n", id, fmt::join(entries, " "));
  }
  return out;
}

}  // namespace

std::string show_topology(const Topology& t) {
  std::string out = numactl_hardware(t);
  out += fmt::format("\nslabsim topology: {}\n", t.name);
  if (!t.description.empty()) out += fmt::format("{}\n", t.description);
  const std::vector<int> online = nodes_where(t, &Topology::boot_online);
  if (static_cast<int>(online.size()) < t.node_count()) {
    std::vector<int> later;
    for (const auto& n : t.nodes)
      if (!t.boot_online(n.id)) later.push_back(n.id);
    out += fmt::format("nodes not online at boot (no CPUs, memory not yet hot-added): {}\n",
                       node_list(later));
  }
  return out + distances_section(t, online.size()) + blocks_section(t) +
         states_and_fallbacks_section(t, online);
}

}  // namespace slabsim::topology
