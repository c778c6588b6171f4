#include "run/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/heap/d_ary_heap.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string_view>

#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "engine/simulation.hpp"
#include "kernel/kernel_locks.hpp"
#include "run/findings.hpp"
#include "run/machine_environment.hpp"
#include "run/trace.hpp"

namespace slabsim::sim {

using alloc::BlockPresence;
using alloc::ZoneType;
using workload::Event;

alloc::MachineLayout machine_layout(const topology::Topology& machine) {
  alloc::MachineLayout l;
  const auto cpus = machine.cpu_ids();
  const int nr = cpus.empty() ? 0 : cpus.back() + 1;
  l.cpu_node.assign(nr, 0);
  for (int cpu : cpus)
    l.cpu_node[cpu] = machine.node_of_cpu(cpu);
  l.distance = machine.slit;
  l.block_pages = machine.block_size / alloc::page_size;
  for (const auto& b : machine.blocks) {
    alloc::BlockLayout bl;
    bl.node = b.node;
    bl.zone = b.zone == topology::Zone::normal ? ZoneType::normal : ZoneType::movable;
    bl.state = b.state == topology::BlockState::online    ? BlockPresence::online
               : b.state == topology::BlockState::offline ? BlockPresence::offline
                                                          : BlockPresence::absent;
    l.blocks.push_back(bl);
  }
  return l;
}

namespace {

constexpr std::int64_t poll_ns = 100;  // how often a parked or waiting actor looks again
// restart_syscall() after -ERESTARTSYS: back to user space and into the write again (a model
// choice of a few microseconds).
constexpr std::int64_t syscall_restart_ns = 2000;

// An object some CPU will free: kept in the run's pool, while the freeing CPU's heap holds only
// when (small entries keep the heap, touched on every operation, cheap).
struct PendingFree {
  void* slab;
  alloc::Cache* owner;  // the struct the object came from, even one destroyed since (SLOB)
  std::uint16_t index;
  std::uint16_t node;
  std::uint32_t cache;  // the workload's
  std::uint32_t group;  // the allocating thread group and CPU, whose live count it is in
  int owner_cpu;
  [[nodiscard]] alloc::ObjectRef object() const { return {slab, index, node}; }
};
struct FreeAt {
  std::int64_t at;
  std::uint64_t seq;   // ties broken by allocation order, for determinism
  std::uint32_t slot;  // in the pool
  bool operator>(const FreeAt& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

struct CpuActor {
  int cpu = 0;
  int node = 0;
  std::vector<int> groups;  // thread groups with this CPU
  std::size_t next_group = 0;
  std::int64_t next_op_at = 0;
  // 4-ary: shallower than a binary heap, for the pop and push of every operation.
  boost::heap::d_ary_heap<FreeAt, boost::heap::arity<4>, boost::heap::compare<std::greater<>>>
      to_free;
  std::vector<int> live;  // per thread group: live objects allocated here
  // Where a remote free goes: the CPUs of other nodes, or if there are none the other CPUs.
  std::vector<int> remote_free_pool;
  std::int64_t next_reap_at = 0;  // the allocator's periodic work (SLAB's cache_reap)
  std::mt19937_64 rng;
  bool online = true;
  bool parked = false;
};

std::int64_t sample(const workload::Distribution& d, std::mt19937_64& rng) {
  switch (d.kind) {
    case workload::Distribution::Kind::constant:
      return d.a_ns;
    case workload::Distribution::Kind::exponential: {
      // Inverse transform with a 53-bit uniform: the same numbers on every standard library.
      const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
      return static_cast<std::int64_t>(std::llround(-std::log(u) * static_cast<double>(d.a_ns)));
    }
    case workload::Distribution::Kind::uniform:
      return d.a_ns +
             static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(d.b_ns - d.a_ns + 1));
  }
  return 0;
}

double unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// The workload's kernel times. KernelLocks would sleep for the acquire and cache-line costs;
// the environment charges them as the holder's work instead (see MachineEnvironment).
KernelLockConfig lock_config(const workload::KernelTimes& k) {
  KernelLockConfig c;
  c.rcu_grace_period_ns = k.rcu_grace_period_ns;
  c.mutex_acquire_ns = 0;
  c.spinlock_acquire_ns = 0;
  c.spinlock_cacheline_transfer = false;  // charged by the environment too
  return c;
}

alloc::HotplugCosts hotplug_costs(const workload::KernelTimes& k) {
  return {k.hot_add_per_block_ns, k.online_per_block_ns, k.offline_per_block_ns};
}

std::string_view hotplug_step_name(alloc::HotplugStep s) {
  switch (s) {
    case alloc::HotplugStep::locked:
      return "locked";
    case alloc::HotplugStep::going_online_notified:
      return "going_online_notified";
    case alloc::HotplugStep::node_states_set:
      return "node_states_set";
    case alloc::HotplugStep::isolated:
      return "isolated";
    case alloc::HotplugStep::going_offline_notified:
      return "going_offline_notified";
    case alloc::HotplugStep::node_states_cleared:
      return "node_states_cleared";
  }
  return "?";
}

// Timed events are played by tasks of their own (a sysfs write from a shell, a hotplug script),
// each on a CPU of its own: the machine gets `count` extra CPUs on the first node with CPUs,
// after the real ones, so that a task blocked for milliseconds (a cache create waiting for the
// hotplug lock) does not stall a workload CPU, and its per-CPU slab state is its own.
topology::Topology with_event_cpus(topology::Topology t, int count) {
  const auto ids = t.cpu_ids();
  const int first = ids.empty() ? 0 : ids.back() + 1;
  auto host = std::find_if(t.nodes.begin(), t.nodes.end(),
                           [](const topology::Node& n) { return !n.cpus.empty(); });
  for (int k = 0; k < count; ++k) {
    host->cpus.push_back(first + k);
    for (auto& socket : t.sockets)
      if (host->socket && socket.id == *host->socket) socket.cpus.push_back(first + k);
  }
  return t;
}

class Run {
 public:
  Run(const topology::Topology& machine, const workload::Workload& w, const alloc::Strategy& st,
      const RunOptions& o)
      : machine_(machine),
        w_(w),
        options_(o),
        event_cpus_(static_cast<int>(
            std::min<std::size_t>(static_cast<std::size_t>(w.event_tasks), w.events.size()))),
        extended_(with_event_cpus(machine, event_cpus_)),
        sim_(extended_),
        locks_(extended_, lock_config(w.kernel)),
        env_(extended_, locks_, o.seed, o.sync_quantum_ns, w.kernel.mutex_acquire_ns,
             w.kernel.spinlock_acquire_ns),
        layout_(machine_layout(extended_)),
        pages_(layout_),
        states_(alloc::boot_node_states(layout_)),
        allocator_(alloc::make_allocator(o.allocator, env_, pages_, states_, st, o.tuning)),
        reap_ns_(allocator_->cache_reaper() ? allocator_->cache_reaper()->reap_interval_ns() : 0),
        hotplug_(env_, pages_, states_, hotplug_costs(w.kernel)) {
    sim_.set_lookahead(o.lookahead);
    if (!o.trace_path.empty()) start_trace(st);
    // Timing jitter: each event starts up to jitter_ns late, drawn from the seed (its own
    // stream, so the workload's draws stay the same), for exploring interleavings.
    events_ = w.events;
    if (o.jitter_ns > 0) {
      std::mt19937_64 jitter(o.seed ^ 0x6a09e667f3bcc909ull);
      for (auto& e : events_)
        e.at_ns +=
            static_cast<std::int64_t>(jitter() % static_cast<std::uint64_t>(o.jitter_ns + 1));
      std::stable_sort(events_.begin(), events_.end(),
                       [](const Event& a, const Event& b) { return a.at_ns < b.at_ns; });
    }
    alloc::register_memory_callback(hotplug_, *allocator_);
    // memory-notifier-error-inject at priority 0: after SLUB, as mem-on-off-test.sh uses it.
    hotplug_.register_notifier({"memory_notifier_error_inject", 0,
                                [this](alloc::MemoryAction a, const alloc::MemoryNotify&) {
                                  auto it = inject_.find(a);
                                  return it == inject_.end() ? 0 : it->second;
                                }});
    env_.set_outside_engine(true, 0);
    caches_.assign(w.caches.size(), nullptr);
    inflight_.assign(w.caches.size(), 0);
    destroying_.assign(w.caches.size(), false);
    last_.assign(w.caches.size(), nullptr);
    for (std::size_t i = 0; i < w.caches.size(); ++i) {
      const auto& c = w.caches[i];
      if (!c.at_boot) continue;
      caches_[i] = last_[i] =
          allocator_->kmem_cache_create(c.name, c.object_size, c.align, c.flags);
      if (!caches_[i]) throw std::runtime_error("cannot create boot cache " + c.name);
    }
    env_.set_outside_engine(false);

    cache_metrics_.resize(w.caches.size());
    for (std::size_t i = 0; i < w.caches.size(); ++i) {
      cache_metrics_[i].name = w.caches[i].name;
      cache_metrics_[i].fallbacks_per_node.assign(machine.node_count(), 0);
    }
    buckets_.resize(std::max(1, o.time_buckets));
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      buckets_[b].start_ns =
          w.duration_ns * static_cast<std::int64_t>(b) / static_cast<std::int64_t>(buckets_.size());
      buckets_[b].allocations_by_node.assign(machine.node_count(), 0);
    }
    per_node_.assign(machine.node_count(), Ratio{});

