#include "strategy/strategy_format.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "config/diagnostics.hpp"

namespace slabsim::strategy {

using namespace slabsim::config;
using alloc::LockClass;
using alloc::LockMode;
using alloc::LockStep;
using nlohmann::json;

namespace {

// Lock steps are named by the kernel function that takes them.
const std::vector<std::pair<std::string, LockStep>>& lock_step_names() {
  static const std::vector<std::pair<std::string, LockStep>> names = {
      {"get_online_cpus", {LockClass::cpu_hotplug_lock, LockMode::read}},
      {"get_online_mems", {LockClass::mem_hotplug_lock, LockMode::read}},
      {"slab_mutex", {LockClass::slab_mutex, LockMode::exclusive}},
      {"lock_memory_hotplug", {LockClass::mem_hotplug_mutex, LockMode::exclusive}},
  };
  return names;
}

std::vector<std::string> step_choices() {
  std::vector<std::string> out;
  for (const auto& [name, step] : lock_step_names())
    out.push_back(name);
  return out;
}

std::string step_name(const LockStep& step) {
  for (const auto& [name, s] : lock_step_names())
    if (s == step) return name;
  return "?";
}

std::vector<std::string> slub_version_choices() {
  std::vector<std::string> out;
  for (const auto& v : alloc::slub_versions())
    out.push_back(v.name);
  return out;
}

std::string slub_version_help() {
  std::string out =
      "The generation of the SLUB and slab_common code the model runs, beyond the locks:";
  for (const auto& v : alloc::slub_versions())
    out += fmt::format(" \"{}\": {}", v.name, v.description);
  return out;
}

std::vector<std::string> page_alloc_choices() {
  std::vector<std::string> out;
  for (const auto& v : alloc::pcp_versions())
    out.push_back(v.name);
  return out;
}

std::string page_alloc_help() {
  std::string out = "The generation of the page allocator's per-CPU page lists:";
  for (const auto& v : alloc::pcp_versions())
    out += fmt::format(" \"{}\": {}", v.name, v.description);
  return out;
}

std::vector<std::string> hotplug_side_choices() {
  std::vector<std::string> out;
  for (const auto& s : alloc::hotplug_sides())
    out.push_back(s.name);
  return out;
}

std::string hotplug_side_help() {
  std::string out = "The lock the memory hotplug operations take:";
  for (const auto& s : alloc::hotplug_sides())
    out += fmt::format(" \"{}\": {}", s.name, s.description);
  return out;
}

std::vector<std::string> node_paths_choices() {
  std::vector<std::string> out;
  for (const auto& p : alloc::node_paths_list())
    out.push_back(p.name);
  return out;
}

std::string node_paths_help() {
  std::string out =
      "How SLUB's paths treat a node, by the kernel whose mm/slub.c they follow: "
      "___slab_alloc()'s answer to a request for a node the CPU slab is not on, and the node "
      "walks of kmem_cache_shrink(), kmem_cache_close() and show_slab_objects():";
  for (const auto& p : alloc::node_paths_list())
    out += fmt::format(" \"{}\": {}", p.name, p.description);
  return out;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& p : alloc::strategy_presets())
    out.push_back(p.name);
  return out;
}

SpecPtr make_spec() {
  auto steps = [](const char* what, const char* function) {
    return optional(what, array(enumeration(step_choices()), 0, 3),
                    fmt::format("Locks {} takes, outermost first, by the kernel function that "
                                "takes them; released in reverse.",
                                function));
  };
  return object(
      "a SLUB locking strategy",
      {
          required("name",
                   string("[a-z0-9][a-z0-9._-]*",
                          "lower-case letters, digits, '.', '_' "
                          "and '-'"),
                   "Short name shown in comparisons."),
          optional("description", string(), "What this strategy changes and why."),
          optional("base", enumeration(preset_names()),
                   "The preset to start from; the keys below override its knobs.",
                   "slab_nodes_nocpu"),
          optional("kernel", string(), "The kernel this reproduces, if any."),
          optional("commit", string(), "The commit or patch this reproduces, if any."),
          steps("create_locks", "kmem_cache_create"),
          steps("destroy_locks", "kmem_cache_destroy"),
          steps("shrink_locks", "kmem_cache_shrink"),
          steps("show_locks",
                "show_slab_objects() (the sysfs files that count objects, read under the "
                "file's active reference)"),
          optional("usable_nodes", enumeration({"normal_memory", "slab_nodes"}),
                   "The nodemask ___slab_alloc() and init_kmem_cache_nodes() consult: "
                   "N_NORMAL_MEMORY (v5.10) or SLUB's slab_nodes (v5.12)."),
          optional("offline_frees_nodes", boolean(),
                   "Whether MEM_OFFLINE/MEM_CANCEL_ONLINE free the node's kmem_cache_node "
                   "structs (true before 666716fd267d)."),
          optional("going_online_reuses_nodes", boolean(),
                   "Whether MEM_GOING_ONLINE skips caches that still have the node's struct "
                   "(666716fd267d)."),
          optional("slub_version", enumeration(slub_version_choices()), slub_version_help()),
          optional("node_paths", enumeration(node_paths_choices()), node_paths_help()),
          optional("hotplug_side", enumeration(hotplug_side_choices()), hotplug_side_help()),
          optional("page_alloc", enumeration(page_alloc_choices()), page_alloc_help()),
          optional("mutex_spin_on_owner", boolean(),
                   "CONFIG_MUTEX_SPIN_ON_OWNER in a kernel with lock statistics: mutex waiters "
                   "spin while the owner runs, and /proc/lock_stat counts a contention only "
                   "once they sleep (true from v4.10; before it DEBUG_MUTEXES, which lockdep "
                   "selects, turned spinning off)."),
      });
}

}  // namespace

