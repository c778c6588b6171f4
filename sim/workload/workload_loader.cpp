#include "workload/workload_loader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "allocator/kmalloc_caches.hpp"
#include "allocator/slub/kmem_cache_open.hpp"
#include "allocator/slub/slub_sysfs.hpp"
#include "config/diagnostics.hpp"
#include "config/json_pointer.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"
#include "topology/boot_caches.hpp"
#include "topology/presets.hpp"
#include "topology/topology_format.hpp"
#include "workload/workload_format.hpp"

namespace slabsim::workload {

using config::Diagnostics;
using nlohmann::json;

namespace {

using config::at;
using config::validated_duration_ns;

const char* plural(std::size_t n) {
  return n == 1 ? "" : "s";
}

// The caches the allocator creates at boot (kmem_cache_init()); a workload cache may not take
// their names, or /sys/kernel/slab/<name> and the reports would show two caches as one.
const std::vector<std::string>& boot_cache_names() {
  static const std::vector<std::string> names = {"kmem_cache", "kmem_cache_node"};
  return names;
}

const std::vector<std::pair<std::string, Event::Type>>& event_types() {
  static const std::vector<std::pair<std::string, Event::Type>> types = {
      {"memory_add", Event::Type::memory_add},
      {"memory_online", Event::Type::memory_online},
      {"memory_offline", Event::Type::memory_offline},
      {"memory_remove", Event::Type::memory_remove},
      {"cpu_online", Event::Type::cpu_online},
      {"cpu_offline", Event::Type::cpu_offline},
      {"cache_create", Event::Type::cache_create},
      {"cache_destroy", Event::Type::cache_destroy},
      {"shrink", Event::Type::shrink},
      {"sysfs_read", Event::Type::sysfs_read},
      {"inject_error", Event::Type::inject_error},
      {"clear_error", Event::Type::clear_error},
      {"alloc_burst", Event::Type::alloc_burst},
      {"free_burst", Event::Type::free_burst},
      {"page_burst", Event::Type::page_burst},
      {"page_free", Event::Type::page_free},
  };
  return types;
}

// The checks and resolution of one document (already validated, defaults applied), sharing its
// diagnostics.
class Loader {
 public:
  Loader(const json& root, const topology::Topology& topology, Diagnostics& diagnostics)
      : j_(root), t_(topology), diag_(diagnostics) {}

  Workload load() {
    w_.name = j_["name"].get<std::string>();
    w_.description = j_["description"].get<std::string>();
    if (j_.contains("topology")) w_.topology = j_["topology"].get<std::string>();
    w_.duration_ns = validated_duration_ns(j_["duration"]);
    if (j_.contains("time_bucket")) load_time_bucket();
    w_.seed = j_["seed"].get<std::uint64_t>();
    w_.event_tasks = j_["event_tasks"].get<int>();
    const auto& k = j_["kernel"];
    for (const auto& p : kernel_time_params())
      w_.kernel.*p.field = k.contains(std::string(p.key))
                               ? validated_duration_ns(k[std::string(p.key)])
                               : p.default_ns;
    load_caches();
    load_threads();
    load_events();
    return std::move(w_);
  }

 private:
  void load_time_bucket() {
    const std::int64_t width = validated_duration_ns(j_["time_bucket"]);
    const std::int64_t narrowest = (w_.duration_ns + max_time_buckets - 1) / max_time_buckets;
    if (width > w_.duration_ns || width < narrowest) {
      diag_.error("/time_bucket",
                  fmt::format("expected a width from {} ns (a {}th of the duration) to the "
                              "duration ({} ns), got {} ns",
                              narrowest, max_time_buckets, w_.duration_ns, width));
      return;
    }
    w_.time_bucket_ns = width;
  }

  // "CPUs of topology "two-socket-intel" (0-15)"
  std::string cpu_expectation() const {
    return fmt::format("a CPU of topology \"{}\" ({})", t_.name,
                       config::format_cpulist(t_.cpu_ids()));
  }
  std::string node_expectation() const {
    return fmt::format("a node of topology \"{}\" (0 to {})", t_.name, t_.node_count() - 1);
  }
  bool check_node(int node, const std::string& p) {
    if (node < t_.node_count()) return true;
    diag_.error(p, fmt::format("expected {}, got {}", node_expectation(), node));
    return false;
  }
  bool check_cpu(int cpu, const std::string& p) {
    if (t_.node_of_cpu(cpu) >= 0) return true;
    diag_.error(
        p, fmt::format("expected {}, got CPU {}, which it does not have", cpu_expectation(), cpu));
    return false;
  }
  bool check_time(std::int64_t ns, const std::string& p) {
    if (ns <= w_.duration_ns) return true;
    diag_.error(p, fmt::format("expected a time within the workload's duration ({}), got {}",
                               format_duration(w_.duration_ns), format_duration(ns)));
    return false;
  }

