// `slabsim topology import`: snapshots of scripts/collect-machine to topologies, field by field,
// and an error naming the snapshot file for each kind of broken snapshot.
#include "topology/machine_import.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "config/diagnostics.hpp"
#include "topology/boot_caches.hpp"

namespace slabsim::topology {
namespace {

namespace fs = std::filesystem;

const fs::path snapshots = fs::path(SLABSIM_SOURCE_DIR) / "tests/topologies/snapshots";

std::vector<int> ids(int first, int last) {
  std::vector<int> v;
  for (int i = first; i <= last; ++i)
    v.push_back(i);
  return v;
}

// The zone and state of each of the node's blocks, as "normal/online" strings.
std::vector<std::string> block_kinds(const Topology& t, int node) {
  std::vector<std::string> kinds;
  for (int b : t.nodes[node].blocks)
    kinds.push_back(std::string(to_string(t.blocks[b].zone)) + "/" + to_string(t.blocks[b].state));
  return kinds;
}

std::vector<std::string> repeat(const std::string& s, int n) {
  return std::vector<std::string>(n, s);
}

std::vector<std::string> concat(std::vector<std::vector<std::string>> parts) {
  std::vector<std::string> all;
  for (auto& p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(MachineImport, QemuGuestWithAHotpluggableNode) {
  const auto m = import_machine(snapshots / "qemu-2node-hotplug", {});
  const Topology& t = m.topology;
  EXPECT_EQ(t.name, "qemu-2node-hotplug");
  EXPECT_EQ(t.block_size, 128ull << 20);
  ASSERT_EQ(t.node_count(), 3);
  ASSERT_EQ(t.sockets.size(), 2u);
  EXPECT_EQ(t.sockets[0].id, 0);
  EXPECT_EQ(t.sockets[0].cpus, ids(0, 1));
  EXPECT_EQ(t.sockets[1].id, 1);
  EXPECT_EQ(t.sockets[1].nodes, std::vector<int>{1});
  EXPECT_EQ(t.nodes[0].cpus, ids(0, 1));
  EXPECT_EQ(t.nodes[0].socket, 0);
  EXPECT_EQ(t.nodes[1].cpus, ids(2, 3));
  EXPECT_EQ(t.nodes[1].socket, 1);
  EXPECT_TRUE(t.nodes[2].cpus.empty());
  EXPECT_FALSE(t.nodes[2].socket.has_value());
  // memory0 ("none": DMA and DMA32) and the DMA32 blocks count as normal.
  EXPECT_EQ(block_kinds(t, 0), repeat("normal/online", 16));
  EXPECT_EQ(block_kinds(t, 1), concat({repeat("normal/online", 8), repeat("movable/online", 4),
                                       repeat("movable/offline", 4)}));
  // Node 2: possible, not online; 1 GiB of absent normal memory, the default choice.
  EXPECT_EQ(block_kinds(t, 2), repeat("normal/absent", 8));
  EXPECT_TRUE(t.boot_online(1));
  EXPECT_FALSE(t.boot_online(2));
  EXPECT_EQ(t.slit, (Matrix<int>{{10, 20, 20}, {20, 10, 20}, {20, 20, 10}}));
  EXPECT_EQ(t.local_latency_ns, 80);
  EXPECT_EQ(t.latency_ns[0][1], 160);
  EXPECT_NE(t.description.find("local latency 80 ns is a choice"), std::string::npos);
  EXPECT_NE(m.topology_text.find("// * node 2 is possible but not online"), std::string::npos);
  EXPECT_NE(m.topology_text.find("DMA32, none count as zone normal"), std::string::npos);
}

TEST(MachineImport, BootCachesAreTheNamedCachesWithTheirFlags) {
  const auto caches = import_machine(snapshots / "qemu-2node-hotplug", {}).boot_caches;
  ASSERT_EQ(caches.size(), 3u);  // ":0000064" is not a name
  EXPECT_EQ(caches[0].name, "dentry");
  EXPECT_EQ(caches[0].object_size, 192);
  EXPECT_EQ(caches[0].align, 8);
  EXPECT_EQ(caches[0].flags,
            (std::vector<std::string>{"SLAB_HWCACHE_ALIGN", "SLAB_RECLAIM_ACCOUNT"}));
  EXPECT_EQ(caches[1].name, "dma-kmalloc-512");
  EXPECT_EQ(caches[1].flags, std::vector<std::string>{"SLAB_CACHE_DMA"});
  EXPECT_EQ(caches[2].name, "kmalloc-64");
  config::Diagnostics d("boot-caches.json");
  EXPECT_TRUE(boot_caches_spec()->validate(nlohmann::json(boot_caches_json(caches)), "", d));
  nlohmann::json bad = nlohmann::json(boot_caches_json(caches));
  bad[0]["flags"].push_back("SLAB_HWCACHE_ALIGNED");
  EXPECT_FALSE(boot_caches_spec()->validate(bad, "", d));
}

TEST(MachineImport, FourSocketSlit) {
  const Topology t = import_machine(snapshots / "four-socket-slit", {}).topology;
  ASSERT_EQ(t.node_count(), 4);
  EXPECT_EQ(t.block_size, 1ull << 30);
  EXPECT_EQ(t.slit,
            (Matrix<int>{{10, 21, 31, 31}, {21, 10, 31, 31}, {31, 31, 10, 21}, {31, 31, 21, 10}}));
  ASSERT_EQ(t.sockets.size(), 4u);
  for (int n = 0; n < 4; ++n) {
    EXPECT_EQ(t.nodes[n].cpus, ids(2 * n, 2 * n + 1));
    EXPECT_EQ(t.nodes[n].socket, n);
    EXPECT_EQ(block_kinds(t, n), repeat("normal/online", 4));
  }
}

TEST(MachineImport, ThisMachinesSnapshot) {
  // Collected with scripts/collect-machine on the development VM.
  const auto m = import_machine(snapshots / "vm-1node", {});
  EXPECT_EQ(m.topology.name, "vm-1node");
  ASSERT_EQ(m.topology.node_count(), 1);
  EXPECT_EQ(m.topology.nodes[0].cpus, ids(0, 1));
  EXPECT_FALSE(m.topology.nodes[0].blocks.empty());
  EXPECT_EQ(m.boot_caches.size(), 12u);
}

TEST(MachineImport, ChoicesAreUsedAndTheOutputIsDeterministic) {
  ImportChoices c;
  c.name = "guest";
  c.local_latency_ns = 100;
  c.offline_node_distance = 30;
  c.hotplug_memory_bytes = 2ull << 30;
  const auto a = import_machine(snapshots / "qemu-2node-hotplug", c);
  EXPECT_EQ(a.topology.name, "guest");
  EXPECT_EQ(a.topology.latency_ns[0][1], 200);
  EXPECT_EQ(a.topology.slit[2][0], 30);
  EXPECT_EQ(a.topology.slit[0][2], 30);
  EXPECT_EQ(a.topology.nodes[2].blocks.size(), 16u);
  EXPECT_EQ(a.topology_text, import_machine(snapshots / "qemu-2node-hotplug", c).topology_text);
  c.hotplug_memory_bytes = 100 << 20;
  EXPECT_THROW(import_machine(snapshots / "qemu-2node-hotplug", c), SnapshotError);
}

TEST(MachineImport, NamesFromFolders) {
  EXPECT_EQ(topology_name_from("machine-Box_1-20261204T120000Z"), "machine-box_1-20261204t120000z");
  EXPECT_EQ(topology_name_from("--My Box"), "my-box");
  EXPECT_EQ(topology_name_from("..."), "imported");
}

TEST(MachineImport, CommittedBootCachesSchemaIsTheGeneratedOne) {
  std::ifstream in(fs::path(SLABSIM_SOURCE_DIR) / "topologies/schema/boot-caches.schema.json");
  nlohmann::json generated = boot_caches_spec()->json_schema();
  generated["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  generated["title"] = "slabsim boot caches";
  EXPECT_EQ(nlohmann::json::parse(in), generated)
      << "regenerate with: build/slabsim topology schema --boot-caches -o "
         "topologies/schema/boot-caches.schema.json";
}

// A copy of the qemu snapshot with one change, and the error it must give.
struct Broken {
  const char* what;
  std::function<void(const fs::path&)> change;
  const char* file;      // the snapshot file the message must name
  const char* expected;  // a part of the message
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

const std::string node = "sys/devices/system/node/";
const std::string memory = "sys/devices/system/memory/";

const std::vector<Broken> broken_snapshots = {
    {"no possible", [](auto& r) { fs::remove(r / node / "possible"); }, "node/possible",
     "expected this file in the snapshot"},
    {"cpulist syntax", [](auto& r) { write(r / node / "node1/cpulist", "2-a\n"); },
     "node/node1/cpulist", "\"2-a\" is not an id or an ascending range"},
    {"has_cpu without cpulist", [](auto& r) { fs::remove(r / node / "node1/cpulist"); },
     "node/node1/cpulist", "which has_cpu lists"},
    {"sparse node ids", [](auto& r) { write(r / node / "possible", "0-1,3\n"); }, "node/possible",
     "expected node ids 0 to N-1"},
    {"online not possible", [](auto& r) { write(r / node / "online", "0-1,5\n"); }, "node/online",
     "among the possible ones"},
    {"short distance row", [](auto& r) { write(r / node / "node0/distance", "10\n"); },
     "node/node0/distance", "expected 2 distances"},
    {"distance diagonal", [](auto& r) { write(r / node / "node0/distance", "12 20\n"); },
     "node/node0/distance", "expected 10 (LOCAL_DISTANCE) to node 0, got 12"},
    {"distance words", [](auto& r) { write(r / node / "node0/distance", "10 far\n"); },
     "node/node0/distance", "decimal integers"},
    {"zone", [](auto& r) { write(r / memory / "memory3/valid_zones", "Nromal\n"); },
     "memory/memory3/valid_zones", "expected a zone name first"},
    {"state", [](auto& r) { write(r / memory / "memory3/state", "going-offline\n"); },
     "memory/memory3/state", "expected \"online\" or \"offline\""},
    {"block size", [](auto& r) { write(r / memory / "block_size_bytes", "0x8000000\n"); },
     "memory/block_size_bytes", "expected a hexadecimal number"},
    {"block size power", [](auto& r) { write(r / memory / "block_size_bytes", "8000001\n"); },
     "memory/block_size_bytes", "expected a power of two"},
    {"block list line", [](auto& r) { write(r / node / "node0/memory_blocks", "memory0\nmem1\n"); },
     "node/node0/memory_blocks", "expected lines such as \"memory12\", got \"mem1\""},
    {"block in no node", [](auto& r) { fs::create_directories(r / memory / "memory99"); },
     "memory/memory99", "no node lists this one"},
    {"missing block", [](auto& r) { fs::remove_all(r / memory / "memory5"); },
     "memory/memory5/state", "expected this file"},
    {"package",
     [](auto& r) { fs::remove(r / "sys/devices/system/cpu/cpu3/topology/physical_package_id"); },
     "cpu/cpu3/topology/physical_package_id", "expected this file"},
    {"object size", [](auto& r) { write(r / "sys/kernel/slab/dentry/object_size", "big\n"); },
     "slab/dentry/object_size", "expected a decimal integer, got \"big\""},
    {"flag value", [](auto& r) { write(r / "sys/kernel/slab/dentry/poison", "2\n"); },
     "slab/dentry/poison", "expected 0 or 1, got 2"},
    {"manifest", [](auto& r) { write(r / "MANIFEST", "format: something else 7\n"); }, "MANIFEST",
     "expected a first line \"format: slabsim-machine-snapshot 1\""},
    {"no manifest", [](auto& r) { fs::remove(r / "MANIFEST"); }, "MANIFEST", "expected this file"},
};

TEST(MachineImport, BrokenSnapshotsNameTheFile) {
  const fs::path scratch =
      fs::temp_directory_path() / ("slabsim-import-test-" + std::to_string(getpid()));
  for (const auto& b : broken_snapshots) {
    SCOPED_TRACE(b.what);
    fs::remove_all(scratch);
    fs::copy(snapshots / "qemu-2node-hotplug", scratch, fs::copy_options::recursive);
    b.change(scratch);
    try {
      import_machine(scratch, {});
      ADD_FAILURE() << "no error";
    } catch (const SnapshotError& e) {
      const std::string message = e.what();
      const std::string prefix = (scratch / "").string();
      EXPECT_TRUE(message.starts_with(prefix)) << message;
      EXPECT_NE(message.find(std::string(b.file) + ": "), std::string::npos) << message;
      EXPECT_NE(message.find(b.expected), std::string::npos) << message;
    }
  }
  fs::remove_all(scratch);
}

}  // namespace
}  // namespace slabsim::topology
