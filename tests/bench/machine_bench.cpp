// Simulated slab operations (allocations + frees) per host second on the SimGrid machine, each
// row next to the floor of a plain SimGrid program with as many actors, with where the engine's
// time goes (its calls per operation), a scaling table over CPUs and live objects, and the host
// memory per live object. Prints figures; never fails on them (issue #16 sets the goals).
//
// The floor is plain s4u, no slabsim code: one actor per CPU, each on a host of its own, each
// calling this_actor::sleep_for() in a loop, at least 1 M steps in all; only Engine::run() is
// timed (the platform and the actors are built before). In lockstep every actor sleeps the same
// step, so one engine round serves all of them, SimGrid's cheapest pattern; staggered, actor k
// starts k + 1 ns late, so no two wake together. Goals are ratios to the lockstep floor, which is
// measured right before each repeat of a row: a row's ratio is the median of its repeats'.
//
// A slabsim row is the median of repeated runs. Its set-up (engine, hosts, boot of the caches,
// actors, the result) is measured apart, as the same machine and caches with a 1 us workload,
// and taken out of the rate; the row prints it as a share of the run.
#include <fmt/format.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// glibc's allocated bytes, the chunks it mapped apart (hblkhd: every block past the mmap
// threshold, such as a large vector of pending frees) included.
std::size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A size from /proc/self/status in MiB: "VmHWM" (peak resident) or "VmRSS" (resident now).
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    std::uint64_t kib = 0;
    if (std::sscanf(line.c_str(), (field + ": %" SCNu64 " kB").c_str(), &kib) == 1)
      return static_cast<double>(kib) / 1024;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The plain floor

// Steps per host second of `actors` plain s4u actors sleeping in a loop, median of 3.
double plain_floor_once(int actors, bool staggered) {
  namespace s4u = simgrid::s4u;
  const std::uint64_t per_actor =
      std::max<std::uint64_t>(1000, 1'000'000 / static_cast<std::uint64_t>(actors) + 1);
  s4u::Engine engine("floor");
  auto* zone = s4u::create_full_zone("floor");
  std::vector<s4u::Host*> hosts;
  for (int k = 0; k < actors; ++k)
    hosts.push_back(zone->create_host(fmt::format("h{}", k), 1.0)->seal());
  zone->seal();
  for (int k = 0; k < actors; ++k)
    s4u::Actor::create(fmt::format("a{}", k), hosts[static_cast<std::size_t>(k)],
                       [per_actor, staggered, k] {
                         if (staggered) s4u::this_actor::sleep_for(k + 1);
                         for (std::uint64_t i = 0; i < per_actor; ++i)
                           s4u::this_actor::sleep_for(50);
                       });
  const auto start = Clock::now();
  engine.run();
  return static_cast<double>(per_actor) * actors / seconds_since(start);
}

// The staggered floor, measured once per actor count (median of 3) and kept: every row with
// that many CPUs shares it. The lockstep floor, the goals' reference, is measured per repeat.
double staggered_floor(int actors) {
  static std::map<int, double> measured;
  auto it = measured.find(actors);
  if (it != measured.end()) return it->second;
  std::vector<double> stag;
  for (int i = 0; i < 3; ++i)
    stag.push_back(plain_floor_once(actors, true));
  return measured[actors] = median(stag);
}

// ---------------------------------------------------------------------------------------------
// slabsim runs

struct Run {
  std::uint64_t ops = 0;  // allocations + frees
  double seconds = 0;     // the whole run_simulation()
  sim::RunMetrics metrics;
};

Run run_workload(const topology::Topology& machine, const nlohmann::json& workload,
                 const std::string& strategy, sim::RunOptions options = {}) {
  const auto w = workload::load_workload(
      config::parse_json_document(workload.dump(), "bench workload"), machine);
  const auto st = strategy::load_strategy(strategy);
  const auto start = Clock::now();
  Run r;
  r.metrics = sim::run_simulation(machine, w, st, options);
  r.seconds = seconds_since(start);
  r.ops = r.metrics.allocations + r.metrics.frees;
  return r;
}

