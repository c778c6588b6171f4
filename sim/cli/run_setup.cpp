#include "cli/run_setup.hpp"

#include <fmt/format.h>

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

void add_allocator_option(CLI::App* cmd, RunCliOptions& o, bool several) {
  std::vector<std::string> names;
  std::string help = several ? "Allocators to compare, comma-separated:" : "Allocator model:";
  for (const auto& [kind, description] : alloc::allocator_kinds()) {
    names.emplace_back(alloc::allocator_name(kind));
    help += fmt::format(" {} = {};", names.back(), description);
  }
  help.back() = ' ';
  help += "(default slub)";
  auto* opt = cmd->add_option(several ? "-a,--allocators" : "-a,--allocator", o.allocators, help)
                  ->check(CLI::IsMember(names));
  if (several)
    opt->delimiter(',');
  else
    opt->expected(1);
}

alloc::AllocatorKind allocator_kind(const std::string& name) {
  return *alloc::find_allocator(name);
}

std::string trace_path_for(const std::string& trace, const std::string& strategy) {
  const std::filesystem::path path(trace);
  const auto name = path.stem().string() + "." + strategy + path.extension().string();
  return (path.parent_path() / name).string();
}

}  // namespace slabsim::cli