    for (int cpu : machine.cpu_ids()) {
      CpuActor a;
      a.cpu = cpu;
      a.node = machine.node_of_cpu(cpu);
      a.rng.seed(o.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(cpu) + 1);
      a.next_reap_at = first_reap(cpu);
      a.live.assign(w.threads.size(), 0);
      for (std::size_t g = 0; g < w.threads.size(); ++g)
        if (std::binary_search(w.threads[g].cpus.begin(), w.threads[g].cpus.end(), cpu))
          a.groups.push_back(static_cast<int>(g));
      if (static_cast<int>(index_of_cpu_.size()) <= cpu) index_of_cpu_.resize(cpu + 1, -1);
      index_of_cpu_[cpu] = static_cast<int>(actors_.size());
      actors_.push_back(std::move(a));
    }
    for (auto& a : actors_) {
      std::vector<int> others, other_nodes;
      for (const auto& b : actors_) {
        if (b.cpu == a.cpu) continue;
        others.push_back(b.cpu);
        if (b.node != a.node) other_nodes.push_back(b.cpu);
      }
      a.remote_free_pool = other_nodes.empty() ? others : other_nodes;
    }
  }

  RunMetrics go() {
    for (const auto& a : actors_) {
      const int c = a.cpu;
      sim_.spawn_on_cpu(c, fmt::format("cpu{}", c), [this, c] { cpu_loop(c); });
    }
    const auto all = extended_.cpu_ids();
    for (int k = 0; k < event_cpus_; ++k) {
      const int c = all[all.size() - static_cast<std::size_t>(event_cpus_ - k)];
      sim_.spawn_on_cpu(c, fmt::format("events{}", k), [this, c] { event_loop(c); });
    }
    const auto result = sim_.run();
    if (trace_) {
      trace_->finish(result.end_time_ns, result.deadlock);
      trace_->write(options_.trace_path);
    }
    RunMetrics m = collect(result);
    if (result.deadlock) {
      DeadlockInfo d;
      for (const auto& b : result.blocked)
        d.actors.push_back(b.name + " on " + b.host);
      auto describe = [](const LockUse& u) {
        const char* mode = u.mode == alloc::LockMode::read    ? " (read)"
                           : u.mode == alloc::LockMode::write ? " (write)"
                                                              : "";
        return fmt::format("{}#{}{}", alloc::lock_class_name(u.cls), u.instance, mode);
      };
      for (const auto& u : env_.held())
        d.held.push_back(
            fmt::format("CPU {} holds {}, taken in {}", u.cpu, describe(u), u.function));
      for (const auto& u : env_.awaited())
        d.awaited.push_back(
            fmt::format("CPU {} waits for {} in {}", u.cpu, describe(u), u.function));
      m.deadlock = d;
    }
    return m;
  }

