#include "topology/topology_loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <map>
#include <set>

#include "config/diagnostics.hpp"
#include "config/json_pointer.hpp"
#include "config/units.hpp"
#include "topology/distances.hpp"
#include "topology/presets.hpp"
#include "topology/topology_format.hpp"

namespace slabsim::topology {

using config::Diagnostics;
using nlohmann::json;

namespace {

using config::at;
using config::validated_duration_ns;
using config::validated_size_bytes;

// The checks and resolution of one document, sharing its diagnostics.
class Loader {
 public:
  Loader(const json& root, Diagnostics& diagnostics) : j_(root), diag_(diagnostics) {}

  Topology load() {
    t_.name = j_["name"].get<std::string>();
    t_.description = j_["description"].get<std::string>();
    load_block_size();
    load_sockets();
    load_nodes();
    check_sockets_used();
    check_bootable();
    load_distances();
    return std::move(t_);
  }

 private:
  void load_block_size() {
    t_.block_size = validated_size_bytes(j_["memory_block_size"]);
    if (!std::has_single_bit(t_.block_size))
      diag_.error("/memory_block_size",
                  fmt::format("expected a power of two (memory_block_size_bytes() always is), got "
                              "{} bytes",
                              t_.block_size));
  }

  void load_sockets() {
    std::map<int, std::size_t> seen;
    const auto& sockets = j_["sockets"];
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      Socket s;
      s.id = sockets[i]["id"].get<int>();
      if (sockets[i].contains("name")) s.name = sockets[i]["name"].get<std::string>();
      if (auto [it, fresh] = seen.emplace(s.id, i); !fresh)
        diag_.error(at(at("/sockets", i), "id"),
                    fmt::format("expected a unique socket id, got {}, already used by /sockets/{}",
                                s.id, it->second));
      t_.sockets.push_back(std::move(s));
    }
  }

  Socket* find_socket(int id) {
    auto it = std::find_if(t_.sockets.begin(), t_.sockets.end(),
                           [&](const Socket& s) { return s.id == id; });
    return it == t_.sockets.end() ? nullptr : &*it;
  }

  void load_nodes() {
    const auto& nodes = j_["nodes"];
    const int count = static_cast<int>(nodes.size());
    t_.nodes.resize(nodes.size());
    std::vector<bool> filled(nodes.size(), false);
    std::map<int, std::string> cpu_owner;  // cpu -> pointer of the cpus list that has it
    std::vector<std::size_t> order;        // file index by node id, for block numbering

    std::vector<int> id_of(nodes.size(), -1);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::string p = at("/nodes", i);
      const int id = nodes[i]["id"].get<int>();
      if (id >= count) {
        diag_.error(at(p, "id"), fmt::format("expected a node id from 0 to {} (node ids are 0..N-1 "
                                             "for the {} nodes declared), got {}",
                                             count - 1, count, id));
        continue;
      }
      if (filled[id]) {
        const auto first = std::find(id_of.begin(), id_of.end(), id) - id_of.begin();
        diag_.error(at(p, "id"), fmt::format("expected a unique node id, got {}, already used by "
                                             "/nodes/{}",
                                             id, first));
        continue;
      }
      filled[id] = true;
      id_of[i] = id;
      Node& n = t_.nodes[id];
      n.id = id;
      n.pointer = p;
      n.cpus = std::get<std::vector<int>>(config::parse_cpulist(nodes[i]["cpus"], max_cpu_id));
      for (int cpu : n.cpus) {
        if (auto [it, fresh] = cpu_owner.emplace(cpu, at(p, "cpus")); !fresh)
          diag_.error(at(p, "cpus"),
                      fmt::format("expected each CPU in one node only, got CPU {}, already in {}",
                                  cpu, it->second));
      }
      if (nodes[i].contains("socket")) {
        const int sid = nodes[i]["socket"].get<int>();
        if (Socket* s = find_socket(sid)) {
          n.socket = sid;
          s->nodes.push_back(id);
          s->cpus.insert(s->cpus.end(), n.cpus.begin(), n.cpus.end());
        } else {
          diag_.error(at(p, "socket"),
                      fmt::format("expected the id of a socket declared in /sockets, got {}", sid));
        }
      } else if (!n.cpus.empty()) {
        diag_.error(p, "missing required key \"socket\": a node with CPUs belongs to a socket");
      }
    }
    // Blocks get ids in node-id order, as physical address ranges usually are.
    for (int id = 0; id < count; ++id) {
      auto file_index = std::find(id_of.begin(), id_of.end(), id);
      if (file_index == id_of.end()) continue;
      const std::size_t i = static_cast<std::size_t>(file_index - id_of.begin());
      load_blocks(nodes[i], at("/nodes", i), t_.nodes[id]);
    }
    for (auto& s : t_.sockets) {
      std::sort(s.nodes.begin(), s.nodes.end());
      std::sort(s.cpus.begin(), s.cpus.end());
    }
    if (t_.cpu_ids().empty()) diag_.error("/nodes", "expected at least one node with CPUs");
  }

