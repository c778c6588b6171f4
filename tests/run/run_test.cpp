// Whole runs on the SimGrid machine: determinism, consistency of the metrics, and the
// behaviours the strategy comparison exists to show.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>

#include "allocator/make_allocator.hpp"
#include "config/json_document.hpp"
#include "kernel/jiffies.hpp"
#include "kernel/kernel_locks.hpp"
#include "run/result.hpp"
#include "run/runner.hpp"
#include "run/scenarios.hpp"
#include "run/simulation_run.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::sim {
namespace {

struct Loaded {
  topology::Topology machine;
  config::JsonDocument document;
  workload::Workload workload;
};

Loaded load(const config::JsonDocument& doc) {
  Loaded l;
  l.document = doc;
  l.machine = topology::load_topology(*workload::workload_topology(doc));
  l.workload = workload::load_workload(doc, l.machine);
  return l;
}
Loaded load(const std::string& scenario) {
  return load(load_workload_document(scenario));
}

RunMetrics run(const Loaded& l, const std::string& strategy, std::uint64_t seed = 1) {
  RunOptions o;
  o.seed = seed;
  return run_simulation(l.machine, l.workload, strategy::load_strategy(strategy), o);
}

// The result document of metrics `m` of a run of `l` under `st` (seed 1), without its host block.
nlohmann::json result_of(const Loaded& l, const alloc::Strategy& st, RunMetrics m,
                         alloc::AllocatorKind allocator = alloc::AllocatorKind::slub) {
  auto p = std::make_shared<PreparedRun>();
  p->machine = l.machine;
  p->workload_document = l.document;
  p->workload = l.workload;
  p->strategy = st;
  p->settings.allocator = allocator;
  p->settings.seed = 1;
  auto j = result_json(RunOutcome{p, std::move(m), 1.0});
  j.erase("host");
  return j;
}

std::string result_without_host(const Loaded& l, const std::string& strategy,
                                bool lookahead = true) {
  const auto st = strategy::load_strategy(strategy);
  RunOptions o;
  o.lookahead = lookahead;
  return result_of(l, st, run_simulation(l.machine, l.workload, st, o)).dump();
}

TEST(Run, SameInputsAndSeedGiveIdenticalBytes) {
  const Loaded l = load("node-online");
  EXPECT_EQ(result_without_host(l, "hotplug_lock"), result_without_host(l, "hotplug_lock"));
  EXPECT_NE(result_without_host(l, "hotplug_lock"), result_without_host(l, "slab_nodes"));
  RunOptions other;
  other.seed = 7;
  const auto st = strategy::load_strategy("slab_nodes");
  EXPECT_NE(result_of(l, st, run(l, "slab_nodes", 1))["metrics"],
            result_of(l, st, run(l, "slab_nodes", 7))["metrics"])
      << "the seed changes the workload's random draws";
}

class EveryScenario : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Scenarios, EveryScenario, ::testing::ValuesIn(scenario_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The engine's lookahead only saves SimGrid work: with it and without it, a run gives the same
// bytes under every preset, while it skips many of the sleeps. Ties included: waits that end at
// the same nanosecond end in the order they were registered, with or without lookahead, so
// remote-heavy (a list_lock handed over at the very nanosecond another CPU asks for it) and
// online-offline-cycles (events scheduled at the same instant race for slab_mutex) are checked
// too. (Under SimGrid's own tie order they could differ.)
// The sanitizer pass looks for memory errors, which one scenario under every preset exercises
// as well as six (at ten times the cost of each run); the main build compares all six.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t lookahead_scenarios = 1;
#else
constexpr std::size_t lookahead_scenarios = 6;
#endif

TEST(Run, LookaheadChangesNothing) {
  static constexpr std::array<const char*, 6> scenarios = {"node-online",  "steady-local",
                                                           "movable-only", "cpuless-alloc-node",
                                                           "remote-heavy", "online-offline-cycles"};
  for (std::size_t i = 0; i < lookahead_scenarios; ++i) {
    const char* scenario = scenarios[i];
    const Loaded l = load(scenario);
    for (const auto& preset : alloc::strategy_presets()) {
      SCOPED_TRACE(fmt::format("{} under {}", scenario, preset.name));
      EXPECT_EQ(result_without_host(l, preset.name, true),
                result_without_host(l, preset.name, false));
    }
    RunOptions with, without;
    without.lookahead = false;
    const auto st = strategy::load_strategy("slab_nodes");
    const RunMetrics a = run_simulation(l.machine, l.workload, st, with);
    const RunMetrics b = run_simulation(l.machine, l.workload, st, without);
    EXPECT_EQ(b.skipped_sleeps, 0u) << scenario;
    EXPECT_GT(a.skipped_sleeps, 0u) << scenario;
    EXPECT_LT(a.engine_sleeps, b.engine_sleeps) << scenario;
  }
}

// numastat counts every page allocation once (hit or miss) and SLUB counts every new slab once
// (ALLOC_SLAB); objects allocated minus freed are exactly those the slabs hold.
TEST_P(EveryScenario, MetricsAreConsistent) {
  const Loaded l = load(GetParam());
  for (const char* strategy : {"hotplug_lock", "slab_nodes_nocpu"}) {
    SCOPED_TRACE(strategy);
    const RunMetrics m = run(l, strategy);
    std::uint64_t pages = 0;
    for (const auto& n : m.numastat)
      pages += n.numa_hit + n.numa_miss;
    EXPECT_EQ(pages, m.slab_pages_allocated);
    std::uint64_t in_use = 0;
    for (const auto& c : m.caches) {
      EXPECT_EQ(c.allocations - c.frees, c.objects_in_use) << c.name;
      in_use += c.objects_in_use;
    }
    EXPECT_EQ(m.allocations - m.frees, in_use);
    EXPECT_GT(m.allocations, 1000u);
    // Hotplug operations started before the end run to completion.
    EXPECT_GE(m.simulated_ns, l.workload.duration_ns);
    EXPECT_FALSE(m.deadlock);
    for (const auto& v : m.violations)
      ADD_FAILURE() << v.function << ": " << v.what;
  }
}

// The same consistency under SLAB and SLOB: numastat counts every page allocation of the
// allocator (SLAB: a slab grown; SLOB: a page), and objects allocated minus freed are exactly
// those the allocator holds as in use. SLAB finds nothing wrong in any scenario; SLOB only the
// node-specific allocations for a node that is not online yet, which would oops a SLOB kernel.
TEST_P(EveryScenario, MetricsAreConsistentUnderSlabAndSlob) {
  const Loaded l = load(GetParam());
  for (const auto allocator : {alloc::AllocatorKind::slab, alloc::AllocatorKind::slob}) {
    SCOPED_TRACE(alloc::allocator_name(allocator));
    RunOptions o;
    o.allocator = allocator;
    const RunMetrics m =
        run_simulation(l.machine, l.workload, strategy::load_strategy("slab_nodes_nocpu"), o);
    EXPECT_EQ(m.allocator, allocator);
    std::uint64_t pages = 0;
    for (const auto& n : m.numastat)
      pages += n.numa_hit + n.numa_miss;
    EXPECT_EQ(pages, m.slab_pages_allocated);
    for (const auto& c : m.caches)
      EXPECT_EQ(c.allocations - c.frees, c.objects_in_use) << c.name;
    EXPECT_GT(m.allocations, 1000u);
    EXPECT_FALSE(m.alloc_node_mismatch) << "a SLUB counter";
    EXPECT_FALSE(m.deadlock);
    for (const auto& v : m.violations)
      if (allocator == alloc::AllocatorKind::slab || v.function != "slob_new_pages")
        ADD_FAILURE() << v.function << ": " << v.what;
  }
}

// SLAB's cache_reap() runs on every CPU each REAPTIMEOUT_AC: never within a run of milliseconds
// at the kernel's 2 s, and draining free slabs once a workload's "kernel" object shortens it.
TEST(Run, SlabReapsAtTheWorkloadsInterval) {
  auto doc = load_workload_document("remote-heavy");
  const auto reaped = [](const RunMetrics& m) {
    std::uint64_t total = 0;
    for (const auto& c : m.caches)
      for (const auto& [name, value] : c.counters)
        if (name == "reaped") total += value;
    return total;
  };
  RunOptions o;
  o.allocator = alloc::AllocatorKind::slab;
  const auto st = strategy::load_strategy("slab_nodes_nocpu");
  const Loaded kernel_default = load(doc);
  EXPECT_EQ(reaped(run_simulation(kernel_default.machine, kernel_default.workload, st, o)), 0u);
  doc.root["kernel"] = {{"slab_reap_interval", "200us"}};
  const Loaded fast = load(doc);
  ASSERT_EQ(fast.workload.kernel.slab_reap_interval_ns, 200'000);
  EXPECT_GT(reaped(run_simulation(fast.machine, fast.workload, st, o)), 0u);
}

TEST(Run, EveryAllocatorIsDeterministicAndDifferent) {
  const Loaded l = load("node-online");
  const auto st = strategy::load_strategy("hotplug_lock");
  std::vector<std::string> results;
  for (const auto& [kind, description] : alloc::allocator_kinds()) {
    RunOptions o;
    o.allocator = kind;
    auto bytes = [&] {
      auto j = result_of(l, st, run_simulation(l.machine, l.workload, st, o), kind);
      EXPECT_EQ(j["config"]["allocator"], alloc::allocator_name(kind));
      return j.dump();
    };
    results.push_back(bytes());
    EXPECT_EQ(results.back(), bytes()) << alloc::allocator_name(kind);
  }
  EXPECT_NE(results[0], results[1]);
  EXPECT_NE(results[1], results[2]);
}

// A node onlined mid-run: alloc_node() callers fall back to NUMA_NO_NODE until the online is
// over (its grace period and its work), and get objects on that node after, under both
// strategies.
TEST(Run, NodeOnlinedMidRunIsUsedAfterwards) {
  const Loaded l = load("node-online");
  for (const char* strategy : {"hotplug_lock", "slab_nodes"}) {
    SCOPED_TRACE(strategy);
    const RunMetrics m = run(l, strategy);
    std::uint64_t before_fallbacks = 0, before_on2 = 0, after_on2 = 0;
    std::int64_t online_done = 0;
    for (const auto& h : m.hotplug)
      if (h.type == HotplugType::memory_online && h.result == 0)
        online_done = std::max(online_done, h.start_ns + h.duration_ns);
    const std::int64_t width = l.workload.duration_ns / static_cast<std::int64_t>(m.buckets.size());
    for (const auto& b : m.buckets) {
      if (b.start_ns + width <= online_done) {
        before_fallbacks += b.fallbacks;
        before_on2 += b.allocations_by_node[2];
      } else if (b.start_ns >= online_done) {
        after_on2 += b.allocations_by_node[2];
      }
    }
    EXPECT_GT(before_fallbacks, 0u);
    EXPECT_EQ(before_on2, 0u);
    EXPECT_GT(after_on2, 0u);
  }
}

// offline_pages() (v5.10, v5.12, v6.1) on the SimGrid machine, while the other CPUs keep
// allocating: start_isolate_page_range() comes before MEM_GOING_OFFLINE, so from then on no slab
// page can land on the block. At MEM_GOING_OFFLINE it is isolated and holds no slab page, and an
// offline that got past the isolation ends offline or is vetoed by a notifier, never -EBUSY.
TEST(Run, OfflinePastIsolationNeverFailsBusy) {
  const Loaded l = load("online-offline-cycles");
  for (const char* strategy : {"hotplug_lock", "slab_nodes"}) {
    SCOPED_TRACE(strategy);
    RunOptions o;
    o.seed = 1;
    SimulationRun run(l.machine, l.workload, strategy::load_strategy(strategy), o);
    const alloc::PageAllocator& pages = run.machine().pages();
    std::map<int, int> offlining;  // event CPU -> block it offlines
    std::map<int, bool> isolated;  // event CPU -> its offline got past isolation
    int past_isolation = 0, succeeded = 0;
    run.operation_signals().begun.connect([&](const OperationBegun& b) {
      int node = 0, block = 0;
      if (std::sscanf(b.name.c_str(), "memory_offline node %d block %d", &node, &block) != 2)
        return;
      offlining[b.cpu] = block;
      isolated[b.cpu] = false;
    });
    run.operation_signals().hotplug_step.connect([&](const HotplugStepReached& s) {
      const auto it = offlining.find(s.cpu);
      if (it == offlining.end()) return;
      if (s.step == alloc::HotplugStep::isolated) {
        isolated[s.cpu] = true;
        ++past_isolation;
      }
      if (s.step == alloc::HotplugStep::going_offline_notified) {
        EXPECT_TRUE(pages.block_isolated(it->second));
        EXPECT_EQ(pages.unmovable_pages(it->second), 0u);
      }
    });
    run.operation_signals().ended.connect([&](const OperationEnded& e) {
      const auto it = offlining.find(e.cpu);
      if (it == offlining.end()) return;
      if (isolated[e.cpu]) {
        EXPECT_NE(e.result, -alloc::ebusy) << "block " << it->second;
        succeeded += e.result == 0;
      }
      EXPECT_FALSE(pages.block_isolated(it->second)) << "isolation left behind";
      offlining.erase(it);
    });
    const RunMetrics m = run.play();
    ASSERT_FALSE(m.deadlock);
    EXPECT_GT(past_isolation, 0);
    EXPECT_GT(succeeded, 0);
  }
}

const LockClassStats* find_class(const RunMetrics& m, const std::string& name) {
  for (const auto& c : m.lock_waits)
    if (c.name == name) return &c;
  return nullptr;
}

// With the hotplug lock, cache create/destroy take mem_hotplug_lock for read and wait for the
// hotplug writer; with slab_nodes they never touch it.
TEST(Run, CreateAndDestroyWaitOnTheHotplugLockOnlyUnderHotplugLock) {
  const Loaded l = load("node-online");
  const RunMetrics v510 = run(l, "hotplug_lock");
  const auto* mems = find_class(v510, "mem_hotplug_lock");
  ASSERT_NE(mems, nullptr);
  EXPECT_GT(mems->read_holdtime.nr, 0u);
  EXPECT_GT(mems->read_waittime.total, 0) << "a reader waited for the hotplug writer";
  const RunMetrics v512 = run(l, "slab_nodes");
  const auto* mems512 = find_class(v512, "mem_hotplug_lock");
  ASSERT_NE(mems512, nullptr);
  EXPECT_EQ(mems512->read_holdtime.nr, 0u) << "slab_nodes never calls get_online_mems()";
  EXPECT_GT(mems512->write_holdtime.nr, 0u);
}

// The metrics over time resolve the going-online window, where the strategies differ, and say who
// waited for which lock when: every wait of lock_waits, cut at the bucket edges, and v5.10's cache
// creations waiting for mem_hotplug_lock only while the online holds it.
TEST(Run, TimeBucketsResolveTheGoingOnlineWindowAndRecordWhoWaits) {
  const Loaded l = load("node-online");
  for (const char* strategy : {"hotplug_lock", "slab_nodes"}) {
    SCOPED_TRACE(strategy);
    const RunMetrics m = run(l, strategy);
    const std::int64_t width = m.bucket_width_ns;
    ASSERT_GT(width, 0);
    EXPECT_GE(l.workload.duration_ns / width, 100);
    for (std::int64_t window : hotplug_windows_ns(m.hotplug))
      EXPECT_GE(window, 4 * width);
    ASSERT_FALSE(m.buckets.empty());
    EXPECT_LE(m.buckets.back().start_ns, m.simulated_ns);
    EXPECT_GT(m.buckets.back().start_ns + width, m.simulated_ns) << "buckets cover the run";
    std::uint64_t allocations = 0;
    for (std::size_t b = 0; b < m.buckets.size(); ++b) {
      EXPECT_EQ(m.buckets[b].start_ns, static_cast<std::int64_t>(b) * width);
      allocations += m.buckets[b].remote_alloc.total;
    }
    EXPECT_EQ(allocations, m.allocations);
    for (const auto& c : m.lock_waits) {
      std::int64_t over_time = 0;
      std::uint64_t waits = 0;
      for (const auto& b : m.buckets)
        for (const auto& w : b.lock_waits)
          if (alloc::lock_class_name(w.cls) == c.full_name()) {
            over_time += w.wait_ns;
            waits += w.waits;
          }
      EXPECT_EQ(over_time, c.read_waittime.total + c.write_waittime.total) << c.name;
      EXPECT_LE(waits, c.read_waittime.nr + c.write_waittime.nr) << c.name;
    }
    const HotplugRecord& online = m.hotplug.at(0);
    std::int64_t creations_waited = 0;
    for (const auto& b : m.buckets)
      for (const auto& w : b.lock_waits)
        if (w.cls == LockClass::mem_hotplug_lock &&
            std::string_view(w.function) == "kmem_cache_create") {
          creations_waited += w.wait_ns;
          EXPECT_GE(b.start_ns + width, online.steps.front().at_ns);
          EXPECT_LE(b.start_ns, online.start_ns + online.duration_ns);
        }
    if (std::string_view(strategy) == "hotplug_lock") {
      EXPECT_GT(creations_waited, 100'000);
    } else {
      EXPECT_EQ(creations_waited, 0);
    }
  }
}

// A 1 us workload whose hotplug waits a grace period of milliseconds runs thousands of times past
// its duration: its buckets widen instead of growing without bound (found by fuzz_run), and the
// result says which width it used.
TEST(Run, ARunFarPastItsDurationWidensItsBuckets) {
  const auto doc = config::parse_json_document(R"({
    "name": "short", "topology": "qemu-2node-hotplug", "duration": "1us", "time_bucket": "1ns",
    "caches": [{"name": "c", "object_size": 64}],
    "events": [{"at": "0ns", "memory_online": {"node": 2, "blocks": 1}}]})",
                                               "short.json");
  const Loaded l = load(doc);
  ASSERT_EQ(l.workload.time_bucket_ns, 1);
  const RunMetrics m = run(l, "slab_nodes");
  ASSERT_GT(m.simulated_ns, 1'000'000) << "the online waits its grace period";
  EXPECT_LE(static_cast<std::int64_t>(m.buckets.size()), max_recorded_buckets(1'000, 1));
  EXPECT_GT(m.bucket_width_ns, 1);
  EXPECT_EQ(m.bucket_width_ns % 10, 0);
  EXPECT_GT(m.buckets.back().start_ns + m.bucket_width_ns, m.simulated_ns);
}

TEST(Run, ANamedTimeBucketIsKept) {
  const Loaded l = load("node-online");
  RunOptions o;
  o.time_bucket_ns = 1'000'000;
  const RunMetrics m =
      run_simulation(l.machine, l.workload, strategy::load_strategy("slab_nodes"), o);
  EXPECT_EQ(m.bucket_width_ns, 1'000'000);
  EXPECT_EQ(static_cast<std::int64_t>(m.buckets.size()), m.simulated_ns / 1'000'000 + 1);
}

// The 03afc0e25f7f race in a full run: caches created all through a node's onlining. Under
// mutex_only one lands between the GOING_ONLINE callback and node_states_set_node() and misses
// the node; the hotplug lock makes creation wait; slab_nodes gives the cache the node. Each cache
// has a constructor, as many module caches do: otherwise each would merge into the first one
// (__kmem_cache_alias()) and make no kmem_cache_node at all.
TEST(Run, CachesCreatedDuringOnliningRaceOnlyUnderMutexOnly) {
  std::string caches, events;
  for (int i = 0; i < 40; ++i) {
    caches += fmt::format(
        R"(, {{"name": "late{}", "object_size": 64, "flags": ["ctor"], "at_boot": false}})", i);
    // Every 50 us across mutex_only's window (about 1.65-1.86 ms: no grace period) and the
    // percpu rw-semaphore strategies' (about 16.65-16.86 ms, after the hot-add's grace period).
    events += fmt::format(R"(, {{"at": "{}us", "cache_create": {{"cache": "late{}"}}}})",
                          i < 20 ? 1000 + 50 * i : 16000 + 50 * (i - 20), i);
  }
  const std::string text = fmt::format(R"({{
      "name": "race", "topology": "qemu-2node-hotplug", "duration": "20ms",
      "caches": [{{"name": "base", "object_size": 128}}{}],
      "threads": [{{"name": "t", "cpus": "all", "cache": "base",
                    "think_time": {{"constant": "5us"}}, "lifetime": {{"constant": "20us"}}}}],
      "events": [{{"at": "1ms", "memory_online": {{"node": 2, "blocks": 1}}}}{}]}})",
                                       caches, events);
  const Loaded l = load(config::parse_json_document(text, "race.json"));
  const RunMetrics racy = run(l, "mutex_only");
  bool missed = false;
  for (const auto& v : racy.violations)
    missed |= v.what.find("has no kmem_cache_node for node 2") != std::string::npos;
  EXPECT_TRUE(missed) << "no cache creation landed in the window";
  for (const char* fixed : {"hotplug_lock", "slab_nodes", "slab_nodes_nocpu"}) {
    const RunMetrics m = run(l, fixed);
    EXPECT_TRUE(m.violations.empty()) << fixed << ": " << m.violations.front().what;
  }
}

// Cache merging end to end (kmem_cache_create_usercopy() -> __kmem_cache_alias(), v5.10-v6.1):
// "b" is created into "a", its layout names "a" in merged_into, its threads allocate from "a",
// its sysfs directory is "a"'s (aliases counts refcount - 1), and its destroy only drops the
// reference. Under --slab-nomerge it is a cache of its own.
TEST(Run, MergedCacheWorksThroughItsOwnName) {
  const Loaded l = load(config::parse_json_document(R"({
      "name": "merge", "topology": "qemu-2node-hotplug", "duration": "6ms",
      "caches": [{"name": "a", "object_size": 64},
                 {"name": "b", "object_size": 60, "at_boot": false}],
      "threads": [{"name": "ta", "cpus": "all", "cache": "a",
                   "think_time": {"constant": "5us"}, "lifetime": {"constant": "20us"}},
                  {"name": "tb", "cpus": "all", "cache": "b", "start": "1500us", "stop": "2500us",
                   "alloc_node_fraction": 1.0, "target_node": "fixed", "fixed_node": 2,
                   "think_time": {"constant": "5us"}, "lifetime": {"constant": "20us"}}],
      "events": [{"at": "1ms", "cache_create": {"cache": "b"}},
                 {"at": "2ms", "sysfs_read": {"cache": "b", "file": "aliases"}},
                 {"at": "2100us", "shrink": {"cache": "b"}},
                 {"at": "3ms", "cache_destroy": {"cache": "b"}},
                 {"at": "4ms", "sysfs_read": {"cache": "a", "file": "aliases"}}]})",
                                                    "merge.json"));
  const auto st = strategy::load_strategy("slab_nodes_nocpu");
  for (const bool nomerge : {false, true}) {
    RunOptions o;
    o.tuning.slab_nomerge = nomerge;
    const RunMetrics m = run_simulation(l.machine, l.workload, st, o);
    EXPECT_TRUE(m.violations.empty()) << m.violations.front().what;
    ASSERT_EQ(m.events.size(), 5u);
    for (const auto& e : m.events)
      EXPECT_EQ(e.result, 0) << e.type << " " << e.target;
    EXPECT_EQ(m.events[1].text, nomerge ? "0\n" : "1\n");
    EXPECT_EQ(m.events[4].text, "0\n");
    const CacheMetrics& b = m.caches[1];
    EXPECT_GT(b.allocations, 0u);
    EXPECT_EQ(b.frees, b.allocations);
    EXPECT_TRUE(b.destroyed);
    EXPECT_FALSE(m.caches[0].destroyed);
    // Node 2 has no memory: b's node-2 requests fall back. Merged, both names show the one
    // struct's counts, which the run's total takes once.
    ASSERT_GT(b.fallbacks_per_node.at(2), 0u);
    EXPECT_EQ(m.caches[0].fallbacks_per_node.at(2), nomerge ? 0u : b.fallbacks_per_node[2]);
    EXPECT_EQ(m.fallbacks_per_node.at(2), b.fallbacks_per_node[2]);
    ASSERT_TRUE(b.layout.has_value());
    const auto& fields = alloc::layout_fields(alloc::AllocatorKind::slub);
    std::optional<std::string> merged_into;
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i].name == "merged_into") merged_into = (*b.layout)[i].cache;
    EXPECT_EQ(merged_into, nomerge ? std::nullopt : std::optional<std::string>("a"));
  }
}