  void load_caches() {
    const auto& caches = j_["caches"];
    const auto cpus = t_.cpu_ids();
    const int nr_cpu_ids = cpus.empty() ? 1 : cpus.back() + 1;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < caches.size(); ++i) {
      const std::string p = at("/caches", i);
      const json& c = caches[i];
      CacheSpec s;
      s.name = c["name"].get<std::string>();
      s.object_size = c["object_size"].get<unsigned>();
      s.align = c["align"].get<unsigned>();
      s.at_boot = c["at_boot"].get<bool>();
      if (std::find(boot_cache_names().begin(), boot_cache_names().end(), s.name) !=
          boot_cache_names().end())
        diag_.error(at(p, "name"),
                    fmt::format("expected a name other than those of the boot caches ({}), got "
                                "\"{}\"",
                                fmt::join(boot_cache_names(), ", "), s.name));
      check_unique_name(seen, s.name, "/caches", i, "cache");
      s.kmalloc = alloc::is_kmalloc_cache_name(s.name);
      if (s.kmalloc) check_kmalloc_cache(c, p, s);
      std::set<std::string> flags;
      for (std::size_t k = 0; k < c["flags"].size(); ++k) {
        const std::string f = c["flags"][k].get<std::string>();
        if (!flags.insert(f).second)
          diag_.error(at(at(p, "flags"), k),
                      fmt::format("expected each flag once, got \"{}\" a second time", f));
        if (f == "hwcache_align") s.flags.hwcache_align = true;
        if (f == "reclaim_account") s.flags.reclaim_account = true;
        if (f == "typesafe_by_rcu") s.flags.typesafe_by_rcu = true;
        if (f == "ctor") s.flags.has_ctor = true;
        if (f == "red_zone") s.flags.red_zone = true;
        if (f == "poison") s.flags.poison = true;
        if (f == "store_user") s.flags.store_user = true;
      }
      if (s.align != 0 && !std::has_single_bit(s.align)) {
        diag_.error(at(p, "align"),
                    fmt::format("expected 0 or a power of two (kmem_cache_create() rounds "
                                "objects up to it), got {}",
                                s.align));
      } else {
        std::string why;
        if (!alloc::derive_cache_settings(s.object_size, s.align, s.flags, nr_cpu_ids, {}, &why))
          diag_.error(at(p, "object_size"),
                      fmt::format("expected an object size kmem_cache_create() accepts, got {} "
                                  "bytes: {}",
                                  s.object_size, why));
      }
      w_.caches.push_back(std::move(s));
    }
  }

  // A cache of the kmalloc family is the kernel's, as new_kmalloc_cache() made it at boot: the
  // workload names it and the size of its kmalloc()s, nothing else.
  void check_kmalloc_cache(const json& c, const std::string& p, const CacheSpec& s) {
    const unsigned size = alloc::kmalloc_cache_size(s.name);
    if (!s.at_boot)
      diag_.error(at(p, "at_boot"),
                  fmt::format("expected true for \"{}\", a cache of the kmalloc family "
                              "(kmem_cache_init() makes it at boot), got false",
                              s.name));
    if (s.align != 0)
      diag_.error(at(p, "align"), fmt::format("expected 0 for \"{}\" (the kernel's kmalloc "
                                              "cache has its own alignment), got {}",
                                              s.name, s.align));
    if (!c["flags"].empty())
      diag_.error(at(p, "flags"),
                  fmt::format("expected no flags for \"{}\" (new_kmalloc_cache() gives the "
                              "kmalloc caches theirs), got {}",
                              s.name, c["flags"].dump()));
    if (alloc::slub_kmalloc_size(s.object_size) != size) {
      unsigned low = 1;
      while (alloc::slub_kmalloc_size(low) != size && low < size)
        ++low;
      diag_.error(at(p, "object_size"),
                  fmt::format("expected {}..{} bytes for \"{}\" (kmalloc() of such a size "
                              "takes an object from it), got {}",
                              low, size, s.name, s.object_size));
    }
  }

