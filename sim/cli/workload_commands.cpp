#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <set>

#include "cli/command.hpp"
#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "topology/presets.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_format.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::cli {

namespace {

struct WorkloadOptions {
  std::string topology;  // empty: each file's own "topology", else the default preset
  std::vector<std::string> files;
  std::string output;
};

const char* plural(std::size_t n) {
  return n == 1 ? "" : "s";
}

// "FILE: ok (name: 2 caches, 3 thread groups on 4 CPUs, 7 events, 10ms)"
std::string summary(const std::string& file, const workload::Workload& w) {
  std::set<int> cpus;
  for (const auto& g : w.threads)
    cpus.insert(g.cpus.begin(), g.cpus.end());
  return fmt::format("{}: ok ({}: {} cache{}, {} thread group{} on {} CPU{}, {} event{}, {})\n",
                     file, w.name, w.caches.size(), plural(w.caches.size()), w.threads.size(),
                     plural(w.threads.size()), cpus.size(), plural(cpus.size()), w.events.size(),
                     plural(w.events.size()), workload::format_duration(w.duration_ns));
}

// Each file is checked against -t, else the topology it names, else the default preset; every
// file is reported, and the status is 2 if any is wrong.
int validate_files(const std::string& topology_option, const std::vector<std::string>& files) {
  int status = exit_ok;
  for (const auto& f : files) {
    try {
      const auto document = config::load_json_document(f);
      std::string topology = topology_option;
      if (topology.empty())
        topology =
            workload::workload_topology(document).value_or(std::string(topology::default_preset));
      const auto t = topology::load_topology(topology);
      std::cout << summary(f, workload::load_workload(document, t));
    } catch (const config::ConfigError& e) {
      std::cerr << e.what() << '\n';
      status = exit_bad_input;
    }
  }
  return status;
}

}  // namespace

void add_workload_commands(CLI::App& app) {
  auto opts = std::make_shared<WorkloadOptions>();
  auto* cmd = app.add_subcommand("workload", "Check workload files and print their schema");
  cmd->require_subcommand(1);

  auto* validate = cmd->add_subcommand(
      "validate", "Check workload files against their topology; exit 2 if any is wrong");
  validate->add_option("-t,--topology", opts->topology,
                       "Topology file or preset name to check against (default: the file's own "
                       "\"topology\", else the default preset)");
  validate->add_option("FILE", opts->files, "Workload files")->required();
  validate->callback([opts] {
    if (int status = validate_files(opts->topology, opts->files); status != exit_ok)
      throw CLI::RuntimeError(status);
  });

  auto* schema = cmd->add_subcommand(
      "schema", "Print the JSON Schema of workload files (workloads/schema/workload.schema.json)");
  schema->add_option("-o,--output", opts->output, "Write to this file (atomically)");
  schema->callback([opts] { emit(workload::workload_json_schema().dump(2) + "\n", opts->output); });
}

}  // namespace slabsim::cli
