// Sweep plans: validation with JSON pointers, the points (order, count, defaults, the allocator
// dimension), paths relative to the plan's folder, point files (whole, cut short, of another
// run or allocator) and the committed schema.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/diagnostics.hpp"
#include "run/sweep_plan.hpp"

namespace slabsim::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

SweepPlan from_text(const std::string& text, const std::string& name = "plan.json") {
  return load_sweep_plan(config::parse_json_document(text, name));
}

std::vector<config::Diagnostic> errors_of(const std::string& text,
                                          const std::string& name = "plan.json") {
  try {
    from_text(text, name);
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

bool has_error(const std::vector<config::Diagnostic>& list, const std::string& pointer,
               const std::string& part) {
  for (const auto& d : list)
    if (d.pointer == pointer && d.message.find(part) != std::string::npos) return true;
  return false;
}

std::string all_of(const std::vector<config::Diagnostic>& list) {
  std::string out;
  for (const auto& d : list)
    out += d.str() + "\n";
  return out;
}

// A scratch folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "slabsim-sweep-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
  }
};

const char* const tiny_workload = R"({
  "name": "tiny", "topology": "two-socket-intel", "duration": "200us", "seed": 42,
  "caches": [{"name": "c", "object_size": 64}],
  "threads": [{"name": "t", "cpus": "all", "cache": "c",
               "think_time": {"constant": "1us"}, "lifetime": {"constant": "2us"}}]})";

// --- Points ------------------------------------------------------------------------------

TEST(SweepPlan, PointsAreTheProductInKeyOrderWithTheLastFastest) {
  const auto plan = from_text(R"({
    "name": "full",
    "grid": {"topology": ["four-socket-xeon-e7", "eight-socket"],
             "workload": ["steady-local", "remote-heavy"],
             "strategy": ["hotplug_lock", "slab_nodes"],
             "seed": [1, 2], "jitter_ns": [0, 500], "quantum_ns": [10000, 2000]}})");
  ASSERT_EQ(plan.points.size(), 64u);
  EXPECT_EQ(plan.name, "full");
  const std::vector<std::pair<std::string, std::size_t>> dims = {
      {"topology", 2}, {"workload", 2},  {"strategy", 2},
      {"seed", 2},     {"jitter_ns", 2}, {"quantum_ns", 2}};
  EXPECT_EQ(plan.dimensions, dims);
  const std::vector<std::string> topologies = {"four-socket-xeon-e7", "eight-socket"};
  const std::vector<std::string> workloads = {"steady-local", "remote-heavy"};
  const std::vector<std::string> strategies = {"hotplug_lock", "slab_nodes"};
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const auto& p = plan.points[i];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.quantum_ns, (i & 1) ? 2000 : 10000);
    EXPECT_EQ(p.jitter_ns, (i >> 1 & 1) ? 500 : 0);
    EXPECT_EQ(p.seed, (i >> 2 & 1) + 1);
    EXPECT_EQ(p.strategy, strategies[i >> 3 & 1]);
    EXPECT_EQ(p.workload, workloads[i >> 4 & 1]);
    EXPECT_EQ(p.topology, topologies[i >> 5 & 1]);
    EXPECT_EQ(p.allocator, "slub");  // no "allocator" key: SLUB, and no dimension
    // Names are loaded as they are.
    EXPECT_EQ(p.topology_input, p.topology);
    EXPECT_EQ(p.strategy_input, p.strategy);
    EXPECT_EQ((*p.topology_config)["name"], p.topology);
    EXPECT_EQ((*p.strategy_config)["name"], p.strategy);
    EXPECT_EQ((*p.workload_config)["name"], p.workload);
  }
}

