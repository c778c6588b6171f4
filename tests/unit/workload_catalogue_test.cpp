// The catalogue of malformed workloads in tests/workloads/bad. Each file holds exactly one
// mistake and says, in the comment lines it starts with, which topology to check it against and
// which diagnostic slabsim must report:
//
//   // topology: qemu-2node-hotplug                     (first line: a preset name)
//   // expect-pointer: /threads/1/target_node           (the exact JSON pointer; "/" is the root)
//   // expect-message: did you mean "remote"            (a substring of the message)
//   // why: a misspelt node selector                    (what the mistake is; unique)
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "config/diagnostics.hpp"
#include "topology/presets.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::workload {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMinimumCatalogueSize = 20;

fs::path catalogue_dir() {
  return fs::path(SLABSIM_SOURCE_DIR) / "tests" / "workloads" / "bad";
}

// The .json files of the catalogue, sorted by name; empty if the folder is missing.
std::vector<std::string> catalogue_files() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(catalogue_dir(), ec))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string trim(const std::string& s) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  auto first = std::find_if_not(s.begin(), s.end(), space);
  auto last = std::find_if_not(s.rbegin(), s.rend(), space).base();
  return first < last ? std::string(first, last) : std::string();
}

// What a catalogue file says about itself.
struct Expectation {
  std::optional<std::string> topology;  // a preset name, from the first line
  std::optional<std::string> pointer;   // "" for the root ("/" in the file)
  std::optional<std::string> message;
  std::optional<std::string> why;
  std::vector<std::string> problems;  // a malformed header
};

// Reads the `// key: value` lines at the top of the file, up to the first line that is not a
// comment.
Expectation read_expectation(const std::string& path) {
  Expectation e;
  std::ifstream in(path);
  if (!in) {
    e.problems.push_back("cannot read the file");
    return e;
  }
  const std::map<std::string, std::optional<std::string> Expectation::*> keys = {
      {"topology", &Expectation::topology},
      {"expect-pointer", &Expectation::pointer},
      {"expect-message", &Expectation::message},
      {"why", &Expectation::why},
  };
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    line = trim(line);
    if (first && line.rfind("// topology:", 0) != 0)
      e.problems.push_back("the first line is not \"// topology: <preset>\"");
    first = false;
    if (line.rfind("//", 0) != 0) break;
    const std::string comment = trim(line.substr(2));
    const auto colon = comment.find(':');
    if (colon == std::string::npos) continue;
    const auto key = keys.find(trim(comment.substr(0, colon)));
    if (key == keys.end()) continue;
    auto& slot = e.*(key->second);
    if (slot) e.problems.push_back("\"" + key->first + "\" is given twice");
    slot = trim(comment.substr(colon + 1));
  }
  for (const auto& [name, member] : keys)
    if (!(e.*member) || (e.*member)->empty())
      e.problems.push_back("no \"// " + name + ": ...\" line at the top");
  if (e.topology && !e.topology->empty() && !topology::preset_text(*e.topology))
    e.problems.push_back("topology \"" + *e.topology + "\" is not a preset");
  if (e.pointer) {
    if (*e.pointer == "/")
      e.pointer = "";
    else if (!e.pointer->empty() && e.pointer->front() != '/')
      e.problems.push_back("expect-pointer \"" + *e.pointer + "\" is not a JSON pointer");
  }
  return e;
}

std::string shown(const std::string& pointer) {
  return pointer.empty() ? "/" : pointer;
}

// "05-missing-name.json" -> "05_missing_name": GoogleTest names are letters, digits and '_'.
std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

class BadWorkload : public testing::TestWithParam<std::string> {};

TEST_P(BadWorkload, IsRejectedWithTheExpectedDiagnostic) {
  const std::string& path = GetParam();
  const Expectation expected = read_expectation(path);
  for (const auto& problem : expected.problems)
    ADD_FAILURE() << path << ": " << problem;
  if (!expected.problems.empty()) return;
  const std::string wanted = "\"" + shown(*expected.pointer) + ": ..." + *expected.message +
                             "...\" (" + *expected.why + ")";

  const auto machine = topology::load_topology(*expected.topology);
  try {
    load_workload(path, machine);
    ADD_FAILURE() << path << " was accepted; expected " << wanted;
  } catch (const config::ConfigError& error) {
    const auto& diagnostics = error.diagnostics();
    ASSERT_FALSE(diagnostics.empty()) << path << ": a ConfigError without diagnostics";
    const bool found =
        std::any_of(diagnostics.begin(), diagnostics.end(), [&](const config::Diagnostic& d) {
          return d.pointer == *expected.pointer &&
                 d.message.find(*expected.message) != std::string::npos;
        });
    EXPECT_TRUE(found) << "expected " << wanted << "\ngot:\n" << error.what();
    for (const auto& d : diagnostics)
      EXPECT_EQ(d.file, path) << "the diagnostic \"" << d.str() << "\" names another file";
  } catch (const std::exception& other) {
    ADD_FAILURE() << path << ": expected a config::ConfigError, but load_workload threw "
                  << typeid(other).name() << ": " << other.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadWorkload, testing::ValuesIn(catalogue_files()), test_name);

TEST(BadWorkloadCatalogue, HoldsEnoughFiles) {
  EXPECT_GE(catalogue_files().size(), kMinimumCatalogueSize) << "in " << catalogue_dir().string();
}

TEST(BadWorkloadCatalogue, FilesAreNamedNumberThenShortName) {
  const std::regex pattern("[0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*\\.json");
  for (const auto& path : catalogue_files()) {
    const std::string name = fs::path(path).filename().string();
    EXPECT_TRUE(std::regex_match(name, pattern)) << name << " is not named NN-short-name.json";
  }
}

TEST(BadWorkloadCatalogue, EveryWhyIsUnique) {
  std::map<std::string, std::string> first_file_of;  // why -> file
  for (const auto& path : catalogue_files()) {
    const Expectation e = read_expectation(path);
    if (!e.why || e.why->empty()) {
      ADD_FAILURE() << path << ": no \"// why: ...\" line at the top";
      continue;
    }
    auto [it, fresh] = first_file_of.emplace(*e.why, path);
    EXPECT_TRUE(fresh) << path << " and " << it->second << " both say why: " << *e.why;
  }
}

}  // namespace
}  // namespace slabsim::workload