// The same machine and caches, one idle thread per CPU, 1 us, no events: what a run costs
// before and after its operations.
double setup_seconds(const topology::Topology& machine, const nlohmann::json& workload,
                     const std::string& strategy, const sim::RunOptions& options) {
  nlohmann::json idle = {{"name", "setup"},
                         {"duration", "1us"},
                         {"caches", workload.at("caches")},
                         {"threads",
                          {{{"name", "idle"},
                            {"cpus", "all"},
                            {"cache", workload.at("caches").at(0).at("name")},
                            {"think_time", {{"constant", "1ms"}}},
                            {"lifetime", {{"constant", "1us"}}}}}}};
  std::vector<double> s;
  for (int i = 0; i < 3; ++i)
    s.push_back(run_workload(machine, idle, strategy, options).seconds);
  return median(s);
}

struct Row {
  std::string what;
  const topology::Topology* machine;
  nlohmann::json workload;
  std::string strategy;
  sim::RunOptions options;
  int repeats;
  double goal = 0;  // against the lockstep floor; 0: none
  // Called right before and after each timed run, between the floors' own SimGrid programs.
  std::function<void()> before_run = [] {};
  std::function<void()> after_run = [] {};
};

void print_header() {
  std::cout << fmt::format(
      "{:<40} {:>5} {:>11} {:>6} {:>10} {:>7} {:>10} {:>7} {:>6} {:>7} {:>8} {:>7} "
      "{:>7} {:>7}\n",
      "workload", "CPUs", "ops/s", "setup", "floor", "ratio", "staggered", "ratio", "goal",
      "sleeps", "handoffs", "skipped", "parks", "wakes");
}

// Prints the row; returns its last run.
Run print_row(const Row& row) {
  const int cpus = static_cast<int>(row.machine->cpu_ids().size());
  const double setup = setup_seconds(*row.machine, row.workload, row.strategy, row.options);
  // Each repeat next to a lockstep floor measured just before it: the host's speed drifts by a
  // third within a bench run on this machine, and a floor measured minutes apart from its row
  // moved the ratio by as much.
  std::vector<double> rates, shares, floors, ratios;
  Run last;
  for (int i = 0; i < row.repeats; ++i) {
    floors.push_back(plain_floor_once(cpus, false));
    row.before_run();
    last = run_workload(*row.machine, row.workload, row.strategy, row.options);
    row.after_run();
    rates.push_back(static_cast<double>(last.ops) / std::max(1e-9, last.seconds - setup));
    shares.push_back(setup / last.seconds);
    ratios.push_back(rates.back() / floors.back());
  }
  const double staggered = staggered_floor(cpus);
  const double rate = median(rates);
  const double ratio = median(ratios);
  const auto per_op = [&](std::uint64_t n) {
    return static_cast<double>(n) / static_cast<double>(std::max<std::uint64_t>(1, last.ops));
  };
  // A run that is mostly set-up leaves a difference of two close times: no rate.
  const bool measurable = median(shares) < 0.5;
  const std::string goal =
      row.goal > 0
          ? fmt::format("{:.0f}x {}", row.goal, measurable && ratio >= row.goal ? "met" : "no")
          : "";
  const auto shown = [&](double v, const char* unit) {
    return measurable ? fmt::format("{:.{}f}{}", v, *unit ? 2 : 0, unit) : std::string("-");
  };
  std::cout << fmt::format(
                   "{:<40} {:>5} {:>11} {:>5.1f}% {:>10.0f} {:>7} {:>10.0f} {:>7} "
                   "{:>6} {:>7.3f} {:>8.3f} {:>7.3f} {:>7.3f} {:>7.3f}\n",
                   row.what, cpus, shown(rate, ""), 100 * median(shares), median(floors),
                   shown(ratio, "x"), staggered, shown(rate / staggered, "x"), goal,
                   per_op(last.metrics.engine_sleeps), per_op(last.metrics.engine_handoffs),
                   per_op(last.metrics.skipped_sleeps), per_op(last.metrics.engine_parks),
                   per_op(last.metrics.engine_releases))
            << std::flush;
  return last;
}

