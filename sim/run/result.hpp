// A run's result: one JSON document (byte-identical for identical inputs and seed, outside its
// "host" block) and the text reports in the kernel's own formats.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "allocator/mm/page_alloc.hpp"
#include "run/run_request.hpp"

namespace slabsim::sim {

// The result document: "slabsim" (version), "config" (every input and setting that changes the
// outcome), "simulated_ns", "metrics", and "host" (wall time and engine figures).
nlohmann::json result_json(const RunOutcome& outcome);

// What the result's "config" records of a prepared run.
nlohmann::json config_json(const PreparedRun& run);

// --report names: summary, lock_stat, numastat, slabinfo, slub_stats, lockdep.
const std::vector<std::string>& report_names();
std::string report(const std::string& name, const RunOutcome& outcome);

// numastat(8)'s table: one column per node.
std::string numastat_table(const std::vector<alloc::NumaStat>& stats);

}  // namespace slabsim::sim