  // The index of the cache named by `v`, or -1 after reporting it at `p`.
  int cache_ref(const json& v, const std::string& p) {
    const std::string name = v.get<std::string>();
    std::vector<std::string> names;
    for (std::size_t i = 0; i < w_.caches.size(); ++i) {
      if (w_.caches[i].name == name) return static_cast<int>(i);
      if (std::find(names.begin(), names.end(), w_.caches[i].name) == names.end())
        names.push_back(w_.caches[i].name);
    }
    auto guess = config::closest_match(name, names);
    diag_.error(
        p, fmt::format("expected the name of a cache declared in /caches, got \"{}\"; {}", name,
                       guess ? fmt::format("did you mean \"{}\"?", *guess)
                             : fmt::format("declared: {}", fmt::join(names, ", "))));
    return -1;
  }

  std::vector<int> resolve_cpus(const json& th, const std::string& p) {
    std::vector<int> cpus;
    if (th.contains("cpus")) {
      const json& v = th["cpus"];
      const std::string pc = at(p, "cpus");
      if (v == "all") return t_.cpu_ids();
      const auto ids = std::get<std::vector<int>>(config::parse_cpulist(v, topology::max_cpu_id));
      if (ids.empty()) {
        diag_.error(pc, "expected at least one CPU, got an empty list");
        return cpus;
      }
      if (v.is_array()) {  // name the element itself
        for (std::size_t k = 0; k < v.size(); ++k)
          if (check_cpu(v[k].get<int>(), at(pc, k))) cpus.push_back(v[k].get<int>());
        std::sort(cpus.begin(), cpus.end());
      } else {
        for (int id : ids)
          if (check_cpu(id, pc)) cpus.push_back(id);
      }
      return cpus;
    }
    const json& nodes = th["nodes"];
    const std::string pn = at(p, "nodes");
    std::set<int> seen;
    bool all_known = true;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      const int n = nodes[k].get<int>();
      if (!check_node(n, at(pn, k))) {
        all_known = false;
        continue;
      }
      if (!seen.insert(n).second) {
        diag_.error(at(pn, k),
                    fmt::format("expected each node once, got node {} a second time", n));
        continue;
      }
      const auto& node_cpus = t_.nodes[n].cpus;
      cpus.insert(cpus.end(), node_cpus.begin(), node_cpus.end());
    }
    if (cpus.empty() && all_known)
      diag_.error(pn, fmt::format("expected nodes with CPUs for the threads to run on, but "
                                  "node{} {} of topology \"{}\" {} no CPUs",
                                  plural(seen.size()), fmt::join(seen, ", "), t_.name,
                                  seen.size() == 1 ? "has" : "have"));
    std::sort(cpus.begin(), cpus.end());
    return cpus;
  }

  Distribution distribution(const json& d, const std::string& p) {
    Distribution out;
    if (d.contains("constant")) {
      out.kind = Distribution::Kind::constant;
      out.a_ns = validated_duration_ns(d["constant"]);
    } else if (d.contains("exponential")) {
      out.kind = Distribution::Kind::exponential;
      out.a_ns = validated_duration_ns(d["exponential"]);
    } else {
      out.kind = Distribution::Kind::uniform;
      out.a_ns = validated_duration_ns(d["uniform"][0]);
      out.b_ns = validated_duration_ns(d["uniform"][1]);
      if (out.a_ns > out.b_ns)
        diag_.error(at(p, "uniform"),
                    fmt::format("expected [low, high] with low <= high, got {} then {}",
                                format_duration(out.a_ns), format_duration(out.b_ns)));
    }
    return out;
  }

  // Names of caches and thread groups name them in reports: each once. `seen` maps the names
  // so far to their index in `array`.
  void check_unique_name(std::map<std::string, std::size_t>& seen, const std::string& name,
                         const char* array, std::size_t i, const char* what) {
    if (auto [it, fresh] = seen.emplace(name, i); !fresh)
      diag_.error(at(at(array, i), "name"),
                  fmt::format("expected a unique {} name, got \"{}\", already used by {}", what,
                              name, at(array, it->second)));
  }

