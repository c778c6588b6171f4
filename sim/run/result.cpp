#include "run/result.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "allocator/make_allocator.hpp"
#include "run/findings.hpp"
#include "run/headline_metrics.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_json.hpp"
#include "workload/kernel_times.hpp"

namespace slabsim::sim {

using nlohmann::json;

namespace {

json ratio(const Ratio& r) {
  return {{"remote", r.remote}, {"total", r.total}, {"ratio", r.value()}};
}

json lock_time(const LockTime& t) {
  return {{"nr", t.nr}, {"min_ns", t.min}, {"max_ns", t.max}, {"total_ns", t.total}};
}

json numastat_row(const alloc::NumaStat& s) {
  return {{"numa_hit", s.numa_hit},         {"numa_miss", s.numa_miss},
          {"numa_foreign", s.numa_foreign}, {"interleave_hit", s.interleave_hit},
          {"local_node", s.local_node},     {"other_node", s.other_node}};
}

// A cache's layout (alloc::layout_fields() of the run's allocator): a number field the kernel
// version lacks is left out; merged_into is null when the cache was not merged.
json layout_json(const std::vector<alloc::LayoutValue>& values, alloc::AllocatorKind allocator) {
  const auto& fields = alloc::layout_fields(allocator);
  json layout = json::object();
  for (std::size_t i = 0; i < fields.size() && i < values.size(); ++i) {
    const alloc::LayoutValue& v = values[i];
    const std::string name(fields[i].name);
    switch (fields[i].type) {
      case alloc::LayoutType::number:
        if (v.number) layout[name] = *v.number;
        break;
      case alloc::LayoutType::flags:
        layout[name] = v.flags;
        break;
      case alloc::LayoutType::cache:
        layout[name] = v.cache ? json(*v.cache) : json(nullptr);
        break;
    }
  }
  return layout;
}

json caches_json(const RunMetrics& m) {
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
        {"layout", c.layout ? layout_json(*c.layout, m.allocator) : json(nullptr)},
    };
  }
  return caches;
}

json time_buckets_json(const RunMetrics& m) {
  json buckets = json::array();
  for (const auto& b : m.buckets) {
    json waits = json::array();
    for (const auto& w : b.lock_waits)
      waits.push_back({{"class", alloc::lock_class_name(w.cls)},
                       {"mode", w.mode == alloc::LockMode::read ? "read" : "write"},
                       {"function", w.function},
                       {"waits", w.waits},
                       {"wait_ns", w.wait_ns}});
    buckets.push_back({{"start_ns", b.start_ns},
                       {"remote_alloc", ratio(b.remote_alloc)},
                       {"fallbacks_to_numa_no_node", b.fallbacks},
                       {"allocations_by_node", b.allocations_by_node},
                       {"lock_waits", std::move(waits)}});
  }
  return buckets;
}

json per_node_json(const RunMetrics& m) {
  json per_node = json::array();
  for (std::size_t n = 0; n < m.remote_alloc_per_node.size(); ++n)
    per_node.push_back({{"node", n}, {"remote_alloc", ratio(m.remote_alloc_per_node[n])}});
  return per_node;
}

json numastat_json(const RunMetrics& m) {
  json numastat = json::array();
  for (std::size_t n = 0; n < m.numastat.size(); ++n) {
    json row = numastat_row(m.numastat[n]);
    row["node"] = n;
    numastat.push_back(row);
  }
  return numastat;
}

json lock_stat_json(const std::vector<LockClassStats>& classes) {
  json locks = json::array();
  for (const auto& c : classes) {
    json points = json::array();
    for (const auto& p : c.contention_points)
      points.push_back({{"function", p.function}, {"count", p.count}});
    locks.push_back(
        {{"class", c.full_name()},
         {"contentions", c.contentions()},
         {"con_bounces", {{"read", c.con_bounces_read}, {"write", c.con_bounces_write}}},
         {"acq_bounces", {{"read", c.acq_bounces_read}, {"write", c.acq_bounces_write}}},
         {"read",
          {{"waittime", lock_time(c.read_waittime)}, {"holdtime", lock_time(c.read_holdtime)}}},
         {"write",
          {{"waittime", lock_time(c.write_waittime)}, {"holdtime", lock_time(c.write_holdtime)}}},
         {"contention_points", points}});
  }
  return locks;
}

