// slabsim._slabsim: the C++ core seen from Python. JSON crosses the boundary as text, so Python
// gets exactly what result files hold.
#include <fmt/format.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>

#include "allocator/make_allocator.hpp"
#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "run/headline_metrics.hpp"
#include "run/host_memory.hpp"
#include "run/result.hpp"
#include "run/run_request.hpp"
#include "run/scenarios.hpp"
#include "run/sweep_plan.hpp"
#include "run/trace.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/numactl_report.hpp"
#include "topology/presets.hpp"
#include "topology/topology_format.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using namespace slabsim;

// Thrown from inside the simulation when Python has a pending signal (Ctrl-C, a notebook's
// interrupt): the engine stops every actor and rethrows it after its run, and the binding then
// raises the pending KeyboardInterrupt. SimGrid's own SIGINT handler is not in the way: the
// engine wrapper restores Python's handler once the engine is built.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};

std::mutex& engine_mutex() {
  static std::mutex m;
  return m;
}

sim::RunRequest request_of(const std::optional<std::string>& topology, bool topology_is_json,
                           const std::string& workload, bool workload_is_json,
                           const std::string& strategy, bool strategy_is_json,
                           const std::string& allocator) {
  const auto kind = alloc::find_allocator(allocator);
  if (!kind) {
    std::string known;
    for (const auto& [k, description] : alloc::allocator_kinds())
      known += (known.empty() ? "" : ", ") + std::string(alloc::allocator_name(k));
    throw py::value_error("allocator: expected one of " + known + ", got \"" + allocator + "\"");
  }
  sim::RunRequest request;
  if (topology) request.topology = {*topology, topology_is_json};
  request.workload = {workload, workload_is_json};
  request.strategy = {strategy, strategy_is_json};
  request.settings.allocator = *kind;
  return request;
}

// One run, as `slabsim run` does it: the result JSON (as text, as result files hold it) and
// every report's text. None for seed, jitter_ns, quantum_ns and time_bucket_ns: the core's
// defaults.
py::dict run(const std::optional<std::string>& topology, bool topology_is_json,
             const std::string& workload, bool workload_is_json, const std::string& strategy,
             bool strategy_is_json, const std::string& allocator, std::optional<std::uint64_t> seed,
             std::optional<std::int64_t> jitter_ns, std::optional<std::int64_t> quantum_ns,
             std::optional<std::int64_t> time_bucket_ns, bool lookahead, bool slab_nomerge,
             const std::string& trace_path) {
  sim::RunRequest request = request_of(topology, topology_is_json, workload, workload_is_json,
                                       strategy, strategy_is_json, allocator);
  request.settings.seed = seed;
  for (const auto& [setting, value] :
       {std::pair{&sim::jitter_setting, jitter_ns}, std::pair{&sim::quantum_setting, quantum_ns},
        std::pair{&sim::time_bucket_setting, time_bucket_ns}}) {
    if (!value) continue;
    if (*value < setting->min || *value > setting->max)
      throw py::value_error(fmt::format("{}: expected an integer from {} to {}, got {}",
                                        setting->key, setting->min, setting->max, *value));
    request.settings.*setting->field = *value;
  }
  request.settings.lookahead = lookahead;
  request.settings.slab_nomerge = slab_nomerge;
  request.trace_path = trace_path;
  // As the CLI's default --max-memory: a workload that cannot fit raises ConfigError, a run that
  // outgrows the limit MemoryError, before the kernel's OOM killer would end the interpreter.
  request.max_memory_bytes = sim::default_memory_limit();
  request.progress = [](std::int64_t) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw Interrupted();
  };
  const auto prepared = std::make_shared<const sim::PreparedRun>(sim::prepare_run(request));
  sim::RunOutcome outcome;
  bool interrupted = false;
  std::optional<std::string> trace_error;
  std::optional<std::string> memory_error;
  {
    // Without the GIL, so that the other threads of the process go on: a Dask worker's event
    // loop answers its scheduler's heartbeats during a long run. One engine at a time per
    // process (SimGrid's rule); the GIL is released first, so a run waiting here never blocks
    // the running one's signal checks.
    py::gil_scoped_release no_gil;
    std::lock_guard one_engine(engine_mutex());
    try {
      outcome = sim::run(prepared);
    } catch (const Interrupted&) {
      interrupted = true;
    } catch (const sim::TraceWriteError& e) {
      trace_error = e.what();
    } catch (const sim::MemoryLimitExceeded& e) {
      memory_error = e.what();
    }
  }
  if (interrupted) throw py::error_already_set();
  if (memory_error) {
    PyErr_SetString(PyExc_MemoryError, memory_error->c_str());
    throw py::error_already_set();
  }
  if (trace_error) {
    PyErr_SetString(PyExc_OSError, trace_error->c_str());
    throw py::error_already_set();
  }
  py::dict reports;
  for (const auto& name : sim::report_names())
    reports[py::str(name)] = sim::report(name, outcome);
  return py::dict("result"_a = sim::result_json(outcome).dump(), "reports"_a = reports);
}