// Runs this program again as `machine_bench ARGS...`, in a process of its own, and waits for it:
// what it measures of the host's memory is then a fresh process's (a forked child's resident size
// and peak carried what the parent had touched before the fork: 81 to 101 MiB by the time of the
// live-object rows). Its output goes to the same stdout.
void in_fresh_process(const std::vector<std::string>& args) {
  std::cout << std::flush;
  std::vector<std::string> words = {"machine_bench"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int status = 0;
  if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0 ||
      ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::cout << "(the measurement's process failed)\n";
}

// In the measuring process: a fixed mmap threshold keeps SimGrid's actor stacks (posix_memalign,
// 512 KiB) out of the heap count (glibc raises the threshold as mapped blocks are freed).
void fix_mmap_threshold() {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

// ---------------------------------------------------------------------------------------------
// Machines and workloads

topology::Topology big_machine(int nodes, int cpus_per_node) {
  nlohmann::json sockets = nlohmann::json::array(), node_list = nlohmann::json::array(),
                 links = nlohmann::json::array();
  for (int n = 0; n < nodes; ++n) {
    sockets.push_back({{"id", n}});
    node_list.push_back(
        {{"id", n},
         {"socket", n},
         {"cpus", fmt::format("{}-{}", n * cpus_per_node, (n + 1) * cpus_per_node - 1)},
         {"memory", {{"blocks", {{{"size", "1GiB"}}}}}}});
    // A ring: each node linked to the next, the last to the first (one link for two nodes).
    if (n + 1 < nodes || nodes > 2)
      links.push_back({{"between", {n, (n + 1) % nodes}}, {"latency", "60ns"}});
  }
  nlohmann::json distance = {{"local_latency", "100ns"}};
  if (nodes > 1) distance["links"] = links;
  const nlohmann::json machine = {{"name", fmt::format("bench-{}x{}", nodes, cpus_per_node)},
                                  {"sockets", sockets},
                                  {"nodes", node_list},
                                  {"distance", distance}};
  return topology::load_topology(config::parse_json_document(machine.dump(), "bench machine"));
}

// Allocation-heavy load on every CPU: a tenth of the allocations for a remote node, 5% remote
// frees, objects living `lifetime_ns` on average, at most `max_live` per CPU.
nlohmann::json mixed_work(std::int64_t duration_ns, std::int64_t lifetime_ns, int max_live = 4096) {
  return {{"name", "mixed"},
          {"duration", fmt::format("{}ns", duration_ns)},
          {"caches", {{{"name", "c"}, {"object_size", 256}}}},
          {"threads",
           {{{"name", "t"},
             {"cpus", "all"},
             {"cache", "c"},
             {"alloc_node_fraction", 0.1},
             {"target_node", "remote"},
             {"remote_free_fraction", 0.05},
             {"max_live_per_cpu", max_live},
             {"think_time", {{"exponential", "200ns"}}},
             {"lifetime", {{"exponential", fmt::format("{}ns", lifetime_ns)}}}}}}};
}

// Host memory per live object: objects allocated and never freed during the run (lifetime
// 1 s), so that every operation is a new live object; the heap in use (glibc's count of
// allocated bytes, mapped blocks included: slabs, the runner's pending frees, SimGrid) is read
// at each progress call (every 10^5 operations). Per object: the slope of a least-squares line
// through those readings (vectors grow by doubling, so two readings alone would catch a step);
// what a run holds whatever its objects (the engine, actor stacks, the metrics' time buckets) is
// the line at zero.
void print_memory_per_object(const topology::Topology& intel) {
  const double before = static_cast<double>(heap_in_use());
  std::vector<double> heap;  // the growth at the k-th call, k = 1, 2, ...
  sim::RunOptions o;
  o.progress = [&](std::int64_t) { heap.push_back(static_cast<double>(heap_in_use()) - before); };
  run_workload(intel, nlohmann::json::parse(R"({"name": "live", "duration": "10ms",
      "caches": [{"name": "c", "object_size": 64}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c", "max_live_per_cpu": 1000000,
                   "think_time": {"constant": "20ns"}, "lifetime": {"constant": "1s"}}]})"),
               "slab_nodes_nocpu", o);
  const double n = static_cast<double>(heap.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t k = 0; k < heap.size(); ++k) {
    const double x = static_cast<double>((k + 1) * sim::RunOptions::progress_every);
    sx += x, sy += heap[k], sxx += x * x, sxy += x * heap[k];
  }
  const double slope = n > 1 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0.0;
  const double fixed = n > 0 ? (sy - slope * sx) / n : 0.0;
  std::cout << fmt::format(
      "\nhost memory per live object: {:.1f} bytes (goal 32; {:.0f} readings up to {:.0f} "
      "objects), plus {:.1f} MiB a run holds whatever its objects\n",
      slope, n, n * static_cast<double>(sim::RunOptions::progress_every), fixed / (1 << 20));
}