TEST(SweepPlan, AllocatorsVaryBetweenWorkloadAndStrategy) {
  const auto plan = from_text(R"({
    "name": "alloc",
    "grid": {"workload": ["steady-local", "node-online"], "allocator": ["slob", "slub", "slab"],
             "strategy": ["hotplug_lock", "slab_nodes"], "seed": [1, 2]}})");
  ASSERT_EQ(plan.points.size(), 24u);
  const std::vector<std::pair<std::string, std::size_t>> dims = {
      {"workload", 2}, {"allocator", 3}, {"strategy", 2}, {"seed", 2}};
  EXPECT_EQ(plan.dimensions, dims);
  const std::vector<std::string> workloads = {"steady-local", "node-online"};
  const std::vector<std::string> allocators = {"slob", "slub", "slab"};  // as the plan has them
  const std::vector<std::string> strategies = {"hotplug_lock", "slab_nodes"};
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const auto& p = plan.points[i];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.seed, i % 2 + 1);
    EXPECT_EQ(p.strategy, strategies[i / 2 % 2]);
    EXPECT_EQ(p.allocator, allocators[i / 4 % 3]);
    EXPECT_EQ(p.workload, workloads[i / 12]);
    const json j = to_json(p);
    EXPECT_EQ(j["allocator"], p.allocator);
    EXPECT_EQ(j["index"], i);
  }
  // The points of one allocator share their inputs' configs with the others': only the
  // allocator tells them apart.
  EXPECT_EQ(plan.points[0].strategy_config, plan.points[4].strategy_config);
  EXPECT_EQ(plan.points[0].workload_config, plan.points[8].workload_config);
}

TEST(SweepPlan, MissingKeysTakeTheWorkloadsOwnTopologyAndSeed) {
  TempDir dir;
  dir.write("tiny.json", tiny_workload);
  dir.write("plan.json", R"({"name": "own", "grid": {"workload": ["steady-local", "tiny.json"],
                              "strategy": ["slab_nodes"]}})");
  const auto plan = load_sweep_plan(dir.path / "plan.json");
  ASSERT_EQ(plan.points.size(), 2u);
  const std::vector<std::pair<std::string, std::size_t>> dims = {{"workload", 2}, {"strategy", 1}};
  EXPECT_EQ(plan.dimensions, dims);
  EXPECT_EQ(plan.points[0].topology, "two-socket-intel");  // steady-local's own
  EXPECT_EQ(plan.points[0].seed, 1u);
  EXPECT_EQ(plan.points[1].topology, "two-socket-intel");
  EXPECT_EQ(plan.points[1].seed, 42u);  // tiny's own
  for (const auto& p : plan.points) {
    EXPECT_EQ(p.jitter_ns, 0);
    EXPECT_EQ(p.quantum_ns, 10000);
  }
  for (const auto& p : plan.points)
    EXPECT_EQ(p.allocator, "slub");
  const json j = to_json(plan.points[1]);
  EXPECT_EQ(j["allocator"], "slub");
  EXPECT_EQ(j["workload"], "tiny.json");
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["inputs"]["topology"], "two-socket-intel");
}

TEST(SweepPlan, RelativePathsAreRelativeToThePlansFolderAndLoadedAbsolute) {
  TempDir dir;
  dir.write("loads/tiny.json", tiny_workload);
  dir.write("strategies/mine.json", R"({"name": "mine", "base": "slab_nodes"})");
  dir.write("plans/p.json", R"({"name": "rel", "grid": {"workload": ["../loads/tiny.json"],
                                 "strategy": ["../strategies/mine.json", "mutex_only"]}})");
  // From another working directory: the plan's folder decides, not the working directory.
  const auto plan = load_sweep_plan(dir.path / "plans" / "p.json");
  ASSERT_EQ(plan.points.size(), 2u);
  const auto& p = plan.points[0];
  EXPECT_EQ(p.workload, "../loads/tiny.json");  // as written
  EXPECT_EQ(p.strategy, "../strategies/mine.json");
  EXPECT_TRUE(fs::path(p.workload_input).is_absolute());
  EXPECT_TRUE(fs::equivalent(p.workload_input, dir.path / "loads/tiny.json"));
  EXPECT_TRUE(fs::equivalent(p.strategy_input, dir.path / "strategies/mine.json"));
  EXPECT_EQ((*p.strategy_config)["name"], "mine");
  EXPECT_EQ(plan.points[1].strategy_input, "mutex_only");

  // The same entries, but not beside the plan: named at their pointers, with the resolved path.
  dir.write("p2.json", R"({"name": "rel", "grid": {"workload": ["../loads/tiny.json"],
                            "strategy": ["../strategies/mine.json"]}})");
  const auto errors = [&] {
    try {
      load_sweep_plan(dir.path / "p2.json");
    } catch (const config::ConfigError& e) {
      return e.diagnostics();
    }
    return std::vector<config::Diagnostic>{};
  }();
  ASSERT_EQ(errors.size(), 2u) << all_of(errors);
  EXPECT_EQ(errors[0].pointer, "/grid/workload/0");
  EXPECT_NE(errors[0].message.find((dir.path / "../loads/tiny.json").string()), std::string::npos)
      << errors[0].message;
  EXPECT_EQ(errors[1].pointer, "/grid/strategy/0");
}