// The headline metrics of a result document for Python's Result.summary: [(column, value)], in
// order (run/headline_metrics.hpp), as JSON text.
std::string headline(const std::string& result_text) {
  const auto result = nlohmann::json::parse(result_text);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& column : sim::metric_columns(sim::view_python))
    out.push_back({column.name(), column.value(result)});
  return out.dump();
}

// The layout fields of an allocator's caches, as the result's metrics.caches.<name>.layout
// holds them (alloc::layout_fields()): JSON text [{name, type, kernel}], in order.
std::string cache_layout_fields(const std::string& allocator) {
  const auto kind = alloc::find_allocator(allocator);
  if (!kind) throw py::value_error("allocator: unknown \"" + allocator + "\"");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : alloc::layout_fields(*kind))
    out.push_back(
        {{"name", f.name}, {"type", alloc::layout_type_name(f.type)}, {"kernel", f.kernel}});
  return out.dump();
}

// The defaults of run()'s settings, declared once in the core (run/run_settings.hpp).
py::dict run_defaults() {
  py::dict d;
  for (const auto* setting :
       {&sim::jitter_setting, &sim::quantum_setting, &sim::time_bucket_setting})
    d[py::str(std::string(setting->key))] = setting->default_value();
  d["strategy"] = std::string(sim::default_strategy);
  d["strategies"] = sim::default_strategies;
  d["workload"] = std::string(sim::default_scenario);
  d["allocator"] = std::string(alloc::allocator_name(sim::RunSettings{}.allocator));
  return d;
}

sim::SweepPlan sweep_plan(const std::string& plan, bool is_json) {
  return is_json ? sim::load_sweep_plan(config::parse_json_document(plan, "<plan dict>"))
                 : sim::load_sweep_plan(std::filesystem::path(plan));
}

// The points of a sweep plan, as `slabsim sweep --list` has them, so that Python and the CLI
// agree on what point N is.
std::string sweep_points(const std::string& plan, bool is_json) {
  const auto p = sweep_plan(plan, is_json);
  nlohmann::json points = nlohmann::json::array();
  for (const auto& point : p.points)
    points.push_back(sim::to_json(point));
  return nlohmann::json{{"name", p.name}, {"description", p.description}, {"points", points}}
      .dump();
}

// The points whose file in `directory` holds their whole result (what a resumed sweep skips);
// ConfigError if a file holds a run of other inputs.
std::vector<std::size_t> sweep_done(const std::string& plan, bool is_json,
                                    const std::string& directory) {
  std::vector<std::size_t> out;
  for (const auto& point : sweep_plan(plan, is_json).points)
    if (sim::read_point_result(point, directory)) out.push_back(point.index);
  return out;
}

}  // namespace

namespace {

// ConfigError(ValueError) with .diagnostics: a list of {file, pointer, message}.
void bind_config_error(py::module_& m) {
  static py::exception<config::ConfigError> config_error(m, "ConfigError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const config::ConfigError& e) {
      py::list diagnostics;
      for (const auto& d : e.diagnostics())
        diagnostics.append(
            py::dict("file"_a = d.file, "pointer"_a = d.pointer, "message"_a = d.message));
      py::object type = py::reinterpret_borrow<py::object>(config_error.ptr());
      py::object instance = type(e.what());
      instance.attr("diagnostics") = diagnostics;
      PyErr_SetObject(config_error.ptr(), instance.ptr());
    }
  });
}

