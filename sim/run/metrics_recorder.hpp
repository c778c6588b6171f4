// What the runner counts while the workload plays: per workload cache (allocations, frees,
// failures, skips, remote allocations and accesses), per allocating CPU's node, per time bucket
// (remote ratio, NUMA_NO_NODE fallbacks, allocations by the node the object landed on, and who
// waited for which lock, from the lock signals), and the records of hotplug operations and timed
// events. collect() makes the run's RunMetrics of them
// and of what the model, the locks and lockdep know at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/simulation.hpp"
#include "kernel/lock_signals.hpp"
#include "run/machine.hpp"
#include "run/metrics.hpp"
#include "run/time_buckets.hpp"
#include "run/workload_caches.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class MetricsRecorder {
 public:
  // `time_bucket_ns`: the result's bucket width; 0 for the automatic one (time_buckets.hpp).
  MetricsRecorder(const workload::Workload& workload, alloc::AllocatorKind allocator,
                  int node_count, std::int64_t time_bucket_ns);

  // Records each lock wait (a request to its acquisition) in the buckets it spans.
  void observe(LockSignals& signals);

  // An allocation the thread group could not make: no cache, or its live objects at the limit.
  void skipped(std::size_t cache) { ++caches_[cache].skipped; }
  // kmem_cache_alloc_node() fell back to NUMA_NO_NODE (the cache's counter moved).
  void fell_back(std::int64_t now) { ++buckets_.at(now).fallbacks; }
  void failed(std::size_t cache) { ++caches_[cache].failed_allocations; }
  // An object of `cache` for a CPU of `cpu_node` landed on `object_node`; the workload touches
  // it `accesses` times.
  void allocated(std::size_t cache, int cpu_node, int object_node, int accesses, std::int64_t now) {
    CacheMetrics& cm = caches_[cache];
    BucketMetrics& bucket = buckets_.at(now);
    const bool remote = object_node != cpu_node;
    ++cm.allocations;
    cm.remote_alloc.total++;
    cm.remote_alloc.remote += remote;
    remote_alloc_by_node_[cpu_node].total++;
    remote_alloc_by_node_[cpu_node].remote += remote;
    bucket.remote_alloc.total++;
    bucket.remote_alloc.remote += remote;
    ++bucket.allocations_by_node[object_node];
    cm.remote_access.total += static_cast<std::uint64_t>(accesses);
    cm.remote_access.remote += remote ? static_cast<std::uint64_t>(accesses) : 0;
  }
  void freed(std::size_t cache) { ++caches_[cache].frees; }

  void hotplug(const HotplugRecord& record) { hotplug_.push_back(record); }
  void event(const EventRecord& record) { events_.push_back(record); }

  // At the end of the run, outside the engine: runs the end-of-run invariant check (as the CPU
  // that ran last) and gathers everything. `online`: online CPUs by id.
  RunMetrics collect(Machine& machine, const WorkloadCaches& caches,
                     const std::vector<bool>& online, const RunResult& end, std::uint64_t steps);

 private:
  struct LockRequest {
    alloc::LockClass cls;
    std::uint64_t instance;
    alloc::LockMode mode;
    const char* function;
    std::int64_t since_ns;
  };

  void lock_acquired(const LockEvent& e);
  // The wait of `r` until `until_ns`, in every bucket it spans.
  void add_wait(const LockRequest& r, std::int64_t until_ns);
  void add_caches(RunMetrics& m, Machine& machine, const WorkloadCaches& caches,
                  const std::vector<bool>& online) const;

  std::int64_t duration_ns_;
  std::int64_t requested_bucket_ns_;  // 0: automatic
  alloc::AllocatorKind allocator_;
  int node_count_;
  std::vector<CacheMetrics> caches_;
  TimeBuckets<BucketMetrics> buckets_;
  // By CPU: lock requests not yet acquired. Usually at most one; a second comes from an IPI
  // handler running as the CPU while the CPU's own task waits.
  std::vector<std::vector<LockRequest>> requests_;
  std::vector<Ratio> remote_alloc_by_node_;  // by the allocating CPU's node
  std::vector<HotplugRecord> hotplug_;
  std::vector<EventRecord> events_;
};

}  // namespace slabsim::sim
