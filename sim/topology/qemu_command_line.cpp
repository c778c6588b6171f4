#include "topology/qemu_command_line.hpp"

#include <fmt/format.h>

#include "config/units.hpp"

namespace slabsim::topology {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::string join_quoted(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words)
    s += (s.empty() ? "" : " ") + shell_quote(w);
  return s;
}

std::string kernel_cmdline_text(const QemuMachine& m) {
  std::string s;
  for (const auto& w : m.kernel_cmdline)
    s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-+=.,:/@%") == std::string::npos;
  if (plain) return word;
  std::string q = "'";
  for (char c : word)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::vector<ordered_json> qmp_hotplug_commands(const QemuDimm& dimm) {
  // QMP's object-add takes the backend's properties at the top level of "arguments" (QEMU 6.0+),
  // and device_add the device's; "node" overrides the window's proximity through the DIMM's _PXM.
  return {
      ordered_json{
          {"execute", "object-add"},
          {"arguments",
           {{"qom-type", "memory-backend-ram"}, {"id", dimm.memdev}, {"size", dimm.size_bytes}}}},
      ordered_json{{"execute", "device_add"},
                   {"arguments",
                    {{"driver", "pc-dimm"},
                     {"id", dimm.id},
                     {"memdev", dimm.memdev},
                     {"node", dimm.node},
                     {"addr", dimm.addr}}}},
  };
}

std::string qemu_shell_command(const QemuMachine& m, const QemuBootFiles& files) {
  std::string s =
      fmt::format("# slabsim topology qemu: {} (QEMU 7.2, x86_64 guest, Linux 6.1)\n", m.name);
  if (!m.description.empty()) s += "# " + m.description + "\n";
  std::vector<std::vector<std::string>> lines;
  for (std::size_t i = 0; i < m.machine_args.size(); i += 2)
    lines.push_back({m.machine_args[i], m.machine_args[i + 1]});
  lines.push_back({"-kernel", files.kernel});
  lines.push_back({"-initrd", files.initrd});
  lines.push_back({"-append", kernel_cmdline_text(m)});
  // The console on stdio (no window, QEMU's monitor off the serial line), and a reboot (the
  // kernel's panic=-1) ends QEMU instead of booting again.
  lines.push_back({"-nographic", "-serial", "stdio", "-no-reboot"});
  if (!files.qmp_socket.empty())
    lines.push_back({"-qmp", fmt::format("unix:{},server=on,wait=off", files.qmp_socket)});
  s += "qemu-system-x86_64";
  for (const auto& l : lines)
    s += " \\\n  " + join_quoted(l);
  s += "\n";
  if (m.hotplug_dimms.empty()) return s;
  s += "#\n# Hot-plug DIMMs planned for the topology's absent memory; after {\"execute\": "
       "\"qmp_capabilities\"},\n# send these on the QMP socket (--qmp SOCK) when the workload "
       "hot-adds them:\n";
  for (const auto& d : m.hotplug_dimms) {
    s += fmt::format("# {}: node {}, {} MiB, to online {} ({}), guest memory{}, from {}\n", d.id,
                     d.node, d.size_bytes >> 20, to_string(d.zone),
                     d.zone == Zone::normal ? "online_kernel" : "online_movable", d.first_block_id,
                     d.block_path);
    for (const auto& c : qmp_hotplug_commands(d))
      s += "#   " + c.dump() + "\n";
  }
  return s;
}

ordered_json to_json(const QemuMachine& m) {
  ordered_json j;
  j["topology"] = m.name;
  j["machine_args"] = m.machine_args;
  j["kernel_cmdline"] = m.kernel_cmdline;
  j["vcpus"] = m.vcpus;
  j["sockets"] = m.sockets;
  j["cores_per_socket"] = m.cores_per_socket;
  j["boot_memory_bytes"] = m.boot_memory_bytes;
  j["max_memory_bytes"] = m.max_memory_bytes;
  j["slots"] = m.slots;
  j["nodes"] = ordered_json::array();
  for (const auto& q : m.nodes) {
    ordered_json n;
    n["node"] = q.node;
    n["cpus"] = config::format_cpulist(q.cpus);
    if (q.memdev) n["memdev"] = *q.memdev;
    n["boot_memory_bytes"] = q.boot_memory_bytes;
    n["guest_blocks"] = config::format_cpulist(q.guest_blocks);
    n["model_blocks"] = config::format_cpulist(q.model_blocks);
    j["nodes"].push_back(std::move(n));
  }
  j["hotplug_dimms"] = ordered_json::array();
  for (const auto& d : m.hotplug_dimms) {
    ordered_json o;
    o["id"] = d.id;
    o["memdev"] = d.memdev;
    o["node"] = d.node;
    o["size_bytes"] = d.size_bytes;
    o["zone"] = to_string(d.zone);
    o["block_path"] = d.block_path;
    o["addr"] = d.addr;
    o["first_block_id"] = d.first_block_id;
    o["model_blocks"] = config::format_cpulist(d.model_blocks);
    j["hotplug_dimms"].push_back(std::move(o));
  }
  j["not_expressed"] = ordered_json::array();
  for (const auto& n : m.not_expressed)
    j["not_expressed"].push_back(ordered_json{{"path", n.path}, {"why", n.why}});
  return j;
}

}  // namespace slabsim::topology
