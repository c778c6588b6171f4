#include "run/sweep_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>

#include "allocator/allocator.hpp"
#include "config/diagnostics.hpp"
#include "config/json_pointer.hpp"
#include "config/suggest.hpp"
#include "run/run_settings.hpp"
#include "run/scenarios.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/presets.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::sim {

using namespace slabsim::config;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A grid key of an integer run setting: its bounds, default and description are the setting's
// (run/run_settings.hpp), as `slabsim run`'s flag has them.
Field setting_values(const IntSetting& setting) {
  return optional(std::string(setting.key), array(integer(setting.min, setting.max), 1),
                  fmt::format("{} (slabsim run {}).", setting.description, setting.flag),
                  json::array({setting.default_value()}));
}

// "slub", "slab", "slob": the names `slabsim run -a` takes.
std::vector<std::string> allocator_names() {
  std::vector<std::string> names;
  for (const auto& [kind, description] : alloc::allocator_kinds())
    names.emplace_back(alloc::allocator_name(kind));
  return names;
}

SpecPtr make_spec() {
  auto entries = [] { return array(string(".+", "a preset name or a file path"), 1); };
  auto grid = object(
      "the values of each run parameter",
      {
          optional("topology", entries(),
                   "Machines: topology presets or files (relative paths are relative to this "
                   "file's folder). Default: each workload's own \"topology\"."),
          required("workload", entries(),
                   "Workloads: embedded scenario names or workload files (relative paths are "
                   "relative to this file's folder)."),
          // Defaults to SLUB, the allocator of runs without -a, so that plans written before
          // there were other models keep their points.
          optional("allocator", array(enumeration(allocator_names()), 1),
                   "Allocator models (slabsim run --allocator).", json::array({"slub"})),
          required("strategy", entries(),
                   "Locking strategies: presets or strategy files (relative paths are relative "
                   "to this file's folder)."),
          optional("seed", array(integer(0, std::numeric_limits<std::int64_t>::max()), 1),
                   "Seeds. Default: each workload's own \"seed\"."),
          setting_values(jitter_setting),
          setting_values(quantum_setting),
      });
  return object(
      "a sweep plan",
      {
          required("name",
                   string("[a-z0-9][a-z0-9._-]*",
                          "lower-case letters, digits, '.', '_' and '-', starting with a letter "
                          "or digit"),
                   "Short name of the sweep, shown by --list and the merge."),
          optional("description", string(), "Free text: what the sweep measures.", ""),
          required("grid", grid,
                   "The values of each run parameter: the points are their cartesian product."),
      });
}

// A grid entry: how the plan writes it, what diagnostics of its file call it (a path relative
// to the working directory, as the user would write it), and what points load (absolute).
struct Entry {
  std::string label;
  std::string load;
  std::string input;
};

// Each entry of grid[key]: a name that `is_name` accepts as it is, else a file relative to
// `folder`; an entry that is neither is reported at its pointer.
std::vector<Entry> resolve_entries(const json& grid, const std::string& key, const fs::path& folder,
                                   const std::function<bool(const std::string&)>& is_name,
                                   const std::string& what, const std::vector<std::string>& names,
                                   Diagnostics& d) {
  std::vector<Entry> out;
  if (!grid.contains(key)) return out;
  for (std::size_t i = 0; i < grid[key].size(); ++i) {
    const std::string written = grid[key][i].get<std::string>();
    if (is_name(written)) {
      out.push_back({written, written, written});
      continue;
    }
    fs::path path(written);
    if (path.is_relative() && !folder.empty()) path = folder / path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      const auto guess = closest_match(written, names);
      d.error(pointer_append(pointer_append("/grid", key), i),
              fmt::format("expected a {} or a file, got {}: no file {}, and no {} of that name{}; "
                          "{}s: {}",
                          what, describe_value(grid[key][i]), path.string(), what,
                          guess ? fmt::format(" (did you mean \"{}\"?)", *guess) : "", what,
                          fmt::join(names, ", ")));
      continue;
    }
    out.push_back({written, path.string(), fs::absolute(path, ec).string()});
  }
  return out;
}

// An entry repeated within one grid key would run the same points twice. Checked even when the
// plan has other problems, so that all of them are reported at once.
void check_unique(const json& root, Diagnostics& d) {
  if (!root.is_object() || !root.contains("grid") || !root["grid"].is_object()) return;
  const json& grid = root["grid"];
  for (const auto& key : sweep_grid_keys) {
    if (!grid.contains(key) || !grid[key].is_array()) continue;
    const json& values = grid[key];
    std::map<json, std::size_t> first;  // a grid may hold thousands of seeds
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto [at, inserted] = first.emplace(values[i], i);
      if (!inserted)
        d.error(pointer_append(pointer_append("/grid", key), i),
                fmt::format("expected each value once, got {} again (as at {})",
                            describe_value(values[i]),
                            pointer_append(pointer_append("/grid", key), at->second)));
    }
  }
}

}  // namespace

