// The QEMU machines slabsim prints, given to the real qemu-system-x86_64: every preset slabsim
// does not refuse, and the shapes of qemu_topologies.hpp, must be accepted by QEMU's option
// parser, plug their DIMMs over QMP at the addresses slabsim predicts, and put each vCPU on the
// node and socket the topology says. No guest runs (-S): the kernel's side is the harness's.
// Skipped when QEMU is not installed (the kernel-check package group installs it).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/diagnostics.hpp"
#include "qemu_topologies.hpp"
#include "topology/presets.hpp"
#include "topology/qemu_command_line.hpp"
#include "topology/qemu_machine.hpp"

namespace slabsim::topology {
namespace {

using nlohmann::json;

bool qemu_installed() {
  return std::system("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

struct QemuRun {
  int status = -1;
  std::vector<json> replies;  // QMP "return" or "error" objects, in command order
  std::string stderr_text;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Starts QEMU stopped (-S) with no devices but the machine's, QMP on stdio fed `commands`.
QemuRun run_qemu(const std::vector<std::string>& machine_args, const std::vector<json>& commands) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "slabsim-qemu-XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(dir_template.data());
  {
    std::ofstream script(dir / "qmp.in");
    script << json{{"execute", "qmp_capabilities"}}.dump() << "\n";
    for (const auto& c : commands)
      script << c.dump() << "\n";
    script << json{{"execute", "quit"}}.dump() << "\n";
  }
  std::string cmd = "timeout 60 qemu-system-x86_64";
  for (const auto& a : machine_args)
    cmd += " " + shell_quote(a);
  cmd += " -S -display none -monitor none -serial none -nodefaults -qmp stdio";
  cmd += " <" + shell_quote((dir / "qmp.in").string()) + " >" +
         shell_quote((dir / "qmp.out").string()) + " 2>" + shell_quote((dir / "qemu.err").string());
  QemuRun run;
  const int raw = std::system(cmd.c_str());
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::istringstream out(read_all(dir / "qmp.out"));
  for (std::string line; std::getline(out, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && (j.contains("return") || j.contains("error"))) run.replies.push_back(j);
  }
  run.stderr_text = read_all(dir / "qemu.err");
  std::filesystem::remove_all(dir);
  return run;
}

// Boots `m` stopped, plugs its DIMMs and checks what QEMU reports against `t` and `m`.
void check_boots(const Topology& t, const QemuMachine& m) {
  std::vector<json> commands;
  for (const auto& d : m.hotplug_dimms)
    for (const auto& c : qmp_hotplug_commands(d))
      commands.push_back(json::parse(c.dump()));
  commands.push_back({{"execute", "query-memory-devices"}});
  commands.push_back({{"execute", "query-cpus-fast"}});
  const QemuRun run = run_qemu(m.machine_args, commands);
  ASSERT_EQ(run.status, 0) << run.stderr_text;
  EXPECT_EQ(run.stderr_text, "");
  ASSERT_EQ(run.replies.size(), commands.size() + 2) << "capabilities, each command, quit";
  for (const auto& r : run.replies)
    EXPECT_FALSE(r.contains("error")) << r.dump();

  const json& dimms = run.replies[run.replies.size() - 3]["return"];
  ASSERT_EQ(dimms.size(), m.hotplug_dimms.size());
  for (std::size_t i = 0; i < dimms.size(); ++i) {
    const json& data = dimms[i]["data"];
    const QemuDimm& d = m.hotplug_dimms[i];
    EXPECT_EQ(data["id"], d.id);
    EXPECT_EQ(data["node"], d.node);
    EXPECT_EQ(data["size"].get<std::uint64_t>(), d.size_bytes);
    EXPECT_EQ(data["addr"].get<std::uint64_t>() / qemu_block_size,
              static_cast<std::uint64_t>(d.first_block_id))
        << d.id;
  }
  const json& cpus = run.replies[run.replies.size() - 2]["return"];
  ASSERT_EQ(cpus.size(), static_cast<std::size_t>(m.vcpus));
  for (const auto& c : cpus) {
    const int cpu = c["cpu-index"].get<int>();
    EXPECT_EQ(c["props"]["node-id"].get<int>(), t.node_of_cpu(cpu)) << "vCPU " << cpu;
    EXPECT_EQ(c["props"]["socket-id"].get<int>(), cpu / m.cores_per_socket) << "vCPU " << cpu;
  }
}

TEST(QemuBoot, EveryPresetSlabsimAcceptsIsAcceptedByQemu) {
  if (!qemu_installed()) GTEST_SKIP() << "qemu-system-x86_64 is not on PATH";
  int booted = 0;
  for (const auto& name : preset_names()) {
    SCOPED_TRACE(name);
    const Topology t = load_topology(name);
    try {
      const QemuMachine m = qemu_machine(t, name);
      check_boots(t, m);
      ++booted;
    } catch (const config::ConfigError&) {
      // Refused by slabsim itself, with paths (qemu_machine_test.cpp checks which and why).
    }
  }
  EXPECT_GE(booted, 1) << "qemu-2node-hotplug at least";
}

TEST(QemuBoot, ShapesBeyondThePresetsAreAcceptedByQemu) {
  if (!qemu_installed()) GTEST_SKIP() << "qemu-system-x86_64 is not on PATH";
  for (const auto& [what, text] : qemu_test::accepted_shapes()) {
    SCOPED_TRACE(what);
    const Topology t = qemu_test::load(text);
    check_boots(t, qemu_machine(t, "t.json"));
  }
}

// The check above can fail: QEMU refuses node memory that does not add up to -m.
TEST(QemuBoot, QemuRefusalsAreSeen) {
  if (!qemu_installed()) GTEST_SKIP() << "qemu-system-x86_64 is not on PATH";
  auto args = qemu_machine(load_topology("qemu-2node-hotplug"), "x").machine_args;
  args[5] = "5G,slots=2,maxmem=6G";
  const QemuRun run = run_qemu(args, {});
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.stderr_text.find("should equal RAM size"), std::string::npos) << run.stderr_text;
}

}  // namespace
}  // namespace slabsim::topology
