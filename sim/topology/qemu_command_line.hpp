// A QemuMachine written out: the shell command that boots it, the QMP commands that hot-plug its
// DIMMs, and the JSON the ground-truth harness reads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "topology/qemu_machine.hpp"

namespace slabsim::topology {

struct QemuBootFiles {
  std::string kernel = "VMLINUZ";  // placeholders a user replaces, or --kernel/--initrd
  std::string initrd = "INITRD";
  std::string qmp_socket;  // empty: no QMP socket
};

// `qemu-system-x86_64 \` and one option per continued line, ready for a shell, then a comment
// block with the QMP commands that plug each planned DIMM.
std::string qemu_shell_command(const QemuMachine& m, const QemuBootFiles& files);

// The QMP commands (one JSON object per line, after qmp_capabilities) that hot-add `dimm`.
std::vector<nlohmann::ordered_json> qmp_hotplug_commands(const QemuDimm& dimm);

// Keys in a fixed order (the machine first, then what to plug, then what QEMU cannot say), so
// the same topology always gives the same bytes.
nlohmann::ordered_json to_json(const QemuMachine& m);

// Single-quotes `word` for a POSIX shell unless it is made only of characters that need none.
std::string shell_quote(const std::string& word);

}  // namespace slabsim::topology
