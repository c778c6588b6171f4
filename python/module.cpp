// slabsim._slabsim: the C++ core seen from Python. JSON crosses the boundary as text, so Python
// gets exactly what result files hold.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "run/result.hpp"
#include "run/runner.hpp"
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

// An input given as a Python dict, serialised: diagnostics name it "<what dict>".
config::JsonDocument document_of(const std::string& text, const char* what) {
  return config::parse_json_document(text, std::string("<") + what + " dict>");
}

// One run, as `slabsim run` does it: the result JSON (as text, as result files hold it) and
// every report's text.
py::dict run(const std::optional<std::string>& topology, bool topology_is_json,
             const std::string& workload, bool workload_is_json, const std::string& strategy,
             bool strategy_is_json, const std::string& allocator, std::optional<std::uint64_t> seed,
             std::int64_t jitter_ns, std::int64_t quantum_ns, bool lookahead,
             const std::string& trace_path) {
  const auto kind = alloc::find_allocator(allocator);
  if (!kind) {
    std::string known;
    for (const auto& [k, description] : alloc::allocator_kinds())
      known += (known.empty() ? "" : ", ") + std::string(alloc::allocator_name(k));
    throw py::value_error("allocator: expected one of " + known + ", got \"" + allocator + "\"");
  }
  const config::JsonDocument doc =
      workload_is_json ? document_of(workload, "workload") : sim::load_workload_document(workload);
  topology::Topology machine;
  if (topology) {
    machine = topology_is_json ? topology::load_topology(document_of(*topology, "topology"))
                               : topology::load_topology(*topology);
  } else {
    const auto own = workload::workload_topology(doc);
    if (!own) {
      config::Diagnostics d(doc.name);
      d.error("", "expected a \"topology\" key, or a topology argument");
      d.throw_if_any();
    }
    machine = topology::load_topology(*own);
  }
  const auto w = workload::load_workload(doc, machine);
  const alloc::Strategy st = strategy_is_json
                                 ? strategy::load_strategy(document_of(strategy, "strategy"))
                                 : strategy::load_strategy(strategy);
  sim::RunOptions o;
  o.allocator = *kind;
  o.seed = seed.value_or(w.seed);
  o.jitter_ns = jitter_ns;
  o.sync_quantum_ns = quantum_ns;
  o.lookahead = lookahead;
  o.trace_path = trace_path;
  o.progress = [](std::int64_t) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw Interrupted();
  };
  const auto start = std::chrono::steady_clock::now();
  sim::RunMetrics m;
  bool interrupted = false;
  std::optional<std::string> trace_error;
  {
    // Without the GIL, so that the other threads of the process go on: a Dask worker's event
    // loop answers its scheduler's heartbeats during a long run. One engine at a time per
    // process (SimGrid's rule); the GIL is released first, so a run waiting here never blocks
    // the running one's signal checks.
    py::gil_scoped_release no_gil;
    std::lock_guard one_engine(engine_mutex());
    try {
      m = sim::run_simulation(machine, w, st, o);
    } catch (const Interrupted&) {
      interrupted = true;
    } catch (const sim::TraceWriteError& e) {
      trace_error = e.what();
    }
  }
  if (interrupted) throw py::error_already_set();
  if (trace_error) {
    PyErr_SetString(PyExc_OSError, trace_error->c_str());
    throw py::error_already_set();
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  const sim::RunInputs inputs{&machine, doc.root, &st, o.seed, o.jitter_ns};
  py::dict reports;
  for (const auto& name : sim::report_names())
    reports[py::str(name)] = sim::report(name, inputs, m);
  const auto result = sim::result_json(
      inputs, m, {wall.count(), m.engine_steps, m.engine_sleeps, m.skipped_sleeps});
  return py::dict("result"_a = result.dump(), "reports"_a = reports);
}

sim::SweepPlan sweep_plan(const std::string& plan, bool is_json) {
  return is_json ? sim::load_sweep_plan(document_of(plan, "plan"))
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

PYBIND11_MODULE(_slabsim, m) {
  using namespace slabsim;
  m.doc() = "slabsim core: NUMA topologies and simulation runs";
  m.attr("__version__") = SLABSIM_VERSION;

  // ConfigError(ValueError) with .diagnostics: a list of {file, pointer, message}.
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
  m.def("run", &run, "topology"_a, "topology_is_json"_a, "workload"_a, "workload_is_json"_a,
        "strategy"_a, "strategy_is_json"_a, "allocator"_a, "seed"_a, "jitter_ns"_a, "quantum_ns"_a,
        "lookahead"_a, "trace_path"_a = "",
        "One simulation run: {'result': JSON text, 'reports': {name: text}}. Raises ConfigError "
        "for bad input and KeyboardInterrupt when interrupted.");
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
