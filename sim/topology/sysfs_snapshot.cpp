#include "topology/sysfs_snapshot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/units.hpp"

namespace slabsim::topology {

namespace {

// "a string (\"x\")" style, short enough for one line.
std::string quoted(const std::string& s) {
  return fmt::format("\"{}\"", s.size() > 60 ? s.substr(0, 60) + "..." : s);
}

}  // namespace

SysfsSnapshot::SysfsSnapshot(std::filesystem::path root) : root_(std::move(root)) {}

std::string SysfsSnapshot::shown(const std::string& kernel_path) const {
  return (root_ / kernel_path.substr(kernel_path.starts_with('/') ? 1 : 0)).string();
}

bool SysfsSnapshot::exists(const std::string& kernel_path) const {
  std::error_code ec;
  return std::filesystem::exists(shown(kernel_path), ec);
}

std::vector<std::string> SysfsSnapshot::list(const std::string& kernel_path) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(shown(kernel_path), ec))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void SysfsSnapshot::fail(const std::string& kernel_path, const std::string& what) const {
  throw SnapshotError(fmt::format("{}: {}", shown(kernel_path), what));
}

std::string SysfsSnapshot::text(const std::string& kernel_path) const {
  std::ifstream in(shown(kernel_path));
  if (!in)
    fail(kernel_path,
         "expected this file in the snapshot (scripts/collect-machine copies it), "
         "but it is missing or unreadable");
  std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::int64_t SysfsSnapshot::integer(const std::string& kernel_path) const {
  const std::string s = text(kernel_path);
  const bool digits = !s.empty() && s.size() <= 18 &&
                      std::all_of(s.begin() + (s[0] == '-' && s.size() > 1), s.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) fail(kernel_path, fmt::format("expected a decimal integer, got {}", quoted(s)));
  return std::stoll(s);
}

std::uint64_t SysfsSnapshot::hex(const std::string& kernel_path) const {
  const std::string s = text(kernel_path);
  const bool digits = !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (!digits)
    fail(kernel_path,
         fmt::format("expected a hexadecimal number without 0x, as the kernel prints it with "
                     "%lx, got {}",
                     quoted(s)));
  return std::stoull(s, nullptr, 16);
}

std::vector<int> SysfsSnapshot::id_list(const std::string& kernel_path, int max_id) const {
  auto parsed = config::parse_cpulist(text(kernel_path), max_id);
  if (auto* error = std::get_if<std::string>(&parsed)) fail(kernel_path, "expected " + *error);
  return std::get<std::vector<int>>(parsed);
}

std::vector<int> SysfsSnapshot::integers(const std::string& kernel_path) const {
  const std::string s = text(kernel_path);
  std::istringstream in(s);
  std::vector<int> values;
  std::string word;
  while (in >> word) {
    if (word.size() > 6 ||
        !std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail(kernel_path,
           fmt::format("expected decimal integers separated by spaces, got {}", quoted(s)));
    values.push_back(std::stoi(word));
  }
  return values;
}

std::map<std::string, std::string> SysfsSnapshot::manifest() const {
  std::map<std::string, std::string> fields;
  std::istringstream in(text("MANIFEST"));
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(": ");
    if (colon != std::string::npos && !fields.contains(line.substr(0, colon)))
      fields.emplace(line.substr(0, colon), line.substr(colon + 2));
  }
  return fields;
}

}  // namespace slabsim::topology