 private:
  // The trace's tracks: the machine's CPUs, then the event tasks' CPUs, as go() spawns them.
  void start_trace(const alloc::Strategy& st) {
    trace_ = std::make_unique<TraceRecorder>();
    const auto allocator = alloc::allocator_name(options_.allocator);
    trace_->name_process(
        fmt::format("{} on {}, {}, strategy {}", w_.name, machine_.name, allocator, st.name));
    trace_->set_metadata({{"machine", machine_.name},
                          {"workload", w_.name},
                          {"allocator", allocator},
                          {"strategy", st.name},
                          {"seed", options_.seed}});
    for (int cpu : machine_.cpu_ids())
      trace_->name_thread(cpu, fmt::format("CPU {} (node {})", cpu, machine_.node_of_cpu(cpu)));
    const auto all = extended_.cpu_ids();
    for (int k = 0; k < event_cpus_; ++k) {
      const int c = all[all.size() - static_cast<std::size_t>(event_cpus_ - k)];
      trace_->name_thread(c, fmt::format("events {} (CPU {})", k, c));
    }
    env_.set_trace(trace_.get());
  }

  // ---- the CPU actors ---------------------------------------------------------------------

  // Online CPUs by id: every CPU but those the workload took offline (event tasks' CPUs too).
  std::vector<bool> online_cpus() const {
    std::vector<bool> online(static_cast<std::size_t>(layout_.nr_cpu_ids()), true);
    for (const auto& a : actors_)
      online[a.cpu] = a.online;
    return online;
  }

  // start_cpu_timer(): the first reap about half an interval in (round_jiffies_relative(HZ)
  // of a 2*HZ interval), each CPU 3 jiffies of 500 later than the one before, so CPUs do not
  // reap in lockstep.
  std::int64_t first_reap(int cpu) const {
    return reap_ns_ / 2 + static_cast<std::int64_t>(cpu) * reap_ns_ * 3 / 500;
  }

  CpuActor& actor(int cpu) { return actors_[index_of_cpu_[cpu]]; }

  // Direct waits of the runner; the environment's cached clock follows.
  void sleep_for(std::int64_t ns) {
    Simulation::sleep_for(ns);
    env_.refresh_clock();
  }
  void sleep_until(std::int64_t ns) {
    Simulation::sleep_until(ns);
    env_.refresh_clock();
  }

  // Global invariants hold only when no CPU is inside the allocator (a CPU waiting for a lock
  // in a slow path has half-moved objects); the check waits for such a quiescent moment.
  void check_when_quiescent(const char* where) {
    check_due_ = where;
    maybe_check();
  }
  void maybe_check() {
    if (check_due_ && in_model_ == 0) {
      allocator_->state().check_invariants(check_due_);
      check_due_ = nullptr;
    }
  }

  // When this CPU should look at the event list again: the first event still to come. Events
  // already due are played by whichever online CPU reaches an operation boundary first (as
  // separate tasks would, so simultaneous events race), never by the CPU a CPU event targets.
  std::int64_t next_event_time(std::int64_t now) const {
    for (std::size_t i = next_event_; i < events_.size(); ++i)
      if (events_[i].at_ns > now) return events_[i].at_ns;
    return w_.duration_ns;
  }

  // An event task: plays the next due event, whoever's turn it is (tasks run concurrently,
  // so simultaneous events race), then waits for the next one.
  void event_loop(int cpu) {
    for (;;) {
      env_.set_cpu(cpu);
      maybe_check();
      if (next_event_ >= events_.size()) break;
      const std::int64_t now = env_.local_now();
      if (events_[next_event_].at_ns > now) {
        env_.flush();
        sleep_until(events_[next_event_].at_ns);
        continue;
      }
      const Event& e = events_[next_event_++];
      ++in_model_;
      play_event(cpu, e);
      --in_model_;
      env_.set_cpu(cpu);
      check_when_quiescent(
          event_names_.emplace_back("after " + event_records_.back().type).c_str());
    }
    env_.flush();
    maybe_check();
  }