const SpecPtr& sweep_plan_spec() {
  static const SpecPtr spec = make_spec();
  return spec;
}

json sweep_plan_json_schema() {
  json s = sweep_plan_spec()->json_schema();
  s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  s["title"] = "slabsim sweep plan";
  return s;
}

namespace {

// The grid's entries, resolved: names as they are, files relative to the plan's folder.
struct GridEntries {
  std::vector<Entry> topologies, workloads, strategies;
};

GridEntries resolve_grid(const json& grid, const fs::path& folder, Diagnostics& d) {
  std::vector<std::string> strategy_names;
  for (const auto& s : alloc::strategy_presets())
    strategy_names.push_back(s.name);
  const auto scenarios = scenario_names();
  GridEntries g;
  g.topologies = resolve_entries(
      grid, "topology", folder,
      [](const std::string& s) { return topology::preset_text(s).has_value(); }, "topology preset",
      topology::preset_names(), d);
  g.workloads = resolve_entries(
      grid, "workload", folder,
      [&](const std::string& s) {
        return std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end();
      },
      "scenario", scenarios, d);
  g.strategies = resolve_entries(
      grid, "strategy", folder,
      [](const std::string& s) { return alloc::find_strategy_preset(s) != nullptr; },
      "strategy preset", strategy_names, d);
  return g;
}

struct LoadedWorkload {
  std::shared_ptr<const json> config;
  std::uint64_t seed = 1;
  Entry own_topology;  // the workload's own "topology", when the plan gives none
};

// Every input, loaded once before anything runs; an input file's problems name that file.
struct LoadedInputs {
  std::map<std::string, topology::Topology> machines;  // by Entry::input
  std::map<std::string, std::shared_ptr<const json>> machine_configs;
  std::vector<std::shared_ptr<const json>> strategy_configs;
  std::vector<LoadedWorkload> workloads;

  void add_machine(const Entry& e) {
    if (machines.contains(e.input)) return;
    machines[e.input] = topology::load_topology(e.load);
    machine_configs[e.input] = std::make_shared<const json>(topology::to_json(machines[e.input]));
  }
};

// A workload of the grid, checked against each machine it will run on: the plan's topologies,
// or without them the workload's own.
void load_grid_workload(const json& grid, std::size_t i, const Entry& entry,
                        const std::vector<Entry>& topologies, LoadedInputs& in, Diagnostics& d) {
  const auto doc = load_workload_document(entry.load);
  LoadedWorkload w{std::make_shared<const json>(doc.root), 1, {}};
  std::vector<std::string> runs_on;
  if (topologies.empty()) {
    const auto own = workload::workload_topology(doc);
    if (!own) {
      d.error(pointer_append("/grid/workload", i),
              fmt::format("expected a workload that names its \"topology\", or a \"topology\" "
                          "key in /grid, got {}, which names none",
                          describe_value(grid["workload"][i])));
      return;
    }
    std::error_code ec;
    const bool preset = topology::preset_text(*own).has_value();
    w.own_topology = {doc.root["topology"].get<std::string>(), *own,
                      preset ? *own : fs::absolute(*own, ec).string()};
    in.add_machine(w.own_topology);
    runs_on.push_back(w.own_topology.input);
  } else {
    for (const auto& t : topologies)
      runs_on.push_back(t.input);
  }
  for (const auto& input : runs_on)
    w.seed = workload::load_workload(doc, in.machines.at(input)).seed;
  in.workloads.push_back(std::move(w));
}

LoadedInputs load_inputs(const json& grid, const GridEntries& g, Diagnostics& d) {
  LoadedInputs in;
  for (const auto& t : g.topologies)
    in.add_machine(t);
  for (const auto& s : g.strategies)
    in.strategy_configs.push_back(
        std::make_shared<const json>(strategy::to_json(strategy::load_strategy(s.load))));
  for (std::size_t i = 0; i < g.workloads.size(); ++i)
    load_grid_workload(grid, i, g.workloads[i], g.topologies, in, d);
  return in;
}

// The product, in the order of sweep_grid_keys. Without plan topologies the outer loop runs
// once, over each workload's own.
std::vector<SweepPoint> grid_points(const json& grid, const GridEntries& g,
                                    const LoadedInputs& in) {
  std::vector<SweepPoint> points;
  const std::size_t topology_count = std::max<std::size_t>(1, g.topologies.size());
  for (std::size_t t = 0; t < topology_count; ++t)
    for (std::size_t w = 0; w < g.workloads.size(); ++w) {
      const Entry& topo = g.topologies.empty() ? in.workloads[w].own_topology : g.topologies[t];
      std::vector<std::uint64_t> seeds;
      if (grid.contains("seed"))
        for (const auto& s : grid["seed"])
          seeds.push_back(s.get<std::uint64_t>());
      else
        seeds.push_back(in.workloads[w].seed);
      for (const auto& allocator : grid["allocator"])
        for (std::size_t s = 0; s < g.strategies.size(); ++s)
          for (const auto seed : seeds)
            for (const auto& jitter : grid["jitter_ns"])
              for (const auto& quantum : grid["quantum_ns"]) {
                SweepPoint p;
                p.index = points.size();
                p.topology = topo.label;
                p.workload = g.workloads[w].label;
                p.allocator = allocator.get<std::string>();
                p.strategy = g.strategies[s].label;
                p.seed = seed;
                p.jitter_ns = jitter.get<std::int64_t>();
                p.quantum_ns = quantum.get<std::int64_t>();
                p.topology_input = topo.input;
                p.workload_input = g.workloads[w].input;
                p.strategy_input = g.strategies[s].input;
                p.topology_config = in.machine_configs.at(topo.input);
                p.workload_config = in.workloads[w].config;
                p.strategy_config = in.strategy_configs[s];
                points.push_back(std::move(p));
              }
    }
  return points;
}

}  // namespace