// kmem_cache_destroy() of a SLAB_TYPESAFE_BY_RCU cache (mm/slab_common.c): v5.12's
// shutdown_cache() removes /sys/kernel/slab/<name> inside the destroy; v6.1's leaves it to
// kmem_cache_release() in slab_caches_to_rcu_destroy_workfn(), after rcu_barrier() (0495e337b703,
// v6.0), so the directory is still there, and readable, for a grace period after the destroy
// returned (the grace period ends on the 4th tick after it, 16 ms). A create of the name in that
// window takes the name over: sysfs_slab_add()'s
// sysfs_remove_link() is kernfs_remove_by_name(), which removes the old directory too.
TEST(Run, V61RcuCacheKeepsItsSysfsDirectoryUntilItsReleaseWork) {
  const auto workload = [](bool recreate) {
    return load(config::parse_json_document(
        fmt::format(R"({{
      "name": "rcu-window", "topology": "qemu-2node-hotplug", "duration": "20ms",
      "caches": [{{"name": "r", "object_size": 256, "flags": ["typesafe_by_rcu"],
                   "at_boot": false}}],
      "threads": [{{"name": "t", "cpus": "all", "cache": "r", "start": "200us", "stop": "1ms",
                   "think_time": {{"constant": "5us"}}, "lifetime": {{"constant": "20us"}}}}],
      "events": [{{"at": "100us", "cache_create": {{"cache": "r"}}}},
                 {{"at": "2ms", "cache_destroy": {{"cache": "r"}}}},
                 {{"at": "2010us", "sysfs_read": {{"cache": "r", "file": "objects"}}}}{},
                 {{"at": "18ms", "sysfs_read": {{"cache": "r", "file": "objects"}}}}]}})",
                    recreate ? R"(, {"at": "2020us", "cache_create": {"cache": "r"}})" : ""),
        "rcu-window.json"));
  };
  constexpr int enoent = -2;
  {
    const Loaded l = workload(false);
    const RunMetrics v5_12 = run(l, "slab_nodes");
    ASSERT_EQ(v5_12.events.size(), 4u);
    EXPECT_EQ(v5_12.events[1].result, 0);
    EXPECT_EQ(v5_12.events[2].result, enoent) << "v5.12: the directory went with the destroy";
    EXPECT_EQ(v5_12.events[3].result, enoent);
    const RunMetrics v6_1 = run(l, "v6.1");
    ASSERT_EQ(v6_1.events.size(), 4u);
    EXPECT_EQ(v6_1.events[1].result, 0);
    EXPECT_EQ(v6_1.events[2].result, 0) << "v6.1: the directory waits for the release work";
    EXPECT_EQ(v6_1.events[2].text, "0\n");
    EXPECT_EQ(v6_1.events[3].result, enoent) << "the work has released the cache";
    EXPECT_TRUE(v6_1.violations.empty()) << v6_1.violations.front().what;
  }
  // Created again in the window: the new cache has the name, the old one's release removes
  // nothing more, and the last read reaches the new cache.
  const RunMetrics again = run(workload(true), "v6.1");
  ASSERT_EQ(again.events.size(), 5u);
  for (const auto& e : again.events)
    EXPECT_EQ(e.result, 0) << e.type << " at " << e.start_ns;
  EXPECT_EQ(again.events[4].text, "0\n");
  EXPECT_TRUE(again.violations.empty()) << again.violations.front().what;
}

