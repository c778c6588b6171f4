#include "cli/run_setup.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "config/diagnostics.hpp"
#include "config/units.hpp"
#include "run/host_memory.hpp"

namespace slabsim::cli {

CLI::Option* add_setting(CLI::App* cmd, const sim::IntSetting& setting, sim::RunSettings& into) {
  return cmd
      ->add_option(std::string(setting.flag), into.*setting.field, std::string(setting.description))
      ->check(CLI::Range(setting.min, setting.max))
      ->capture_default_str();
}

void add_input_options(CLI::App* cmd, RunCliOptions& o, bool with_seed) {
  cmd->add_option("-t,--topology", o.topology,
                  "Topology file or preset (default: the workload's own \"topology\")");
  cmd->add_option("-w,--workload", o.workload, "Workload file or embedded scenario name")
      ->capture_default_str();
  if (with_seed) cmd->add_option("--seed", o.seed, "Random seed (default: the workload's)");
  add_setting(cmd, sim::quantum_setting, o.settings);
  add_setting(cmd, sim::jitter_setting, o.settings);
  add_setting(cmd, sim::time_bucket_setting, o.settings);
  cmd->add_flag("--no-lookahead", o.no_lookahead,
                "Let SimGrid order the CPUs, every wait through its clock, instead of the "
                "engine wrapper: slower, same results (a check of the engine)");
  cmd->add_option("--max-memory", o.max_memory,
                  "Host memory a run may hold: a size (8G, 512MiB; binary units as memparse() "
                  "reads them), 0 for no limit (default: 3/4 of the host's physical memory). A "
                  "workload that can hold more is refused before the run; a run that grows past "
                  "it stops with exit status 2 and writes nothing (run: unless --partial)");
  cmd->add_flag("--slab-nomerge", o.settings.slab_nomerge,
                "Boot the model with slab_nomerge: no cache is merged into an existing compatible "
                "one (the kernel, and the model by default, merge them: __kmem_cache_alias())");
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

sim::PreparedRun prepare(const RunCliOptions& o, const std::string& strategy) {
  sim::RunRequest request;
  request.topology = {o.topology};
  request.workload = {o.workload};
  request.strategy = {strategy};
  request.settings = o.settings;
  request.settings.allocator = allocator_kind(o.allocators.at(0));
  request.settings.seed = o.seed;
  request.settings.lookahead = !o.no_lookahead;
  request.max_memory_bytes = sim::default_memory_limit();
  request.partial_results = o.partial;
  if (!o.max_memory.empty()) {
    const auto size = config::parse_size_bytes(nlohmann::json(o.max_memory));
    if (const auto* why = std::get_if<std::string>(&size)) {
      config::Diagnostics d("--max-memory");
      d.error("", *why);
      d.throw_if_any();
    }
    request.max_memory_bytes = std::get<std::uint64_t>(size);
  }
  auto prepared = sim::prepare_run(request);
  sim::check_fits_in_memory(prepared.machine, prepared.workload, prepared.workload_document,
                            prepared.max_memory_bytes, prepared.time_bucket_ns());
  return prepared;
}

std::shared_ptr<const sim::PreparedRun> with_strategy(const sim::PreparedRun& base,
                                                      const alloc::Strategy& strategy,
                                                      alloc::AllocatorKind allocator) {
  auto run = std::make_shared<sim::PreparedRun>(base);
  run->strategy = strategy;
  run->settings.allocator = allocator;
  return run;
}

std::string trace_path_for(const std::string& trace, const std::string& column) {
  const std::filesystem::path path(trace);
  const auto name = path.stem().string() + "." + column + path.extension().string();
  return (path.parent_path() / name).string();
}

}  // namespace slabsim::cli
