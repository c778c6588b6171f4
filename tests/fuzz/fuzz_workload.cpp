// libFuzzer target: a workload file (workloads/README.md) through load_workload() against a
// small machine, whatever topology the document names.
#include "fuzz_input.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto machine = slabsim::topology::load_topology("qemu-2node-hotplug");
  return slabsim::fuzz::load_or_reject(
      data, size, [&](const auto& d) { return slabsim::workload::load_workload(d, machine); });
}