  void load_threads() {
    const auto& threads = j_["threads"];
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < threads.size(); ++i) {
      const std::string p = at("/threads", i);
      const json& th = threads[i];
      ThreadGroup g;
      g.name = th["name"].get<std::string>();
      check_unique_name(seen, g.name, "/threads", i, "thread group");
      g.cpus = resolve_cpus(th, p);
      g.cache = cache_ref(th["cache"], at(p, "cache"));
      g.alloc_node_fraction = th["alloc_node_fraction"].get<double>();
      g.remote_free_fraction = th["remote_free_fraction"].get<double>();
      load_target(th, p, g.node);
      g.think_time = distribution(th["think_time"], at(p, "think_time"));
      g.lifetime = distribution(th["lifetime"], at(p, "lifetime"));
      g.accesses_per_object = th["accesses_per_object"].get<int>();
      g.max_live_per_cpu = th["max_live_per_cpu"].get<int>();
      g.start_ns = validated_duration_ns(th["start"]);
      const bool start_ok = check_time(g.start_ns, at(p, "start"));
      if (th.contains("stop")) {
        g.stop_ns = validated_duration_ns(th["stop"]);
        if (check_time(*g.stop_ns, at(p, "stop")) && start_ok && *g.stop_ns <= g.start_ns)
          diag_.error(at(p, "stop"),
                      fmt::format("expected a stop time after start ({}), got {}",
                                  format_duration(g.start_ns), format_duration(*g.stop_ns)));
      }
      w_.threads.push_back(std::move(g));
    }
  }

  void load_target(const json& th, const std::string& p, NodeSelector& out) {
    const std::string target = th["target_node"].get<std::string>();
    if (target == "fixed") {
      out.kind = NodeSelector::Kind::node;
      if (!th.contains("fixed_node")) {
        diag_.error(p, fmt::format("missing required key \"fixed_node\": \"target_node\": "
                                   "\"fixed\" needs the node to allocate from ({})",
                                   node_expectation()));
        return;
      }
      out.node = th["fixed_node"].get<int>();
      check_node(out.node, at(p, "fixed_node"));
      return;
    }
    if (th.contains("fixed_node"))
      diag_.error(at(p, "fixed_node"),
                  fmt::format("\"fixed_node\" is only allowed with \"target_node\": \"fixed\", "
                              "got \"target_node\": \"{}\"",
                              target));
    out.kind = target == "local"     ? NodeSelector::Kind::local
               : target == "remote"  ? NodeSelector::Kind::remote
               : target == "nearest" ? NodeSelector::Kind::nearest
                                     : NodeSelector::Kind::random;
  }

  // memory_online / memory_offline: the node exists and has blocks; `blocks` fits.
  void load_memory_event(const json& body, const std::string& pb, Event& e) {
    e.node = body["node"].get<int>();
    e.blocks = body["blocks"].get<int>();
    if (!check_node(e.node, at(pb, "node"))) return;
    const auto have = t_.nodes[e.node].blocks.size();
    if (have == 0) {
      diag_.error(at(pb, "node"),
                  fmt::format("expected a node with memory blocks, got node {}, which is "
                              "memoryless in topology \"{}\"",
                              e.node, t_.name));
      return;
    }
    if (static_cast<std::size_t>(e.blocks) > have)
      diag_.error(at(pb, "blocks"),
                  fmt::format("expected at most {} (node {} has {} memory block{}), or 0 for "
                              "all, got {}",
                              have, e.node, have, plural(have), e.blocks));
  }

  void load_events() {
    const auto& events = j_["events"];
    std::vector<Event> expanded;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const std::string p = at("/events", i);
      const json& ev = events[i];
      Event e;
      e.source = p;
      e.at_ns = validated_duration_ns(ev["at"]);
      bool ok = check_time(e.at_ns, at(p, "at"));
      auto type = std::find_if(event_types().begin(), event_types().end(),
                               [&](const auto& kv) { return ev.contains(kv.first); });
      e.type = type->second;
      load_event_body(ev[type->first], at(p, type->first), e);
      std::int64_t count = 1, every = 0;
      if (ev.contains("repeat")) {
        every = validated_duration_ns(ev["repeat"]["every"]);
        count = ev["repeat"]["count"].get<std::int64_t>();
        ok = ok && check_repeat_count(e.at_ns, every, count, at(at(p, "repeat"), "count"));
      }
      if (!ok) continue;
      for (std::int64_t k = 0; k < count; ++k) {
        Event o = e;
        o.at_ns = e.at_ns + k * every;
        o.occurrence = static_cast<int>(k);
        expanded.push_back(std::move(o));
      }
    }
    std::stable_sort(expanded.begin(), expanded.end(),
                     [](const Event& a, const Event& b) { return a.at_ns < b.at_ns; });
    w_.events = std::move(expanded);
  }

  // The event key's object (`body`, at pointer `pb`) into `e`.
  void load_event_body(const json& body, const std::string& pb, Event& e) {
    switch (e.type) {
      case Event::Type::memory_add:
        load_memory_event(body, pb, e);
        break;
      case Event::Type::memory_online:
        load_memory_event(body, pb, e);
        if (body.contains("zone")) e.movable = body["zone"] == "movable";
        break;
      case Event::Type::memory_offline:
      case Event::Type::memory_remove:
        load_memory_event(body, pb, e);
        break;
      case Event::Type::cpu_online:
      case Event::Type::cpu_offline:
        e.cpu = body["cpu"].get<int>();
        check_cpu(e.cpu, at(pb, "cpu"));
        break;
      case Event::Type::cache_create:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        if (e.cache >= 0 && w_.caches[e.cache].at_boot)
          diag_.error(at(pb, "cache"),
                      fmt::format("expected a cache declared with \"at_boot\": false "
                                  "(cache_create makes a cache that does not exist yet), got "
                                  "\"{}\", which exists from boot",
                                  w_.caches[e.cache].name));
        break;
      case Event::Type::cache_destroy:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        if (e.cache >= 0 && w_.caches[e.cache].kmalloc)
          diag_.error(at(pb, "cache"),
                      fmt::format("expected a cache kmem_cache_create() made, got \"{}\", a "
                                  "kmalloc cache, which the kernel never destroys",
                                  w_.caches[e.cache].name));
        break;
      case Event::Type::shrink:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        break;
      case Event::Type::sysfs_read:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        e.file = body["file"].get<std::string>();
        check_sysfs_file(e.file, at(pb, "file"));
        break;
      case Event::Type::inject_error:
        e.action = body["action"].get<std::string>();
        e.error = body["error"].get<int>();
        break;
      case Event::Type::clear_error:
        e.action = body["action"].get<std::string>();
        break;
      case Event::Type::alloc_burst:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        e.node = body["node"].get<int>();
        if (e.node >= 0) check_node(e.node, at(pb, "node"));
        e.cpu = body["cpu"].get<int>();
        check_cpu(e.cpu, at(pb, "cpu"));
        e.count = body["count"].get<int>();
        break;
      case Event::Type::free_burst:
        e.cache = cache_ref(body["cache"], at(pb, "cache"));
        e.cpu = body["cpu"].get<int>();
        check_cpu(e.cpu, at(pb, "cpu"));
        e.count = body["count"].get<int>();
        break;
      case Event::Type::page_burst:
        e.node = body["node"].get<int>();
        if (e.node >= 0) check_node(e.node, at(pb, "node"));
        e.cpu = body["cpu"].get<int>();
        check_cpu(e.cpu, at(pb, "cpu"));
        e.order = body["order"].get<int>();
        e.count = body["count"].get<int>();
        e.movable = body["movable"].get<bool>();
        break;
      case Event::Type::page_free:
        break;
    }
  }

  // The last occurrence of a repeated event must fall within the duration.
  bool check_repeat_count(std::int64_t at_ns, std::int64_t every, std::int64_t count,
                          const std::string& p) {
    const std::int64_t fit = (w_.duration_ns - at_ns) / every + 1;
    if (count <= fit) return true;
    diag_.error(p, fmt::format("expected at most {} occurrence{} (from {} every {}, the last "
                               "must fall within the duration, {}), got {}: occurrence {} "
                               "would be at {}",
                               fit, plural(static_cast<std::size_t>(fit)), format_duration(at_ns),
                               format_duration(every), format_duration(w_.duration_ns), count,
                               fit + 1, format_duration(at_ns + fit * every)));
    return false;
  }

  void check_sysfs_file(const std::string& file, const std::string& p) {
    std::vector<std::string> names;
    for (auto n : alloc::sysfs_file_names()) {
      if (n == file) return;
      names.emplace_back(n);
    }
    auto guess = config::closest_match(file, names);
    diag_.error(p, fmt::format("expected a readable file of /sys/kernel/slab/<cache>/ (such as "
                               "\"total_objects\", \"slabs\", \"objects_partial\" or a stat_item "
                               "counter such as \"alloc_node_mismatch\"), got \"{}\"{}",
                               file, guess ? fmt::format("; did you mean \"{}\"?", *guess) : ""));
  }

  const json& j_;
  const topology::Topology& t_;
  Diagnostics& diag_;
  Workload w_;
};

}  // namespace

