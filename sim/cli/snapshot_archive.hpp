// A machine snapshot given as the .tar.gz of `scripts/collect-machine --tar`: extracted with the
// system's tar into a temporary folder that lives as long as this object.
#pragma once

#include <filesystem>
#include <string>

namespace slabsim::cli {

class SnapshotFolder {
 public:
  // A folder is used as it is; a .tar.gz is extracted. Throws topology::SnapshotError if the
  // archive cannot be extracted or holds no MANIFEST.
  explicit SnapshotFolder(const std::string& path);
  ~SnapshotFolder();
  SnapshotFolder(const SnapshotFolder&) = delete;
  SnapshotFolder& operator=(const SnapshotFolder&) = delete;

  // The folder holding MANIFEST.
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  void find_manifest(const std::string& archive);

  std::filesystem::path path_;
  std::filesystem::path temporary_;  // empty unless an archive was extracted
};

}  // namespace slabsim::cli
