// Workloads: the scenarios in workloads/, resolution against a topology, defaults, repeat
// expansion, node selectors, flags, diagnostics and the committed schema.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_format.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::workload {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const topology::Topology& preset(const std::string& name) {
  static std::map<std::string, topology::Topology> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, topology::load_topology(name)).first;
  return it->second;
}

Workload from_text(const std::string& text, const std::string& topology = "two-socket-intel") {
  return load_workload(config::parse_json_document(text, "test.json"), preset(topology));
}

// A workload with one cache "c" and the given threads and events (JSON text of array elements).
std::string workload(const std::string& threads, const std::string& events = "",
                     const std::string& extra = "") {
  return R"({"name": "t", "duration": "10ms", "caches": [{"name": "c", "object_size": 64},
             {"name": "late", "object_size": 128, "at_boot": false}], "threads": [)" +
         threads + R"(], "events": [)" + events + "]" + extra + "}";
}

// A thread group "g" on cache "c" with constant times; `fields` add to or replace its keys.
std::string thread(const std::string& fields) {
  json g = json::parse(R"({"name": "g", "cache": "c", "think_time": {"constant": "1us"},
                           "lifetime": {"constant": "10us"}})");
  g.update(json::parse("{" + fields + "}"));
  return g.dump();
}

// Every diagnostic of a rejected document, as "pointer: message" lines.
std::vector<config::Diagnostic> problems(const std::string& text,
                                         const std::string& topology = "two-socket-intel") {
  try {
    from_text(text, topology);
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

bool reported(const std::vector<config::Diagnostic>& list, const std::string& pointer,
              const std::string& message) {
  return std::any_of(list.begin(), list.end(), [&](const config::Diagnostic& d) {
    return d.pointer == pointer && d.message.find(message) != std::string::npos;
  });
}

std::string all_of(const std::vector<config::Diagnostic>& list) {
  std::string out;
  for (const auto& d : list)
    out += d.str() + "\n";
  return out;
}

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SLABSIM_SOURCE_DIR) / "workloads"))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

Workload load_scenario(const fs::path& file) {
  const auto doc = config::load_json_document(file);
  const auto topology = workload_topology(doc);
  if (!topology) throw std::runtime_error(file.string() + " names no topology");
  return load_workload(doc, topology::load_topology(*topology));
}

// --- The scenarios -------------------------------------------------------------------------

TEST(Scenarios, EveryOneLoadsAgainstItsOwnTopology) {
  const auto files = scenario_files();
  EXPECT_GE(files.size(), 6u);
  for (const auto& f : files) {
    try {
      const Workload w = load_scenario(f);
      EXPECT_EQ(w.name, f.stem().string()) << f << ": the name should be the file's stem";
      EXPECT_FALSE(w.description.empty()) << f;
      EXPECT_FALSE(w.threads.empty()) << f;
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": " << e.what();
    }
  }
}

TEST(Scenarios, TheRequiredOnesAreThereOnTheirTopologies) {
  const std::map<std::string, std::set<std::string>> wanted = {
      {"steady-local", {"two-socket-intel"}},
      {"remote-heavy", {"four-socket-xeon-e7"}},
      {"node-online", {"qemu-2node-hotplug"}},
      {"online-offline-cycles", {"qemu-2node-hotplug", "memoryless-and-cxl"}},
      {"movable-only", {"memoryless-and-cxl"}},
      {"cpuless-alloc-node", {"memoryless-and-cxl", "qemu-2node-hotplug"}},
  };
  for (const auto& [name, topologies] : wanted) {
    const auto path = fs::path(SLABSIM_SOURCE_DIR) / "workloads" / (name + ".json");
    ASSERT_TRUE(fs::exists(path)) << path;
    const Workload w = load_scenario(path);
    EXPECT_TRUE(topologies.contains(w.topology)) << name << " runs on " << w.topology;
  }
}

// Each file says at the top what it shows, what to look at and where its numbers come from.
TEST(Scenarios, EachExplainsItselfAndCitesItsNumbers) {
  for (const auto& f : scenario_files()) {
    const std::string text = read_file(f);
    EXPECT_EQ(text.rfind("// " + f.stem().string() + ":", 0), 0u) << f;
    EXPECT_NE(text.find("What to look at"), std::string::npos) << f;
    EXPECT_NE(text.find("Numbers and where they come from"), std::string::npos) << f;
  }
}

