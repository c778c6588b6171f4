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

// The metrics over time count in buckets of the recording width, each with a count per node: a
// narrow named width on a long run is a term of its own, named by its JSON path.
TEST(TimeBucketMemory, ANarrowBucketOverALongRunIsRefusedNamingItsKey) {
  const topology::Topology m = test_support::two_node_machine();
  workload::Workload w;
  w.duration_ns = 1'000'000'000;
  config::JsonDocument doc;
  doc.name = "long.json";
  // Automatic: a recording width of 1 ms, and room for 4 times the duration's buckets.
  const std::uint64_t auto_buckets = 4 * (1'000 + 1);
  const std::uint64_t per_bucket =
      host_bytes_per_time_bucket + static_cast<std::uint64_t>(m.node_count()) * 8;
  const std::uint64_t cpus = (m.cpu_ids().size() + w.event_tasks + 1) * host_bytes_per_cpu;
  const std::uint64_t blocks = m.blocks.size() * host_bytes_per_memory_block;
  EXPECT_NO_THROW(check_fits_in_memory(m, w, doc, cpus + blocks + auto_buckets * per_bucket));
  w.time_bucket_ns = 10'000;  // 100,001 buckets over the duration
  try {
    check_fits_in_memory(m, w, doc, cpus + blocks + auto_buckets * per_bucket);
    FAIL() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].file, "long.json");
    EXPECT_EQ(e.diagnostics()[0].pointer, "/time_bucket");
  }
  // The run's own setting counts, not the workload's.
  w.time_bucket_ns = 0;
  EXPECT_THROW(check_fits_in_memory(m, w, doc, cpus + blocks + auto_buckets * per_bucket, 10'000),
               config::ConfigError);
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