// lock_device_hotplug_sysfs() (drivers/base/core.c, v5.10): a sysfs online that finds
// device_hotplug_lock held does msleep(5) and restart_syscall(), so it tries again on a tick
// boundary (msleep(): msecs_to_jiffies(5) + 1 ticks), not as soon as the lock is free. The
// hot-add of node 2's DIMM (the ACPI work, lock_device_hotplug()) holds the lock for 5 ms; a
// sysfs online of its block meanwhile takes mem_hotplug_lock (after its writer's grace period)
// at the first tick-aligned retry after the hot-add ended, for HZ=250 and HZ=100 alike.
// User pages (page_burst "movable": GFP_HIGHUSER_MOVABLE) and slab pages on a hot-added node:
// the slab pages' first allocation steals and claims the lowest max-order chunk
// (__rmqueue_fallback()), the user pages stay in movable pageblocks and fill the rest of the
// first block and the start of the second. The offline (highest block first) migrates the
// second block's user pages away; the first fails at isolation on the slab pages (-EBUSY).
// The page_free afterwards frees the user pages still where they were.
TEST(Run, UserPagesAreMigratedByAnOfflineAndSlabPagesPinTheirBlock) {
  const Loaded l = load(config::parse_json_document(R"({
    "name": "user-pages", "topology": "qemu-2node-hotplug", "duration": "80ms",
    "caches": [{"name": "c", "object_size": 256}],
    "events": [{"at": "1ms", "memory_online": {"node": 2, "blocks": 2, "zone": "normal"}},
               {"at": "20ms", "alloc_burst": {"cache": "c", "node": 2, "cpu": 0, "count": 500}},
               {"at": "21ms", "page_burst": {"node": 2, "cpu": 0, "order": 3, "count": 4096,
                                            "movable": true}},
               {"at": "22ms", "memory_offline": {"node": 2}},
               {"at": "70ms", "page_free": {}}]})",
                                                    "user-pages.json"));
  RunOptions o;
  SimulationRun run(l.machine, l.workload, strategy::load_strategy("slab_nodes"), o);
  const RunMetrics m = run.play();
  ASSERT_FALSE(m.deadlock);
  std::vector<std::pair<int, int>> offlines;  // block, result
  for (const auto& h : m.hotplug)
    if (h.type == HotplugType::memory_offline) offlines.emplace_back(h.block, h.result);
  ASSERT_EQ(offlines.size(), 2u);
  const int first = offlines[1].first, second = offlines[0].first;
  EXPECT_EQ(second, first + 1);
  EXPECT_EQ(offlines[0].second, 0);  // only user pages: migrated
  EXPECT_EQ(offlines[1].second, -alloc::ebusy);
  const alloc::PageAllocator& pages = run.machine().pages();
  const std::uint64_t start = static_cast<std::uint64_t>(first) * pages.layout().block_pages;
  EXPECT_EQ(pages.pageblock_migratetype(start), alloc::MigrateType::unmovable);
  EXPECT_EQ(pages.pageblock_migratetype(start + 2 * pages.pageblock_pages()),
            alloc::MigrateType::movable);
  EXPECT_GT(pages.unmovable_pages(first), 0u);
  for (const auto& e : m.events)
    EXPECT_EQ(e.result, 0) << e.type;
}

