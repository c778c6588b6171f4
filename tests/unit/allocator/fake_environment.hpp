// A single-threaded Environment for unit tests: time is the sum of charges, locks are recorded
// (and checked for misuse) instead of blocking, IPIs run at once on the target CPU.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "allocator/environment.hpp"
#include "allocator/mm/machine_layout.hpp"

namespace slabsim::alloc::testing {

// Thrown when a lock would block: another (simulated) CPU holds it in a conflicting mode, so in
// a real run the caller would wait here.
struct WouldBlock : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LockEvent {
  int cpu;
  LockClass cls;
  std::uint64_t instance;
  LockMode mode;
  bool acquire;
  std::string function;  // empty for releases
};

class FakeEnvironment : public Environment {
 public:
  explicit FakeEnvironment(const MachineLayout& layout) : layout_(layout) {}

  int cpu = 0;  // the CPU the next calls run on
  std::int64_t time = 0;
  std::uint64_t seed = 0x9E3779B97F4A7C15ull;
  std::vector<LockEvent> events;
  std::map<std::pair<int, int>, std::uint64_t> touches;  // (cpu node, memory node) -> count
  std::vector<std::string> misuse;                       // self-deadlocks, bad unlocks
  // Called before a lock is taken, so a test can make another CPU act at that point (as if
  // it ran while this CPU spun).
  std::function<void(LockClass, std::uint64_t, const char*)> before_lock;
  int irq_depth = 0;
  // lock_freed() calls, in order.
  std::vector<std::pair<LockClass, std::uint64_t>> freed_locks;

  void lock_freed(LockClass cls, std::uint64_t instance) override {
    freed_locks.emplace_back(cls, instance);
  }
  [[nodiscard]] bool lock_was_freed(LockClass cls, std::uint64_t instance) const {
    return std::find(freed_locks.begin(), freed_locks.end(), std::pair{cls, instance}) !=
           freed_locks.end();
  }

  int current_cpu() override { return cpu; }
  std::int64_t now_ns() override { return time; }
  void charge(std::int64_t ns) override { time += ns; }
  using Environment::touch_memory;
  void touch_memory(int node) override {
    ++touches[{layout_.cpu_node[cpu], node}];
    time += 10 * layout_.distance[layout_.cpu_node[cpu]][node] / 10;
  }

  int syncs = 0;
  // Called at each sync(), where in a run other CPUs catch up: a test makes another CPU act there
  // (as if it ran during the work just paid: a cmpxchg's window, a read's latency).
  std::function<void()> on_sync;
  void sync() override {
    ++syncs;
    if (on_sync) on_sync();
  }

  void lock(LockClass cls, std::uint64_t instance, LockMode mode, const char* function) override {
    if (before_lock) before_lock(cls, instance, function);
    auto key = std::tuple{cls, instance};
    auto& holders = held_[key];
    for (const auto& [holder_cpu, holder_mode] : holders) {
      const bool conflict = !(mode == LockMode::read && holder_mode == LockMode::read);
      if (!conflict) continue;
      if (holder_cpu == cpu) {
        misuse.push_back(fmt::format("CPU {} takes {} in {} while holding it: self-deadlock", cpu,
                                     lock_class_name(cls), function));
        throw WouldBlock(misuse.back());
      }
      throw WouldBlock(fmt::format("CPU {} would wait for {} (held by CPU {}) in {}", cpu,
                                   lock_class_name(cls), holder_cpu, function));
    }
    holders.emplace_back(cpu, mode);
    events.push_back({cpu, cls, instance, mode, true, function});
  }

  // Fails where lock() would block (or self-deadlock); records nothing then.
  bool try_lock(LockClass cls, std::uint64_t instance, LockMode mode,
                const char* function) override {
    for (const auto& [holder_cpu, holder_mode] : held_[std::tuple{cls, instance}])
      if (!(mode == LockMode::read && holder_mode == LockMode::read)) return false;
    lock(cls, instance, mode, function);
    return true;
  }

  void unlock(LockClass cls, std::uint64_t instance, LockMode mode) override {
    auto& holders = held_[std::tuple{cls, instance}];
    for (auto it = holders.begin(); it != holders.end(); ++it) {
      if (it->first == cpu && it->second == mode) {
        holders.erase(it);
        events.push_back({cpu, cls, instance, mode, false, ""});
        return;
      }
    }
    misuse.push_back(fmt::format("CPU {} releases {} it does not hold", cpu, lock_class_name(cls)));
  }

  // Makes `holder_cpu` hold a lock, as another actor (e.g. online_pages on another CPU) would.
  void hold(int holder_cpu, LockClass cls, LockMode mode, std::uint64_t instance = 0) {
    held_[std::tuple{cls, instance}].emplace_back(holder_cpu, mode);
  }
  void release(int holder_cpu, LockClass cls, LockMode mode, std::uint64_t instance = 0) {
    auto& holders = held_[std::tuple{cls, instance}];
    for (auto it = holders.begin(); it != holders.end(); ++it)
      if (it->first == holder_cpu && it->second == mode) {
        holders.erase(it);
        return;
      }
  }
  [[nodiscard]] bool anything_held() const {
    for (const auto& [key, holders] : held_)
      if (!holders.empty()) return true;
    return false;
  }