// Short enough to simulate in well under a second of host time. A hotplug scenario lasts tens
// of milliseconds: every percpu rw-semaphore writer whose rcu_sync is idle waits a grace period
// of 4 ticks at HZ=250 (16 ms), a CPU online two of them (0.1-0.25 s of host time each on the
// 2-core CI machine, 0.6 s for cpuless-alloc-node under mutex_only's v3.14 node paths).
TEST(Scenarios, StaySmall) {
  for (const auto& f : scenario_files()) {
    const Workload w = load_scenario(f);
    std::set<int> cpus;
    for (const auto& g : w.threads)
      cpus.insert(g.cpus.begin(), g.cpus.end());
    EXPECT_LE(cpus.size(), 40u) << f;
    EXPECT_LE(w.duration_ns, 80'000'000) << f;
    for (const auto& g : w.threads) {
      EXPECT_GE(g.think_time.a_ns, 100) << f << " " << g.name;
      EXPECT_LE(g.think_time.a_ns, 10'000) << f << " " << g.name;
    }
  }
}

// The CLI's default comparison (hotplug_lock vs slab_nodes) needs a 2-socket machine on which a
// node comes online under load, with alloc_node callers targeting it and a cache created then.
TEST(Scenarios, NodeOnlineSuitsTheDefaultComparison) {
  const Workload w = load_scenario(fs::path(SLABSIM_SOURCE_DIR) / "workloads/node-online.json");
  const auto& t = preset(w.topology);
  EXPECT_EQ(t.sockets.size(), 2u);
  auto online = std::find_if(w.events.begin(), w.events.end(),
                             [](const Event& e) { return e.type == Event::Type::memory_online; });
  ASSERT_NE(online, w.events.end());
  EXPECT_FALSE(t.boot_has_normal_memory(online->node)) << "the node must come online mid-run";
  EXPECT_GT(online->at_ns, 0);
  EXPECT_LT(online->at_ns, w.duration_ns / 2);
  const bool targeted = std::any_of(w.threads.begin(), w.threads.end(), [&](const auto& g) {
    return g.alloc_node_fraction > 0 && g.node.kind == NodeSelector::Kind::node &&
           g.node.node == online->node && g.start_ns < online->at_ns;
  });
  EXPECT_TRUE(targeted);
  const bool create_then = std::any_of(w.events.begin(), w.events.end(), [&](const Event& e) {
    return e.type == Event::Type::cache_create && e.at_ns == online->at_ns;
  });
  EXPECT_TRUE(create_then);
}

TEST(Scenarios, MovableOnlyOnlinesOnlyMovableMemory) {
  const Workload w = load_scenario(fs::path(SLABSIM_SOURCE_DIR) / "workloads/movable-only.json");
  const auto& t = preset(w.topology);
  for (const auto& e : w.events) {
    if (e.type != Event::Type::memory_online) continue;
    EXPECT_FALSE(e.movable.has_value() && !*e.movable);
    for (int b : t.nodes[e.node].blocks)
      EXPECT_EQ(t.blocks[b].zone, topology::Zone::movable);
  }
}

// --- Resolution --------------------------------------------------------------------------------

TEST(Resolve, CpusAllCpulistArrayAndNodes) {
  const Workload w = from_text(workload(
      thread(R"("cpus": "all")") + "," + thread(R"("name": "h", "cpus": "0-2,9")") + "," +
      thread(R"("name": "i", "cpus": [12, 3])") + "," + thread(R"("name": "j", "nodes": [1])")));
  ASSERT_EQ(w.threads.size(), 4u);
  EXPECT_EQ(w.threads[0].cpus.size(), 16u);
  EXPECT_EQ(w.threads[1].cpus, (std::vector<int>{0, 1, 2, 9}));
  EXPECT_EQ(w.threads[2].cpus, (std::vector<int>{3, 12}));
  EXPECT_EQ(w.threads[3].cpus, (std::vector<int>{8, 9, 10, 11, 12, 13, 14, 15}));
}

TEST(Resolve, NodesSkipCpuLessNodes) {
  const Workload w = from_text(workload(thread(R"("nodes": [2, 1])")), "memoryless-and-cxl");
  EXPECT_EQ(w.threads[0].cpus, (std::vector<int>{4, 5, 6, 7}));
}

TEST(Resolve, Defaults) {
  const Workload w =
      from_text(R"({"name": "t", "duration": 5000, "caches": [{"name": "c", "object_size": 32}]})");
  EXPECT_EQ(w.duration_ns, 5000);
  EXPECT_EQ(w.seed, 1u);
  EXPECT_EQ(w.description, "");
  EXPECT_EQ(w.topology, "");
  EXPECT_TRUE(w.threads.empty());
  EXPECT_TRUE(w.events.empty());
  ASSERT_EQ(w.caches.size(), 1u);
  EXPECT_EQ(w.caches[0].align, 0u);
  EXPECT_TRUE(w.caches[0].at_boot);
  EXPECT_EQ(w.caches[0].flags, alloc::CacheFlags{});

  const ThreadGroup g = from_text(workload(thread(R"("cpus": [0])"))).threads[0];
  EXPECT_EQ(g.cache, 0);
  EXPECT_EQ(g.alloc_node_fraction, 0);
  EXPECT_EQ(g.node.kind, NodeSelector::Kind::local);
  EXPECT_EQ(g.remote_free_fraction, 0);
  EXPECT_EQ(g.accesses_per_object, 0);
  EXPECT_EQ(g.max_live_per_cpu, 4096);
  EXPECT_EQ(g.start_ns, 0);
  EXPECT_FALSE(g.stop_ns.has_value());
}

TEST(Resolve, ThreadFields) {
  const ThreadGroup g =
      from_text(workload(thread(R"("cpus": [0], "cache": "late", "alloc_node_fraction": 0.25,
        "remote_free_fraction": 1, "accesses_per_object": 7, "max_live_per_cpu": 10,
        "start": "1ms", "stop": "2.5ms")")))
          .threads[0];
  EXPECT_EQ(g.cache, 1);
  EXPECT_DOUBLE_EQ(g.alloc_node_fraction, 0.25);
  EXPECT_DOUBLE_EQ(g.remote_free_fraction, 1.0);
  EXPECT_EQ(g.accesses_per_object, 7);
  EXPECT_EQ(g.max_live_per_cpu, 10);
  EXPECT_EQ(g.start_ns, 1'000'000);
  EXPECT_EQ(g.stop_ns, 2'500'000);
}

TEST(Resolve, Distributions) {
  const auto g = [](const std::string& think) {
    return from_text(workload(R"({"name": "g", "cpus": [0], "cache": "c", "think_time": )" + think +
                              R"(, "lifetime": {"exponential": "5us"}})"))
        .threads[0];
  };
  const ThreadGroup constant = g(R"({"constant": "150ns"})");
  EXPECT_EQ(constant.think_time.kind, Distribution::Kind::constant);
  EXPECT_EQ(constant.think_time.a_ns, 150);
  EXPECT_EQ(constant.lifetime.kind, Distribution::Kind::exponential);
  EXPECT_EQ(constant.lifetime.a_ns, 5000);
  const ThreadGroup uniform = g(R"({"uniform": ["100ns", "2us"]})");
  EXPECT_EQ(uniform.think_time.kind, Distribution::Kind::uniform);
  EXPECT_EQ(uniform.think_time.a_ns, 100);
  EXPECT_EQ(uniform.think_time.b_ns, 2000);
  EXPECT_EQ(g(R"({"uniform": [7, 7]})").think_time.b_ns, 7);
}

TEST(Resolve, NodeSelectors) {
  const auto kind_of = [](const std::string& fields) {
    return from_text(workload(thread(R"("cpus": [0], )" + fields))).threads[0].node;
  };
  EXPECT_EQ(kind_of(R"("target_node": "local")").kind, NodeSelector::Kind::local);
  EXPECT_EQ(kind_of(R"("target_node": "remote")").kind, NodeSelector::Kind::remote);
  EXPECT_EQ(kind_of(R"("target_node": "nearest")").kind, NodeSelector::Kind::nearest);
  EXPECT_EQ(kind_of(R"("target_node": "random")").kind, NodeSelector::Kind::random);
  const NodeSelector fixed = kind_of(R"("target_node": "fixed", "fixed_node": 1)");
  EXPECT_EQ(fixed.kind, NodeSelector::Kind::node);
  EXPECT_EQ(fixed.node, 1);
}

TEST(Resolve, CacheFlags) {
  const Workload w = from_text(R"({"name": "t", "duration": "1ms", "caches": [
      {"name": "a", "object_size": 100, "align": 8, "flags": ["hwcache_align", "reclaim_account",
       "typesafe_by_rcu", "ctor"]},
      {"name": "b", "object_size": 64, "flags": ["red_zone", "poison", "store_user"],
       "at_boot": false}]})");
  const auto& a = w.caches[0].flags;
  EXPECT_EQ(w.caches[0].object_size, 100u);
  EXPECT_EQ(w.caches[0].align, 8u);
  EXPECT_TRUE(a.hwcache_align && a.reclaim_account && a.typesafe_by_rcu && a.has_ctor);
  EXPECT_FALSE(a.debug());
  const auto& b = w.caches[1].flags;
  EXPECT_TRUE(b.red_zone && b.poison && b.store_user);
  EXPECT_FALSE(b.hwcache_align || b.reclaim_account || b.typesafe_by_rcu || b.has_ctor);
  EXPECT_FALSE(w.caches[1].at_boot);
}

TEST(Resolve, EventFields) {
  const Workload w = from_text(workload("", R"(
        {"at": "1ms", "memory_online": {"node": 1, "blocks": 4, "zone": "movable"}},
        {"at": "2ms", "memory_offline": {"node": 1}},
        {"at": "3ms", "cpu_offline": {"cpu": 3}},
        {"at": "4ms", "cpu_online": {"cpu": 3}},
        {"at": "5ms", "cache_create": {"cache": "late"}},
        {"at": "6ms", "shrink": {"cache": "c"}},
        {"at": "6ms", "sysfs_read": {"cache": "c", "file": "alloc_node_mismatch"}},
        {"at": "7ms", "cache_destroy": {"cache": "late"}},
        {"at": 0, "inject_error": {"action": "going_offline"}},
        {"at": "8ms", "inject_error": {"action": "going_online", "error": -4095}},
        {"at": "9ms", "clear_error": {"action": "going_online"}},
        {"at": "9ms", "memory_online": {"node": 0}})"));
  ASSERT_EQ(w.events.size(), 12u);
  using T = Event::Type;
  const auto& e = w.events;
  EXPECT_EQ(e[0].type, T::inject_error);
  EXPECT_EQ(e[0].action, "going_offline");
  EXPECT_EQ(e[0].error, -12);
  EXPECT_EQ(e[0].source, "/events/8");
  EXPECT_EQ(e[1].type, T::memory_online);
  EXPECT_EQ(e[1].node, 1);
  EXPECT_EQ(e[1].blocks, 4);
  EXPECT_EQ(e[1].movable, true);
  EXPECT_EQ(e[2].type, T::memory_offline);
  EXPECT_EQ(e[2].blocks, 0);
  EXPECT_EQ(e[3].type, T::cpu_offline);
  EXPECT_EQ(e[3].cpu, 3);
  EXPECT_EQ(e[4].type, T::cpu_online);
  EXPECT_EQ(e[5].type, T::cache_create);
  EXPECT_EQ(e[5].cache, 1);
  EXPECT_EQ(e[6].type, T::shrink);
  EXPECT_EQ(e[6].cache, 0);
  EXPECT_EQ(e[7].type, T::sysfs_read);
  EXPECT_EQ(e[7].file, "alloc_node_mismatch");
  EXPECT_EQ(e[8].type, T::cache_destroy);
  EXPECT_EQ(e[9].type, T::inject_error);
  EXPECT_EQ(e[9].error, -4095);
  EXPECT_EQ(e[10].type, T::clear_error);
  EXPECT_EQ(e[11].type, T::memory_online);
  EXPECT_FALSE(e[11].movable.has_value());
  EXPECT_EQ(e[11].at_ns, 9'000'000);
}

TEST(Resolve, RepeatsExpandAndSortStablyByTime) {
  const Workload w = from_text(workload("", R"(
      {"at": "3ms", "shrink": {"cache": "c"}},
      {"at": "1ms", "repeat": {"every": "2ms", "count": 4}, "memory_offline": {"node": 1}},
      {"at": "1ms", "memory_online": {"node": 1}},
      {"at": "10ms", "repeat": {"every": "1ns", "count": 1}, "cpu_offline": {"cpu": 1}})"));
  std::vector<std::pair<std::int64_t, std::string>> got;
  for (const auto& e : w.events)
    got.emplace_back(e.at_ns / 1000, e.source + "#" + std::to_string(e.occurrence));
  const std::vector<std::pair<std::int64_t, std::string>> want = {
      {1000, "/events/1#0"}, {1000, "/events/2#0"}, {3000, "/events/0#0"},  {3000, "/events/1#1"},
      {5000, "/events/1#2"}, {7000, "/events/1#3"}, {10000, "/events/3#0"},
  };
  EXPECT_EQ(got, want);
}

TEST(Resolve, RepeatMayEndExactlyAtTheDuration) {
  const Workload w = from_text(workload(
      "", R"({"at": "1ms", "repeat": {"every": "3ms", "count": 4}, "shrink": {"cache": "c"}})"));
  ASSERT_EQ(w.events.size(), 4u);
  EXPECT_EQ(w.events.back().at_ns, 10'000'000);
}

TEST(Resolve, FileTopologyAndSeed) {
  const Workload w = from_text(
      workload("", "", R"(, "topology": "qemu-2node-hotplug", "seed": 9007199254740993)"));
  EXPECT_EQ(w.topology, "qemu-2node-hotplug");
  EXPECT_EQ(w.seed, 9007199254740993u);
}

// --- Diagnostics -------------------------------------------------------------------------------

TEST(Diagnostics, EveryProblemIsReportedAtOnceWithFileAndPointer) {
  const auto list = problems(
      workload(thread(R"("cpus": [0, 99], "cache": "cc")") + "," + thread(R"("cpus": "all")"),
               R"({"at": "11ms", "cpu_offline": {"cpu": 1}})"));
  EXPECT_TRUE(reported(list, "/threads/0/cpus/1", "got CPU 99, which it does not have"))
      << all_of(list);
  EXPECT_TRUE(reported(list, "/threads/0/cache", "did you mean \"c\"?")) << all_of(list);
  EXPECT_TRUE(reported(list, "/threads/1/name", "already used by /threads/0")) << all_of(list);
  EXPECT_TRUE(reported(list, "/events/0/at", "within the workload's duration (10ms), got 11ms"))
      << all_of(list);
  for (const auto& d : list)
    EXPECT_EQ(d.file, "test.json");
}

TEST(Diagnostics, FractionsAndCpusAllReportOnceEach) {
  auto list = problems(workload(thread(R"("cpus": "alll", "alloc_node_fraction": 1.5,
                                          "remote_free_fraction": "half")")));
  EXPECT_TRUE(reported(list, "/threads/0/cpus", "expected \"all\" or a list of CPU ids"))
      << all_of(list);
  EXPECT_TRUE(reported(list, "/threads/0/alloc_node_fraction",
                       "expected a number from 0 to 1, got a number (1.5)"))
      << all_of(list);
  EXPECT_TRUE(reported(list, "/threads/0/remote_free_fraction", "got a string (\"half\")"))
      << all_of(list);
  EXPECT_EQ(list.size(), 3u) << all_of(list);
}

TEST(Diagnostics, FixedNodeGoesWithFixedOnly) {
  auto list = problems(workload(thread(R"("cpus": [0], "target_node": "fixed")")));
  EXPECT_TRUE(reported(list, "/threads/0", "missing required key \"fixed_node\"")) << all_of(list);
  list = problems(workload(thread(R"("cpus": [0], "fixed_node": 1)")));
  EXPECT_TRUE(
      reported(list, "/threads/0/fixed_node", "only allowed with \"target_node\": \"fixed\""))
      << all_of(list);
  list = problems(workload(thread(R"("cpus": [0], "target_node": "fixed", "fixed_node": 2)")));
  EXPECT_TRUE(reported(list, "/threads/0/fixed_node",
                       "expected a node of topology \"two-socket-intel\" (0 to 1), got 2"))
      << all_of(list);
}

TEST(Diagnostics, CacheSettingsTheKernelWouldRefuse) {
  auto list = problems(R"({"name": "t", "duration": "1ms", "caches": [
      {"name": "a", "object_size": 64, "align": 24},
      {"name": "b", "object_size": 4194304, "flags": ["red_zone"]},
      {"name": "kmem_cache", "object_size": 64}]})");
  EXPECT_TRUE(reported(list, "/caches/0/align", "expected 0 or a power of two")) << all_of(list);
  EXPECT_TRUE(reported(list, "/caches/1/object_size", "kmem_cache_create() accepts"))
      << all_of(list);
  EXPECT_TRUE(reported(list, "/caches/2/name", "boot caches")) << all_of(list);
}

// --- The topology a workload names -------------------------------------------------------------

TEST(WorkloadTopology, PresetPathOrNone) {
  const auto doc = [](const std::string& topology, const std::string& name) {
    return config::parse_json_document(
        topology.empty() ? "{}" : R"({"topology": ")" + topology + "\"}", name);
  };
  EXPECT_EQ(workload_topology(doc("eight-socket", "w.json")), "eight-socket");
  EXPECT_FALSE(workload_topology(doc("", "w.json")).has_value());
  EXPECT_FALSE(
      workload_topology(config::parse_json_document(R"({"topology": 3})", "w.json")).has_value());
  // A relative path is taken from the workload's folder when the file is there.
  const std::string workloads = std::string(SLABSIM_SOURCE_DIR) + "/workloads/x.json";
  EXPECT_EQ(fs::path(*workload_topology(doc("../topologies/eight-socket.json", workloads))),
            fs::path(SLABSIM_SOURCE_DIR) / "workloads/../topologies/eight-socket.json");
  EXPECT_EQ(workload_topology(doc("nowhere/box.json", workloads)), "nowhere/box.json");
}

TEST(FormatDuration, LargestExactUnit) {
  EXPECT_EQ(format_duration(0), "0ns");
  EXPECT_EQ(format_duration(135), "135ns");
  EXPECT_EQ(format_duration(1500), "1500ns");
  EXPECT_EQ(format_duration(2000), "2us");
  EXPECT_EQ(format_duration(20'000'000), "20ms");
  EXPECT_EQ(format_duration(3'000'000'000), "3s");
}

// --- The schema --------------------------------------------------------------------------------

TEST(Schema, CommittedSchemaIsTheGeneratedOne) {
  const auto path = fs::path(SLABSIM_SOURCE_DIR) / "workloads/schema/workload.schema.json";
  EXPECT_EQ(json::parse(read_file(path)), workload_json_schema())
      << "regenerate with: build/slabsim workload schema -o workloads/schema/workload.schema.json";
}

TEST(Schema, EveryFieldHasADescription) {
  // Walks "properties" recursively: each declared key carries a description for editors.
  std::function<void(const json&, const std::string&)> walk = [&](const json& s,
                                                                  const std::string& where) {
    if (!s.is_object()) return;
    if (s.contains("properties"))
      for (const auto& [key, p] : s["properties"].items()) {
        EXPECT_TRUE(p.contains("description") && !p["description"].get<std::string>().empty())
            << where << "/" << key;
        walk(p, where + "/" + key);
      }
    if (s.contains("items")) walk(s["items"], where + "/*");
  };
  walk(workload_json_schema(), "");
}

TEST(Schema, FractionsAreNumbersAndCpusAcceptAll) {
  const json s = workload_json_schema();
  const json& t = s["properties"]["threads"]["items"]["properties"];
  for (const auto& key : fraction_keys())
    EXPECT_EQ(t[key]["type"], "number") << key;
  EXPECT_NE(t["cpus"].dump().find(R"({"const":"all"})"), std::string::npos);
  EXPECT_EQ(s["title"], "slabsim workload");
}

}  // namespace
}  // namespace slabsim::workload