  void cpu_loop(int cpu) {
    CpuActor& a = actor(cpu);
    for (;;) {
      env_.set_cpu(cpu);
      const std::int64_t now = env_.local_now();
      if (now >= w_.duration_ns) {
        // Local work past the end is not simulated; the run ends at its duration.
        if (Simulation::now_ns() < w_.duration_ns) sleep_until(w_.duration_ns);
        break;
      }
      if (env_.cpu_taken(cpu)) {  // an IPI handler runs as this CPU
        env_.flush();
        sleep_for(poll_ns);
        continue;
      }
      if (!a.online) {
        a.parked = true;
        env_.flush();
        sleep_until(std::max(next_event_time(now), now + poll_ns));
        continue;
      }
      a.parked = false;
      maybe_check();
      if (reap_ns_ > 0 && a.next_reap_at <= now) {
        a.next_reap_at += reap_ns_;
        ++in_model_;
        allocator_->cache_reaper()->cache_reap();
        --in_model_;
        env_.maybe_flush();
        continue;
      }
      if (!a.to_free.empty() && a.to_free.top().at <= now) {
        FreeAt next = a.to_free.top();
        a.to_free.pop();
        if (destroying_[pool_[next.slot].cache]) {
          // A caller never frees into a cache while destroying it: hold the object until
          // kmem_cache_destroy() has failed (it has objects, so it will).
          next.at = now + poll_ns;
          a.to_free.push(next);
          env_.charge(poll_ns);
          env_.maybe_flush();
          continue;
        }
        const PendingFree f = pool_[next.slot];
        free_slots_.push_back(next.slot);
        free_object(a, f);
        continue;
      }
      const int g = due_group(a, now);
      if (g >= 0) {
        allocate(a, g, now);
        a.next_op_at = now + std::max<std::int64_t>(1, sample(w_.threads[g].think_time, a.rng));
        env_.maybe_flush();
        continue;
      }
      // Nothing due: wait for the next thing this CPU may do.
      std::int64_t next = std::min(next_event_time(now), w_.duration_ns);
      if (!a.to_free.empty()) next = std::min(next, a.to_free.top().at);
      if (reap_ns_ > 0) next = std::min(next, a.next_reap_at);
      const bool active = has_active_group(a, now);
      if (active) next = std::min(next, std::max(a.next_op_at, now + 1));
      for (int gi : a.groups)
        if (w_.threads[gi].start_ns > now) next = std::min(next, w_.threads[gi].start_ns);
      next = std::max(next, now + 1);
      if (next - now < options_.sync_quantum_ns && active) {
        env_.charge(next - now);  // a short think time: lax
        env_.maybe_flush();
      } else {
        env_.flush();
        sleep_until(next);
      }
    }
  }

  bool has_active_group(const CpuActor& a, std::int64_t now) const {
    for (int g : a.groups) {
      const auto& t = w_.threads[g];
      if (t.start_ns <= now && (!t.stop_ns || now < *t.stop_ns)) return true;
    }
    return false;
  }

  int due_group(CpuActor& a, std::int64_t now) {
    if (a.groups.empty() || a.next_op_at > now) return -1;
    const std::size_t n = a.groups.size();
    std::size_t i = a.next_group;
    for (std::size_t k = 0; k < n; ++k) {
      const int g = a.groups[i];
      if (++i == n) i = 0;
      const auto& t = w_.threads[g];
      if (t.start_ns <= now && (!t.stop_ns || now < *t.stop_ns)) {
        a.next_group = i;
        return g;
      }
    }
    return -1;
  }

  int target_node(const workload::NodeSelector& sel, CpuActor& a) {
    using K = workload::NodeSelector::Kind;
    const int nodes = machine_.node_count();
    // Other nodes with memory right now (N_MEMORY), nearest first by SLIT, then by id.
    auto others = [&] {
      std::vector<int> out;
      for (int n = 0; n < nodes; ++n)
        if (n != a.node && states_.test(n, alloc::NodeState::memory)) out.push_back(n);
      std::stable_sort(out.begin(), out.end(), [&](int x, int y) {
        return machine_.slit[a.node][x] < machine_.slit[a.node][y];
      });
      return out;
    };
    switch (sel.kind) {
      case K::local:
        return a.node;
      case K::node:
        return sel.node;
      case K::random:
        return static_cast<int>(a.rng() % static_cast<std::uint64_t>(nodes));
      case K::remote: {
        auto o = others();
        std::sort(o.begin(), o.end());
        if (o.empty()) return a.node;
        // Round robin by CPU over the other nodes with memory, starting after the CPU's node.
        const auto after = std::upper_bound(o.begin(), o.end(), a.node) - o.begin();
        return o[(static_cast<std::size_t>(after) + static_cast<std::size_t>(a.cpu)) % o.size()];
      }
      case K::nearest: {
        const auto o = others();
        return o.empty() ? a.node : o.front();
      }
    }
    return a.node;
  }

  int freeing_cpu(CpuActor& a, const workload::ThreadGroup& t) {
    if (t.remote_free_fraction <= 0 || unit(a.rng) >= t.remote_free_fraction) return a.cpu;
    // Another CPU, preferably on another node (a remote free in the kernel's sense is any free
    // not into the freeing CPU's own cpu slab).
    const auto& pool = a.remote_free_pool;
    if (pool.empty()) return a.cpu;
    return pool[a.rng() % pool.size()];
  }