json hotplug_json(const RunMetrics& m) {
  json hotplug = json::array();
  for (const auto& h : m.hotplug) {
    json op = {{"type", hotplug_type_name(h.type)},
               {"node", h.node},
               {"block", h.block},
               {"cpu", h.cpu},
               {"start_ns", h.start_ns},
               {"lock_wait_ns", h.lock_wait_ns},
               {"duration_ns", h.duration_ns},
               {"result", h.result}};
    if (is_memory_hotplug(h.type)) {
      op["kmem_cache_node_structs"] = {{"allocated", h.node_structs_allocated},
                                       {"freed", h.node_structs_freed},
                                       {"reused", h.node_structs_reused}};
      op["usable_nodes_after"] = h.usable_nodes_after;
      op["normal_nodes_after"] = h.normal_nodes_after;
      json steps = json::array();
      for (const auto& s : h.steps)
        steps.push_back({{"step", alloc::hotplug_step_name(s.step)}, {"at_ns", s.at_ns}});
      op["steps"] = std::move(steps);
    }
    hotplug.push_back(std::move(op));
  }
  return hotplug;
}

json events_json(const RunMetrics& m) {
  json events = json::array();
  for (const auto& e : m.events) {
    json event = {{"type", e.type},
                  {"target", e.target},
                  {"start_ns", e.start_ns},
                  {"duration_ns", e.duration_ns},
                  {"result", e.result}};
    if (e.text) event["text"] = *e.text;
    events.push_back(std::move(event));
  }
  return events;
}

json violations_json(const RunMetrics& m) {
  json violations = json::array();
  for (const auto& v : m.violations)
    violations.push_back({{"time_ns", v.time_ns},
                          {"cpu", v.cpu},
                          {"function", v.function},
                          {"kind", alloc::violation_kind_name(v.kind)},
                          {"what", v.what}});
  return violations;
}

json metrics_json(const RunMetrics& m) {
  json metrics = recorded_metrics(m);
  metrics["remote_alloc"] = ratio(m.remote_alloc);
  metrics["remote_alloc_per_cpu_node"] = per_node_json(m);
  metrics["remote_access"] = ratio(m.remote_access);
  metrics["time_bucket_ns"] = m.bucket_width_ns;
  metrics["time_buckets"] = time_buckets_json(m);
  metrics["fallbacks_to_numa_no_node"] = m.fallbacks_per_node;
  metrics["numastat"] = numastat_json(m);
  metrics["lock_stat"] = lock_stat_json(m.lock_stat);
  metrics["lock_waits"] = lock_stat_json(m.lock_waits);
  metrics["caches"] = caches_json(m);
  metrics["hotplug"] = hotplug_json(m);
  metrics["events"] = events_json(m);
  metrics["violations"] = violations_json(m);
  metrics["deadlock"] = m.deadlock ? json{{"actors", m.deadlock->actors},
                                          {"held_locks", m.deadlock->held},
                                          {"awaited_locks", m.deadlock->awaited}}
                                   : json(nullptr);
  metrics["lockdep"] = {{"debug_locks", m.debug_locks},
                        {"cycles", m.lockdep_cycles},
                        {"reports", m.lockdep_reports},
                        {"dependencies", m.lockdep_edges}};
  metrics["findings"] = run_findings(m);
  metrics["kernel_log"] = m.kernel_log;
  return metrics;
}

json host_json(const RunOutcome& o) {
  const RunMetrics& m = o.metrics;
  return {{"wall_seconds", o.wall_seconds},
          {"steps", m.engine_steps},
          {"engine_sleeps", m.engine_sleeps},
          {"handoffs", m.engine_handoffs},
          {"skipped_sleeps", m.skipped_sleeps},
          {"engine_parks", m.engine_parks},
          {"engine_releases", m.engine_releases},
          {"peak_resident_bytes", o.peak_resident_bytes},
          {"steps_per_second",
           o.wall_seconds > 0 ? static_cast<double>(m.engine_steps) / o.wall_seconds : 0.0}};
}

}  // namespace

json config_json(const PreparedRun& p) {
  json kernel = json::object();
  for (const auto& k : workload::kernel_time_params())
    kernel[fmt::format("{}_ns", k.key)] = p.workload.kernel.*k.field;
  // The grace period as the run used it: its longest, and whether it ends on ticks.
  const sim::RcuGracePeriod gp = workload::rcu_grace_period(p.workload.kernel, p.machine);
  kernel["rcu_grace_period_ns"] = gp.nominal_ns();
  kernel["rcu_grace_period_ticks"] = gp.fixed_ns >= 0 ? 0 : gp.ticks;
  return {{"allocator", alloc::allocator_name(p.settings.allocator)},
          {"topology", topology::to_json(p.machine)},
          {"workload", p.workload_document.root},
          {"strategy", strategy::to_json(p.strategy)},
          {"seed", p.seed()},
          {"jitter_ns", p.settings.jitter_ns},
          {"quantum_ns", p.settings.quantum_ns},
          {"lookahead", p.settings.lookahead},
          {"slab_nomerge", p.settings.slab_nomerge},
          {"time_bucket_ns", p.time_bucket_ns()},
          {"event_tasks", p.workload.event_tasks},
          {"kernel", kernel}};
}