TEST(SweepPlan, AWorkloadsOwnRelativeTopologyIsRelativeToTheWorkload) {
  TempDir dir;
  json w = json::parse(tiny_workload);
  w["topology"] = "../machines/box.json";
  dir.write("loads/w.json", w.dump());
  // Two nodes of two CPUs, as in tests/python/test_run.py.
  json box = {{"name", "box"}, {"sockets", json::array({{{"id", 0}}, {{"id", 1}}})}};
  for (int n = 0; n < 2; ++n)
    box["nodes"].push_back({{"id", n},
                            {"socket", n},
                            {"cpus", std::to_string(2 * n) + "-" + std::to_string(2 * n + 1)},
                            {"memory", {{"blocks", json::array({{{"size", "1GiB"}}})}}}});
  box["distance"] = {{"local_latency", "100ns"},
                     {"links", json::array({{{"between", {0, 1}}, {"latency", "60ns"}}})}};
  dir.write("machines/box.json", box.dump());
  dir.write("p.json", R"({"name": "p", "grid": {"workload": ["loads/w.json"],
                           "strategy": ["slab_nodes"]}})");
  const auto plan = load_sweep_plan(dir.path / "p.json");
  ASSERT_EQ(plan.points.size(), 1u);
  EXPECT_EQ(plan.points[0].topology, "../machines/box.json");
  EXPECT_TRUE(fs::equivalent(plan.points[0].topology_input, dir.path / "machines/box.json"));
  EXPECT_EQ((*plan.points[0].topology_config)["name"], "box");
}

// --- Bad plans -------------------------------------------------------------------------------

TEST(SweepPlan, FormatErrorsNameTheirPointerAllAtOnce) {
  const auto errors = errors_of(R"({
    "name": "Bad Name", "extra": 1,
    "grid": {"workload": [], "strategy": ["slab_nodes", "slab_nodes", 3],
             "seed": [-1], "jiter_ns": [5], "quantum_ns": [0]}})");
  EXPECT_TRUE(has_error(errors, "/name", "lower-case letters")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/extra", "unknown key \"extra\"")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/workload", "at least 1 element")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/strategy/2", "got an integer (3)")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/strategy/1", "expected each value once")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/seed/0", "expected an integer from 0")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/jiter_ns", "did you mean \"jitter_ns\"")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/quantum_ns/0", "from 1 to 1000000")) << all_of(errors);
  for (const auto& d : errors)
    EXPECT_EQ(d.file, "plan.json");
}