namespace {

std::string beside_document(const config::JsonDocument& document, const std::string& name) {
  const std::filesystem::path path(name);
  const auto folder = std::filesystem::path(document.name).parent_path();
  if (path.is_relative() && !folder.empty()) return (folder / path).string();
  return name;
}

// The flags of a boot-cache list (the SLAB_* names sysfs shows) that the model keeps.
constexpr std::array<std::pair<std::string_view, bool alloc::CacheFlags::*>, 7> boot_cache_flags{{
    {"SLAB_HWCACHE_ALIGN", &alloc::CacheFlags::hwcache_align},
    {"SLAB_RECLAIM_ACCOUNT", &alloc::CacheFlags::reclaim_account},
    {"SLAB_TYPESAFE_BY_RCU", &alloc::CacheFlags::typesafe_by_rcu},
    {"SLAB_CACHE_DMA", &alloc::CacheFlags::cache_dma},
    {"SLAB_RED_ZONE", &alloc::CacheFlags::red_zone},
    {"SLAB_POISON", &alloc::CacheFlags::poison},
    {"SLAB_STORE_USER", &alloc::CacheFlags::store_user},
}};

// The caches of a `topology import --boot-caches` list that kmem_cache_create() makes at boot:
// not the allocator's own (kmem_cache_init()'s boot caches and kmalloc family), not those the
// workload declares. Errors name the list's file and the JSON pointer.
void load_boot_caches(Workload& w, const std::string& path) {
  const config::JsonDocument list = config::load_json_document(path);
  Diagnostics diag(list.name);
  if (!topology::boot_caches_spec()->validate(list.root, "", diag)) diag.throw_if_any();
  for (std::size_t i = 0; i < list.root.size(); ++i) {
    const json& c = list.root[i];
    const std::string p = config::at("", i);
    CacheSpec s;
    s.name = c["name"].get<std::string>();
    if (alloc::is_kmalloc_cache_name(s.name) ||
        std::find(boot_cache_names().begin(), boot_cache_names().end(), s.name) !=
            boot_cache_names().end() ||
        std::any_of(w.caches.begin(), w.caches.end(),
                    [&](const CacheSpec& own) { return own.name == s.name; }))
      continue;
    s.object_size = c["object_size"].get<unsigned>();
    // sysfs shows the alignment kmem_cache_create() derived; asked for again, it derives the same.
    s.align = c["align"].get<unsigned>();
    for (std::size_t k = 0; k < c["flags"].size(); ++k) {
      const std::string f = c["flags"][k].get<std::string>();
      const auto* known = std::find_if(boot_cache_flags.begin(), boot_cache_flags.end(),
                                       [&](const auto& b) { return f == b.first; });
      if (known != boot_cache_flags.end()) {
        s.flags.*(known->second) = true;
        continue;
      }
      std::string names;
      for (const auto& [name, field] : boot_cache_flags)
        names += (names.empty() ? "" : ", ") + std::string(name);
      diag.error(config::at(config::at(p, "flags"), k),
                 fmt::format("expected a flag the model has ({}), got {}", names, f));
    }
    if (s.align != 0 && !std::has_single_bit(s.align))
      diag.error(config::at(p, "align"),
                 fmt::format("expected 0 or a power of two, got {}", s.align));
    w.boot_caches.push_back(std::move(s));
  }
  diag.throw_if_any();
}

}  // namespace