TEST(Run, BusySysfsOnlineRetriesAfterMsleepOnTickBoundaries) {
  for (const std::int64_t jiffy : {std::int64_t{4'000'000}, std::int64_t{10'000'000}}) {
    const Loaded l = load(config::parse_json_document(fmt::format(R"({{
      "name": "retry", "topology": "qemu-2node-hotplug", "duration": "150ms",
      "kernel": {{"jiffy": "{}ns"}},
      "caches": [{{"name": "c", "object_size": 64}}],
      "threads": [{{"name": "t", "cpus": "all", "cache": "c", "stop": "1ms",
                   "think_time": {{"constant": "5us"}}, "lifetime": {{"constant": "20us"}}}}],
      "events": [{{"at": "1ms", "memory_add": {{"node": 2, "blocks": 1}}}},
                 {{"at": "1500us", "memory_online": {{"node": 2, "blocks": 1}}}}]}})",
                                                                  jiffy),
                                                      "retry.json"));
    const RunMetrics m = run(l, "slab_nodes");
    ASSERT_EQ(m.hotplug.size(), 2u) << jiffy;
    const HotplugRecord& first = m.hotplug[0];
    const HotplugRecord& second = m.hotplug[1];
    ASSERT_EQ(first.result, 0);
    ASSERT_EQ(second.result, 0);
    const std::int64_t first_end = first.start_ns + first.duration_ns;
    ASSERT_GT(first_end, second.start_ns) << "the online must find the lock held";
    ASSERT_EQ(first.type, HotplugType::memory_add);
    ASSERT_EQ(second.type, HotplugType::memory_online);
    // The trylocks: at the request, then 2 us (the restart) after each msleep(5).
    std::int64_t retry = msleep_wake_ns(second.start_ns, 5, jiffy);
    while (retry + 2000 < first_end)
      retry = msleep_wake_ns(retry + 2000, 5, jiffy);
    EXPECT_EQ(retry % jiffy, 0);
    const std::int64_t locked = second.start_ns + second.lock_wait_ns;
    // Then no grace period: the hot-add's percpu_up_write() was less than a grace period ago,
    // so rcu_sync_enter() finds GP_EXIT and returns at once.
    EXPECT_GE(locked, retry + 2000) << jiffy;
    EXPECT_LE(locked, retry + 2000 + 100'000) << jiffy;
  }
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// numastat(8)'s layout: a 16-wide label column, then one 16-wide column per node.
TEST(Reports, NumastatTableLayout) {
  alloc::NumaStat n0, n1;
  n0.numa_hit = 67798958;
  n0.local_node = 67791294;
  n0.other_node = 7664;
  n1.numa_hit = 57342158;
  n1.numa_miss = 12;
  n1.local_node = 51731637;
  n1.other_node = 5610521;
  EXPECT_EQ(numastat_table({n0, n1}),
            "                           node0           node1\n"
            "numa_hit                67798958        57342158\n"
            "numa_miss                      0              12\n"
            "numa_foreign                   0               0\n"
            "interleave_hit                 0               0\n"
            "local_node              67791294        51731637\n"
            "other_node                  7664         5610521\n");
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// The workload's "kernel" times reach the machine: a slower onlining, no RCU grace period.
TEST(Run, KernelTimesFromTheWorkloadApply) {
  auto doc_with = [](const std::string& kernel) {
    return config::parse_json_document(
        R"({"name": "k", "topology": "qemu-2node-hotplug", "duration": "20ms",
            "caches": [{"name": "c", "object_size": 64}],
            "events": [{"at": "1ms", "memory_online": {"node": 2, "blocks": 1}}])" +
            kernel + "}",
        "k.json");
  };
  const RunMetrics slow = run(load(doc_with(R"(, "kernel": {"online_per_block": "3ms",
                                                             "rcu_grace_period": "0ns"})")),
                              "slab_nodes");
  const RunMetrics normal = run(load(doc_with("")), "slab_nodes");
  ASSERT_EQ(slow.hotplug.size(), 1u);
  ASSERT_EQ(normal.hotplug.size(), 1u);
  // Defaults: the grace period to the 4th tick (1 -> 16 ms), 0.3 ms hot-add, 0.35 ms memmap,
  // 3.5 us walking the 128 MiB zone, 0.2 ms online; here no grace period and a 3 ms online. The
  // rest (under 10 us) is the locks' and the notifier callbacks'.
  EXPECT_NEAR(static_cast<double>(normal.hotplug[0].duration_ns), 15e6 + 853'500, 1e4);
  EXPECT_NEAR(static_cast<double>(slow.hotplug[0].duration_ns), 3'653'500, 1e4);
  EXPECT_LT(slow.hotplug[0].lock_wait_ns, 1000);
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// RFC 1/3 put slab_mutex in kmem_cache_shrink(): a sysfs shrink write (holding the file's
// active reference) against the destruction of the same cache (holding slab_mutex, draining
// the references) is an ABBA deadlock. The run reports it with the locks held and awaited.
TEST(Run, ShrinkUnderSlabMutexDeadlocksAgainstDestroy) {
  const auto doc = config::parse_json_document(
      R"({"name": "abba", "topology": "two-socket-intel", "duration": "5ms",
          "caches": [{"name": "victim", "object_size": 128}],
          "threads": [{"name": "t", "cpus": "0-3", "cache": "victim",
                       "think_time": {"constant": "1us"}, "lifetime": {"constant": "2us"},
                       "stop": "900us"}],
          "events": [{"at": "1ms", "cache_destroy": {"cache": "victim"}},
                     {"at": "1ms", "shrink": {"cache": "victim"}}]})",
      "abba.json");
  const Loaded l = load(doc);
  const RunMetrics rfc = run(l, "shrink_slab_mutex");
  ASSERT_TRUE(rfc.deadlock);
  std::string held, awaited;
  for (const auto& h : rfc.deadlock->held)
    held += h + "\n";
  for (const auto& w : rfc.deadlock->awaited)
    awaited += w + "\n";
  EXPECT_NE(held.find("slab_mutex"), std::string::npos) << held;
  EXPECT_NE(held.find("kn->active"), std::string::npos) << held;
  EXPECT_NE(awaited.find("slab_mutex"), std::string::npos) << awaited;
  EXPECT_NE(awaited.find("kn->active"), std::string::npos) << awaited;
  for (const char* fixed : {"slab_nodes", "slab_nodes_nocpu", "hotplug_lock"}) {
    const RunMetrics m = run(l, fixed);
    EXPECT_FALSE(m.deadlock) << fixed;
  }
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// A directory of its own per test process (ctest runs tests in parallel), removed at the end.
class TraceDir {
 public:
  TraceDir()
      : path_(std::filesystem::temp_directory_path() /
              fmt::format("slabsim-trace-test-{}", ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TraceDir() { std::filesystem::remove_all(path_); }
  TraceDir(const TraceDir&) = delete;
  TraceDir& operator=(const TraceDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

RunMetrics run_traced(const Loaded& l, const std::string& strategy,
                      const std::filesystem::path& trace) {
  RunOptions o;
  o.trace_path = trace.string();
  return run_simulation(l.machine, l.workload, strategy::load_strategy(strategy), o);
}

std::vector<nlohmann::json> slices_named(const nlohmann::json& trace, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["name"] == name) out.push_back(e);
  return out;
}

// The timeline of the default scenario under v5.10: a track per CPU and per event task, cache
// creates and shrinks waiting for the onlining's hold of mem_hotplug_lock, and the onlining
// itself as long as its hotplug record says.
TEST(Trace, NodeOnlineTimelineShowsTheHotplugLockWaits) {
  const TraceDir dir;
  const Loaded l = load("node-online");
  const RunMetrics m = run_traced(l, "hotplug_lock", dir.path() / "trace.json");
  const auto trace = nlohmann::json::parse(read_text(dir.path() / "trace.json"));
  ASSERT_TRUE(trace.contains("traceEvents"));
  EXPECT_EQ(trace["displayTimeUnit"], "ns");

  std::map<int, std::string> threads;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "thread_name")
      threads[e["tid"].get<int>()] = e["args"]["name"].get<std::string>();
  const auto cpus = l.machine.cpu_ids();
  for (int cpu : cpus)
    EXPECT_EQ(threads[cpu], fmt::format("CPU {} (node {})", cpu, l.machine.node_of_cpu(cpu)));
  const int tasks = std::min(l.workload.event_tasks, static_cast<int>(l.workload.events.size()));
  ASSERT_GT(tasks, 0);
  for (int k = 0; k < tasks; ++k) {
    const int cpu = cpus.back() + 1 + k;
    EXPECT_EQ(threads[cpu], fmt::format("events {} (CPU {})", k, cpu));
  }
  EXPECT_EQ(threads.size(), cpus.size() + static_cast<std::size_t>(tasks));

  EXPECT_FALSE(slices_named(trace, "wait mem_hotplug_lock (read)").empty());

  ASSERT_EQ(m.hotplug.size(), 1u);
  const HotplugRecord& h = m.hotplug[0];
  const auto online =
      slices_named(trace, fmt::format("memory_online node {} block {}", h.node, h.block));
  ASSERT_EQ(online.size(), 1u);
  EXPECT_EQ(online[0]["cat"], "hotplug");
  EXPECT_EQ(online[0]["tid"], h.cpu);
  EXPECT_EQ(online[0]["ts"].get<double>(), static_cast<double>(h.start_ns) / 1000.0);
  EXPECT_EQ(online[0]["dur"].get<double>(), static_cast<double>(h.duration_ns) / 1000.0);
  EXPECT_EQ(online[0]["args"]["result"], 0);
}

TEST(Trace, SameRunGivesIdenticalBytes) {
  const TraceDir dir;
  const Loaded l = load("node-online");
  run_traced(l, "hotplug_lock", dir.path() / "a.json");
  run_traced(l, "hotplug_lock", dir.path() / "b.json");
  const std::string a = read_text(dir.path() / "a.json");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, read_text(dir.path() / "b.json"));
}

// Without a trace path nothing is written (not even into the working directory), and tracing
// does not change what the run measures.
TEST(Trace, NothingWrittenWithoutATracePathAndTheRunIsTheSame) {
  const TraceDir dir;
  const Loaded l = load("node-online");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  const std::string plain = result_without_host(l, "hotplug_lock");
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));

  const auto st = strategy::load_strategy("hotplug_lock");
  const RunMetrics traced = run_traced(l, "hotplug_lock", dir.path() / "t.json");
  EXPECT_EQ(result_of(l, st, traced).dump(), plain);
}

