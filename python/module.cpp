// slabsim._slabsim: the C++ core seen from Python. JSON crosses the boundary as text, so Python
// gets exactly what result files hold.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "config/diagnostics.hpp"
#include "topology/numactl_report.hpp"
#include "topology/presets.hpp"
#include "topology/topology_format.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_loader.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

PYBIND11_MODULE(_slabsim, m) {
  using namespace slabsim;
  m.doc() = "slabsim core: NUMA topologies (and, later, simulations)";
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
}
