// `slabsim topology qemu`: the QEMU machine of each preset, every refusal with its JSON path,
// the JSON shape and the shell command.
#include "topology/qemu_machine.hpp"

#include <gtest/gtest.h>

#include <map>

#include "config/diagnostics.hpp"
#include "config/units.hpp"
#include "qemu_topologies.hpp"
#include "topology/presets.hpp"
#include "topology/qemu_command_line.hpp"

namespace slabsim::topology {
namespace {

using qemu_test::load;
using qemu_test::machine;

// The diagnostics qemu_machine() refuses `t` with, as "POINTER: message"; empty if it accepts.
std::vector<config::Diagnostic> refusals(const Topology& t, const QemuLimits& limits = {}) {
  try {
    qemu_machine(t, "t.json", limits);
    return {};
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
}

// The one refusal of `t`; fails the test if there is not exactly one.
config::Diagnostic only_refusal(const std::string& text, const QemuLimits& limits = {}) {
  const auto r = refusals(load(text), limits);
  EXPECT_EQ(r.size(), 1u);
  if (r.size() != 1)
    for (const auto& d : r)
      ADD_FAILURE() << "refusal: " << d.str();
  return r.empty() ? config::Diagnostic{} : r.front();
}

// The default limits with some changed (designated initializers would leave the others unnamed).
template <typename Change>
QemuLimits limits_with(Change change) {
  QemuLimits l;
  change(l);
  return l;
}

std::vector<std::string> split(const std::string& words) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < words.size()) {
    const auto end = std::min(words.find(' ', start), words.size());
    out.push_back(words.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The argv that boots like reference/real-kernel-qemu.md: two sockets of two vCPUs, a memdev per
// node with boot memory, node 2 with neither, every SLIT pair, and two slots for node 2's DIMMs.
TEST(QemuMachine, TwoNodeHotplugPresetArgumentByArgument) {
  const QemuMachine m = qemu_machine(load_topology("qemu-2node-hotplug"), "<preset>");
  const std::vector<std::string> expected = split(
      "-machine pc -smp 4,sockets=2,cores=2,threads=1 -m 4G,slots=2,maxmem=6G "
      "-object memory-backend-ram,id=m0,size=2G -numa node,nodeid=0,cpus=0-1,memdev=m0 "
      "-object memory-backend-ram,id=m1,size=2G -numa node,nodeid=1,cpus=2-3,memdev=m1 "
      "-numa node,nodeid=2 "
      "-numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=20 "
      "-numa dist,src=1,dst=0,val=20 -numa dist,src=1,dst=2,val=20 "
      "-numa dist,src=2,dst=0,val=20 -numa dist,src=2,dst=1,val=20");
  ASSERT_EQ(m.machine_args.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(m.machine_args[i], expected[i]) << "argument " << i;
  EXPECT_EQ(m.kernel_cmdline,
            split("console=ttyS0 panic=-1 memhp_default_state=offline slab_nomerge nokaslr "
                  "numa_balancing=disable"));
  EXPECT_EQ(m.vcpus, 4);
  EXPECT_EQ(m.boot_memory_bytes, 4ull << 30);
  EXPECT_EQ(m.max_memory_bytes, 6ull << 30);
  EXPECT_EQ(m.slots, 2);
  ASSERT_EQ(m.hotplug_dimms.size(), 2u);
  // 4 GiB on pc: 3 GiB below the PCI hole, 1 GiB from 4 GiB, so the window starts at 5 GiB
  // (memory40), and the second DIMM follows the first.
  const QemuDimm& normal = m.hotplug_dimms[0];
  EXPECT_EQ(normal.id, "dimm0");
  EXPECT_EQ(normal.memdev, "hp0");
  EXPECT_EQ(normal.node, 2);
  EXPECT_EQ(normal.size_bytes, 1ull << 30);
  EXPECT_EQ(normal.zone, Zone::normal);
  EXPECT_EQ(normal.block_path, "/nodes/2/memory/blocks/0");
  EXPECT_EQ(normal.first_block_id, 40);
  const QemuDimm& movable = m.hotplug_dimms[1];
  EXPECT_EQ(movable.id, "dimm1");
  EXPECT_EQ(movable.memdev, "hp1");
  EXPECT_EQ(movable.zone, Zone::movable);
  EXPECT_EQ(movable.block_path, "/nodes/2/memory/blocks/1");
  EXPECT_EQ(movable.first_block_id, 48);
  // Node 1's second GiB is above 4 GiB in the guest.
  EXPECT_EQ(config::format_cpulist(m.nodes[1].guest_blocks), "16-23,32-39");
  EXPECT_EQ(config::format_cpulist(m.nodes[1].model_blocks), "16-31");
  ASSERT_EQ(m.not_expressed.size(), 2u);
  EXPECT_EQ(m.not_expressed[0].path, "/distance/local_latency");
  EXPECT_EQ(m.not_expressed[1].path, "/nodes/1/memory");
}

// The other presets are real servers, larger than TCG on this host can boot, or hold memory QEMU
// cannot boot as the model means it: each refusal names where.
TEST(QemuMachine, EveryPresetIsBootableOrRefusedWithPaths) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"amd-epyc-rome-nps4", {"/nodes", "/nodes", "/nodes"}},
      {"eight-socket", {"/nodes", "/nodes", "/nodes"}},
      {"four-socket-xeon-e7", {"/nodes", "/nodes", "/nodes"}},
      {"memoryless-and-cxl",
       {"/nodes/0/memory/blocks/1/state", "/nodes/2/memory/blocks/0/zone",
        "/nodes/2/memory/blocks/1/state", "/nodes"}},
      {"qemu-2node-hotplug", {}},
      {"two-socket-intel", {"/nodes"}},
  };
  for (const auto& name : preset_names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.contains(name)) << "a new preset: say here whether QEMU boots it";
    std::vector<std::string> paths;
    for (const auto& d : refusals(load_topology(name))) {
      paths.push_back(d.pointer);
      EXPECT_EQ(d.file, "t.json");
      EXPECT_EQ(d.message.rfind("expected ", 0), 0u) << d.message;
    }
    EXPECT_EQ(paths, expected.at(name));
  }
}

TEST(QemuMachine, LimitsAreTheDeclaredOnes) {
  const auto r = refusals(load_topology("two-socket-intel"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].message,
            "expected at most 8 GiB of memory present at boot (online or offline) for a QEMU "
            "guest on this host, got 16 GiB");
  const auto big = refusals(load_topology("eight-socket"));
  ASSERT_EQ(big.size(), 3u);
  EXPECT_EQ(big[0].message, "expected at most 16 CPUs for a QEMU guest under TCG, got 32");
  EXPECT_NE(big[2].message.find("at most 16 GiB of memory, boot and hot-pluggable"),
            std::string::npos);
}

const std::string one_cpu_node =
    R"({"id": 0, "socket": 0, "cpus": "0-1", "memory": {"blocks": [{"size": "1GiB"}]}})";

TEST(QemuMachine, RefusesLimitsOfNodesAndDimms) {
  const std::string text =
      machine({one_cpu_node, R"({"id": 1, "memory": {"blocks": [{"state": "absent", "count": 1},
               {"state": "absent", "zone": "movable", "count": 1}]}})"},
              1);
  EXPECT_TRUE(refusals(load(text)).empty());
  const auto nodes = only_refusal(text, limits_with([](QemuLimits& l) { l.max_nodes = 1; }));
  EXPECT_EQ(nodes.pointer, "/nodes");
  EXPECT_EQ(nodes.message, "expected at most 1 nodes for a QEMU guest, got 2");
  const auto dimms = only_refusal(text, limits_with([](QemuLimits& l) { l.max_dimms = 1; }));
  EXPECT_EQ(dimms.message,
            "expected at most 1 entries of absent memory (one pc-dimm slot each), got 2");
}