  void load_blocks(const json& node, const std::string& p, Node& n) {
    const auto& runs = node["memory"]["blocks"];
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const auto& run = runs[r];
      std::uint64_t count = 0;
      if (run.contains("count")) {
        count = run["count"].get<std::uint64_t>();
      } else {
        const std::uint64_t bytes = validated_size_bytes(run["size"]);
        if (bytes % t_.block_size != 0 || bytes == 0) {
          diag_.error(at(at(at(at(p, "memory"), "blocks"), r), "size"),
                      fmt::format("expected a multiple of memory_block_size ({} MiB), got {} bytes",
                                  t_.block_size >> 20, bytes));
          continue;
        }
        count = bytes / t_.block_size;
      }
      // The machine's blocks are expanded one by one: bound them before, as "count" is.
      if (t_.blocks.size() + count > max_memory_blocks) {
        diag_.error(at(at(at(p, "memory"), "blocks"), r),
                    fmt::format("expected at most {} memory blocks in the machine ({} PiB of "
                                "{} MiB blocks), got {} more after {}",
                                max_memory_blocks, (max_memory_blocks * t_.block_size) >> 50,
                                t_.block_size >> 20, count, t_.blocks.size()));
        continue;
      }
      const Zone zone = run["zone"] == "normal" ? Zone::normal : Zone::movable;
      const std::string state = run["state"].get<std::string>();
      const BlockState bs = state == "online"    ? BlockState::online
                            : state == "offline" ? BlockState::offline
                                                 : BlockState::absent;
      for (std::uint64_t k = 0; k < count; ++k) {
        const int id = static_cast<int>(t_.blocks.size());
        t_.blocks.push_back({id, n.id, zone, bs, static_cast<int>(r)});
        n.blocks.push_back(id);
      }
    }
    if (n.cpus.empty() && n.blocks.empty())
      diag_.error(p, "expected a node with CPUs or memory blocks (or both), got neither");
  }

  // Counts what the file says, not what survived checking, so a rejected node does not make
  // its socket look unused.
  void check_sockets_used() {
    std::set<int> named;
    for (const auto& node : j_["nodes"])
      if (node.contains("socket")) named.insert(node["socket"].get<int>());
    for (std::size_t i = 0; i < t_.sockets.size(); ++i)
      if (!named.contains(t_.sockets[i].id))
        diag_.error(at("/sockets", i),
                    fmt::format("expected every socket to be used by a node, but no node names "
                                "socket {}",
                                t_.sockets[i].id));
  }

  void check_bootable() {
    if (!diag_.empty()) return;
    for (const auto& n : t_.nodes)
      if (t_.boot_has_normal_memory(n.id)) return;
    diag_.error("/nodes",
                "expected at least one node with online normal memory (the kernel cannot boot "
                "without ZONE_NORMAL memory)");
  }

  bool check_square(const json& matrix, const std::string& p) {
    const std::size_t n = t_.nodes.size();
    bool ok = true;
    if (matrix.size() != n) {
      diag_.error(p, fmt::format("expected {} rows, one per node, got {}", n, matrix.size()));
      ok = false;
    }
    for (std::size_t i = 0; i < matrix.size(); ++i) {
      if (matrix[i].size() != n) {
        diag_.error(at(p, i),
                    fmt::format("expected {} entries, one per node, got {}", n, matrix[i].size()));
        ok = false;
      }
    }
    return ok;
  }

  void load_distances() {
    const auto& d = j_["distance"];
    if (d.contains("local_latency"))
      t_.local_latency_ns = validated_duration_ns(d["local_latency"]);
    if (d.contains("slit"))
      load_slit_form(d);
    else
      load_link_form(d);
  }

  void load_slit_form(const json& d) {
    t_.distance_form = DistanceForm::slit_matrix;
    const bool slit_ok = check_square(d["slit"], "/distance/slit");
    const bool lat_ok = !d.contains("latency") || check_square(d["latency"], "/distance/latency");
    if (!slit_ok || !lat_ok || !diag_.empty()) return;
    const int n = t_.node_count();
    t_.slit = d["slit"].get<Matrix<int>>();
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < n; ++k) {
        const int v = t_.slit[i][k];
        const std::string p = at(at("/distance/slit", i), k);
        if (i == k && v != local_distance)
          diag_.error(p, fmt::format("expected {} (LOCAL_DISTANCE) on the diagonal, got {}",
                                     local_distance, v));
        if (i != k && v <= local_distance)
          diag_.error(p, fmt::format("expected more than {} off the diagonal (a remote node is "
                                     "never as close as the local one), got {}",
                                     local_distance, v));
      }
    }
    if (d.contains("latency")) {
      t_.latency_ns.assign(n, std::vector<std::int64_t>(n));
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k)
          t_.latency_ns[i][k] = validated_duration_ns(d["latency"][i][k]);
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k)
          if (k != i && t_.latency_ns[i][k] <= t_.latency_ns[i][i])
            diag_.error(at(at("/distance/latency", i), k),
                        fmt::format("expected a latency above the row's local latency ({} ns), "
                                    "got {} ns",
                                    t_.latency_ns[i][i], t_.latency_ns[i][k]));
    } else {
      t_.latency_ns = latency_from_slit(t_.slit, *t_.local_latency_ns);
    }
  }

  void load_link_form(const json& d) {
    t_.distance_form = DistanceForm::link_graph;
    const auto& links = d["links"];
    const int n = t_.node_count();
    std::map<std::pair<int, int>, std::size_t> seen;
    for (std::size_t i = 0; i < links.size(); ++i) {
      const std::string p = at("/distance/links", i);
      Link l{links[i]["between"][0].get<int>(), links[i]["between"][1].get<int>(),
             validated_duration_ns(links[i]["latency"])};
      bool ok = true;
      for (int e = 0; e < 2; ++e) {
        const int node = e == 0 ? l.a : l.b;
        if (node >= n) {
          diag_.error(
              at(at(p, "between"), e),
              fmt::format("expected the id of a declared node (0 to {}), got {}", n - 1, node));
          ok = false;
        }
      }
      if (ok && l.a == l.b) {
        diag_.error(at(p, "between"),
                    fmt::format("expected two different nodes, got node {} twice", l.a));
        ok = false;
      }
      if (ok) {
        auto key = std::minmax(l.a, l.b);
        if (auto [it, fresh] = seen.emplace(std::pair{key.first, key.second}, i); !fresh) {
          diag_.error(at(p, "between"),
                      fmt::format("expected one link per pair of nodes, but nodes {} and {} are "
                                  "already joined by /distance/links/{}",
                                  l.a, l.b, it->second));
          ok = false;
        }
      }
      if (ok) t_.links.push_back(l);
    }
    if (!diag_.empty()) return;
    int unreachable = -1;
    auto derived = derive_from_links(n, t_.links, *t_.local_latency_ns, &unreachable);
    if (!derived) {
      diag_.error("/distance/links",
                  fmt::format("expected links that connect every node, but node {} cannot be "
                              "reached from node 0",
                              unreachable));
      return;
    }
    t_.latency_ns = std::move(derived->latency_ns);
    t_.slit = std::move(derived->slit);
  }

  const json& j_;
  Diagnostics& diag_;
  Topology t_;
};

}  // namespace

Topology load_topology(const config::JsonDocument& document) {
  Diagnostics diagnostics(document.name);
  const auto& spec = topology_spec();
  if (!spec->validate(document.root, "", diagnostics)) diagnostics.throw_if_any();
  json root = document.root;
  spec->apply_defaults(root);
  Topology t = Loader(root, diagnostics).load();
  diagnostics.throw_if_any();
  return t;
}

config::JsonDocument topology_document(const std::string& path_or_preset) {
  if (std::filesystem::exists(path_or_preset)) return config::load_json_document(path_or_preset);
  if (auto text = preset_text(path_or_preset))
    return config::parse_json_document(std::string(*text), "<preset " + path_or_preset + ">");
  Diagnostics d(path_or_preset);
  d.error("", fmt::format("no such file, and no preset of that name; presets: {}",
                          fmt::join(preset_names(), ", ")));
  d.throw_if_any();
  return {};
}

Topology load_topology(const std::string& path_or_preset) {
  return load_topology(topology_document(path_or_preset));
}

}  // namespace slabsim::topology
