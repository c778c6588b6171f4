#include "run/runner.hpp"

#include "run/simulation_run.hpp"

namespace slabsim::sim {

alloc::MachineLayout machine_layout(const topology::Topology& machine, int event_cpus) {
  alloc::MachineLayout l;
  const auto cpus = machine.cpu_ids();
  const int nr = cpus.empty() ? 0 : cpus.back() + 1;
  l.cpu_node.assign(nr, alloc::MachineLayout::no_cpu);  // ids no CPU has stay holes
  l.nr_event_cpus = event_cpus;
  for (int cpu : cpus)
    l.cpu_node[cpu] = machine.node_of_cpu(cpu);
  l.distance = machine.slit;
  l.block_pages = machine.block_size / alloc::page_size;
  for (const auto& b : machine.blocks) {
    alloc::BlockLayout bl;
    bl.node = b.node;
    bl.zone = b.zone == topology::Zone::normal ? alloc::ZoneType::normal : alloc::ZoneType::movable;
    bl.state = b.state == topology::BlockState::online    ? alloc::BlockPresence::online
               : b.state == topology::BlockState::offline ? alloc::BlockPresence::offline
                                                          : alloc::BlockPresence::absent;
    l.blocks.push_back(bl);
  }
  return l;
}

RunOptions with_workload_tuning(const workload::Workload& workload, RunOptions options) {
  if (workload.kernel.slab_reap_interval_ns > 0)
    options.tuning.slab_params.reap_interval_ns = workload.kernel.slab_reap_interval_ns;
  return options;
}

RunMetrics run_simulation(const topology::Topology& machine, const workload::Workload& workload,
                          const alloc::Strategy& strategy, const RunOptions& options) {
  SimulationRun run(machine, workload, strategy, with_workload_tuning(workload, options));
  return run.play();
}

}  // namespace slabsim::sim
