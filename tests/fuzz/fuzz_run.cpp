// libFuzzer target, end to end: a workload loaded against a small machine and run for at most
// 20 simulated microseconds, under SLUB, SLAB or SLOB (by the input's size, so that each input
// always meets the same one), with the run's invariant checks on.
// A finding of the model (a violation, a deadlock, a lockdep report) is a result; only a crash,
// a sanitizer report or an exception other than a diagnosed input is a bug. Inputs the CLI
// would refuse for the host's memory (check_fits_in_memory() at 1 GiB) are refused here too.
#include <algorithm>
#include <string>

#include "allocator/make_allocator.hpp"
#include "allocator/strategy.hpp"
#include "engine/simulation.hpp"
#include "fuzz_input.hpp"
#include "run/host_memory.hpp"
#include "run/runner.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace {

constexpr std::int64_t max_simulated_ns = 20'000;
constexpr std::uint64_t memory_limit = std::uint64_t{1} << 30;
constexpr int stack_kib = 256;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace slabsim;
  // Actor stacks are allocated and freed with each run; under ASan every such free poisons the
  // whole stack's shadow, which with SimGrid's 8 MiB made a run cost 200 ms instead of 2 ms.
  // Half of slabsim's default (Simulation::default_actor_stack_kib) is still plenty.
  static const bool small_stacks = (sim::Simulation::set_actor_stack_kib(stack_kib), true);
  (void)small_stacks;
  static const auto machine = topology::load_topology("qemu-2node-hotplug");
  const auto document = fuzz::parse(data, size);
  if (!document) return 0;
  workload::Workload w;
  try {
    w = workload::load_workload(*document, machine);
    sim::check_fits_in_memory(machine, w, *document, memory_limit);
  } catch (const config::ConfigError&) {
    return 0;
  }
  w.duration_ns = std::min(w.duration_ns, max_simulated_ns);
  const alloc::Strategy& strategy = *alloc::find_strategy_preset("v6.1");
  static constexpr alloc::AllocatorKind kinds[] = {
      alloc::AllocatorKind::slub, alloc::AllocatorKind::slab, alloc::AllocatorKind::slob};
  sim::RunOptions options;
  options.allocator = kinds[size % 3];
  options.max_memory_bytes = memory_limit;
  (void)sim::run_simulation(machine, w, strategy, sim::with_workload_tuning(w, options));
  return 0;
}
