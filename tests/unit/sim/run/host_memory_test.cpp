// Host limits checked before a run (sim/run/host_memory): vm.max_map_count against the memory
// mappings of the run's actor stacks, which SimGrid would otherwise die on ("Failed to protect
// stack").
#include "run/host_memory.hpp"

#include <gtest/gtest.h>

#include <string>

#include "config/diagnostics.hpp"
#include "two_node_machine.hpp"

namespace slabsim::sim {
namespace {

TEST(ActorMappings, AMachineWhoseStacksCannotBeMappedIsRefusedNamingItsNodes) {
  const topology::Topology m = test_support::two_node_machine();
  workload::Workload w;
  w.event_tasks = 4;
  const std::uint64_t cpus = m.cpu_ids().size();
  const std::uint64_t needed =
      (actors_per_cpu * cpus + 4 + 1) * mappings_per_actor + process_base_mappings;
  EXPECT_NO_THROW(check_actor_mappings(m, w, needed));
  EXPECT_NO_THROW(check_actor_mappings(m, w, 0));  // unknown: no check
  try {
    check_actor_mappings(m, w, needed - 1);
    FAIL() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    const auto& d = e.diagnostics()[0];
    EXPECT_EQ(d.file, "topology " + m.name);
    EXPECT_EQ(d.pointer, "/nodes");
    EXPECT_NE(d.message.find("vm.max_map_count (" + std::to_string(needed - 1) + ")"),
              std::string::npos)
        << d.message;
  }
}

// This host's limit holds the largest machine a topology can describe (8,192 CPUs).
TEST(ActorMappings, TheDefaultLimitHoldsTheLargestMachine) {
  constexpr std::uint64_t kernel_default = 65530;
  EXPECT_LE((actors_per_cpu * 8192 + 64 + 1) * mappings_per_actor + process_base_mappings,
            kernel_default);
  EXPECT_GT(max_map_count(), 0u);
}

}  // namespace
}  // namespace slabsim::sim
