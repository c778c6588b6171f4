// Reading a snapshot of scripts/collect-machine: files at their kernel paths under one folder,
// each problem an error naming the snapshot file and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace slabsim::topology {

// Bad input in a snapshot: "SNAPSHOT/sys/devices/system/node/online: expected ..., got ...".
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SysfsSnapshot {
 public:
  // `root` is the folder the collector wrote (the one holding MANIFEST).
  explicit SysfsSnapshot(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  // The file as the user sees it in messages: ROOT/sys/...
  [[nodiscard]] std::string shown(const std::string& kernel_path) const;
  [[nodiscard]] bool exists(const std::string& kernel_path) const;
  // Names in a folder of the snapshot, sorted; empty if the folder is absent.
  [[nodiscard]] std::vector<std::string> list(const std::string& kernel_path) const;

  // The file's text without its trailing newline; throws SnapshotError if it is missing.
  [[nodiscard]] std::string text(const std::string& kernel_path) const;
  // A decimal integer file (object_size, physical_package_id, ...).
  [[nodiscard]] std::int64_t integer(const std::string& kernel_path) const;
  // A hexadecimal file without "0x" (block_size_bytes, phys_index: "%lx" in drivers/base/memory.c).
  [[nodiscard]] std::uint64_t hex(const std::string& kernel_path) const;
  // A cpulist/nodelist file ("0-3,8", lib/bitmap.c's bitmap_print_to_pagebuf(true, ...)).
  [[nodiscard]] std::vector<int> id_list(const std::string& kernel_path, int max_id) const;
  // A line of space-separated decimal integers (node*/distance).
  [[nodiscard]] std::vector<int> integers(const std::string& kernel_path) const;
  // MANIFEST's "key: value" lines.
  [[nodiscard]] std::map<std::string, std::string> manifest() const;

  [[noreturn]] void fail(const std::string& kernel_path, const std::string& what) const;

 private:
  std::filesystem::path root_;
};

}  // namespace slabsim::topology
