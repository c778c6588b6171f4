// Simulated slab operations per host second on the SimGrid machine, each next to a bare
// SimGrid loop doing one sleep_for per operation in the same process, plus a 1,024-CPU x
// 32-node machine and the host memory per live object. Prints figures; never fails on them.
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>

#include "config/json_document.hpp"
#include "engine/simulation.hpp"
#include "run/runner.hpp"
#include "run/scenarios.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace {

using namespace slabsim;
using Clock = std::chrono::steady_clock;

struct Figures {
  std::uint64_t ops = 0;
  double seconds = 0;
  double ops_per_second() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

Figures run_workload(const topology::Topology& machine, const std::string& workload_text,
                     const std::string& strategy, sim::RunMetrics* out = nullptr,
                     sim::RunOptions options = {}) {
  const auto doc = config::parse_json_document(workload_text, "bench");
  const auto w = workload::load_workload(doc, machine);
  const auto st = strategy::load_strategy(strategy);
  const auto start = Clock::now();
  sim::RunMetrics m = sim::run_simulation(machine, w, st, options);
  Figures f{m.allocations + m.frees, std::chrono::duration<double>(Clock::now() - start).count()};
  if (out) *out = std::move(m);
  return f;
}

// One actor per CPU of the machine, `ops` sleep_for calls in all: SimGrid's own cost of one timed
// step per operation. In lockstep every actor wakes at the same instants, SimGrid's cheapest
// pattern (one engine round serves all CPUs); staggered, actor k starts k + 1 ns late, so no two
// wake together, as the CPUs of a simulator making one call per operation would not.
Figures bare_loop(const topology::Topology& machine, std::uint64_t ops, std::int64_t step_ns,
                  bool staggered) {
  const auto cpus = machine.cpu_ids();
  const auto start = Clock::now();
  sim::Simulation s(machine);
  const std::uint64_t per_actor = ops / cpus.size() + 1;
  for (std::size_t k = 0; k < cpus.size(); ++k)
    s.spawn_on_cpu(cpus[k], fmt::format("loop{}", cpus[k]), [per_actor, step_ns, staggered, k] {
      if (staggered) sim::Simulation::sleep_for(static_cast<std::int64_t>(k) + 1);
      for (std::uint64_t i = 0; i < per_actor; ++i)
        sim::Simulation::sleep_for(step_ns);
    });
  s.run();
  return {per_actor * cpus.size(), std::chrono::duration<double>(Clock::now() - start).count()};
}

std::string big_machine(int nodes, int cpus_per_node) {
  std::string sockets, node_list, links;
  for (int n = 0; n < nodes; ++n) {
    sockets += fmt::format("{}{{\"id\": {}}}", n ? ", " : "", n);
    node_list += fmt::format(
        "{}{{\"id\": {}, \"socket\": {}, \"cpus\": \"{}-{}\", \"memory\": {{\"blocks\": "
        "[{{\"size\": \"1GiB\"}}]}}}}",
        n ? ", " : "", n, n, n * cpus_per_node, (n + 1) * cpus_per_node - 1);
    links += fmt::format("{}{{\"between\": [{}, {}], \"latency\": \"60ns\"}}", n ? ", " : "", n,
                         (n + 1) % nodes);
  }
  return fmt::format(R"({{"name": "bench-{}x{}", "sockets": [{}], "nodes": [{}],
      "distance": {{"local_latency": "100ns", "links": [{}]}}}})",
                     nodes, cpus_per_node, sockets, node_list, links);
}

// A row: the run and both bare loops measured `repeats` times, alternating, each figure the
// median (a 2-CPU machine shared with other work makes single runs of ~10 ms noisy).
void row(const std::string& what, int repeats, const std::function<Figures()>& run,
         const std::function<Figures(std::uint64_t ops, bool staggered)>& bare) {
  std::vector<double> sims, lockstep, staggered;
  for (int i = 0; i < repeats; ++i) {
    const Figures f = run();
    sims.push_back(f.ops_per_second());
    lockstep.push_back(bare(f.ops, false).ops_per_second());
    staggered.push_back(bare(f.ops, true).ops_per_second());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double s = median(sims), l = median(lockstep), g = median(staggered);
  std::cout << fmt::format("{:<42} {:>10.0f} {:>10.0f} {:>6.2f}x {:>10.0f} {:>6.2f}x\n", what, s, l,
                           l > 0 ? s / l : 0, g, g > 0 ? s / g : 0);
}

}  // namespace

