// libFuzzer target: a topology file (topologies/README.md) through topology::load_topology().
#include "fuzz_input.hpp"
#include "topology/topology_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto document = slabsim::fuzz::parse(data, size);
  if (!document) return 0;
  try {
    (void)slabsim::topology::load_topology(*document);
  } catch (const slabsim::config::ConfigError&) {
  }
  return 0;
}