  void allocate(CpuActor& a, int g, std::int64_t now) {
    const auto& t = w_.threads[g];
    CacheMetrics& cm = cache_metrics_[t.cache];
    alloc::Cache* s = caches_[t.cache];
    ++steps_;
    if (!s || a.live[g] >= t.max_live_per_cpu) {
      ++cm.skipped;
      return;
    }
    const bool by_node = t.alloc_node_fraction > 0 && unit(a.rng) < t.alloc_node_fraction;
    const int node = by_node ? target_node(t.node, a) : alloc::numa_no_node;
    const std::uint64_t fallbacks_before = node >= 0 ? s->fallback_to_no_node[node] : 0;
    ++in_model_;
    ++inflight_[t.cache];
    const alloc::ObjectRef o = by_node
                                   ? allocator_->kmem_cache_alloc_node(s, alloc::gfp_kernel, node)
                                   : allocator_->kmem_cache_alloc(s, alloc::gfp_kernel);
    --inflight_[t.cache];
    --in_model_;
    env_.set_cpu(a.cpu);
    const auto bucket = bucket_of(now);
    if (node >= 0 && s->fallback_to_no_node[node] != fallbacks_before) ++buckets_[bucket].fallbacks;
    if (!o) {
      ++cm.failed_allocations;
      return;
    }
    const bool remote = o.node != a.node;
    ++cm.allocations;
    cm.remote_alloc.total++;
    cm.remote_alloc.remote += remote;
    per_node_[a.node].total++;
    per_node_[a.node].remote += remote;
    buckets_[bucket].remote_alloc.total++;
    buckets_[bucket].remote_alloc.remote += remote;
    ++buckets_[bucket].allocations_by_node[o.node];
    env_.touch_memory(o.node, t.accesses_per_object);
    cm.remote_access.total += static_cast<std::uint64_t>(t.accesses_per_object);
    cm.remote_access.remote += remote ? static_cast<std::uint64_t>(t.accesses_per_object) : 0;
    ++a.live[g];
    const int target = freeing_cpu(a, t);
    const PendingFree pending{o.slab,
                              s,
                              static_cast<std::uint16_t>(o.index),
                              static_cast<std::uint16_t>(o.node),
                              static_cast<std::uint32_t>(t.cache),
                              static_cast<std::uint32_t>(g),
                              a.cpu};
    std::uint32_t slot;
    if (free_slots_.empty()) {
      slot = static_cast<std::uint32_t>(pool_.size());
      pool_.push_back(pending);
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
      pool_[slot] = pending;
    }
    actor(target).to_free.push(
        {now + std::max<std::int64_t>(0, sample(t.lifetime, a.rng)), seq_++, slot});
    maybe_progress();
  }

  void free_object(CpuActor& a, const PendingFree& f) {
    ++steps_;
    ++in_model_;
    ++inflight_[f.cache];
    allocator_->kmem_cache_free(f.owner, f.object());
    --inflight_[f.cache];
    --in_model_;
    env_.set_cpu(a.cpu);
    ++cache_metrics_[f.cache].frees;
    --actor(f.owner_cpu).live[f.group];
    maybe_progress();
  }

  std::size_t bucket_of(std::int64_t now) const {
    if (w_.duration_ns <= 0) return 0;
    const auto b =
        static_cast<std::size_t>(now * static_cast<std::int64_t>(buckets_.size()) / w_.duration_ns);
    return std::min(b, buckets_.size() - 1);
  }

  void maybe_progress() {
    if (--until_progress_ == 0) {
      until_progress_ = RunOptions::progress_every;
      if (options_.progress) options_.progress(Simulation::now_ns());
    }
  }

  // ---- events -----------------------------------------------------------------------------

  std::vector<int> blocks_for(const Event& e, bool online_op) const {
    std::vector<int> out;
    for (int b : machine_.nodes[e.node].blocks) {
      const auto st = pages_.block_state(b);
      const bool eligible = online_op ? st != BlockPresence::online : st == BlockPresence::online;
      if (eligible) out.push_back(b);
      if (e.blocks > 0 && static_cast<int>(out.size()) == e.blocks) break;
    }
    // Offline from the highest address down, as hot-remove scripts do.
    if (!online_op) std::reverse(out.begin(), out.end());
    return out;
  }