int main(int argc, char** argv) {
  // `machine_bench profile STRATEGY N`: only the default mixed scenario under STRATEGY, N times,
  // for a profiler (perf record build/tests/machine_bench profile slab_nodes 200).
  if (argc == 4 && std::string(argv[1]) == "profile") {
    const auto doc = sim::load_workload_document(std::string(sim::default_scenario));
    const auto machine = topology::load_topology(*workload::workload_topology(doc));
    const std::string text = doc.root.dump();
    Figures total;
    for (int i = 0, n = std::stoi(argv[3]); i < n; ++i) {
      const Figures f = run_workload(machine, text, argv[2]);
      total.ops += f.ops;
      total.seconds += f.seconds;
    }
    std::cout << fmt::format("{} ({}): {:.0f} simulated slab ops/host s\n", sim::default_scenario,
                             argv[2], total.ops_per_second());
    return 0;
  }
  std::cout << "# simulated slab operations per host second (medians), and the same number of\n"
               "# sleep_for calls in a bare loop, its CPUs in lockstep and staggered\n";
  std::cout << fmt::format("{:<42} {:>10} {:>10} {:>7} {:>10} {:>7}\n", "workload", "slabsim",
                           "lockstep", "ratio", "staggered", "ratio");

  // Fast-path dominated: objects freed on their CPU soon after allocation.
  const auto intel = topology::load_topology("two-socket-intel");
  const std::string fast = R"({"name": "fastpath", "duration": "20ms",
      "caches": [{"name": "c", "object_size": 64}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c",
                   "think_time": {"constant": "50ns"}, "lifetime": {"constant": "500ns"}}]})";
  row(
      "fast path (two-socket-intel, 16 CPUs)", 5,
      [&] { return run_workload(intel, fast, "slab_nodes_nocpu"); },
      [&](std::uint64_t ops, bool st) { return bare_loop(intel, ops, 50, st); });

  // The default mixed hotplug scenario, under both default strategies.
  const auto doc = sim::load_workload_document(std::string(sim::default_scenario));
  const auto qemu = topology::load_topology(*workload::workload_topology(doc));
  std::string text = doc.root.dump();
  for (const auto& st : sim::default_strategies)
    row(
        fmt::format("{} ({})", sim::default_scenario, st), 21,
        [&] { return run_workload(qemu, text, st); },
        [&](std::uint64_t ops, bool st) { return bare_loop(qemu, ops, 500, st); });

  // The same scenario with the other allocator models (v5.10 locking).
  for (const auto kind : {alloc::AllocatorKind::slab, alloc::AllocatorKind::slob}) {
    sim::RunOptions options;
    options.allocator = kind;
    row(
        fmt::format("{} (hotplug_lock, {})", sim::default_scenario, alloc::allocator_name(kind)),
        21, [&] { return run_workload(qemu, text, "hotplug_lock", nullptr, options); },
        [&](std::uint64_t ops, bool st) { return bare_loop(qemu, ops, 500, st); });
  }

  // A big machine: 1,024 CPUs on 32 nodes.
  const auto big = topology::load_topology(config::parse_json_document(big_machine(32, 32), "big"));
  const std::string big_work = R"({"name": "big", "duration": "200us",
      "caches": [{"name": "c", "object_size": 256}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c", "alloc_node_fraction": 0.1,
                   "target_node": "remote", "remote_free_fraction": 0.05,
                   "think_time": {"exponential": "200ns"}, "lifetime": {"exponential": "2us"}}]})";
  row(
      "1,024 CPUs x 32 nodes (200 us simulated)", 3,
      [&] { return run_workload(big, big_work, "slab_nodes_nocpu"); },
      [&](std::uint64_t ops, bool st) { return bare_loop(big, ops, 200, st); });

  // Host memory per live object: objects allocated and never freed during the run (lifetime
  // 1 s), so that every operation so far is a live object; the heap in use (glibc's count of
  // allocated bytes: slabs, the runner's pending frees, SimGrid) is read at the last progress
  // call of the run, against the heap before it.
  const std::size_t before = heap_in_use();
  std::size_t at_last = before;
  std::uint64_t live_then = 0, calls = 0;
  sim::RunOptions o;
  o.progress = [&](std::int64_t) {
    at_last = heap_in_use();
    live_then = ++calls * 100000;  // a call every 10^5 operations, all of them allocations
  };
  sim::RunMetrics live;
  run_workload(intel, R"({"name": "live", "duration": "2ms",
      "caches": [{"name": "c", "object_size": 64}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c", "max_live_per_cpu": 1000000,
                   "think_time": {"constant": "20ns"}, "lifetime": {"constant": "1s"}}]})",
               "slab_nodes_nocpu", &live, o);
  std::cout << fmt::format(
      "\nhost memory per live object: {:.1f} bytes (heap {:.1f} MiB for {} live objects)\n",
      live_then ? static_cast<double>(at_last - before) / static_cast<double>(live_then) : 0.0,
      static_cast<double>(at_last - before) / (1 << 20), live_then);
  return 0;
}