TEST(QemuMachine, RefusesBlocksOtherThan128MiB) {
  const auto d = only_refusal(
      machine({R"({"id": 0, "socket": 0, "cpus": "0", "memory": {"blocks": [{"size": "1GiB"}]}})"},
              1, R"("memory_block_size": "256MiB", )"));
  EXPECT_EQ(d.pointer, "/memory_block_size");
  EXPECT_NE(d.message.find("expected 128MiB for a QEMU x86_64 guest"), std::string::npos);
  EXPECT_NE(d.message.find("got 268435456 bytes"), std::string::npos);
}

TEST(QemuMachine, RefusesOfflineAndOnlineMovableBootMemory) {
  const auto r = refusals(
      load(machine({R"({"id": 0, "socket": 0, "cpus": "0", "memory": {"blocks": [{"size": "1GiB"},
          {"state": "offline", "count": 2}, {"zone": "movable", "count": 1}]}})"},
                   1)));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].pointer, "/nodes/0/memory/blocks/1/state");
  EXPECT_NE(r[0].message.find("got \"offline\": QEMU boots all of -m online"), std::string::npos);
  EXPECT_EQ(r[1].pointer, "/nodes/0/memory/blocks/2/zone");
  EXPECT_NE(r[1].message.find("got \"movable\""), std::string::npos);
}

