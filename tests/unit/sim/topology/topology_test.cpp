// Topologies: presets, the two distance forms, node states, fallback order, reports.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "topology/numactl_report.hpp"
#include "topology/presets.hpp"
#include "topology/topology_format.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_loader.hpp"
#include "topology/zonelist.hpp"

namespace slabsim::topology {
namespace {

using nlohmann::json;

Topology from_text(const std::string& text) {
  return load_topology(config::parse_json_document(text, "test.json"));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A machine of `n` nodes with one CPU and one online normal block each, and the given distance.
std::string machine(int n, const std::string& distance, const std::string& extra_node = "") {
  std::string nodes;
  for (int i = 0; i < n; ++i)
    nodes += (i ? "," : "") + std::string("{\"id\": ") + std::to_string(i) +
             ", \"socket\": 0, \"cpus\": [" + std::to_string(i) +
             "], \"memory\": {\"blocks\": [{\"count\": 1}]}}";
  return R"({"name": "t", "sockets": [{"id": 0}], "nodes": [)" + nodes + extra_node +
         R"(], "distance": )" + distance + "}";
}

TEST(Presets, AtLeastSixAndEveryOneLoadsAndShows) {
  const auto names = preset_names();
  EXPECT_GE(names.size(), 6u);
  EXPECT_NE(std::find(names.begin(), names.end(), std::string(default_preset)), names.end());
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const Topology t = load_topology(name);
    EXPECT_EQ(t.name, name) << "a preset's name is its file name";
    EXPECT_FALSE(t.description.empty());
    EXPECT_FALSE(show_topology(t).empty());
  }
}

TEST(Presets, EmbeddedCopiesMatchTheFiles) {
  for (const auto& name : preset_names()) {
    const auto path = std::filesystem::path(SLABSIM_SOURCE_DIR) / "topologies" / (name + ".json");
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_EQ(std::string(*preset_text(name)), read_file(path)) << "rebuild to re-embed " << name;
  }
}

// Every number of a preset's "distance" block (local latency, link latencies, SLIT and latency
// matrix entries), as the file writes it.
void distance_numbers(const json& v, std::set<long>& out) {
  if (v.is_number_integer()) out.insert(v.get<long>());
  if (v.is_string() && v.get<std::string>().ends_with("ns"))
    out.insert(std::stol(v.get<std::string>()));
  if (v.is_array())
    for (const auto& e : v)
      distance_numbers(e, out);
  if (v.is_object())
    for (const auto& [key, e] : v.items())
      if (key != "between") distance_numbers(e, out);  // node ids, not figures
}

// A preset names itself in its first comment line and accounts for every number it gives in a
// "Numbers and where they come from:" section: each is a published figure with its source, or
// a choice or derivation said to be one. A figure changed without its account fails here.
TEST(Presets, EachAccountsForEveryDistanceNumberItGives) {
  for (const auto& name : preset_names()) {
    const std::string text(*preset_text(name));
    std::string comments;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (const auto at = line.find_first_not_of(' ');
          at != std::string::npos && line.compare(at, 2, "//") == 0)
        comments += line.substr(at + 2) + "\n";
    EXPECT_TRUE(comments.starts_with(" " + name + ": ")) << name << ": " << comments.substr(0, 60);
    const auto section = comments.find("Numbers and where they come from:");
    ASSERT_NE(section, std::string::npos) << name;
    const std::string sources = comments.substr(section);
    std::set<long> numbers;
    distance_numbers(config::parse_json_document(text, name).root["distance"], numbers);
    EXPECT_FALSE(numbers.empty()) << name;
    for (long n : numbers) {
      const std::regex whole("(^|[^0-9.])" + std::to_string(n) + "([^0-9]|$)");
      EXPECT_TRUE(std::regex_search(sources, whole))
          << name << ": " << n << " is not accounted for in its sources";
    }
  }
}

TEST(Presets, TheRequiredMachinesAreThere) {
  // issue #2: QEMU-like with a hotpluggable node; 2-socket Intel 10/21; 4-socket E7 10/21/31;
  // EPYC Rome NPS4; 8 sockets by hop count; memoryless + CPU-less movable-only node.
  const Topology qemu = load_topology("qemu-2node-hotplug");
  EXPECT_EQ(qemu.node_count(), 3);
  EXPECT_FALSE(qemu.boot_online(2));
  EXPECT_GT(qemu.node_bytes(2, BlockState::absent), 0u);

  const Topology intel = load_topology("two-socket-intel");
  EXPECT_EQ(intel.slit, (Matrix<int>{{10, 21}, {21, 10}}));

  const Topology e7 = load_topology("four-socket-xeon-e7");
  EXPECT_EQ(e7.slit[0], (std::vector<int>{10, 21, 31, 31}));
  EXPECT_NEAR(static_cast<double>(e7.latency_ns[0][0]), 135, 2);
  EXPECT_NEAR(static_cast<double>(e7.latency_ns[0][3]), 200, 8);

  const Topology rome = load_topology("amd-epyc-rome-nps4");
  EXPECT_EQ(rome.node_count(), 4);
  EXPECT_EQ(rome.sockets.size(), 1u);

  const Topology eight = load_topology("eight-socket");
  EXPECT_EQ(eight.node_count(), 8);
  std::set<int> distances;
  for (const auto& row : eight.slit)
    distances.insert(row.begin(), row.end());
  EXPECT_GE(distances.size(), 3u) << "distances by hop count: local, one hop, two hops";

  const Topology cxl = load_topology("memoryless-and-cxl");
  bool memoryless_with_cpus = false, cpuless_movable_only = false;
  for (const auto& n : cxl.nodes) {
    memoryless_with_cpus |= !n.cpus.empty() && n.blocks.empty();
    cpuless_movable_only |= n.cpus.empty() && !n.blocks.empty() &&
                            cxl.node_bytes(n.id, BlockState::online, Zone::normal) == 0 &&
                            cxl.node_bytes(n.id, BlockState::offline, Zone::normal) == 0;
  }
  EXPECT_TRUE(memoryless_with_cpus);
  EXPECT_TRUE(cpuless_movable_only);
}

TEST(Distances, LinkGraphAndMatrixFormsOfOneMachineAgree) {
  // A 4-node ring: 1 hop = 110 ns more than local (SLIT 21), 2 hops = 220 ns more (SLIT 32).
  const Topology graph = from_text(machine(4, R"({"local_latency": "100ns", "links": [
      {"between": [0, 1], "latency": 110}, {"between": [1, 2], "latency": "110ns"},
      {"between": [2, 3], "latency": 110}, {"between": [3, 0], "latency": "0.11us"}]})"));
  const Topology matrix = from_text(machine(4, R"({"local_latency": 100, "slit": [
      [10, 21, 32, 21], [21, 10, 21, 32], [32, 21, 10, 21], [21, 32, 21, 10]]})"));
  EXPECT_EQ(graph.slit, matrix.slit);
  EXPECT_EQ(graph.latency_ns, matrix.latency_ns);
  EXPECT_EQ(graph.latency_ns[0][2], 320);
  EXPECT_EQ(boot_node_orders(graph), boot_node_orders(matrix));
}