json result_json(const RunOutcome& o) {
  json j = {
      {"slabsim", {{"version", SLABSIM_VERSION}}},
      {"config", config_json(*o.run)},
      {"simulated_ns", o.metrics.simulated_ns},
      {"metrics", metrics_json(o.metrics)},
      {"host", host_json(o)},
  };
  // Only in a result the run did not finish: its figures stop at stopped_at_ns.
  if (const auto& p = o.metrics.partial)
    j["partial"] = {{"reason", p->reason}, {"stopped_at_ns", p->stopped_at_ns}};
  return j;
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

namespace {

std::string hotplug_lines(const RunMetrics& m) {
  std::string out;
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
  return out;
}

// What each sysfs read returned, as the kernel printed it: "sysfs_read <cache>/<file> at <ns> ns:
// <text>" (the text's final newline dropped), or its error.
std::string sysfs_read_lines(const RunMetrics& m) {
  std::string out;
  for (const auto& e : m.events) {
    if (e.type != "sysfs_read") continue;
    std::string_view text = e.text ? std::string_view(*e.text) : std::string_view();
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    out += e.text
               ? fmt::format("sysfs_read {} at {} ns: {}\n", e.target, e.start_ns, text)
               : fmt::format("sysfs_read {} at {} ns: result {}\n", e.target, e.start_ns, e.result);
  }
  return out;
}

std::string correctness_lines(const RunMetrics& m) {
  std::string out = fmt::format(
      "lockdep: {} lock-order dependencies, {} possible deadlock report{}\n",
      m.lockdep_edges.size(), m.lockdep_reports.size(), m.lockdep_reports.size() == 1 ? "" : "s");
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

std::string summary(const RunOutcome& o) {
  const PreparedRun& p = *o.run;
  const RunMetrics& m = o.metrics;
  const std::string partial = m.partial ? fmt::format("PARTIAL: stopped at {} ns: {}\n",
                                                      m.partial->stopped_at_ns, m.partial->reason)
                                        : "";
  return partial +
         fmt::format("slabsim {}: {} on {} with {}, strategy {} (seed {}), {} ns simulated\n",
                     SLABSIM_VERSION, p.workload_document.root.value("name", std::string("?")),
                     p.machine.name, alloc::allocator_name(m.allocator), p.strategy.name, p.seed(),
                     m.simulated_ns) +
         summary_figures(result_json(o)) + hotplug_lines(m) + sysfs_read_lines(m) +
         correctness_lines(m);
}

std::string lockdep_report(const RunMetrics& m) {
  // The splats as the kernel prints them, each once, then the dependency graph. The kernel
  // prints the first only: its report calls debug_locks_off(), and lockdep is off from there.
  std::string out;
  for (std::size_t i = 0; i < m.lockdep_reports.size(); ++i) {
    if (i == 1)
      out += fmt::format(
          "# The kernel prints only the report above, then debug_locks_off() turns lockdep "
          "off.\n# The simulator's validator went on and found {} more:\n\n",
          m.lockdep_reports.size() - 1);
    out += m.lockdep_reports[i] + '\n';
  }
  out += fmt::format("{} lock-order dependencies:\n", m.lockdep_edges.size());
  for (const auto& e : m.lockdep_edges)
    out += fmt::format("  {}\n", e);
  return out;
}

std::string slub_stats_report(const RunMetrics& m) {
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

}  // namespace

std::string report(const std::string& name, const RunOutcome& o) {
  const RunMetrics& m = o.metrics;
  if (name == "lock_stat") return m.lock_stat_text;
  if (name == "numastat") return numastat_table(m.numastat);
  if (name == "slabinfo")
    return m.allocator == alloc::AllocatorKind::slob
               ? "SLOB keeps no per-cache accounting: the kernel has no /proc/slabinfo with it\n"
               : m.slabinfo;
  if (name == "lockdep") return lockdep_report(m);
  if (name == "slub_stats") return slub_stats_report(m);
  return summary(o);
}

}  // namespace slabsim::sim