// e4f8e513c3d3 before the fix deadlocks: the file is still written, and the waits that never
// ended end with the run, marked as such.
TEST(Trace, DeadlockedRunStillWritesItsWaits) {
  const TraceDir dir;
  const auto scenario = std::filesystem::path(__FILE__).parent_path() / "../.." /
                        "workloads/regressions/e4f8e513c3d3-sysfs-read-deadlock.json";
  const Loaded l = load(scenario.string());
  const RunMetrics m = run_traced(l, "hotplug_lock_sysfs", dir.path() / "deadlock.json");
  ASSERT_TRUE(m.deadlock);
  const auto trace = nlohmann::json::parse(read_text(dir.path() / "deadlock.json"));
  int blocked_waits = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] != "X" || !e["name"].get<std::string>().starts_with("wait ")) continue;
    if (!e.contains("args") || !e["args"].value("deadlock", false)) continue;
    ++blocked_waits;
    const double end_us = e["ts"].get<double>() + e["dur"].get<double>();
    EXPECT_NEAR(end_us, static_cast<double>(m.simulated_ns) / 1000.0, 1e-6);
  }
  EXPECT_EQ(blocked_waits, static_cast<int>(m.deadlock->awaited.size()));
}

std::string without_host(const Loaded& l, const alloc::Strategy& st, const RunMetrics& m,
                         alloc::AllocatorKind allocator) {
  return result_of(l, st, m, allocator).dump();
}

