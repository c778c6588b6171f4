#include "topology/topology_format.hpp"

#include "topology/topology.hpp"

namespace slabsim::topology {

using namespace slabsim::config;
using nlohmann::json;

namespace {

SpecPtr make_spec() {
  auto socket =
      object("a CPU package", {
                                  required("id", integer(0, max_node_id), "Socket id, unique."),
                                  optional("name", string(), "Free text, e.g. the CPU model."),
                              });

  auto block = with_exactly_one_of(
      object("a run of memory blocks of one zone and state",
             {
                 optional("zone", enumeration({"normal", "movable"}),
                          "Zone the blocks are (or will be) onlined into: \"normal\" "
                          "(online_kernel, ZONE_NORMAL) or \"movable\" (online_movable, "
                          "ZONE_MOVABLE: no kernel allocations, so no slab pages).",
                          "normal"),
                 optional("state", enumeration({"online", "offline", "absent"}),
                          "State at boot: \"online\", \"offline\" (present, can be onlined "
                          "later) or \"absent\" (not yet hot-added).",
                          "online"),
                 optional("count", integer(1, static_cast<std::int64_t>(max_memory_blocks)),
                          "Number of memory blocks in this run."),
                 optional("size", size(1),
                          "Memory in this run, a multiple of memory_block_size; an alternative "
                          "to count."),
             }),
      {"count", "size"});

  auto memory = object("the memory of a node",
                       {
                           required("blocks", array(block),
                                    "Runs of memory blocks, in physical address order; empty "
                                    "for a memoryless node."),
                       });

  auto node = object(
      "a NUMA node",
      {
          required("id", integer(0, max_node_id),
                   "Node id; the ids of a topology are 0..N-1, each used once."),
          optional("socket", integer(0, max_node_id),
                   "Id of the socket the node belongs to; required when the node has CPUs."),
          optional("cpus", cpulist(max_cpu_id),
                   "CPUs of the node: an array of ids or a cpulist string such as \"0-3,8\"; "
                   "empty for a CPU-less memory node.",
                   json::array()),
          optional("memory", memory, "The node's memory; absent for a memoryless node.",
                   json{{"blocks", json::array()}}),
      });

  auto link = object("an interconnect link between two nodes",
                     {
                         required("between", array(integer(0, max_node_id), 2, 2),
                                  "The two node ids the link joins."),
                         required("latency", duration(1),
                                  "Latency added by crossing the link (ns or a string with a "
                                  "unit)."),
                     });

  auto distance = with_needs(
      with_exactly_one_of(
          with_exactly_one_of(
              object("node distances: a SLIT matrix, or an interconnect graph of links",
                     {
                         optional("slit", array(array(integer(local_distance, max_distance), 1), 1),
                                  "ACPI SLIT matrix, one row per node in id order: 10 on the "
                                  "diagonal, more than 10 elsewhere, 255 = unreachable."),
                         optional("latency", array(array(duration(1), 1), 1),
                                  "Measured load latency matrix (ns), one row per node in id "
                                  "order; with slit, instead of local_latency."),
                         optional("local_latency", duration(1),
                                  "Latency of a local access. With slit, remote latency is "
                                  "local_latency x SLIT / 10; with links, local_latency plus the "
                                  "links on the shortest path."),
                         optional("links", array(link, 1),
                                  "Interconnect graph: latency and SLIT matrices are derived "
                                  "from shortest paths."),
                     }),
              {"slit", "links"}),
          {"local_latency", "latency"}),
      "latency", "slit");

  return object(
      "a NUMA machine",
      {
          required("name",
                   string("[a-z0-9][a-z0-9._-]*",
                          "lower-case letters, digits, '.', '_' "
                          "and '-', starting with a letter or digit"),
                   "Short name of the machine, used in reports and results."),
          optional("description", string(), "Free text shown by `slabsim topology show`.", ""),
          optional("memory_block_size", size(4ull << 20, 4096),
                   "Size of one memory block, the unit of memory hotplug (memory_block_size_bytes: "
                   "128 MiB on x86_64); a power of two.",
                   "128MiB"),
          required("sockets", array(socket, 1), "CPU packages."),
          required("nodes", array(node, 1), "NUMA nodes."),
          required("distance", distance, "Distances and latencies between nodes."),
      });
}

}  // namespace

const SpecPtr& topology_spec() {
  static const SpecPtr spec = make_spec();
  return spec;
}

}  // namespace slabsim::topology
