#include <fmt/format.h>

#include <memory>

#include "cli/command.hpp"
#include "strategy/strategy_format.hpp"

namespace slabsim::cli {

namespace {

struct StrategyOptions {
  std::vector<std::string> strategies;
  bool json = false;
  bool schema = false;
};

std::string describe(const alloc::Strategy& s) {
  std::string out = fmt::format("{}  ({}; {})\n", s.name, s.kernel, s.commit);
  out += fmt::format("  kmem_cache_create:  {}\n", strategy::describe_steps(s.create_locks));
  out += fmt::format("  kmem_cache_destroy: {}\n", strategy::describe_steps(s.destroy_locks));
  out += fmt::format("  kmem_cache_shrink:  {}\n", strategy::describe_steps(s.shrink_locks));
  out += fmt::format("  show_slab_objects:  {}\n", strategy::describe_steps(s.show_locks));
  out += fmt::format("  usable node test:   {}\n", s.usable_nodes == alloc::UsableNodes::slab_nodes
                                                       ? "node_isset(node, slab_nodes)"
                                                       : "node_state(node, N_NORMAL_MEMORY)");
  out +=
      fmt::format("  MEM_OFFLINE frees kmem_cache_node: {}; MEM_GOING_ONLINE reuses it: {}\n",
                  s.offline_frees_nodes ? "yes" : "no", s.going_online_reuses_nodes ? "yes" : "no");
  out += fmt::format("  SLUB code:          {}\n", alloc::slub_version_name(s.slub_version));
  out += fmt::format("  SLUB node paths:    {}\n", alloc::node_paths_name(s.node_paths));
  out += fmt::format("  memory hotplug:     {}\n", alloc::hotplug_side_name(s.hotplug_side));
  out += fmt::format("  per-CPU page lists: {}\n", alloc::pcp_version_name(s.page_alloc));
  out += fmt::format("  mutex waiters:      {}\n",
                     s.mutex_spin_on_owner ? "spin while the owner runs (MUTEX_SPIN_ON_OWNER)"
                                           : "sleep at once (no MUTEX_SPIN_ON_OWNER)");
  // Wrap the description at 96 columns, indented.
  std::string line = " ";
  for (std::size_t start = 0; start < s.description.size();) {
    std::size_t end = s.description.find(' ', start);
    if (end == std::string::npos) end = s.description.size();
    const std::string word = s.description.substr(start, end - start);
    if (line.size() + word.size() + 1 > 96) {
      out += line + "\n";
      line = " ";
    }
    line += " " + word;
    start = end + 1;
  }
  if (line.size() > 1) out += line + "\n";
  return out;
}

}  // namespace

void add_strategy_commands(CLI::App& app) {
  auto opts = std::make_shared<StrategyOptions>();
  auto* cmd = app.add_subcommand(
      "strategies",
      "List the locking strategy presets (or show strategy files): the locks each "
      "entry point takes, the usable-node test, the kernel commit reproduced");
  cmd->add_option("STRATEGY", opts->strategies, "Preset names or strategy files to show");
  cmd->add_flag("--json", opts->json, "Print the knobs as JSON");
  cmd->add_flag("--schema", opts->schema, "Print the JSON Schema of strategy files");
  cmd->callback([opts] {
    if (opts->schema) {
      nlohmann::json s = strategy::strategy_spec()->json_schema();
      s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
      s["title"] = "slabsim locking strategy";
      emit(s.dump(2) + "\n", "");
      return;
    }
    std::vector<alloc::Strategy> list;
    if (opts->strategies.empty())
      list = alloc::strategy_presets();
    else
      for (const auto& name : opts->strategies)
        list.push_back(strategy::load_strategy(name));
    if (opts->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : list)
        out.push_back(strategy::to_json(s));
      emit(out.dump(2) + "\n", "");
      return;
    }
    std::string text;
    for (const auto& s : list)
      text += (text.empty() ? "" : "\n") + describe(s);
    emit(text, "");
  });
}

}  // namespace slabsim::cli