  void irq_disable() override { ++irq_depth; }
  void irq_enable() override { --irq_depth; }
  // The CPUs each run_works_on_cpus() call queued works on.
  std::vector<std::vector<int>> work_cpus;
  void run_works_on_cpus(const std::vector<int>& cpus,
                         const std::function<void(int)>& fn) override {
    work_cpus.push_back(cpus);
    Environment::run_works_on_cpus(cpus, fn);
  }
  void run_on_cpu(int target, const std::function<void()>& fn) override {
    const int saved = cpu;
    cpu = target;
    fn();
    cpu = saved;
  }
  // call_rcu(): queued with the time its grace period ends; the test lets grace periods pass
  // (end_grace_period()) or waits for them (rcu_barrier()). Each callback runs as the CPU that
  // queued it, as rcu_do_batch() does in that CPU's softirq.
  std::int64_t grace_period_ns = 1000;  // a test value; a run's is its rcu_grace_period
  struct RcuCallback {
    std::int64_t due;
    int cpu;
    std::function<void()> fn;
  };
  std::vector<RcuCallback> rcu_callbacks;
  int rcu_barriers = 0;
  void call_rcu(std::function<void()> fn) override {
    rcu_callbacks.push_back({time + grace_period_ns, cpu, std::move(fn)});
  }
  // Time moves to the end of the grace period of every callback queued so far, which then run.
  void end_grace_period() {
    std::vector<RcuCallback> batch;
    batch.swap(rcu_callbacks);
    for (auto& cb : batch) {
      time = std::max(time, cb.due);
      const int saved = cpu;
      cpu = cb.cpu;
      cb.fn();
      cpu = saved;
    }
  }
  void rcu_barrier() override {
    ++rcu_barriers;
    end_grace_period();
  }
  // schedule_work(): queued; the test runs the kworker (run_works()) as the CPU that queued it.
  std::vector<std::pair<int, std::function<void()>>> works;
  void schedule_work(std::function<void()> fn) override { works.emplace_back(cpu, std::move(fn)); }
  void run_works() {
    while (!works.empty()) {
      auto [on, fn] = std::move(works.front());
      works.erase(works.begin());
      const int saved = cpu;
      cpu = on;
      fn();
      cpu = saved;
    }
  }

  std::uint64_t random() override {  // xorshift64*
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 0x2545F4914F6CDD1Dull;
  }

  // The acquisitions of one CPU as "class(mode)" strings, for lock-sequence checks.
  [[nodiscard]] std::vector<std::string> acquisitions(std::size_t from = 0) const {
    std::vector<std::string> out;
    for (std::size_t i = from; i < events.size(); ++i) {
      const auto& e = events[i];
      if (!e.acquire) continue;
      std::string name(lock_class_name(e.cls));
      if (e.mode == LockMode::read) name += "(R)";
      if (e.mode == LockMode::write) name += "(W)";
      out.push_back(name);
    }
    return out;
  }

 private:
  const MachineLayout& layout_;
  std::map<std::tuple<LockClass, std::uint64_t>, std::vector<std::pair<int, LockMode>>> held_;
};

// A small machine: `nodes` nodes with `cpus_per_node` CPUs each, SLIT 10/20, each node with
// `blocks_per_node` online normal blocks of `block_pages` pages; extra nodes can be added.
inline MachineLayout small_layout(int nodes = 2, int cpus_per_node = 2, int blocks_per_node = 4,
                                  std::uint64_t block_pages = 1024) {
  MachineLayout l;
  l.block_pages = block_pages;
  for (int n = 0; n < nodes; ++n)
    for (int c = 0; c < cpus_per_node; ++c)
      l.cpu_node.push_back(n);
  l.distance.assign(nodes, std::vector<int>(nodes, 20));
  for (int n = 0; n < nodes; ++n)
    l.distance[n][n] = 10;
  for (int n = 0; n < nodes; ++n)
    for (int b = 0; b < blocks_per_node; ++b)
      l.blocks.push_back({n, ZoneType::normal, BlockPresence::online});
  return l;
}

// Adds a CPU-less node with `blocks` blocks in `state` and `zone`; returns its id.
inline int add_memory_node(MachineLayout& l, int blocks, BlockPresence state,
                           ZoneType zone = ZoneType::normal) {
  const int nid = static_cast<int>(l.distance.size());
  for (auto& row : l.distance)
    row.push_back(20);
  l.distance.emplace_back(nid + 1, 20);
  l.distance[nid][nid] = 10;
  for (int b = 0; b < blocks; ++b)
    l.blocks.push_back({nid, zone, state});
  return nid;
}

}  // namespace slabsim::alloc::testing