TEST(SweepPlan, AllocatorNamesAreTheModelsNamedAtTheirPointer) {
  const auto errors = errors_of(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "allocator": ["slub", "slab2", "SLOB", "slub", 1], "strategy": ["slab_nodes"]}})");
  ASSERT_EQ(errors.size(), 4u) << all_of(errors);
  const std::string expected = R"(expected one of "slub", "slab" or "slob", got )";
  EXPECT_EQ(errors[0].str(), R"(plan.json: /grid/allocator/1: )" + expected +
                                 R"(a string ("slab2"); did you mean "slab"?)");
  EXPECT_TRUE(has_error(errors, "/grid/allocator/2", expected + R"(a string ("SLOB"))"))
      << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/allocator/4", expected + "an integer (1)"))
      << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/allocator/3", "expected each value once")) << all_of(errors);
  for (const auto& d : errors)
    EXPECT_EQ(d.file, "plan.json");
  EXPECT_TRUE(has_error(errors_of(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "allocator": [], "strategy": ["slab_nodes"]}})"),
                        "/grid/allocator", "at least 1 element"));
}

TEST(SweepPlan, WorkloadAndStrategyAreRequired) {
  const auto errors = errors_of(R"({"name": "p", "grid": {"seed": [1]}})");
  EXPECT_TRUE(has_error(errors, "/grid", "missing required key \"workload\"")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid", "missing required key \"strategy\"")) << all_of(errors);
  EXPECT_TRUE(has_error(errors_of(R"({"name": "p"})"), "", "missing required key \"grid\""));
}

TEST(SweepPlan, UnknownNamesAreNamedAtTheirPointerWithAGuess) {
  const auto errors = errors_of(R"({"name": "p", "grid": {
    "topology": ["two-socket-intell"], "workload": ["steady-locale"],
    "strategy": ["slab_nodez"]}})");
  ASSERT_EQ(errors.size(), 3u) << all_of(errors);
  EXPECT_TRUE(has_error(errors, "/grid/topology/0", "did you mean \"two-socket-intel\""));
  EXPECT_TRUE(has_error(errors, "/grid/workload/0", "did you mean \"steady-local\""));
  EXPECT_TRUE(has_error(errors, "/grid/strategy/0", "did you mean \"slab_nodes\""));
}

TEST(SweepPlan, AWorkloadWithoutATopologyNeedsOneInThePlan) {
  TempDir dir;
  json w = json::parse(tiny_workload);
  w.erase("topology");
  dir.write("w.json", w.dump());
  dir.write("p.json",
            R"({"name": "p", "grid": {"workload": ["w.json"], "strategy": ["slab_nodes"]}})");
  try {
    load_sweep_plan(dir.path / "p.json");
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].pointer, "/grid/workload/0");
    EXPECT_NE(e.diagnostics()[0].message.find("\"topology\""), std::string::npos);
  }
  dir.write("p.json", R"({"name": "p", "grid": {"topology": ["eight-socket"],
                           "workload": ["w.json"], "strategy": ["slab_nodes"]}})");
  EXPECT_EQ(load_sweep_plan(dir.path / "p.json").points.at(0).topology, "eight-socket");
}

TEST(SweepPlan, AnInputFilesProblemNamesThatFile) {
  TempDir dir;
  json w = json::parse(tiny_workload);
  w["threads"][0]["cpus"] = json::array({0, 99});
  dir.write("w.json", w.dump());
  dir.write("p.json",
            R"({"name": "p", "grid": {"workload": ["w.json"], "strategy": ["slab_nodes"]}})");
  try {
    load_sweep_plan(dir.path / "p.json");
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(fs::path(e.diagnostics().at(0).file), dir.path / "w.json");
    EXPECT_EQ(e.diagnostics()[0].pointer, "/threads/0/cpus/1");
  }
}

// --- Point files -----------------------------------------------------------------------------

json whole_result(const SweepPoint& p) {
  return {{"slabsim", {{"version", "test"}}},
          {"config",
           {{"allocator", p.allocator},
            {"topology", *p.topology_config},
            {"workload", *p.workload_config},
            {"strategy", *p.strategy_config},
            {"seed", p.seed},
            {"jitter_ns", p.jitter_ns},
            {"quantum_ns", p.quantum_ns}}},
          {"simulated_ns", 1},
          {"metrics", {{"findings", json::array()}}}};
}