// A whole run under SLAB (locks in every slow path, IPIs, hotplug): every acquisition the locks
// recorded (lock_stat counts them at release) was seen once, in simulated-time order, each
// release after its acquisition on the same CPU; and the observed run is the unobserved one.
TEST(LockSignals, AnObserverSeesExactlyTheAcquisitionsOfARun) {
  const Loaded l = load("node-online");
  const auto st = strategy::load_strategy("hotplug_lock");
  RunOptions o;
  o.allocator = alloc::AllocatorKind::slab;
  const std::string unobserved =
      without_host(l, st, run_simulation(l.machine, l.workload, st, o), o.allocator);
  SimulationRun run(l.machine, l.workload, st, o);
  std::map<std::string, std::uint64_t> acquired, released;
  std::map<std::pair<int, std::uint64_t>, int> held;  // by (CPU, class << 32 | instance)
  std::int64_t last_acquired = 0;
  bool ordered = true, balanced = true;
  LockSignals& signals = run.machine().env().lock_signals();
  signals.acquired.connect([&](const LockEvent& e) {
    ++acquired[std::string(alloc::lock_class_name(e.cls))];
    ++held[{e.cpu, static_cast<std::uint64_t>(e.cls) << 32 | e.instance}];
    ordered = ordered && e.now_ns >= last_acquired;
    last_acquired = e.now_ns;
  });
  signals.released.connect([&](const LockEvent& e) {
    ++released[std::string(alloc::lock_class_name(e.cls))];
    if (--held[{e.cpu, static_cast<std::uint64_t>(e.cls) << 32 | e.instance}] < 0) balanced = false;
  });
  const RunMetrics m = run.play();
  ASSERT_FALSE(m.deadlock);
  EXPECT_TRUE(ordered);
  EXPECT_TRUE(balanced);
  std::map<std::string, std::uint64_t> recorded;
  for (const auto& c : m.lock_waits)
    recorded[c.name] = c.read_holdtime.nr + c.write_holdtime.nr;
  EXPECT_EQ(released, recorded);
  EXPECT_EQ(acquired, released);                     // the run ends with no lock held
  EXPECT_GT(acquired["&parent->list_lock"], 1000u);  // SLAB's node lists
  EXPECT_EQ(without_host(l, st, m, o.allocator), unobserved);
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// cpu_up() (kernel/cpu.c, v5.10-v6.1) starts with try_online_node() of the CPU's node, which
// takes mem_hotplug_lock's write side even for a node already online, so every CPU online pays
// the writer's rcu_sync_enter(); cpu_down() does not. Both run under
// lock_device_hotplug_sysfs() and cpu_maps_update_begin(). A cache created meanwhile reads the
// lock under v5.10 without waiting (readers pass during the grace period); v3.14's
// try_online_node() returned before lock_memory_hotplug() for an online node.
TEST(Run, CpuOnlineTakesTheMemoryHotplugWriteSideThroughTryOnlineNode) {
  const Loaded l = load(config::parse_json_document(R"({
      "name": "cpu-online", "topology": "qemu-2node-hotplug", "duration": "60ms",
      "caches": [{"name": "c", "object_size": 64},
                 {"name": "late", "object_size": 64, "flags": ["ctor"], "at_boot": false}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c",
                   "think_time": {"constant": "5us"}, "lifetime": {"constant": "20us"}}],
      "events": [{"at": "1ms", "cpu_offline": {"cpu": 1}},
                 {"at": "20ms", "cpu_online": {"cpu": 1}},
                 {"at": "20010us", "cache_create": {"cache": "late"}}]})",
                                                    "cpu-online.json"));
  const auto class_of = [](const RunMetrics& m, const char* name) {
    const LockClassStats* c = find_class(m, name);
    return c ? *c : LockClassStats{};
  };
  const RunMetrics v510 = run(l, "hotplug_lock");
  ASSERT_EQ(v510.hotplug.size(), 2u);
  for (const HotplugRecord& r : v510.hotplug)
    EXPECT_EQ(r.result, 0);
  EXPECT_EQ(class_of(v510, "mem_hotplug_lock").write_holdtime.nr, 1u) << "the online only";
  EXPECT_EQ(class_of(v510, "cpu_add_remove_lock").write_holdtime.nr, 2u);
  EXPECT_EQ(class_of(v510, "device_hotplug_lock").write_holdtime.nr, 2u);
  const std::int64_t grace = 3 * sim::default_jiffy_ns;  // at least 3 of its 4 ticks
  // Each percpu rw-semaphore writer waits a grace period: cpus_write_lock() for both, and
  // mem_hotplug_begin() before it for the online.
  EXPECT_GE(v510.hotplug[0].lock_wait_ns, grace);
  EXPECT_LT(v510.hotplug[0].lock_wait_ns, 2 * grace) << "the offline takes no mem_hotplug_lock";
  EXPECT_GE(v510.hotplug[1].lock_wait_ns, 2 * grace);
  EXPECT_EQ(class_of(v510, "mem_hotplug_lock").read_holdtime.nr, 1u) << "the one creation";
  EXPECT_TRUE(v510.violations.empty());

  const RunMetrics v512 = run(l, "slab_nodes");
  EXPECT_EQ(class_of(v512, "mem_hotplug_lock").write_holdtime.nr, 1u);
  EXPECT_EQ(class_of(v512, "mem_hotplug_lock").read_holdtime.nr, 0u);

  const RunMetrics v314 = run(l, "mutex_only");
  EXPECT_EQ(class_of(v314, "mem_hotplug_mutex").write_holdtime.nr, 0u);
  EXPECT_EQ(class_of(v314, "cpu_add_remove_lock").write_holdtime.nr, 2u);
  EXPECT_LT(v314.hotplug[1].lock_wait_ns, grace) << "cpus_write_lock() within GP_EXIT";
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// Hot-remove and re-add of a CPU-less node (mm/memory_hotplug.c, v5.10-v6.1): try_remove_memory()
// of its offline block takes it out of N_ONLINE (try_offline_node(): no block, no CPU left), so
// SLAB's nr_online_nodes drops and a cache created meanwhile gets no node 2 struct; the next
// hot-add brings the node back (__try_online_node() reuses the pgdat) and the online's
// MEM_GOING_ONLINE callback gives every cache its node 2 struct again, under each allocator.
TEST(Run, HotRemovedNodeLeavesN_ONLINEAndComesBackOnTheNextHotAdd) {
  const Loaded l = load(config::parse_json_document(R"({
      "name": "remove-readd", "topology": "qemu-2node-hotplug", "duration": "40ms",
      "caches": [{"name": "c", "object_size": 64},
                 {"name": "late", "object_size": 64, "flags": ["ctor"], "at_boot": false}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c",
                   "think_time": {"constant": "5us"}, "lifetime": {"constant": "20us"}},
                  {"name": "to-node2", "cpus": "all", "cache": "late", "start": "33ms",
                   "alloc_node_fraction": 1.0, "target_node": "fixed", "fixed_node": 2,
                   "think_time": {"constant": "5us"}, "lifetime": {"constant": "20us"}}],
      "events": [{"at": "1ms", "memory_online": {"node": 2, "blocks": 1}},
                 {"at": "20ms", "memory_offline": {"node": 2, "blocks": 1}},
                 {"at": "25ms", "memory_remove": {"node": 2}},
                 {"at": "27ms", "cache_create": {"cache": "late"}},
                 {"at": "30ms", "memory_online": {"node": 2, "blocks": 1}}]})",
                                                    "remove-readd.json"));
  for (const auto allocator :
       {alloc::AllocatorKind::slub, alloc::AllocatorKind::slab, alloc::AllocatorKind::slob}) {
    SCOPED_TRACE(alloc::allocator_name(allocator));
    RunOptions o;
    o.allocator = allocator;
    const RunMetrics m =
        run_simulation(l.machine, l.workload, strategy::load_strategy("hotplug_lock"), o);
    ASSERT_EQ(m.hotplug.size(), 4u);
    const std::vector<HotplugType> types = {HotplugType::memory_online, HotplugType::memory_offline,
                                            HotplugType::memory_remove, HotplugType::memory_online};
    for (std::size_t i = 0; i < types.size(); ++i) {
      EXPECT_EQ(m.hotplug[i].type, types[i]) << i;
      EXPECT_EQ(m.hotplug[i].result, 0) << i;
    }
    const std::vector<int> without_2 = {0, 1}, with_2 = {0, 1, 2};
    EXPECT_EQ(m.hotplug[0].normal_nodes_after, with_2);
    EXPECT_EQ(m.hotplug[2].normal_nodes_after, without_2);
    EXPECT_EQ(m.hotplug[3].normal_nodes_after, with_2);
    if (allocator == alloc::AllocatorKind::slab) {
      // SLAB's usable nodes are N_ONLINE: node 2 stays after the offline, goes with the remove.
      EXPECT_EQ(m.hotplug[1].usable_nodes_after, with_2);
      EXPECT_EQ(m.hotplug[2].usable_nodes_after, without_2);
      EXPECT_EQ(m.hotplug[3].usable_nodes_after, with_2);
      EXPECT_GT(m.hotplug[3].node_structs_allocated, 0u) << "the re-added node's structs";
    }
    EXPECT_TRUE(m.violations.empty()) << m.violations.front().what;
    EXPECT_FALSE(m.deadlock);
    std::uint64_t on_2 = 0;
    for (const auto& b : m.buckets)
      if (b.start_ns >= m.hotplug[3].start_ns + m.hotplug[3].duration_ns)
        on_2 += b.allocations_by_node[2];
    EXPECT_GT(on_2, 0u) << "node 2 serves its callers again";
  }
}

}  // namespace
}  // namespace slabsim::sim