TEST(QemuMachine, RefusesCpuIdsThatAreNotVcpuIndexes) {
  const auto gap = only_refusal(machine(
      {R"({"id": 0, "socket": 0, "cpus": "0,2", "memory": {"blocks": [{"size": "1GiB"}]}})"}, 1));
  EXPECT_EQ(gap.pointer, "/nodes/0/cpus");
  EXPECT_EQ(gap.message, "expected CPU ids 0 to 1 (QEMU's vCPU indexes for 2 CPUs), got CPU 2");
}

TEST(QemuMachine, RefusesUnequalSockets) {
  const auto d = only_refusal(machine(
      {one_cpu_node,
       R"({"id": 1, "socket": 1, "cpus": "2-4", "memory": {"blocks": [{"size": "1GiB"}]}})"},
      2));
  // 5 CPUs over 2 sockets: 2 per socket expected; socket 1 has 3.
  EXPECT_EQ(d.pointer, "/sockets/1");
  EXPECT_NE(d.message.find("got 3 in socket 1"), std::string::npos) << d.message;
}

TEST(QemuMachine, RefusesSocketsThatAreNotSocketMajor) {
  const auto r = refusals(load(machine(
      {R"({"id": 0, "socket": 0, "cpus": "0,2", "memory": {"blocks": [{"size": "1GiB"}]}})",
       R"({"id": 1, "socket": 1, "cpus": "1,3", "memory": {"blocks": [{"size": "1GiB"}]}})"},
      2)));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].pointer, "/nodes/0/cpus");
  EXPECT_EQ(r[0].message,
            "expected socket 0 to hold CPUs 0-1 (QEMU numbers vCPUs socket-major, and this is "
            "package 0 in CPU order), got CPU 2");
  EXPECT_EQ(r[1].pointer, "/nodes/1/cpus");
  EXPECT_NE(r[1].message.find("expected socket 1 to hold CPUs 2-3"), std::string::npos);
}

TEST(QemuMachine, RefusesAbsentMemoryOfAnEmptyNodeBeforeTheLast) {
  const auto d = only_refusal(machine(
      {one_cpu_node, R"({"id": 1, "memory": {"blocks": [{"state": "absent", "count": 1}]}})",
       R"({"id": 2, "memory": {"blocks": [{"state": "absent", "count": 1}]}})"},
      1));
  EXPECT_EQ(d.pointer, "/nodes/1/memory/blocks/0");
  EXPECT_NE(d.message.find("expected absent memory only on the last node (2) or on a node with "
                           "CPUs or boot memory, got it on node 1"),
            std::string::npos)
      << d.message;
}

TEST(QemuMachine, AcceptedShapes) {
  const auto shapes = qemu_test::accepted_shapes();
  const QemuMachine memoryless = qemu_machine(load(shapes[0].second), "t.json");
  EXPECT_EQ(memoryless.machine_args[9], "node,nodeid=0,cpus=0-1,memdev=m0");
  EXPECT_EQ(memoryless.machine_args[11], "node,nodeid=1,cpus=2-3");
  EXPECT_EQ(memoryless.machine_args[15], "node,nodeid=2,memdev=m2");
  EXPECT_EQ(memoryless.machine_args[5], "1536M") << "no DIMMs: no slots, no maxmem";
  EXPECT_TRUE(memoryless.hotplug_dimms.empty());

  const QemuMachine one_socket = qemu_machine(load(shapes[1].second), "t.json");
  EXPECT_EQ(one_socket.machine_args[3], "4,sockets=1,cores=4,threads=1");
  EXPECT_EQ(one_socket.machine_args[9], "node,nodeid=0,cpus=0,cpus=2,memdev=m0");
  EXPECT_EQ(one_socket.machine_args[5], "2G,slots=1,maxmem=2304M");
  ASSERT_EQ(one_socket.hotplug_dimms.size(), 1u);
  EXPECT_EQ(one_socket.hotplug_dimms[0].node, 0) << "a DIMM's _PXM names a node with CPUs";
  EXPECT_EQ(one_socket.hotplug_dimms[0].first_block_id, 32);
  EXPECT_EQ(config::format_cpulist(one_socket.hotplug_dimms[0].model_blocks), "8-9");

  const QemuMachine split = qemu_machine(load(shapes[2].second), "t.json");
  EXPECT_EQ(config::format_cpulist(split.nodes[1].guest_blocks), "16-23,32-35");
  ASSERT_EQ(split.hotplug_dimms.size(), 2u);
  EXPECT_EQ(split.hotplug_dimms[0].first_block_id, 40) << "window at ROUND_UP(4.5 GiB, 1 GiB)";
  EXPECT_EQ(split.hotplug_dimms[1].first_block_id, 42);

  const QemuMachine low = qemu_machine(load(shapes[3].second), "t.json");
  EXPECT_EQ(low.hotplug_dimms[0].first_block_id, 32);
  EXPECT_EQ(low.nodes[0].guest_blocks, low.nodes[0].model_blocks);
}