Workload load_workload(const config::JsonDocument& document, const topology::Topology& topology) {
  Diagnostics diagnostics(document.name);
  if (!validate_workload_document(document.root, diagnostics)) diagnostics.throw_if_any();
  json root = document.root;
  workload_spec()->apply_defaults(root);
  Workload w = Loader(root, topology, diagnostics).load();
  diagnostics.throw_if_any();
  if (root.contains("boot_caches")) {
    w.boot_caches_file = beside_document(document, root["boot_caches"].get<std::string>());
    load_boot_caches(w, w.boot_caches_file);
  }
  return w;
}

Workload load_workload(const std::string& path, const topology::Topology& topology) {
  return load_workload(config::load_json_document(path), topology);
}

std::optional<std::string> workload_topology(const config::JsonDocument& document) {
  const json& root = document.root;
  if (!root.is_object() || !root.contains("topology") || !root["topology"].is_string())
    return std::nullopt;
  const std::string name = root["topology"].get<std::string>();
  if (topology::preset_text(name)) return name;
  const std::filesystem::path path(name);
  const auto folder = std::filesystem::path(document.name).parent_path();
  if (path.is_relative() && !folder.empty()) {
    std::error_code ec;
    if (auto beside = folder / path; std::filesystem::exists(beside, ec)) return beside.string();
  }
  return name;
}

std::string format_duration(std::int64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns != 0 && ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns != 0 && ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

}  // namespace slabsim::workload