TEST(Distances, ShortestPathsPreferCheaperDetours) {
  // 0-2 direct costs 500 ns; through 1 it costs 200.
  const Topology t = from_text(machine(3, R"({"local_latency": 100, "links": [
      {"between": [0, 1], "latency": 100}, {"between": [1, 2], "latency": 100},
      {"between": [0, 2], "latency": 500}]})"));
  EXPECT_EQ(t.latency_ns[0][2], 300);
  EXPECT_EQ(t.slit[0][2], 30);
}

TEST(Distances, DerivedSlitStaysWithinTheAcpiRange) {
  const Topology t = from_text(machine(3, R"({"local_latency": 100, "links": [
      {"between": [0, 1], "latency": 1}, {"between": [1, 2], "latency": 100000}]})"));
  EXPECT_EQ(t.slit[0][1], 11) << "a remote node is never as close as the local one";
  EXPECT_EQ(t.slit[0][2], 254) << "255 means unreachable";
}

TEST(Distances, SlitLatenciesRoundToWholeNanoseconds) {
  const Topology t =
      from_text(machine(2, R"({"local_latency": 89, "slit": [[10, 21], [21, 10]]})"));
  EXPECT_EQ(t.latency_ns[0][1], 187);  // 89 x 2.1 = 186.9
}

TEST(Zonelists, EqualDistancesAreSpreadRoundRobin) {
  // mm/page_alloc.c: node_load makes each node start its remote list at a different node.
  const Topology t = from_text(machine(3, R"({"local_latency": 100, "slit": [
      [10, 20, 20], [20, 10, 20], [20, 20, 10]]})"));
  EXPECT_EQ(boot_node_orders(t), (Matrix<int>{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}));
}

TEST(Zonelists, NearerNodesComeFirst) {
  const Topology t = load_topology("four-socket-xeon-e7");
  const auto orders = boot_node_orders(t);
  EXPECT_EQ(orders[0].front(), 0);
  EXPECT_EQ(orders[0][1], 1);  // SLIT 21 before the two at 31
  EXPECT_EQ(orders[2][1], 3);
}

TEST(Zonelists, CpuLessNodesArePreferredAtEqualDistance) {
  // PENALTY_FOR_NODE_WITH_CPUS: node 2 has no CPUs, so node 0 falls back to it before node 1.
  const Topology t = from_text(machine(2, R"({"local_latency": 100, "slit": [
      [10, 20, 20], [20, 10, 20], [20, 20, 10]]})",
                                       R"(, {"id": 2, "memory": {"blocks": [{"count": 1}]}})"));
  EXPECT_EQ(boot_node_orders(t)[0], (std::vector<int>{0, 2, 1}));
}

