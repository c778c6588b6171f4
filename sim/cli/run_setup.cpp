#include "cli/run_setup.hpp"

#include <filesystem>

#include "config/diagnostics.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::cli {

Prepared prepare(const RunCliOptions& o) {
  Prepared p;
  p.document = sim::load_workload_document(o.workload);
  std::string topo = o.topology;
  if (topo.empty()) {
    auto own = workload::workload_topology(p.document);
    if (!own) {
      config::Diagnostics d(p.document.name);
      d.error("", "expected a \"topology\" key, or a topology given with -t");
      d.throw_if_any();
    }
    topo = *own;
  }
  p.machine = topology::load_topology(topo);
  p.workload = workload::load_workload(p.document, p.machine);
  p.seed = o.seed.value_or(p.workload.seed);
  p.jitter_ns = o.jitter_ns;
  return p;
}

std::string trace_path_for(const std::string& trace, const std::string& strategy) {
  const std::filesystem::path path(trace);
  const auto name = path.stem().string() + "." + strategy + path.extension().string();
  return (path.parent_path() / name).string();
}

}  // namespace slabsim::cli
