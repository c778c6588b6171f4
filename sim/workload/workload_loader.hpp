// From a workload document and a topology to a resolved, checked Workload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/json_document.hpp"
#include "topology/topology.hpp"
#include "workload/workload.hpp"

namespace slabsim::workload {

// Validates the document against the format (workload_format.hpp) and the semantic rules of
// workloads/README.md against `topology`, then resolves it: CPU sets, defaults, events expanded
// (repeat) and sorted by time, stable in file order. Throws config::ConfigError with every
// problem found, each naming the file, the JSON pointer and what was expected.
Workload load_workload(const config::JsonDocument& document, const topology::Topology& topology);

// Reads the file at `path`, then as above.
Workload load_workload(const std::string& path, const topology::Topology& topology);

// The topology the document names in "topology", in the form topology::load_topology() takes:
// a preset name as it is; a relative path relative to the folder of the workload file (when
// that file exists there; otherwise as written, so an error names it). nullopt when the document
// names none, or names it with something that is not a string (validation reports that).
std::optional<std::string> workload_topology(const config::JsonDocument& document);

// "20ms", "1500us", "135ns": whole ns in the largest unit that keeps them exact.
std::string format_duration(std::int64_t ns);

}  // namespace slabsim::workload
