// Topology presets compiled into the binary from topologies/*.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slabsim::topology {

// The preset `slabsim` shows and runs when given no file.
inline constexpr std::string_view default_preset = "qemu-2node-hotplug";

std::vector<std::string> preset_names();  // sorted
std::optional<std::string_view> preset_text(std::string_view name);

}  // namespace slabsim::topology
