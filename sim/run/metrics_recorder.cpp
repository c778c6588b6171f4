#include "run/metrics_recorder.hpp"

#include <algorithm>
#include <set>

#include "run/findings.hpp"

namespace slabsim::sim {

namespace {

BucketMetrics empty_bucket(int node_count) {
  BucketMetrics b;
  b.allocations_by_node.assign(static_cast<std::size_t>(node_count), 0);
  return b;
}

}  // namespace

MetricsRecorder::MetricsRecorder(const workload::Workload& workload, alloc::AllocatorKind allocator,
                                 int node_count, std::int64_t time_bucket_ns)
    : duration_ns_(workload.duration_ns),
      requested_bucket_ns_(time_bucket_ns),
      allocator_(allocator),
      node_count_(node_count),
      caches_(workload.caches.size()),
      buckets_(recording_width_ns(workload.duration_ns, time_bucket_ns), empty_bucket(node_count),
               max_recorded_buckets(workload.duration_ns,
                                    recording_width_ns(workload.duration_ns, time_bucket_ns))),
      remote_alloc_by_node_(static_cast<std::size_t>(node_count)) {
  buckets_.reserve_until(workload.duration_ns);
  for (std::size_t i = 0; i < caches_.size(); ++i) {
    caches_[i].name = workload.caches[i].name;
    caches_[i].fallbacks_per_node.assign(node_count, 0);
  }
}

void MetricsRecorder::observe(LockSignals& signals) {
  signals.requested.connect([this](const LockEvent& e) {
    if (requests_.size() <= static_cast<std::size_t>(e.cpu))
      requests_.resize(static_cast<std::size_t>(e.cpu) + 1);
    requests_[e.cpu].push_back({e.cls, e.instance, e.mode, e.function, e.now_ns});
  });
  signals.acquired.connect([this](const LockEvent& e) { lock_acquired(e); });
}

void MetricsRecorder::lock_acquired(const LockEvent& e) {
  if (e.trylock || requests_.size() <= static_cast<std::size_t>(e.cpu)) return;
  auto& pending = requests_[e.cpu];
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    if (it->cls != e.cls || it->instance != e.instance || it->mode != e.mode) continue;
    if (e.now_ns > it->since_ns) add_wait(*it, e.now_ns);
    pending.erase(std::next(it).base());
    return;
  }
}

void MetricsRecorder::add_wait(const LockRequest& r, std::int64_t until_ns) {
  // The bucket the wait began in, found once for its count and its first span.
  BucketLockWait* entry = &buckets_.at(r.since_ns).lock_wait(r.cls, r.mode, r.function);
  ++entry->waits;
  const std::int64_t width = buckets_.width_ns();
  for (std::int64_t from = r.since_ns; from < until_ns;) {
    const std::int64_t to = std::min(until_ns, (from / width + 1) * width);
    if (entry == nullptr) entry = &buckets_.at(from).lock_wait(r.cls, r.mode, r.function);
    entry->wait_ns += to - from;
    entry = nullptr;
    from = to;
  }
}

RunMetrics MetricsRecorder::collect(Machine& machine, const WorkloadCaches& caches,
                                    const std::vector<bool>& online, const RunResult& end,
                                    std::uint64_t steps) {
  alloc::Allocator& allocator = machine.allocator();
  machine.env().set_outside_engine(true, end.end_time_ns);
  allocator.state().check_invariants("end of run");
  RunMetrics m;
  m.simulated_ns = end.end_time_ns;
  // A task still waiting at the end (a deadlock) waited until then.
  for (const auto& pending : requests_)
    for (const auto& r : pending)
      if (end.end_time_ns > r.since_ns) add_wait(r, end.end_time_ns);
  requests_.clear();
  buckets_.extend_to(end.end_time_ns);
  // The recording width has grown past the named one when the run outlasted its buckets.
  m.bucket_width_ns =
      requested_bucket_ns_ > 0
          ? buckets_.width_ns()
          : automatic_width_ns(duration_ns_, buckets_.width_ns(), hotplug_windows_ns(hotplug_));
  buckets_.coarsen(m.bucket_width_ns);
  m.buckets = buckets_.buckets();
  m.remote_alloc_per_node = remote_alloc_by_node_;
  add_caches(m, machine, caches, online);
  for (int n = 0; n < node_count_; ++n)
    m.numastat.push_back(machine.pages().numastat(n));
  m.allocator = allocator_;
  m.slab_pages_allocated = allocator.state().slabs_allocated();
  m.lock_waits = machine.locks().lock_stat_classes();
  m.lock_stat = machine.locks().kernel_lock_stat_classes();
  m.debug_locks = machine.locks().debug_locks();
  m.lock_stat_text = machine.locks().lock_stat_text();
  m.hotplug = hotplug_;
  m.events = events_;
  m.violations = allocator.state().violations();
  for (const auto& r : machine.lockdep().reports()) {
    m.lockdep_reports.push_back(format_report(r));
    m.lockdep_cycles.push_back(lockdep_cycle_name(r));
  }
  m.lockdep_edges = machine.lockdep().edges();
  m.kernel_log = allocator.state().kernel_log();
  for (const auto& line : machine.hotplug().log())
    m.kernel_log.push_back(line);
  m.slabinfo = allocator.state().proc_slabinfo();
  m.engine_steps = steps;
  m.engine_sleeps = end.engine_sleeps;
  m.engine_handoffs = end.handoffs;
  m.skipped_sleeps = end.skipped_sleeps;
  m.engine_parks = end.engine_parks;
  m.engine_releases = end.engine_releases;
  return m;
}

// Each cache's counters with the model's statistics of its last struct, and their sums.
void MetricsRecorder::add_caches(RunMetrics& m, Machine& machine, const WorkloadCaches& caches,
                                 const std::vector<bool>& online) const {
  m.fallbacks_per_node.assign(node_count_, 0);
  // The names of a merged cache (__kmem_cache_alias()) share one struct, whose counters each
  // shows: the totals take them once.
  std::set<const alloc::Cache*> counted;
  for (std::size_t i = 0; i < caches_.size(); ++i) {
    CacheMetrics c = caches_[i];
    const alloc::Cache* s = caches.last_struct(i);
    c.destroyed = caches.current_struct(i) == nullptr;
    c.layout = caches.layout(i);
    if (s) {
      c.fallbacks_per_node = s->fallback_to_no_node;
      alloc::CacheReport report = machine.allocator().state().cache_report(s, online);
      c.counters = std::move(report.counters);
      c.counters_text = std::move(report.counters_text);
      c.objects_in_use = report.objects_in_use;
      c.alloc_node_mismatch = report.alloc_node_mismatch;
    }
    const bool first_of_struct = !s || counted.insert(s).second;
    for (int n = 0; first_of_struct && n < node_count_; ++n)
      m.fallbacks_per_node[n] += c.fallbacks_per_node[n];
    m.allocations += c.allocations;
    m.frees += c.frees;
    m.failed_allocations += c.failed_allocations;
    m.remote_alloc.remote += c.remote_alloc.remote;
    m.remote_alloc.total += c.remote_alloc.total;
    m.remote_access.remote += c.remote_access.remote;
    m.remote_access.total += c.remote_access.total;
    if (c.alloc_node_mismatch && first_of_struct)
      m.alloc_node_mismatch = m.alloc_node_mismatch.value_or(0) + *c.alloc_node_mismatch;
    m.caches.push_back(std::move(c));
  }
}

}  // namespace slabsim::sim
