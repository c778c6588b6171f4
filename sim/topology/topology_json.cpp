#include "topology/topology_json.hpp"

#include "topology/zonelist.hpp"

namespace slabsim::topology {

using nlohmann::json;

json to_json(const Topology& t) {
  json sockets = json::array();
  for (const auto& s : t.sockets)
    sockets.push_back({{"id", s.id}, {"name", s.name}, {"nodes", s.nodes}, {"cpus", s.cpus}});

  const auto orders = boot_node_orders(t);
  json nodes = json::array();
  for (const auto& n : t.nodes) {
    json states = json::array();
    if (t.boot_online(n.id)) states.push_back("N_ONLINE");
    if (t.boot_has_normal_memory(n.id)) states.push_back("N_NORMAL_MEMORY");
    if (t.boot_has_memory(n.id)) states.push_back("N_MEMORY");
    if (!n.cpus.empty()) states.push_back("N_CPU");
    nodes.push_back({
        {"id", n.id},
        {"socket", n.socket ? json(*n.socket) : json(nullptr)},
        {"cpus", n.cpus},
        {"blocks", n.blocks},
        {"bytes",
         {{"online", t.node_bytes(n.id, BlockState::online)},
          {"offline", t.node_bytes(n.id, BlockState::offline)},
          {"absent", t.node_bytes(n.id, BlockState::absent)}}},
        {"boot_states", states},
        {"fallback_order", orders[n.id]},
    });
  }

  json blocks = json::array();
  for (const auto& b : t.blocks)
    blocks.push_back({{"id", b.id},
                      {"node", b.node},
                      {"zone", to_string(b.zone)},
                      {"state", to_string(b.state)}});

  json distance = {
      {"form", t.distance_form == DistanceForm::link_graph ? "links" : "slit"},
      {"local_latency_ns", t.local_latency_ns ? json(*t.local_latency_ns) : json(nullptr)},
      {"slit", t.slit},
      {"latency_ns", t.latency_ns},
  };
  if (t.distance_form == DistanceForm::link_graph) {
    json links = json::array();
    for (const auto& l : t.links)
      links.push_back({{"between", {l.a, l.b}}, {"latency_ns", l.latency_ns}});
    distance["links"] = links;
  }

  return {{"name", t.name},
          {"description", t.description},
          {"memory_block_size", t.block_size},
          {"sockets", sockets},
          {"nodes", nodes},
          {"blocks", blocks},
          {"distance", distance}};
}

}  // namespace slabsim::topology
