// slabsim's side of a kernel check: a workload of the guest subset (guest_subset.hpp) run on the
// model, and after every event what the guest's sysfs would show (sysfs_view.hpp), with each
// event's results and the QEMU machine that boots the same topology. The harness
// (scripts/kernel-check) turns the document into the guest's plan, boots the kernel, plays it,
// and compares the two, observable by observable.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "run/run_request.hpp"
#include "topology/qemu_machine.hpp"

namespace slabsim::check {

// Checks the guest subset, runs the workload, and returns the document
// (kernel-check/README.md, "The model's document"). Throws config::ConfigError naming the
// workload file and JSON path of what the guest cannot play, before or (for a hot-add that does
// not make whole DIMMs) after the run.
nlohmann::ordered_json kernel_check_model(const sim::PreparedRun& run,
                                          const topology::QemuMachine& machine);

}  // namespace slabsim::check