SweepPlan load_sweep_plan(const JsonDocument& document) {
  Diagnostics d(document.name);
  const auto& spec = sweep_plan_spec();
  spec->validate(document.root, "", d);
  check_unique(document.root, d);
  d.throw_if_any();
  json root = document.root;
  spec->apply_defaults(root);
  const json& grid = root["grid"];
  // Relative paths are relative to the plan's folder; a plan given as text (Python's dict) has
  // none, and its paths are relative to the working directory.
  const GridEntries entries = resolve_grid(grid, fs::path(document.name).parent_path(), d);
  d.throw_if_any();
  const LoadedInputs inputs = load_inputs(grid, entries, d);
  d.throw_if_any();

  SweepPlan plan;
  plan.file = document.name;
  plan.name = root["name"].get<std::string>();
  plan.description = root["description"].get<std::string>();
  for (const auto& key : sweep_grid_keys)
    if (document.root["grid"].contains(key))
      plan.dimensions.emplace_back(key, document.root["grid"][key].size());
  plan.points = grid_points(grid, entries, inputs);
  return plan;
}

SweepPlan load_sweep_plan(const fs::path& path) {
  return load_sweep_plan(load_json_document(path));
}

json to_json(const SweepPoint& p) {
  return {{"index", p.index},
          {"topology", p.topology},
          {"workload", p.workload},
          {"allocator", p.allocator},
          {"strategy", p.strategy},
          {"seed", p.seed},
          {"jitter_ns", p.jitter_ns},
          {"quantum_ns", p.quantum_ns},
          {"inputs",
           {{"topology", p.topology_input},
            {"workload", p.workload_input},
            {"strategy", p.strategy_input}}}};
}

std::string point_file_name(std::size_t index) {
  return fmt::format("point-{}.json", index);
}

std::optional<json> read_point_result(const SweepPoint& p, const fs::path& directory) {
  const fs::path path = directory / point_file_name(p.index);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  json result = json::parse(text, nullptr, /*allow_exceptions=*/false);
  // Files are written atomically, so a partial one comes from elsewhere (a copy cut short, a
  // full disk): the point is still to run.
  if (result.is_discarded() || !result.is_object() || !result.contains("config") ||
      !result["config"].is_object() || !result.contains("metrics") ||
      !result["metrics"].is_object() || !result["metrics"].contains("findings") ||
      !result["metrics"]["findings"].is_array())
    return std::nullopt;

  // Only the keys a sweep point fixes: a result may record more than this version knows.
  const json& config = result["config"];
  Diagnostics d(path.string());
  auto name_of = [](const json& j) {
    return j.is_object() && j.contains("name") ? j["name"].dump() : std::string("none");
  };
  // `absent`: what a result without the key ran with.
  auto check = [&](const std::string& key, const json& expected, const std::string& what,
                   const json& absent = json()) {
    const json got = config.contains(key) ? config[key] : absent;
    if (got == expected) return;
    d.error(pointer_append("/config", key),
            fmt::format("expected {} of point {} of the plan, got {}; this file holds another "
                        "run: remove it, or give the plan a directory of its own",
                        what, p.index,
                        got.is_object() ? "another one, named " + name_of(got) : got.dump()));
  };
  // Results record the allocator since there are several; an older file's run was SLUB's.
  check("allocator", p.allocator, fmt::format("allocator {}", p.allocator), "slub");
  check("seed", p.seed, fmt::format("seed {}", p.seed));
  check("jitter_ns", p.jitter_ns, fmt::format("jitter_ns {}", p.jitter_ns));
  // Results record the quantum since the run settings are declared once; an older file's is
  // unknown, and taken to be the point's.
  check("quantum_ns", p.quantum_ns, fmt::format("quantum_ns {}", p.quantum_ns), p.quantum_ns);
  check("topology", *p.topology_config,
        fmt::format("the topology {}", name_of(*p.topology_config)));
  check("workload", *p.workload_config,
        fmt::format("the workload document {}", name_of(*p.workload_config)));
  check("strategy", *p.strategy_config,
        fmt::format("the strategy {}", name_of(*p.strategy_config)));
  d.throw_if_any();
  return result;
}

}  // namespace slabsim::sim
