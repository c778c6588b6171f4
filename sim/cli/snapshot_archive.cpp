#include "cli/snapshot_archive.hpp"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "topology/sysfs_snapshot.hpp"

extern char** environ;

namespace slabsim::cli {

namespace {

using topology::SnapshotError;

// tar -xzf ARCHIVE -C DIR, without a shell: the path is passed as one argument whatever it holds.
void extract(const std::string& archive, const std::filesystem::path& dir) {
  const std::string dir_text = dir.string();
  std::vector<std::string> args{"tar", "-xzf", archive, "-C", dir_text};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "tar", nullptr, nullptr, argv.data(), environ) != 0)
    throw SnapshotError(
        fmt::format("{}: cannot run tar to extract it; extract it yourself and "
                    "give the folder",
                    archive));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw SnapshotError(
        fmt::format("{}: expected a .tar.gz of scripts/collect-machine --tar, but "
                    "tar could not extract it (see its message above)",
                    archive));
}

}  // namespace

SnapshotFolder::SnapshotFolder(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    path_ = path;
    return;
  }
  if (!fs::exists(path, ec))
    throw SnapshotError(
        fmt::format("{}: no such file or folder; expected a snapshot folder of "
                    "scripts/collect-machine or its .tar.gz",
                    path));
  std::string pattern = (fs::temp_directory_path() / "slabsim-snapshot-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw SnapshotError(fmt::format("{}: cannot make a temporary folder to extract it", path));
  temporary_ = pattern;
  try {
    extract(path, temporary_);
    find_manifest(path);
  } catch (...) {
    fs::remove_all(temporary_, ec);  // the destructor does not run after a throw
    throw;
  }
}

void SnapshotFolder::find_manifest(const std::string& archive) {
  namespace fs = std::filesystem;
  // The collector archives one folder; a MANIFEST at the top is accepted too.
  if (fs::exists(temporary_ / "MANIFEST")) {
    path_ = temporary_;
    return;
  }
  for (const auto& e : fs::directory_iterator(temporary_))
    if (fs::exists(e.path() / "MANIFEST")) path_ = e.path();
  if (path_.empty())
    throw SnapshotError(
        fmt::format("{}: expected an archive of one snapshot folder holding a "
                    "MANIFEST, found none",
                    archive));
}

SnapshotFolder::~SnapshotFolder() {
  std::error_code ec;
  if (!temporary_.empty()) std::filesystem::remove_all(temporary_, ec);
}

}  // namespace slabsim::cli