TEST(QemuMachine, LatenciesAndSocketIdsAreNotExpressed) {
  const QemuMachine links =
      qemu_machine(load_topology("amd-epyc-rome-nps4"), "x", limits_with([](QemuLimits& l) {
                     l.max_vcpus = 32;
                     l.max_boot_memory = l.max_memory = 32ull << 30;
                   }));
  ASSERT_FALSE(links.not_expressed.empty());
  EXPECT_EQ(links.not_expressed[0].path, "/distance/links");
  const QemuMachine matrix =
      qemu_machine(load_topology("two-socket-intel"), "x",
                   limits_with([](QemuLimits& l) { l.max_boot_memory = 16ull << 30; }));
  EXPECT_EQ(matrix.not_expressed[0].path, "/distance/latency");

  const QemuMachine renamed =
      qemu_machine(load(R"({"name": "t", "sockets": [{"id": 3}, {"id": 4}], "nodes": [
        {"id": 0, "socket": 3, "cpus": "0", "memory": {"blocks": [{"count": 1}]}},
        {"id": 1, "socket": 4, "memory": {"blocks": [{"count": 1}]}}],
        "distance": {"slit": [[10, 20], [20, 10]], "local_latency": "80ns"}})"),
                   "x");
  ASSERT_EQ(renamed.not_expressed.size(), 3u);
  EXPECT_EQ(renamed.not_expressed[1].path, "/sockets/0/id");
  EXPECT_EQ(renamed.not_expressed[2].path, "/sockets/1");
}

TEST(QemuMachine, JsonKeysInOrder) {
  const auto j = to_json(qemu_machine(load_topology("qemu-2node-hotplug"), "x"));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items())
    keys.push_back(k);
  EXPECT_EQ(keys, split("topology machine_args kernel_cmdline vcpus sockets cores_per_socket "
                        "boot_memory_bytes max_memory_bytes slots nodes hotplug_dimms "
                        "not_expressed"));
  EXPECT_EQ(j["machine_args"][0], "-machine");
  EXPECT_EQ(j["max_memory_bytes"], 6ull << 30);
  const auto& d = j["hotplug_dimms"][1];
  std::vector<std::string> dimm_keys;
  for (const auto& [k, v] : d.items())
    dimm_keys.push_back(k);
  EXPECT_EQ(dimm_keys, split("id memdev node size_bytes zone block_path addr first_block_id "
                             "model_blocks"));
  EXPECT_EQ(d["zone"], "movable");
  EXPECT_EQ(d["addr"], 6ull << 30) << "given to device_add, whatever the plug order";
  EXPECT_EQ(d["first_block_id"], 48);
  EXPECT_EQ(d["model_blocks"], "40-47");
  EXPECT_EQ(j["nodes"][2].contains("memdev"), false);
  EXPECT_EQ(j["nodes"][1]["guest_blocks"], "16-23,32-39");
  EXPECT_EQ(j["not_expressed"][0]["path"], "/distance/local_latency");
}

TEST(QemuMachine, ShellCommandTakesFilesAndQmpSocket) {
  const QemuMachine m = qemu_machine(load_topology("qemu-2node-hotplug"), "x");
  const std::string plain = qemu_shell_command(m, {});
  EXPECT_NE(plain.find("\n  -kernel VMLINUZ \\\n  -initrd INITRD \\\n"), std::string::npos);
  EXPECT_NE(plain.find("-append 'console=ttyS0 panic=-1 memhp_default_state=offline"),
            std::string::npos);
  EXPECT_EQ(plain.find("-qmp unix:"), std::string::npos);
  const std::string with =
      qemu_shell_command(m, {.kernel = "/k/vmlinuz 6.1", .initrd = "i'rd", .qmp_socket = "/t/q"});
  EXPECT_NE(with.find("-kernel '/k/vmlinuz 6.1'"), std::string::npos);
  EXPECT_NE(with.find("-initrd 'i'\\''rd'"), std::string::npos);
  EXPECT_NE(with.find("-nographic -serial stdio -no-reboot \\\n  -qmp "
                      "unix:/t/q,server=on,wait=off\n"),
            std::string::npos);
  EXPECT_NE(with.find("#   {\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\","
                      "\"id\":\"dimm1\",\"memdev\":\"hp1\",\"node\":2,\"addr\":6442450944}}"),
            std::string::npos)
      << with;
  EXPECT_EQ(plain, qemu_shell_command(m, {})) << "same input, same bytes";
}

}  // namespace
}  // namespace slabsim::topology
