// libFuzzer target: a topology file (topologies/README.md) through topology::load_topology().
#include "fuzz_input.hpp"
#include "topology/topology_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return slabsim::fuzz::load_or_reject(
      data, size, [](const auto& d) { return slabsim::topology::load_topology(d); });
}
