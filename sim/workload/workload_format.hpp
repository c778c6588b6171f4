// The declaration of the workload file format: validation, defaults and JSON Schema all come
// from it (workloads/README.md documents it for people).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/spec.hpp"

namespace slabsim::workload {

inline constexpr std::int64_t min_duration_ns = 1000;  // a workload runs for at least 1 us
inline constexpr int max_accesses_per_object = 1000;
inline constexpr int max_live_per_cpu_limit = 1000000;
inline constexpr int min_errno = -4095;  // MAX_ERRNO: the notifier error injector's range
inline constexpr int max_repeat_count = 1000000;
// alloc_burst/free_burst: at most the kernel-check probe's objects per cache, so that every burst
// a workload can hold the real kernel can play.
inline constexpr int max_burst_count = 65536;
// page_burst: at most the probe's kept pages (PROBE_MAX_PAGES).
inline constexpr int max_page_burst_count = 4096;

// The declaration. One thing a Spec cannot say yet is checked by validate_workload_document()
// instead, so validate a document with that function, not with workload_spec()->validate():
// "cpus": "all" (Spec has no alternatives to a cpulist).
const config::SpecPtr& workload_spec();

// Checks `root` against the format, reporting every problem into `out`; true if nothing was
// wrong. Semantic checks against a topology are the loader's (workload_loader.hpp).
bool validate_workload_document(const nlohmann::json& root, config::Diagnostics& out);

// The JSON Schema of workload files (draft 2020-12, with "$schema" and "title"), as committed in
// workloads/schema/workload.schema.json.
nlohmann::json workload_json_schema();

// The event keys, in the order the format lists them; an event has exactly one.
const std::vector<std::string>& event_keys();

// The keys of a thread group that hold a fraction (a number from 0 to 1).
const std::vector<std::string>& fraction_keys();

}  // namespace slabsim::workload