TEST(Zonelists, OnlyNodesWithMemoryAppearAfterTheLocalOne) {
  // A memoryless node keeps itself first (no zones there) and then lists nodes with memory only;
  // a node with only absent memory is not online and gets no list.
  const Topology t = from_text(machine(1, R"({"local_latency": 100, "slit": [
      [10, 20, 20], [20, 10, 20], [20, 20, 10]]})",
                                       R"(, {"id": 1, "socket": 0, "cpus": [1]},
          {"id": 2, "memory": {"blocks": [{"count": 2, "state": "absent"}]}})"));
  const auto orders = boot_node_orders(t);
  EXPECT_EQ(orders[1], (std::vector<int>{1, 0}));
  EXPECT_EQ(orders[0], (std::vector<int>{0}));
  EXPECT_TRUE(orders[2].empty());
}

TEST(NodeStates, FollowTheKernelAtBoot) {
  const Topology t = from_text(machine(1, R"({"local_latency": 100, "slit": [
      [10, 20, 20, 20], [20, 10, 20, 20], [20, 20, 10, 20], [20, 20, 20, 10]]})",
                                       R"(, {"id": 1, "socket": 0, "cpus": [1]},
          {"id": 2, "memory": {"blocks": [{"count": 2, "zone": "movable"}]}},
          {"id": 3, "memory": {"blocks": [{"count": 2, "state": "offline"}]}})"));
  EXPECT_TRUE(t.boot_online(1));  // CPUs, no memory: online, not N_MEMORY
  EXPECT_FALSE(t.boot_has_memory(1));
  EXPECT_TRUE(t.boot_has_memory(2));  // movable only: N_MEMORY but not N_NORMAL_MEMORY
  EXPECT_FALSE(t.boot_has_normal_memory(2));
  EXPECT_TRUE(t.boot_online(3));  // present but offline memory: N_ONLINE only
  EXPECT_FALSE(t.boot_has_memory(3));
}

TEST(Blocks, IdsFollowNodeOrderAndSizesBecomeCounts) {
  const Topology t = from_text(R"({"name": "b", "memory_block_size": "256MiB",
      "sockets": [{"id": 0}],
      "nodes": [{"id": 1, "memory": {"blocks": [{"size": "1GiB", "zone": "movable"}]}},
                {"id": 0, "socket": 0, "cpus": "0-1", "memory": {"blocks": [{"count": 2}]}}],
      "distance": {"local_latency": 90, "slit": [[10, 17], [17, 10]]}})");
  ASSERT_EQ(t.blocks.size(), 6u);
  EXPECT_EQ(t.nodes[0].blocks, (std::vector<int>{0, 1}));
  EXPECT_EQ(t.nodes[1].blocks, (std::vector<int>{2, 3, 4, 5}));
  EXPECT_EQ(t.blocks[3].zone, Zone::movable);
  EXPECT_EQ(t.node_bytes(1, BlockState::online), 1ull << 30);
}

TEST(Report, PrintsWhatNumactlPrints) {
  const Topology t = from_text(machine(2, R"({"local_latency": 100, "slit": [
      [10, 20, 255], [20, 10, 30], [255, 30, 10]]})",
                                       R"(, {"id": 2, "memory": {"blocks": [{"count": 8}]}})"));
  const std::string expected =
      "available: 3 nodes (0-2)\n"
      "node 0 cpus: 0\n"
      "node 0 size: 128 MB\n"
      "node 0 free: 128 MB\n"
      "node 1 cpus: 1\n"
      "node 1 size: 128 MB\n"
      "node 1 free: 128 MB\n"
      "node 2 cpus:\n"
      "node 2 size: 1024 MB\n"
      "node 2 free: 1024 MB\n"
      "node distances:\n"
      "node   0   1   2 \n"
      "  0:  10  20  255 \n"
      "  1:  20  10  30 \n"
      "  2:  255  30  10 \n";
  EXPECT_EQ(numactl_hardware(t), expected);
}

TEST(Json, ResolvedMachineIsCompleteAndStable) {
  const Topology t = load_topology("memoryless-and-cxl");
  const json j = to_json(t);
  EXPECT_EQ(j["name"], "memoryless-and-cxl");
  EXPECT_EQ(j["nodes"].size(), static_cast<std::size_t>(t.node_count()));
  EXPECT_EQ(j["distance"]["slit"], json(t.slit));
  EXPECT_EQ(j["blocks"].size(), t.blocks.size());
  EXPECT_EQ(j.dump(), to_json(load_topology("memoryless-and-cxl")).dump());
}

TEST(Schema, CommittedSchemaIsTheGeneratedOne) {
  const auto path =
      std::filesystem::path(SLABSIM_SOURCE_DIR) / "topologies/schema/topology.schema.json";
  json generated = topology_spec()->json_schema();
  generated["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  generated["title"] = "slabsim topology";
  EXPECT_EQ(json::parse(read_file(path)), generated)
      << "regenerate with: build/slabsim topology schema -o topologies/schema/topology.schema.json";
}

}  // namespace
}  // namespace slabsim::topology