namespace slabsim::sim {
namespace {

// on_each_cpu() (kernel/smp.c, v5.10-v6.1) runs the handlers on all CPUs at once: a shrink's
// drain of the per-CPU caches (SLAB's do_drain(), SLUB's flush_cpu_slab()) has the CPUs of a
// node meet on the node's list_lock at the same instant, which handlers run one after another
// never do. The threads stop before the shrink, so only the handlers take the locks.
TEST(Run, IpiHandlersRunAtOnceAndContendForTheNodeListLock) {
  const Loaded l = load(config::parse_json_document(R"({
      "name": "ipi", "topology": "qemu-2node-hotplug", "duration": "3ms",
      "caches": [{"name": "c", "object_size": 64}],
      "threads": [{"name": "t", "cpus": "all", "cache": "c", "stop": "1ms",
                   "think_time": {"constant": "1us"}, "lifetime": {"constant": "5ms"}}],
      "events": [{"at": "2ms", "shrink": {"cache": "c"}}]})",
                                                    "ipi.json"));
  const auto drain_contentions = [](const RunMetrics& m, const char* cls, const char* fn) {
    std::uint64_t n = 0;
    if (const LockClassStats* c = find_class(m, cls))
      for (const auto& p : c->contention_points)
        if (p.function == fn) n += p.count;
    return n;
  };
  for (const auto& [allocator, cls, fn] :
       {std::tuple{alloc::AllocatorKind::slab, "&parent->list_lock", "do_drain"},
        std::tuple{alloc::AllocatorKind::slub, "&n->list_lock", "deactivate_slab"}}) {
    SCOPED_TRACE(alloc::allocator_name(allocator));
    RunOptions o;
    o.allocator = allocator;
    const RunMetrics m =
        run_simulation(l.machine, l.workload, strategy::load_strategy("slab_nodes_nocpu"), o);
    ASSERT_EQ(m.events.size(), 1u);
    EXPECT_EQ(m.events[0].result, 0);
    EXPECT_GT(drain_contentions(m, cls, fn), 0u) << "the handlers met on the list_lock";
    EXPECT_TRUE(m.violations.empty()) << m.violations.front().what;
  }
}

}  // namespace
}  // namespace slabsim::sim