  void memory_op(int cpu, const Event& e, bool online_op) {
    for (int block : blocks_for(e, online_op)) {
      HotplugRecord r;
      r.type = online_op ? "memory_online" : "memory_offline";
      r.node = e.node;
      r.block = block;
      r.cpu = cpu;
      r.start_ns = env_.local_now();
      std::optional<TraceRecorder::SliceId> slice;
      if (trace_)
        slice = trace_->begin(cpu, r.start_ns,
                              fmt::format("{} node {} block {}", r.type, e.node, block), "hotplug");
      // lock_device_hotplug_sysfs(): a trylock; when it fails the write returns
      // -ERESTARTSYS and the syscall is restarted a little later.
      while (!env_.try_lock(alloc::LockClass::device_hotplug_lock, 0, alloc::LockMode::exclusive,
                            "lock_device_hotplug_sysfs")) {
        env_.charge(syscall_restart_ns);
        env_.flush();
        env_.set_cpu(cpu);
      }
      std::int64_t locked_at = -1;
      const auto structs_before = allocator_->state().hotplug_node_structs();
      hotplug_.on_step = [&](alloc::HotplugStep s) {
        if (s == alloc::HotplugStep::locked && locked_at < 0) locked_at = env_.local_now();
        if (trace_) trace_->hotplug_step(cpu, hotplug_step_name(s), env_.local_now());
      };
      if (online_op) {
        if (pages_.block_state(block) == BlockPresence::absent) hotplug_.add_memory(block);
        const ZoneType zone = e.movable ? (*e.movable ? ZoneType::movable : ZoneType::normal)
                                        : layout_.blocks[block].zone;
        r.result = hotplug_.online_pages(block, zone);
      } else {
        r.result = hotplug_.offline_pages(block);
      }
      hotplug_.on_step = nullptr;
      env_.unlock(alloc::LockClass::device_hotplug_lock, 0, alloc::LockMode::exclusive);
      env_.set_cpu(cpu);
      r.lock_wait_ns = locked_at >= 0 ? locked_at - r.start_ns : 0;
      r.duration_ns = env_.local_now() - r.start_ns;
      if (slice) trace_->end(*slice, r.start_ns + r.duration_ns, {{"result", r.result}});
      const auto structs_after = allocator_->state().hotplug_node_structs();
      r.node_structs_allocated = structs_after.allocated - structs_before.allocated;
      r.node_structs_freed = structs_after.freed - structs_before.freed;
      r.node_structs_reused = structs_after.reused - structs_before.reused;
      for (int n = 0; n < layout_.nr_node_ids(); ++n) {
        if (allocator_->state().node_usable(n)) r.usable_nodes_after.push_back(n);
        if (states_.test(n, alloc::NodeState::normal_memory)) r.normal_nodes_after.push_back(n);
      }
      hotplug_records_.push_back(r);
    }
  }

  void cpu_op(int cpu, const Event& e, bool online_op) {
    HotplugRecord r;
    r.type = online_op ? "cpu_online" : "cpu_offline";
    r.cpu = e.cpu;
    r.start_ns = env_.local_now();
    std::optional<TraceRecorder::SliceId> slice;
    if (trace_)
      slice = trace_->begin(cpu, r.start_ns, fmt::format("{} {}", r.type, e.cpu), "hotplug");
    // cpu_up()/cpu_down(): cpus_write_lock() for the whole operation.
    env_.lock(alloc::LockClass::cpu_hotplug_lock, 0, alloc::LockMode::write, "cpus_write_lock");
    env_.set_cpu(cpu);
    r.lock_wait_ns = env_.local_now() - r.start_ns;
    CpuActor& target = actor(e.cpu);
    if (online_op) {
      // CPUHP_SLAB_PREPARE runs on the CPU bringing the new one up, before it starts.
      if (!target.online && allocator_->cpuhp_prepare())
        r.result = allocator_->cpuhp_prepare()->prepare_cpu(e.cpu);
      env_.set_cpu(cpu);
      if (r.result == 0 && !target.online) {
        target.online = true;
        const std::int64_t now = env_.local_now();
        target.next_reap_at = now + first_reap(e.cpu);  // slab_online_cpu(): start_cpu_timer()
      }
    } else if (target.online) {
      target.online = false;
      // The dying CPU stops at its next operation boundary; CPUHP_SLUB_DEAD then runs here.
      while (!target.parked && env_.local_now() < w_.duration_ns) {
        env_.flush();
        sleep_for(poll_ns);
        env_.set_cpu(cpu);
      }
      if (target.parked) {
        if (auto* dead = allocator_->cpuhp_dead()) dead->dead_cpu(e.cpu);
      } else {
        r.result = -110;  // ETIMEDOUT: the CPU never reached a boundary before the run ended
      }
      env_.set_cpu(cpu);
    }
    env_.unlock(alloc::LockClass::cpu_hotplug_lock, 0, alloc::LockMode::write);
    env_.set_cpu(cpu);
    r.duration_ns = env_.local_now() - r.start_ns;
    if (slice) trace_->end(*slice, r.start_ns + r.duration_ns, {{"result", r.result}});
    hotplug_records_.push_back(r);
  }

  // The trace's name of a cache event, known before it runs: a deadlock may stop it halfway.
  std::string cache_event_name(const Event& e) const {
    switch (e.type) {
      case Event::Type::cache_create:
        return "cache_create " + w_.caches[e.cache].name;
      case Event::Type::cache_destroy:
        return "cache_destroy " + w_.caches[e.cache].name;
      case Event::Type::shrink:
        return "shrink " + w_.caches[e.cache].name;
      case Event::Type::sysfs_read:
        return "sysfs_read " + w_.caches[e.cache].name + "/" + e.file;
      default:
        return {};
    }
  }

  // A read of a cache's sysfs file: the text is not kept, its cost is paid (sprintf of the page).
  void show_sysfs_file(int cpu, alloc::Cache& s, const std::string& file) {
    const auto text = allocator_->sysfs()->slab_attr_show(&s, file, online_cpus());
    env_.set_cpu(cpu);
    env_.charge(100 + static_cast<std::int64_t>(text ? text->size() : 0));
  }

