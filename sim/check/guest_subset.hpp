// The part of the workload format the kernel-check guest can play, checked before anything
// runs: timed events only, one after another, each one a probe command, a sysfs write or a
// DIMM's hot-add (kernel-check/README.md, "Workloads"). Everything outside it is refused with the
// JSON path, not ignored.
#pragma once

#include "config/diagnostics.hpp"
#include "topology/qemu_machine.hpp"
#include "workload/workload.hpp"

namespace slabsim::check {

// Reports into `out` what of `w` the guest cannot play on `m`; true when nothing.
bool check_guest_subset(const workload::Workload& w, const topology::QemuMachine& m,
                        config::Diagnostics& out);

}  // namespace slabsim::check
