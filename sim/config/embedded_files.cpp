#include "config/embedded_files.hpp"

#include <algorithm>

namespace slabsim::config {

namespace {
std::string_view stem(std::string_view file) {
  return file.substr(0, file.rfind(".json"));
}
}  // namespace

std::vector<std::string> embedded_names(const EmbeddedFileList& files) {
  std::vector<std::string> names;
  for (const auto& [file, text] : files)
    names.emplace_back(stem(file));
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string_view> embedded_text(const EmbeddedFileList& files,
                                              std::string_view name) {
  for (const auto& [file, text] : files)
    if (stem(file) == name) return text;
  return std::nullopt;
}

}  // namespace slabsim::config
