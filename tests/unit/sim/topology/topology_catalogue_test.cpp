// The catalogue of malformed topologies in tests/topologies/bad; catalogue.hpp says what each file
// holds and how it is checked.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "catalogue.hpp"
#include "topology/topology_loader.hpp"

namespace slabsim::topology {
namespace {

testing::Catalogue bad_topologies() {
  return {
      .dir = std::filesystem::path(SLABSIM_SOURCE_DIR) / "tests" / "topologies" / "bad",
      .minimum_size = 24,
      .loader = "load_topology",
      .load = [](const std::string& path, const testing::Expectation&) { load_topology(path); },
  };
}

SLABSIM_CATALOGUE_TESTS(BadTopology, bad_topologies())

}  // namespace
}  // namespace slabsim::topology
