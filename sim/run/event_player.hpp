// The workload's timed events, played by the event tasks: up to four actors ("events<k>"), each
// on a CPU of its own. A free task takes the next due event whoever's turn it is, so events due
// together race. Besides hotplug (HotplugOperations): kmem_cache_create() and
// kmem_cache_destroy() of the workload's caches, shrinks and reads of their sysfs files, the
// notifier error injection, and bursts of allocations and frees on a given CPU. Each event is
// recorded (EventRecord), cache events are signalled as operations (OperationSignals), and an
// invariant check after each waits for a quiescent moment.
#pragma once

#include <optional>
#include <string>

#include "run/burst_objects.hpp"
#include "run/cpu_driver.hpp"
#include "run/event_queue.hpp"
#include "run/hotplug_operations.hpp"
#include "run/machine.hpp"
#include "run/metrics_recorder.hpp"
#include "run/operation_signals.hpp"
#include "run/quiescent_checks.hpp"
#include "run/run_progress.hpp"
#include "run/workload_caches.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class EventPlayer {
 public:
  EventPlayer(Machine& machine, const workload::Workload& workload, EventQueue& events,
              WorkloadCaches& caches, QuiescentChecks& checks, MetricsRecorder& recorder,
              RunProgress& progress, CpuDriver& cpus, HotplugOperations& hotplug,
              OperationSignals& signals);

  // One actor per event task's CPU, named "events<k>".
  void spawn();

 private:
  void play_all();
  EventRecord play(int cpu, const workload::Event& e);
  std::vector<HotplugRecord> play_hotplug(int cpu, const workload::Event& e, EventRecord& r);
  // alloc_burst: kmem_cache_alloc_node() `count` times as the event's CPU (work_on_cpu()), each
  // object's node appended to `placement`; free_burst: the oldest kept objects freed there.
  int alloc_burst(const workload::Event& e, std::vector<int>& placement);
  int free_burst(const workload::Event& e);
  // page_burst: alloc_pages_node() `count` times as the event's CPU, each block's node appended
  // to `placement`; page_free: every kept page freed.
  int page_burst(const workload::Event& e, std::vector<int>& placement);
  int page_free(int cpu);
  int create_cache(const workload::Event& e);
  int destroy_cache(const workload::Event& e);
  // A shrink, or a sysfs read whose text goes to `text` (null for a shrink).
  int access_sysfs(const workload::Event& e, std::optional<std::string>* text);
  std::optional<std::string> show_sysfs_file(alloc::Cache& s, const std::string& file);
  void set_error_injection(const workload::Event& e);
  // The name of a cache event's operation, known before it runs (a deadlock may stop it halfway);
  // empty for other events.
  [[nodiscard]] std::string cache_operation_name(const workload::Event& e) const;

  Machine& machine_;
  MachineEnvironment& env_;
  alloc::Allocator& allocator_;
  const workload::Workload& workload_;
  EventQueue& events_;
  WorkloadCaches& caches_;
  QuiescentChecks& checks_;
  MetricsRecorder& recorder_;
  RunProgress& progress_;
  CpuDriver& cpus_;
  HotplugOperations& hotplug_;
  OperationSignals& signals_;
  BurstObjects bursts_;
  std::vector<char> busy_;  // per event CPU: an event plays on it now
};

}  // namespace slabsim::sim