void bind_topologies(py::module_& m) {
  m.def("presets", &topology::preset_names, "Names of the topology presets compiled in.");
  m.def("default_preset", [] { return std::string(topology::default_preset); });
  m.def(
      "topology_json",
      [](const std::string& path_or_preset) {
        return topology::to_json(topology::load_topology(path_or_preset)).dump();
      },
      "path_or_preset"_a, "The resolved machine as JSON text; raises ConfigError on bad input.");
  m.def(
      "show_topology",
      [](const std::string& path_or_preset) {
        return topology::show_topology(topology::load_topology(path_or_preset));
      },
      "path_or_preset"_a, "What `slabsim topology show` prints.");
  m.def(
      "topology_schema", [] { return topology::topology_spec()->json_schema().dump(); },
      "JSON Schema of topology files, as text.");
}

void bind_runs(py::module_& m) {
  m.def("run", &run, "topology"_a, "topology_is_json"_a, "workload"_a, "workload_is_json"_a,
        "strategy"_a, "strategy_is_json"_a, "allocator"_a, "seed"_a, "jitter_ns"_a, "quantum_ns"_a,
        "time_bucket_ns"_a, "lookahead"_a, "slab_nomerge"_a = false, "trace_path"_a = "",
        "One simulation run: {'result': JSON text, 'reports': {name: text}}. Raises ConfigError "
        "for bad input, ValueError for a bad setting and KeyboardInterrupt when interrupted.");
  m.def("headline", &headline, "result"_a,
        "The headline metrics of a result document (JSON text) as Result.summary shows them: "
        "JSON text [[column, value], ...].");
  m.def("cache_layout_fields", &cache_layout_fields, "allocator"_a,
        "The fields of a cache's layout under an allocator (slub, slab, slob), as results hold "
        "them: JSON text [{name, type (number, flags, cache), kernel}], in order.");
  m.def("run_defaults", &run_defaults,
        "The defaults of run() and compare(): workload, strategy, strategies (compare's, the main "
        "job's), allocator, jitter_ns, quantum_ns, time_bucket_ns.");
  m.def("scenarios", &sim::scenario_names, "The embedded workload scenarios.");
  m.def("strategy_presets", [] {
    std::vector<std::string> out;
    for (const auto& s : alloc::strategy_presets())
      out.push_back(s.name);
    return out;
  });
  m.def("report_names", &sim::report_names);
  m.def(
      "allocators",
      [] {
        std::vector<std::string> out;
        for (const auto& [kind, description] : alloc::allocator_kinds())
          out.emplace_back(alloc::allocator_name(kind));
        return out;
      },
      "The allocator models: slub, slab, slob.");
}

void bind_sweeps(py::module_& m) {
  m.def("sweep_points", &sweep_points, "plan"_a, "is_json"_a,
        "The points of a sweep plan (a file path, or its JSON text): JSON text {name, "
        "description, points: [{index, topology, workload, allocator, strategy, seed, "
        "jitter_ns, quantum_ns, inputs}]}. Raises ConfigError for a bad plan or input.");
  m.def("sweep_done", &sweep_done, "plan"_a, "is_json"_a, "directory"_a,
        "Indices of the points whose point-N.json in `directory` is their whole result. Raises "
        "ConfigError for a file that holds a run of other inputs.");
  m.def(
      "sweep_point_file_name", [](std::size_t index) { return sim::point_file_name(index); },
      "index"_a, "The name of a point's result file in a sweep directory: point-N.json.");
  m.def(
      "result_file_text",
      [](const std::string& result) { return nlohmann::json::parse(result).dump(2) + "\n"; },
      "result"_a, "A result as `slabsim run -o` and `slabsim sweep` write it, byte for byte.");
}

}  // namespace

PYBIND11_MODULE(_slabsim, m) {
  m.doc() = "slabsim core: NUMA topologies and simulation runs";
  m.attr("__version__") = SLABSIM_VERSION;
  bind_config_error(m);
  bind_topologies(m);
  bind_runs(m);
  bind_sweeps(m);
}