  void play_event(int cpu, const Event& e) {
    ++steps_;
    EventRecord r;
    r.start_ns = env_.local_now();
    // Hotplug operations are traced per memory block, in memory_op() and cpu_op().
    std::optional<TraceRecorder::SliceId> slice;
    if (trace_) {
      if (auto name = cache_event_name(e); !name.empty())
        slice = trace_->begin(cpu, r.start_ns, std::move(name), "cache");
    }
    switch (e.type) {
      case Event::Type::memory_online:
        memory_op(cpu, e, true);
        r.type = "memory_online";
        r.target = fmt::format("node {}", e.node);
        break;
      case Event::Type::memory_offline:
        memory_op(cpu, e, false);
        r.type = "memory_offline";
        r.target = fmt::format("node {}", e.node);
        break;
      case Event::Type::cpu_online:
      case Event::Type::cpu_offline:
        cpu_op(cpu, e, e.type == Event::Type::cpu_online);
        r.type = e.type == Event::Type::cpu_online ? "cpu_online" : "cpu_offline";
        r.target = fmt::format("cpu {}", e.cpu);
        break;
      case Event::Type::cache_create: {
        const auto& c = w_.caches[e.cache];
        r.type = "cache_create";
        r.target = c.name;
        if (caches_[e.cache] || destroying_[e.cache]) {
          r.result = -17;  // EEXIST: the workload's cache exists (or is being destroyed)
        } else {
          caches_[e.cache] = allocator_->kmem_cache_create(c.name, c.object_size, c.align, c.flags);
          if (caches_[e.cache]) last_[e.cache] = caches_[e.cache];
          r.result = caches_[e.cache] ? 0 : -alloc::enomem;
        }
        break;
      }
      case Event::Type::cache_destroy: {
        r.type = "cache_destroy";
        r.target = w_.caches[e.cache].name;
        if (!caches_[e.cache]) {
          r.result = -2;  // ENOENT
        } else {
          // The workload stops using the cache when its destruction starts (using a cache
          // being destroyed is a caller bug in the kernel); it comes back if destroy fails.
          alloc::Cache* s = caches_[e.cache];
          caches_[e.cache] = nullptr;
          destroying_[e.cache] = true;
          while (inflight_[e.cache] > 0) {  // operations already inside the cache finish first
            env_.flush();
            sleep_for(poll_ns);
            env_.set_cpu(cpu);
          }
          r.result = allocator_->kmem_cache_destroy(s);
          destroying_[e.cache] = false;
          if (r.result != 0) caches_[e.cache] = s;
        }
        break;
      }
      case Event::Type::shrink:
      case Event::Type::sysfs_read: {
        const bool write = e.type == Event::Type::shrink;
        r.type = write ? "shrink" : "sysfs_read";
        r.target = write ? w_.caches[e.cache].name : w_.caches[e.cache].name + "/" + e.file;
        // The sysfs directory lives until kmem_cache_destroy() removes it, so a cache being
        // destroyed is still reachable here (that is how the RFC 1/3 ABBA happens).
        alloc::Cache* s = caches_[e.cache]       ? caches_[e.cache]
                          : destroying_[e.cache] ? last_[e.cache]
                                                 : nullptr;
        if (!s || (!allocator_->sysfs() && (!write || destroying_[e.cache]))) {
          // ENOENT: no such cache; no /sys/kernel/slab (SLAB, SLOB); or, for an in-kernel
          // caller, a cache it is destroying.
          r.result = -2;
          break;
        }
        if (!allocator_->sysfs()) {
          // Without /sys/kernel/slab the shrink comes from inside the kernel (a driver's
          // shrinker, as acpi_os_purge_cache() does): kmem_cache_shrink() with no kernfs
          // reference around it, by a caller that never destroys the cache meanwhile (the
          // destroy waits for it as for the cache's allocations and frees).
          ++inflight_[e.cache];
          allocator_->kmem_cache_shrink(s);
          --inflight_[e.cache];
          break;
        }
        // kernfs_fop_write()/kernfs_fop_read(): the file's active reference around the store
        // or show method (lockdep: a read acquisition of kn->count).
        if (!env_.kernfs_get_active(s->id, write ? "kernfs_fop_write" : "kernfs_fop_read")) {
          r.result = -19;  // ENODEV: the directory is being removed
          break;
        }
        env_.set_cpu(cpu);
        if (write) {
          allocator_->kmem_cache_shrink(s);
        } else {
          show_sysfs_file(cpu, *s, e.file);
        }
        env_.set_cpu(cpu);
        env_.kernfs_put_active(s->id);
        break;
      }
      case Event::Type::inject_error:
      case Event::Type::clear_error: {
        const auto action = e.action == "going_offline" ? alloc::MemoryAction::going_offline
                                                        : alloc::MemoryAction::going_online;
        if (e.type == Event::Type::inject_error)
          inject_[action] = e.error;
        else
          inject_.erase(action);
        r.type = e.type == Event::Type::inject_error ? "inject_error" : "clear_error";
        r.target = e.action;
        break;
      }
    }
    env_.set_cpu(cpu);
    r.duration_ns = env_.local_now() - r.start_ns;
    if (slice) trace_->end(*slice, r.start_ns + r.duration_ns, {{"result", r.result}});
    if (trace_ && (e.type == Event::Type::inject_error || e.type == Event::Type::clear_error))
      trace_->instant(cpu, r.start_ns, r.type + " " + r.target, "hotplug", {{"error", e.error}});
    event_records_.push_back(r);
  }

  // ---- results ----------------------------------------------------------------------------

