// Small topologies for the QEMU machine tests: shapes QEMU should boot, beside the presets.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/json_document.hpp"
#include "topology/topology_loader.hpp"

namespace slabsim::topology::qemu_test {

// A topology of the given node objects (JSON text) over `sockets` sockets of ids 0.., with a
// symmetric SLIT of 10 local and 20 + the sum of the two node ids remote (each pair its own).
inline std::string machine(const std::vector<std::string>& nodes, int sockets,
                           const std::string& extra = "") {
  std::string s = R"({"name": "t", )" + extra + R"("sockets": [)";
  for (int i = 0; i < sockets; ++i)
    s += (i ? ", " : "") + std::string("{\"id\": ") + std::to_string(i) + "}";
  s += "], \"nodes\": [";
  for (std::size_t i = 0; i < nodes.size(); ++i)
    s += (i ? ", " : "") + nodes[i];
  s += "], \"distance\": {\"local_latency\": \"80ns\", \"slit\": [";
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    s += i ? ", [" : "[";
    for (std::size_t k = 0; k < nodes.size(); ++k)
      s += (k ? ", " : "") + std::to_string(i == k ? 10 : 20 + static_cast<int>(i + k));
    s += "]";
  }
  return s + "]}}";
}

inline Topology load(const std::string& text) {
  return load_topology(config::parse_json_document(text, "t.json"));
}

// Shapes slabsim accepts, each with what makes it worth booting.
inline std::vector<std::pair<std::string, std::string>> accepted_shapes() {
  return {
      {"memoryless CPU node beside memdev nodes, CPU-less node of boot memory",
       machine(
           {R"({"id": 0, "socket": 0, "cpus": "0-1", "memory": {"blocks": [{"size": "1GiB"}]}})",
            R"({"id": 1, "socket": 1, "cpus": "2-3"})",
            R"({"id": 2, "memory": {"blocks": [{"size": "512MiB"}]}})"},
           2)},
      {"two nodes in one socket, a node of non-contiguous CPUs, absent memory on a CPU node",
       machine(
           {R"({"id": 0, "socket": 0, "cpus": "0,2", "memory": {"blocks": [
                  {"size": "1GiB"}, {"state": "absent", "zone": "movable", "count": 2}]}})",
            R"({"id": 1, "socket": 0, "cpus": "1,3", "memory": {"blocks": [{"size": "1GiB"}]}})"},
           1)},
      {"3.5 GiB of boot memory, split around the PCI hole, and two DIMMs on the last node",
       machine({R"({"id": 0, "socket": 0, "cpus": "0", "memory": {"blocks": [{"size": "2GiB"}]}})",
                R"({"id": 1, "socket": 1, "cpus": "1", "memory": {"blocks": [{"size": "1536MiB"},
                  {"state": "absent", "size": "256MiB"}, {"state": "absent", "count": 1}]}})"},
               2)},
      {"3 GiB of boot memory, below the split: the hot-plug window starts at 4 GiB",
       machine(
           {R"({"id": 0, "socket": 0, "cpus": "0-1", "memory": {"blocks": [{"size": "3GiB"}]}})",
            R"({"id": 1, "memory": {"blocks": [{"state": "absent", "size": "128MiB"}]}})"},
           1)},
  };
}

}  // namespace slabsim::topology::qemu_test
