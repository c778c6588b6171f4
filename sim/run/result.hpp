// A run's result: one JSON document (byte-identical for identical inputs and seed, outside its
// "host" block) and the text reports in the kernel's own formats.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "allocator/strategy.hpp"
#include "run/metrics.hpp"
#include "topology/topology.hpp"

namespace slabsim::sim {

struct RunInputs {
  const topology::Topology* topology = nullptr;
  nlohmann::json workload;  // the workload document as given (comments stripped)
  const alloc::Strategy* strategy = nullptr;
  std::uint64_t seed = 1;
  std::int64_t jitter_ns = 0;  // RunOptions::jitter_ns
};

struct HostFigures {
  double wall_seconds = 0;
  std::uint64_t steps = 0;  // operations and events played
  std::uint64_t engine_sleeps = 0;
  std::uint64_t skipped_sleeps = 0;
};

nlohmann::json result_json(const RunInputs& inputs, const RunMetrics& m, const HostFigures& host);

// --report names: lock_stat, numastat, slabinfo, slub_stats, summary.
const std::vector<std::string>& report_names();
std::string report(const std::string& name, const RunInputs& inputs, const RunMetrics& m);

// numastat(8)'s table: one column per node.
std::string numastat_table(const std::vector<alloc::NumaStat>& stats);

}  // namespace slabsim::sim