TEST(SweepPlan, PointFilesAreWholeResultsOfTheirPointOrStillToRun) {
  TempDir dir;
  const auto plan = from_text(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "strategy": ["slab_nodes"], "seed": [1, 2]}})");
  const auto& p = plan.points[1];
  EXPECT_EQ(point_file_name(1), "point-1.json");
  EXPECT_FALSE(read_point_result(p, dir.path));  // absent

  const std::string text = whole_result(p).dump(2) + "\n";
  dir.write("point-1.json", text.substr(0, text.size() / 2));  // cut short
  EXPECT_FALSE(read_point_result(p, dir.path));
  dir.write("point-1.json", "");
  EXPECT_FALSE(read_point_result(p, dir.path));

  dir.write("point-1.json", text);
  const auto read = read_point_result(p, dir.path);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, whole_result(p));
  // Extra keys a newer result may record do not matter.
  json more = whole_result(p);
  more["config"]["something_new"] = 1;
  dir.write("point-1.json", more.dump());
  EXPECT_TRUE(read_point_result(p, dir.path));

  // Point 0's result in point 1's file: another run, which a resumed sweep must not take.
  dir.write("point-1.json", whole_result(plan.points[0]).dump());
  try {
    read_point_result(p, dir.path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].pointer, "/config/seed");
    EXPECT_NE(e.diagnostics()[0].message.find("expected seed 2 of point 1"), std::string::npos)
        << e.what();
  }
  json edited = whole_result(p);
  edited["config"]["workload"]["duration"] = "1ms";
  dir.write("point-1.json", edited.dump());
  EXPECT_THROW(read_point_result(p, dir.path), config::ConfigError);
}

TEST(SweepPlan, APointFileOfAnotherAllocatorIsAnotherRun) {
  TempDir dir;
  const auto plan = from_text(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "allocator": ["slub", "slab"], "strategy": ["slab_nodes"]}})");
  ASSERT_EQ(plan.points.size(), 2u);
  const auto& slub = plan.points[0];
  const auto& slab = plan.points[1];
  ASSERT_EQ(slab.allocator, "slab");
  // The same inputs but SLUB's run in the SLAB point's file: only the allocator differs.
  dir.write("point-1.json", whole_result(slub).dump());
  try {
    read_point_result(slab, dir.path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].pointer, "/config/allocator");
    EXPECT_NE(e.diagnostics()[0].message.find(
                  R"(expected allocator slab of point 1 of the plan, got "slub")"),
              std::string::npos)
        << e.what();
  }
  dir.write("point-1.json", whole_result(slab).dump());
  EXPECT_TRUE(read_point_result(slab, dir.path));

  // A file from before results recorded the allocator holds a SLUB run: SLUB's point takes it,
  // SLAB's does not.
  json old = whole_result(slub);
  old["config"].erase("allocator");
  dir.write("point-0.json", old.dump());
  dir.write("point-1.json", old.dump());
  const auto read = read_point_result(slub, dir.path);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, old);  // as the file has it
  try {
    read_point_result(slab, dir.path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].pointer, "/config/allocator");
    EXPECT_NE(e.diagnostics()[0].message.find(R"(got "slub")"), std::string::npos) << e.what();
  }
  // And a plan without the key is SLUB's: a SLAB run is another run for it.
  const auto implicit = from_text(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "strategy": ["slab_nodes"]}})");
  dir.write("point-0.json", whole_result(slab).dump());
  EXPECT_THROW(read_point_result(implicit.points.at(0), dir.path), config::ConfigError);
}

