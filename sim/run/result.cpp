#include "run/result.hpp"

#include <fmt/format.h>

#include "run/findings.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_json.hpp"

namespace slabsim::sim {

using nlohmann::json;

namespace {

json ratio(const Ratio& r) {
  return {{"remote", r.remote}, {"total", r.total}, {"ratio", r.value()}};
}

json lock_time(const LockTime& t) {
  return {{"nr", t.nr}, {"min_ns", t.min}, {"max_ns", t.max}, {"total_ns", t.total}};
}

json numastat_json(const alloc::NumaStat& s) {
  return {{"numa_hit", s.numa_hit},         {"numa_miss", s.numa_miss},
          {"numa_foreign", s.numa_foreign}, {"interleave_hit", s.interleave_hit},
          {"local_node", s.local_node},     {"other_node", s.other_node}};
}

}  // namespace

json result_json(const RunInputs& in, const RunMetrics& m, const HostFigures& host) {
  // "slub_stats", "slab_stats" (CONFIG_DEBUG_SLAB), "slob_stats" (always empty).
  const std::string stats_key = fmt::format("{}_stats", alloc::allocator_name(m.allocator));
  json caches = json::object();
  for (const auto& c : m.caches) {
    json stats = json::object();
    for (const auto& [name, value] : c.counters)
      stats[name] = value;
    caches[c.name] = {
        {"allocations", c.allocations},
        {"frees", c.frees},
        {"failed_allocations", c.failed_allocations},
        {"skipped_operations", c.skipped},
        {"objects_in_use", c.objects_in_use},
        {"remote_alloc", ratio(c.remote_alloc)},
        {"remote_access", ratio(c.remote_access)},
        {"fallbacks_to_numa_no_node", c.fallbacks_per_node},
        {stats_key, stats},
        {"destroyed", c.destroyed},
    };
  }
  json buckets = json::array();
  for (const auto& b : m.buckets)
    buckets.push_back({{"start_ns", b.start_ns},
                       {"remote_alloc", ratio(b.remote_alloc)},
                       {"fallbacks_to_numa_no_node", b.fallbacks},
                       {"allocations_by_node", b.allocations_by_node}});
  json per_node = json::array();
  for (std::size_t n = 0; n < m.remote_alloc_per_node.size(); ++n)
    per_node.push_back({{"node", n}, {"remote_alloc", ratio(m.remote_alloc_per_node[n])}});
  json numastat = json::array();
  for (std::size_t n = 0; n < m.numastat.size(); ++n) {
    json row = numastat_json(m.numastat[n]);
    row["node"] = n;
    numastat.push_back(row);
  }
  json locks = json::array();
  for (const auto& c : m.lock_stat) {
    json points = json::array();
    for (const auto& p : c.contention_points)
      points.push_back({{"function", p.function}, {"count", p.count}});
    locks.push_back(
        {{"class", c.name},
         {"contentions", c.contentions()},
         {"con_bounces", {{"read", c.con_bounces_read}, {"write", c.con_bounces_write}}},
         {"acq_bounces", {{"read", c.acq_bounces_read}, {"write", c.acq_bounces_write}}},
         {"read",
          {{"waittime", lock_time(c.read_waittime)}, {"holdtime", lock_time(c.read_holdtime)}}},
         {"write",
          {{"waittime", lock_time(c.write_waittime)}, {"holdtime", lock_time(c.write_holdtime)}}},
         {"contention_points", points}});
  }
  json hotplug = json::array();
  for (const auto& h : m.hotplug)
    hotplug.push_back({{"type", hotplug_type_name(h.type)},
                       {"node", h.node},
                       {"block", h.block},
                       {"cpu", h.cpu},
                       {"start_ns", h.start_ns},
                       {"lock_wait_ns", h.lock_wait_ns},
                       {"duration_ns", h.duration_ns},
                       {"result", h.result}});
  for (std::size_t i = 0; i < m.hotplug.size(); ++i) {
    const auto& h = m.hotplug[i];
    if (!is_memory_hotplug(h.type)) continue;
    hotplug[i]["kmem_cache_node_structs"] = {{"allocated", h.node_structs_allocated},
                                             {"freed", h.node_structs_freed},
                                             {"reused", h.node_structs_reused}};
    hotplug[i]["usable_nodes_after"] = h.usable_nodes_after;
    hotplug[i]["normal_nodes_after"] = h.normal_nodes_after;
  }
  json events = json::array();
  for (const auto& e : m.events)
    events.push_back({{"type", e.type},
                      {"target", e.target},
                      {"start_ns", e.start_ns},
                      {"duration_ns", e.duration_ns},
                      {"result", e.result}});
  json violations = json::array();
  for (const auto& v : m.violations)
    violations.push_back({{"time_ns", v.time_ns},
                          {"cpu", v.cpu},
                          {"function", v.function},
                          {"kind", alloc::violation_kind_name(v.kind)},
                          {"what", v.what}});
  json deadlock = nullptr;
  if (m.deadlock)
    deadlock = {{"actors", m.deadlock->actors},
                {"held_locks", m.deadlock->held},
                {"awaited_locks", m.deadlock->awaited}};

  return {
      {"slabsim", {{"version", SLABSIM_VERSION}}},
      {"config",
       {{"allocator", alloc::allocator_name(m.allocator)},
        {"topology", topology::to_json(*in.topology)},
        {"workload", in.workload},
        {"strategy", strategy::to_json(*in.strategy)},
        {"seed", in.seed},
        {"jitter_ns", in.jitter_ns}}},
      {"simulated_ns", m.simulated_ns},
      {"metrics",
       {{"allocations", m.allocations},
        {"frees", m.frees},
        {"live_objects",
         static_cast<std::int64_t>(m.allocations) - static_cast<std::int64_t>(m.frees)},
        {"failed_allocations", m.failed_allocations},
        {"remote_alloc", ratio(m.remote_alloc)},
        {"remote_alloc_per_cpu_node", per_node},
        {"remote_access", ratio(m.remote_access)},
        {"time_buckets", buckets},
        {"fallbacks_to_numa_no_node", m.fallbacks_per_node},
        {"alloc_node_mismatch",
         m.alloc_node_mismatch ? json(*m.alloc_node_mismatch) : json(nullptr)},
        {"slab_pages_allocated", m.slab_pages_allocated},
        {"numastat", numastat},
        {"lock_stat", locks},
        {"caches", caches},
        {"hotplug", hotplug},
        {"events", events},
        {"violations", violations},
        {"deadlock", deadlock},
        {"lockdep",
         {{"cycles", m.lockdep_cycles},
          {"reports", m.lockdep_reports},
          {"dependencies", m.lockdep_edges}}},
        {"findings", run_findings(m)},
        {"kernel_log", m.kernel_log}}},
      {"host",
       {{"wall_seconds", host.wall_seconds},
        {"steps", host.steps},
        {"engine_sleeps", host.engine_sleeps},
        {"skipped_sleeps", host.skipped_sleeps},
        {"steps_per_second",
         host.wall_seconds > 0 ? static_cast<double>(host.steps) / host.wall_seconds : 0.0}}},
  };
}

const std::vector<std::string>& report_names() {
  static const std::vector<std::string> names = {"summary",  "lock_stat",  "numastat",
                                                 "slabinfo", "slub_stats", "lockdep"};
  return names;
}

std::string numastat_table(const std::vector<alloc::NumaStat>& stats) {
  std::string out = fmt::format("{:16}", "");
  for (std::size_t n = 0; n < stats.size(); ++n)
    out += fmt::format("{:>16}", fmt::format("node{}", n));
  out += '\n';
  auto row = [&](const char* name, std::uint64_t alloc::NumaStat::*field) {
    out += fmt::format("{:<16}", name);
    for (const auto& s : stats)
      out += fmt::format("{:>16}", s.*field);
    out += '\n';
  };
  row("numa_hit", &alloc::NumaStat::numa_hit);
  row("numa_miss", &alloc::NumaStat::numa_miss);
  row("numa_foreign", &alloc::NumaStat::numa_foreign);
  row("interleave_hit", &alloc::NumaStat::interleave_hit);
  row("local_node", &alloc::NumaStat::local_node);
  row("other_node", &alloc::NumaStat::other_node);
  return out;
}

std::string report(const std::string& name, const RunInputs& in, const RunMetrics& m) {
  if (name == "lock_stat") return m.lock_stat_text;
  if (name == "numastat") return numastat_table(m.numastat);
  if (name == "slabinfo") {
    if (m.allocator == alloc::AllocatorKind::slob)
      return "SLOB keeps no per-cache accounting: the kernel has no /proc/slabinfo with it\n";
    return m.slabinfo;
  }
  if (name == "lockdep") {
    // The splats as the kernel prints them, each once, then the dependency graph.
    std::string out;
    for (const auto& r : m.lockdep_reports)
      out += r + '\n';
    out += fmt::format("{} lock-order dependencies:\n", m.lockdep_edges.size());
    for (const auto& e : m.lockdep_edges)
      out += fmt::format("  {}\n", e);
    return out;
  }
  if (name == "slub_stats") {
    if (m.allocator != alloc::AllocatorKind::slub)
      return fmt::format(
          "allocator {} has no SLUB statistics{}\n", alloc::allocator_name(m.allocator),
          m.allocator == alloc::AllocatorKind::slab
              ? "; its CONFIG_DEBUG_SLAB statistics are the last columns of --report slabinfo"
              : "");
    std::string out;
    for (const auto& c : m.caches)
      out += fmt::format("/sys/kernel/slab/{}/\n{}", c.name, c.counters_text);
    return out;
  }
  // summary
  std::string out =
      fmt::format("slabsim {}: {} on {} with {}, strategy {} (seed {}), {} ns simulated\n",
                  SLABSIM_VERSION, in.workload.value("name", std::string("?")), in.topology->name,
                  alloc::allocator_name(m.allocator), in.strategy->name, in.seed, m.simulated_ns);
  out += fmt::format("allocations {}  frees {}  live {}  failed {}\n", m.allocations, m.frees,
                     static_cast<std::int64_t>(m.allocations) - static_cast<std::int64_t>(m.frees),
                     m.failed_allocations);
  out += fmt::format("remote allocations {:.4f} ({} of {})  remote accesses {:.4f}\n",
                     m.remote_alloc.value(), m.remote_alloc.remote, m.remote_alloc.total,
                     m.remote_access.value());
  std::uint64_t fallbacks = 0;
  for (auto f : m.fallbacks_per_node)
    fallbacks += f;
  out += fmt::format("fallbacks to NUMA_NO_NODE {}  alloc_node_mismatch {}\n", fallbacks,
                     m.alloc_node_mismatch ? fmt::format("{}", *m.alloc_node_mismatch) : "-");
  for (const auto& h : m.hotplug) {
    out += fmt::format("{} {} at {} ns: lock wait {} ns, took {} ns, result {}",
                       hotplug_type_name(h.type),
                       is_memory_hotplug(h.type) ? fmt::format("node {} block {}", h.node, h.block)
                                                 : fmt::format("cpu {}", h.cpu),
                       h.start_ns, h.lock_wait_ns, h.duration_ns, h.result);
    if (is_memory_hotplug(h.type))
      out += fmt::format("; kmem_cache_node +{} -{} reused {}; usable nodes [{}]",
                         h.node_structs_allocated, h.node_structs_freed, h.node_structs_reused,
                         fmt::join(h.usable_nodes_after, ","));
    out += '\n';
  }
  out += fmt::format("lockdep: {} lock-order dependencies, {} possible deadlock report{}\n",
                     m.lockdep_edges.size(), m.lockdep_reports.size(),
                     m.lockdep_reports.size() == 1 ? "" : "s");
  for (const auto& c : m.lockdep_cycles)
    out += fmt::format("  possible circular locking dependency: {} (--report lockdep)\n", c);
  out += fmt::format("violations {}{}\n", m.violations.size(), m.deadlock ? "  DEADLOCK" : "");
  for (const auto& v : m.violations)
    out += fmt::format("  at {} ns on CPU {} in {}: {}\n", v.time_ns, v.cpu, v.function, v.what);
  if (m.deadlock) {
    for (const auto& a : m.deadlock->actors)
      out += fmt::format("  blocked: {}\n", a);
    for (const auto& h : m.deadlock->held)
      out += fmt::format("  {}\n", h);
    for (const auto& w : m.deadlock->awaited)
      out += fmt::format("  {}\n", w);
  }
  const auto findings = run_findings(m);
  out += fmt::format("findings: {}\n",
                     findings.empty() ? "none" : fmt::format("{}", fmt::join(findings, ", ")));
  return out;
}

}  // namespace slabsim::sim
