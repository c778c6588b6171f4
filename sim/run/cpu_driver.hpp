// The workload's CPUs: one actor per CPU of the machine plays the thread groups pinned to it, one
// operation at a time. At each operation boundary a CPU does the first thing due: the allocator's
// periodic reap (SLAB's cache_reap), a free of an object handed to it, the next allocation of the
// next thread group whose turn it is; otherwise it waits (a short think time is charged as local
// work, a longer wait is slept). A CPU that CPU hotplug took offline parks at its next boundary;
// a CPU that an IPI handler runs as waits until the handler has returned.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "run/event_queue.hpp"
#include "run/machine.hpp"
#include "run/metrics_recorder.hpp"
#include "run/pending_frees.hpp"
#include "run/quiescent_checks.hpp"
#include "run/run_progress.hpp"
#include "run/runner.hpp"
#include "run/workload_caches.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class CpuDriver {
 public:
  CpuDriver(Machine& machine, const workload::Workload& workload, const RunOptions& options,
            const EventQueue& events, WorkloadCaches& caches, QuiescentChecks& checks,
            MetricsRecorder& recorder, RunProgress& progress);

  // One actor per CPU of the machine, named "cpu<N>".
  void spawn();

  // For CPU hotplug (the event player), on a CPU of the machine.
  [[nodiscard]] bool online(int cpu) const { return state(cpu).online; }
  // Offline and stopped at an operation boundary: its CPUHP_*_DEAD callbacks may run.
  [[nodiscard]] bool parked(int cpu) const { return state(cpu).parked; }
  // Back online at `now`: slab_online_cpu()'s start_cpu_timer(), its reaps start over.
  void bring_online(int cpu, std::int64_t now);
  // Stops at its next operation boundary.
  void take_offline(int cpu) { state(cpu).online = false; }
  // Online CPUs by id: every CPU but those the workload took offline (event tasks' CPUs too).
  [[nodiscard]] std::vector<bool> online_cpus() const;

 private:
  struct Cpu {
    int cpu = 0;
    int node = 0;
    std::vector<int> groups;  // thread groups with this CPU
    std::size_t next_group = 0;
    std::int64_t next_op_at = 0;
    FreeHeap to_free;
    std::vector<int> live;  // per thread group: live objects allocated here
    // Where a remote free goes: the CPUs of other nodes, or if there are none the other CPUs.
    std::vector<int> remote_free_pool;
    std::int64_t next_reap_at = 0;
    bool online = true;
    bool parked = false;
    // The origins (FreeOrigins) of this CPU's last allocations, by (5 group + node) % 16: most
    // allocations find theirs here without hashing (node-online: 6,300 a run reach the hash
    // map, against 12,600 with 4 slots by group + node).
    struct OriginMemo {
      alloc::Cache* owner = nullptr;
      int group = -1;
      int node = -1;
      std::uint32_t id = 0;
    };
    std::array<OriginMemo, 16> origin_memo{};
    // Last: its 2.5 KiB of state would otherwise put the fields above on other cache lines.
    std::mt19937_64 rng;
  };

  [[nodiscard]] Cpu& state(int cpu) { return cpus_[index_of_cpu_[cpu]]; }
  [[nodiscard]] const Cpu& state(int cpu) const { return cpus_[index_of_cpu_[cpu]]; }
  [[nodiscard]] std::int64_t first_reap(int cpu) const;

  // The CPU's loop. What it does at an operation boundary is declared inline and defined in
  // cpu_driver.cpp, where play() alone calls it: the compiler then makes one loop of it, as an
  // operation's host cost wants (most operations never enter the engine).
  void play(Cpu& c);
  inline void park(Cpu& c, std::int64_t now);
  inline void reap(Cpu& c);
  inline void free_next(Cpu& c, std::int64_t now);
  inline void free_object(const FreeOrigin& from, const alloc::ObjectRef& object);
  inline std::uint32_t origin_id(Cpu& c, alloc::Cache* owner, int group, int node);
  inline void allocate(Cpu& c, int group, std::int64_t now);
  inline void wait_for_work(Cpu& c, std::int64_t now);
  inline int due_group(Cpu& c, std::int64_t now);
  inline int target_node(const workload::NodeSelector& selector, Cpu& c);
  inline int freeing_cpu(Cpu& c, const workload::ThreadGroup& group);

  Machine& machine_;
  MachineEnvironment& env_;
  alloc::Allocator& allocator_;
  const workload::Workload& workload_;
  std::int64_t quantum_ns_;
  const EventQueue& events_;
  WorkloadCaches& caches_;
  QuiescentChecks& checks_;
  MetricsRecorder& recorder_;
  RunProgress& progress_;
  std::int64_t reap_ns_;           // the allocator's reap interval; 0: none
  std::vector<Cpu> cpus_;          // ascending CPU id: deterministic iteration
  std::vector<int> index_of_cpu_;  // CPU id -> index in cpus_
  FreeOrigins origins_;
  std::uint64_t free_seq_ = 0;
};

}  // namespace slabsim::sim