// Sets this process's peak resident size (VmHWM) back to its resident size now (clear_refs "5",
// Linux 4.0). False if the kernel refused.
bool reset_peak_resident() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5" << std::flush;
  return static_cast<bool>(clear_refs);
}

// One live-object row on 1,024 CPUs x 32 nodes, with the peak resident size of this process,
// which runs nothing else (`machine_bench live N`, from in_fresh_process()). Up to 10^6 the
// CPUs hold about `live` objects: lifetimes are exponential with a mean of 1.25 ns per object
// (1,024 CPUs allocate about 0.8 objects a ns together), each CPU allocating with 10% remote and
// freeing 5% remotely as in mixed_work(), for twice that mean and 2 ms at least, so that
// operations and not the set-up take the run's time (filling 10^4 objects took 13 us of simulated
// time, 66 to 99.5% of the run's host time set-up). 10^7 are filled in: nothing is freed
// (lifetime 1 s), for 1.3 ns of simulated time per object. The live objects are counted at the
// end of the run.
void print_live_row(std::int64_t live, double at_start) {
  const auto big = big_machine(32, 32);
  const bool fill_in = live >= 10'000'000;
  auto work = fill_in ? mixed_work(live * 13 / 10, 1'000'000'000, 1'000'000)
                      : mixed_work(std::max<std::int64_t>(2'000'000, live * 5 / 2), live * 5 / 4,
                                   1'000'000);
  if (fill_in) {
    work["threads"][0]["remote_free_fraction"] = 0;
    work["threads"][0]["lifetime"] = {{"constant", "1s"}};
  }
  // The floors' own SimGrid programs (1,024 actors) run in this process too, before and after
  // the run: the peak is reset right before it and read right after it.
  double before = 0, peak = 0;
  bool reset = true;
  Row row{fmt::format("1,024 CPUs, {} {:.0e} objects", fill_in ? "filling" : "holding",
                      static_cast<double>(live)),
          &big,
          work,
          "slab_nodes_nocpu",
          {},
          1};
  row.before_run = [&] {
    reset = reset_peak_resident() && reset;
    before = status_mib("VmRSS");
  };
  row.after_run = [&] { peak = status_mib("VmHWM"); };
  const Run r = print_row(row);
  std::cout << fmt::format(
      "  {} live at the end; peak host memory {:.0f} MiB{}, {:.0f} MiB over the resident size "
      "right before it (the process started at {:.0f} MiB)\n",
      r.metrics.allocations - r.metrics.frees, peak,
      reset ? " during the run" : " (since the process started: VmHWM could not be reset)",
      peak - before, at_start);
}

// A positive whole number from the command line, or a usage error (exit status 2).
std::int64_t count_argument(const char* text) {
  std::int64_t n = 0;
  const char* end = text + std::strlen(text);
  const auto [at, error] = std::from_chars(text, end, n);
  if (error != std::errc{} || at != end || n <= 0) {
    std::cerr << "machine_bench: expected a positive whole number, not '" << text << "'\n";
    std::exit(2);
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  // `machine_bench memory`: only the host memory per live object.
  // `machine_bench profile ROW N`: only the first headline row whose name contains ROW, its run
  // N times, for a profiler (perf record build/tests/machine_bench profile "slab)" 30).
  // `machine_bench live N`: only the row of N live objects on 1,024 CPUs.
  // `memory` and `live` are what the whole bench runs in processes of their own
  // (in_fresh_process()).
  if (argc == 2 && std::string(argv[1]) == "memory") {
    fix_mmap_threshold();
    print_memory_per_object(topology::load_topology("two-socket-intel"));
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "live") {
    const double at_start = status_mib("VmRSS");
    fix_mmap_threshold();
    print_live_row(count_argument(argv[2]), at_start);
    return 0;
  }
  const bool profile = argc == 4 && std::string(argv[1]) == "profile";
  if (argc > 1 && !profile) {
    std::cerr << "usage: machine_bench [memory | live N | profile ROW N]\n";
    return 2;
  }
  if (!profile)
    std::cout
        << "# ops/s: simulated allocations + frees per host second, set-up excluded (setup: its\n"
           "# share of a whole run), median of repeats. floor: a plain SimGrid s4u program with\n"
           "# one actor per CPU, sleep_for in a loop, >= 1 M steps, Engine::run() timed; its\n"
           "# actors in lockstep (floor, the goals' reference, measured before each repeat; "
           "ratio:\n"
           "# the median of the repeats' ratios) and staggered. Engine calls per\n"
           "# operation: sleeps through SimGrid's clock (none with lookahead), hand-overs from\n"
           "# one CPU's actor to another's (one fiber switch each), waits that ended with\n"
           "# no hand-over (no switch), parks (a blocked lock waiter) and wakes.\n"
           "# -: set-up is half the run or more, what is left too small to give a rate.\n";
  if (!profile) print_header();

  const auto intel = topology::load_topology("two-socket-intel");
  const nlohmann::json fast = nlohmann::json::parse(R"({"name": "fastpath", "duration": "50ms",
      "caches": [{"name": "c", "object_size": 64}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c",
                   "think_time": {"constant": "50ns"}, "lifetime": {"constant": "500ns"}}]})");
  const auto doc = sim::load_workload_document(std::string(sim::default_scenario));
  const auto qemu = topology::load_topology(*workload::workload_topology(doc));
  const auto big = big_machine(32, 32);
  sim::RunOptions slab, slob;
  slab.allocator = alloc::AllocatorKind::slab;
  slob.allocator = alloc::AllocatorKind::slob;

  const std::vector<Row> rows = {
      {"fast path (two-socket-intel)", &intel, fast, "slab_nodes_nocpu", {}, 5, 15},
      {"node-online (hotplug_lock)", &qemu, doc.root, "hotplug_lock", {}, 15, 3},
      {"node-online (slab_nodes)", &qemu, doc.root, "slab_nodes", {}, 15, 3},
      {"node-online (hotplug_lock, slab)", &qemu, doc.root, "hotplug_lock", slab, 5, 1},
      {"node-online (hotplug_lock, slob)", &qemu, doc.root, "hotplug_lock", slob, 3, 1},
      {"1,024 CPUs x 32 nodes (5 ms)",
       &big,
       mixed_work(5'000'000, 2'000),
       "slab_nodes_nocpu",
       {},
       3,
       3},
  };
  if (profile) {
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const Row& r) {
      return r.what.find(argv[2]) != std::string::npos;
    });
    if (row == rows.end()) {
      std::cerr << "machine_bench: no row named like '" << argv[2] << "'\n";
      return 2;
    }
    Run total;
    for (std::int64_t i = 0, n = count_argument(argv[3]); i < n; ++i) {
      const Run r = run_workload(*row->machine, row->workload, row->strategy, row->options);
      total.ops += r.ops;
      total.seconds += r.seconds;
    }
    std::cout << fmt::format("{}: {:.0f} simulated slab ops/host s\n", row->what,
                             static_cast<double>(total.ops) / total.seconds);
    return 0;
  }
  for (const auto& row : rows)
    print_row(row);

  // Scaling: the same mixed load on machines of 4 to 1,024 CPUs (about 2 M operations each),
  // then on 1,024 CPUs with 10^4 to 10^7 objects live (lifetime = live per CPU x think time).
  std::cout
      << std::flush
      << "\n# scaling: the mixed load (think 200 ns, 10% remote allocations, 5% remote frees)\n";
  print_header();
  for (const int nodes : {2, 4, 8, 16, 32}) {
    const auto machine = nodes == 32 ? big : big_machine(nodes, nodes);
    const int cpus = nodes * nodes;
    print_row({fmt::format("{} CPUs x {} nodes", cpus, nodes),
               &machine,
               mixed_work(400'000'000 / cpus, 2'000),
               "slab_nodes_nocpu",
               {},
               3});
  }
  // Each in a process of its own (print_live_row()), which reports its peak resident size.
  for (const char* live : {"10000", "100000", "1000000", "10000000"})
    in_fresh_process({"live", live});

  in_fresh_process({"memory"});
  return 0;
}