const SpecPtr& strategy_spec() {
  static const SpecPtr spec = make_spec();
  return spec;
}

alloc::Strategy load_strategy(const JsonDocument& document) {
  Diagnostics diagnostics(document.name);
  const auto& spec = strategy_spec();
  if (!spec->validate(document.root, "", diagnostics)) diagnostics.throw_if_any();
  json j = document.root;
  spec->apply_defaults(j);
  alloc::Strategy s = *alloc::find_strategy_preset(j["base"].get<std::string>());
  s.name = j["name"].get<std::string>();
  if (alloc::find_strategy_preset(s.name) && document.root.size() > 1) {
    diagnostics.error("/name", fmt::format("expected a name of your own, got \"{}\", the name of a "
                                           "preset (use \"base\" to start from it)",
                                           s.name));
    diagnostics.throw_if_any();
  }
  s.description = j.value("description", "User-defined, based on " + j["base"].get<std::string>());
  s.kernel = j.value("kernel", std::string("user-defined"));
  s.commit = j.value("commit", std::string("-"));
  auto read_steps = [&](const char* key, std::vector<LockStep>& out) {
    if (!j.contains(key)) return;
    out.clear();
    for (const auto& name : j[key]) {
      for (const auto& [n, step] : lock_step_names())
        if (n == name) out.push_back(step);
    }
  };
  read_steps("create_locks", s.create_locks);
  read_steps("destroy_locks", s.destroy_locks);
  read_steps("shrink_locks", s.shrink_locks);
  read_steps("show_locks", s.show_locks);
  if (j.contains("usable_nodes"))
    s.usable_nodes = j["usable_nodes"] == "slab_nodes" ? alloc::UsableNodes::slab_nodes
                                                       : alloc::UsableNodes::normal_memory;
  if (j.contains("offline_frees_nodes")) s.offline_frees_nodes = j["offline_frees_nodes"];
  if (j.contains("going_online_reuses_nodes"))
    s.going_online_reuses_nodes = j["going_online_reuses_nodes"];
  if (j.contains("slub_version"))
    for (const auto& v : alloc::slub_versions())
      if (j["slub_version"] == v.name) s.slub_version = v.version;
  if (j.contains("hotplug_side"))
    for (const auto& h : alloc::hotplug_sides())
      if (j["hotplug_side"] == h.name) s.hotplug_side = h.side;
  if (j.contains("node_paths"))
    for (const auto& p : alloc::node_paths_list())
      if (j["node_paths"] == p.name) s.node_paths = p.paths;
  if (j.contains("mutex_spin_on_owner")) s.mutex_spin_on_owner = j["mutex_spin_on_owner"];
  if (j.contains("page_alloc"))
    for (const auto& v : alloc::pcp_versions())
      if (j["page_alloc"] == v.name) s.page_alloc = v.version;
  return s;
}

alloc::Strategy load_strategy(const std::string& preset_or_path) {
  if (const auto* preset = alloc::find_strategy_preset(preset_or_path)) return *preset;
  if (std::filesystem::exists(preset_or_path))
    return load_strategy(load_json_document(preset_or_path));
  Diagnostics d(preset_or_path);
  d.error("", fmt::format("no such file, and no strategy preset of that name; presets: {}",
                          fmt::join(preset_names(), ", ")));
  d.throw_if_any();
  return {};
}

std::string describe_steps(const std::vector<LockStep>& steps) {
  if (steps.empty()) return "no lock";
  std::string out;
  for (const auto& step : steps)
    out += (out.empty() ? "" : " > ") + step_name(step);
  return out;
}

json to_json(const alloc::Strategy& s) {
  auto steps = [](const std::vector<LockStep>& v) {
    json out = json::array();
    for (const auto& step : v)
      out.push_back(step_name(step));
    return out;
  };
  return {
      {"name", s.name},
      {"description", s.description},
      {"kernel", s.kernel},
      {"commit", s.commit},
      {"create_locks", steps(s.create_locks)},
      {"destroy_locks", steps(s.destroy_locks)},
      {"shrink_locks", steps(s.shrink_locks)},
      {"show_locks", steps(s.show_locks)},
      {"usable_nodes",
       s.usable_nodes == alloc::UsableNodes::slab_nodes ? "slab_nodes" : "normal_memory"},
      {"offline_frees_nodes", s.offline_frees_nodes},
      {"going_online_reuses_nodes", s.going_online_reuses_nodes},
      {"slub_version", alloc::slub_version_name(s.slub_version)},
      {"node_paths", alloc::node_paths_name(s.node_paths)},
      {"hotplug_side", alloc::hotplug_side_name(s.hotplug_side)},
      {"mutex_spin_on_owner", s.mutex_spin_on_owner},
      {"page_alloc", alloc::pcp_version_name(s.page_alloc)},
  };
}

}  // namespace slabsim::strategy