  RunMetrics collect(const RunResult& end) {
    const std::int64_t end_ns = end.end_time_ns;
    env_.set_outside_engine(true, end_ns);
    allocator_->state().check_invariants("end of run");
    RunMetrics m;
    m.simulated_ns = end_ns;
    m.buckets = buckets_;
    m.remote_alloc_per_node = per_node_;
    m.fallbacks_per_node.assign(machine_.node_count(), 0);
    const auto online = online_cpus();
    for (std::size_t i = 0; i < cache_metrics_.size(); ++i) {
      CacheMetrics c = cache_metrics_[i];
      // A destroyed cache's struct stays in the model as a tombstone, with its counters.
      const alloc::Cache* s = last_[i];
      c.destroyed = caches_[i] == nullptr;
      if (s) {
        c.fallbacks_per_node = s->fallback_to_no_node;
        alloc::CacheReport report = allocator_->state().cache_report(s, online);
        c.counters = std::move(report.counters);
        c.counters_text = std::move(report.counters_text);
        c.objects_in_use = report.objects_in_use;
        c.alloc_node_mismatch = report.alloc_node_mismatch;
      }
      for (int n = 0; n < machine_.node_count(); ++n)
        m.fallbacks_per_node[n] += c.fallbacks_per_node[n];
      m.allocations += c.allocations;
      m.frees += c.frees;
      m.failed_allocations += c.failed_allocations;
      m.remote_alloc.remote += c.remote_alloc.remote;
      m.remote_alloc.total += c.remote_alloc.total;
      m.remote_access.remote += c.remote_access.remote;
      m.remote_access.total += c.remote_access.total;
      if (c.alloc_node_mismatch)
        m.alloc_node_mismatch = m.alloc_node_mismatch.value_or(0) + *c.alloc_node_mismatch;
      m.caches.push_back(std::move(c));
    }
    for (int n = 0; n < machine_.node_count(); ++n)
      m.numastat.push_back(pages_.numastat(n));
    m.allocator = options_.allocator;
    m.slab_pages_allocated = allocator_->state().slabs_allocated();
    m.lock_stat = locks_.lock_stat_classes();
    m.lock_stat_text = locks_.lock_stat_text();
    m.hotplug = hotplug_records_;
    m.events = event_records_;
    m.violations = allocator_->state().violations();
    for (const auto& r : env_.lockdep().reports()) {
      m.lockdep_reports.push_back(format_report(r));
      m.lockdep_cycles.push_back(lockdep_cycle_name(r));
    }
    m.lockdep_edges = env_.lockdep().edges();
    m.kernel_log = allocator_->state().kernel_log();
    for (const auto& line : hotplug_.log())
      m.kernel_log.push_back(line);
    m.slabinfo = allocator_->state().proc_slabinfo();
    m.engine_steps = steps_;
    m.engine_sleeps = end.engine_sleeps;
    m.skipped_sleeps = end.skipped_sleeps;
    return m;
  }

  const topology::Topology& machine_;
  const workload::Workload& w_;
  std::vector<Event> events_;  // the workload's, each delayed by its jitter, in time order
  RunOptions options_;
  int event_cpus_;
  topology::Topology extended_;  // the machine plus the event tasks' CPUs
  Simulation sim_;
  KernelLocks locks_;
  MachineEnvironment env_;
  alloc::MachineLayout layout_;
  alloc::PageAllocator pages_;
  alloc::NodeStates states_;
  std::unique_ptr<alloc::Allocator> allocator_;
  std::int64_t reap_ns_;  // the allocator's reap interval; 0: none
  alloc::MemoryHotplug hotplug_;
  std::vector<alloc::Cache*> caches_;      // by workload cache index; nullptr when absent
  std::vector<alloc::Cache*> last_;        // the last struct each workload cache had
  std::vector<int> inflight_;              // per cache: allocations and frees under way
  std::vector<char> destroying_;           // per cache: kmem_cache_destroy() under way
  std::vector<CpuActor> actors_;           // ascending CPU id: deterministic iteration
  std::vector<PendingFree> pool_;          // objects waiting to be freed, by slot
  std::vector<std::uint32_t> free_slots_;  // unused slots of pool_
  std::vector<int> index_of_cpu_;          // CPU id -> index in actors_
  std::map<alloc::MemoryAction, int> inject_;
  std::size_t next_event_ = 0;
  int in_model_ = 0;                     // CPUs inside an allocator call right now
  const char* check_due_ = nullptr;      // an invariant check waiting for a quiescent moment
  std::deque<std::string> event_names_;  // stable storage for check labels
  std::uint64_t seq_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t until_progress_ = RunOptions::progress_every;
  std::vector<CacheMetrics> cache_metrics_;
  std::vector<BucketMetrics> buckets_;
  std::vector<Ratio> per_node_;
  std::vector<HotplugRecord> hotplug_records_;
  std::vector<EventRecord> event_records_;
  std::unique_ptr<TraceRecorder> trace_;  // only when RunOptions::trace_path is set
};

}  // namespace

RunMetrics run_simulation(const topology::Topology& machine, const workload::Workload& workload,
                          const alloc::Strategy& strategy, const RunOptions& options) {
  RunOptions o = options;
  if (workload.kernel.slab_reap_interval_ns > 0)
    o.tuning.slab_params.reap_interval_ns = workload.kernel.slab_reap_interval_ns;
  Run run(machine, workload, strategy, o);
  return run.go();
}

}  // namespace slabsim::sim