TEST(SweepPlan, APointFileOfAnotherQuantumIsAnotherRun) {
  TempDir dir;
  const auto plan = from_text(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "strategy": ["slab_nodes"], "quantum_ns": [10000, 2000]}})");
  ASSERT_EQ(plan.points.size(), 2u);
  dir.write("point-1.json", whole_result(plan.points[0]).dump());
  try {
    read_point_result(plan.points[1], dir.path);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].pointer, "/config/quantum_ns");
    EXPECT_NE(e.diagnostics()[0].message.find("expected quantum_ns 2000 of point 1"),
              std::string::npos)
        << e.what();
  }
  // A file from before results recorded the quantum: taken to be the point's.
  json old = whole_result(plan.points[1]);
  old["config"].erase("quantum_ns");
  dir.write("point-1.json", old.dump());
  EXPECT_TRUE(read_point_result(plan.points[1], dir.path));
}

TEST(SweepPlan, GridSettingsAreTheRunSettings) {
  // The grid's bounds and defaults are the declared settings' (run/run_settings.hpp).
  const auto plan = from_text(R"({"name": "p", "grid": {"workload": ["steady-local"],
    "strategy": ["slab_nodes"]}})");
  EXPECT_EQ(plan.points.at(0).quantum_ns, quantum_setting.default_value());
  EXPECT_EQ(plan.points.at(0).jitter_ns, jitter_setting.default_value());
  for (const auto* setting : {&quantum_setting, &jitter_setting}) {
    const std::string key(setting->key);
    const auto items = sweep_plan_json_schema()["properties"]["grid"]["properties"][key]["items"];
    EXPECT_EQ(items["minimum"], setting->min) << key;
    EXPECT_EQ(items["maximum"], setting->max) << key;
    const auto too_big = json{{"name", "p"},
                              {"grid",
                               {{"workload", {"steady-local"}},
                                {"strategy", {"slab_nodes"}},
                                {key, {setting->max + 1}}}}};
    EXPECT_THROW(from_text(too_big.dump()), config::ConfigError) << key;
  }
}

// --- The schema --------------------------------------------------------------------------------

TEST(SweepPlan, CommittedSchemaIsTheGeneratedOne) {
  std::ifstream in(std::string(SLABSIM_SOURCE_DIR) + "/workloads/schema/sweep.schema.json");
  ASSERT_TRUE(in) << "workloads/schema/sweep.schema.json is missing";
  EXPECT_EQ(json::parse(in), sweep_plan_json_schema())
      << "regenerate: build/slabsim sweep --schema > workloads/schema/sweep.schema.json";
}

TEST(SweepPlan, TheExamplePlansLoad) {
  const fs::path dir = fs::path(SLABSIM_SOURCE_DIR) / "workloads/sweeps";
  int plans = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    EXPECT_NO_THROW(load_sweep_plan(e.path())) << e.path();
    ++plans;
  }
  EXPECT_GE(plans, 1);
  const auto plan = load_sweep_plan(dir / "locking-by-seed.json");
  ASSERT_EQ(plan.points.size(), 8u);
  EXPECT_EQ(plan.points[0].strategy, "hotplug_lock");
  EXPECT_EQ(plan.points[4].strategy, "slab_nodes");
  EXPECT_EQ(plan.points[7].seed, 4u);
  EXPECT_EQ(plan.points[7].topology, "qemu-2node-hotplug");
  EXPECT_EQ(plan.points[7].allocator, "slub");

  const auto allocators = load_sweep_plan(dir / "allocators.json");
  const std::vector<std::pair<std::string, std::size_t>> dims = {
      {"workload", 1}, {"allocator", 3}, {"strategy", 2}, {"seed", 1}};
  EXPECT_EQ(allocators.dimensions, dims);
  ASSERT_EQ(allocators.points.size(), 6u);
  const std::vector<std::string> models = {"slub", "slab", "slob"};
  for (const auto& p : allocators.points) {
    EXPECT_EQ(p.allocator, models[p.index / 2]);
    EXPECT_EQ(p.strategy, p.index % 2 ? "slab_nodes_nocpu" : "hotplug_lock");
    EXPECT_EQ(p.workload, "node-online");
    EXPECT_EQ(p.seed, 1u);
  }
}

}  // namespace
}  // namespace slabsim::sim
