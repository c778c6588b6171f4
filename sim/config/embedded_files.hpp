// Files compiled into the binary by cmake/embed_files.cmake (topology presets, workload
// scenarios), looked up by their name without ".json".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slabsim::config {

using EmbeddedFileList = std::vector<std::pair<std::string_view, std::string_view>>;

std::vector<std::string> embedded_names(const EmbeddedFileList& files);  // sorted
std::optional<std::string_view> embedded_text(const EmbeddedFileList& files, std::string_view name);

}  // namespace slabsim::config
