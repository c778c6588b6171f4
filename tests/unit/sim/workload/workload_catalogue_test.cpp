// The catalogue of malformed workloads in tests/workloads/bad; catalogue.hpp says what each file
// holds and how it is checked. A workload is only valid against a topology, so each file also
// names, on its first line, the preset to check it against:
//
//   // topology: qemu-2node-hotplug
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "catalogue.hpp"
#include "topology/presets.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::workload {
namespace {

testing::Expectation read_expectation(const std::string& path) {
  testing::Expectation e = testing::read_expectation(path, {"topology"});
  if (e.first_line && !e.first_line->starts_with("// topology:"))
    e.problems.insert(e.problems.begin(), "the first line is not \"// topology: <preset>\"");
  const std::string& preset = e.extra["topology"];
  if (!preset.empty() && !topology::preset_text(preset))
    e.problems.push_back("topology \"" + preset + "\" is not a preset");
  return e;
}

testing::Catalogue bad_workloads() {
  return {
      .dir = std::filesystem::path(SLABSIM_SOURCE_DIR) / "tests" / "workloads" / "bad",
      .minimum_size = 20,
      .loader = "load_workload",
      .load =
          [](const std::string& path, const testing::Expectation& expected) {
            load_workload(path, topology::load_topology(expected.extra.at("topology")));
          },
      .read = read_expectation,
  };
}

SLABSIM_CATALOGUE_TESTS(BadWorkload, bad_workloads())

}  // namespace
}  // namespace slabsim::workload
