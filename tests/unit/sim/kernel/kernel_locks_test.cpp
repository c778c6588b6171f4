// Kernel lock primitives on SimGrid (sim/kernel): percpu rw-semaphore semantics, the §6.3
// deadlock shape, FIFO hand-off, cache-line transfer costs, lock_stat numbers and text, misuse.
// Each simulated test builds a small machine by hand and runs one Simulation; times are exact
// integer ns.
#include "kernel/kernel_locks.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/simulation.hpp"
#include "kernel/kernel_lock.hpp"
#include "kernel/lock_stat.hpp"
#include "two_node_machine.hpp"

namespace slabsim::sim {
namespace {

// Set by --lookahead (ctest runs this binary both ways): every scenario below must give the same
// timestamps with the engine's lookahead as without.
bool g_lookahead = false;

using alloc::LockClass;
using alloc::LockMode;

constexpr auto mems = LockClass::mem_hotplug_lock;
// The kn->active class of one attribute file.
constexpr auto kn_shrink = alloc::kernfs_active_class(16);
constexpr auto R = LockMode::read;
constexpr auto W = LockMode::write;
constexpr auto X = LockMode::exclusive;

using test_support::two_node_machine;

// Free lock operations, so that timestamps show waiting only.
KernelLockConfig free_ops(std::int64_t grace_ns) {
  KernelLockConfig c;
  c.mutex_acquire_ns = 0;
  c.spinlock_acquire_ns = 0;
  c.rcu_grace_period = RcuGracePeriod::fixed(grace_ns);
  return c;
}

// What happened when. lines() gives "<time> <what>" by time; events of the same instant are
// sorted by text, because SimGrid's order among simultaneous wake-ups is an implementation
// detail the model must not depend on (reference/simgrid-3.32.md section 3).
struct Trace {
  std::vector<std::pair<std::int64_t, std::string>> events;
  void operator()(std::string what) { events.emplace_back(Simulation::now_ns(), std::move(what)); }
  [[nodiscard]] std::vector<std::string> lines() const {
    auto sorted = events;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> out;
    for (const auto& [time, what] : sorted)
      out.push_back(fmt::format("{} {}", time, what));
    return out;
  }
};

std::string run_error(Simulation& sim) {
  try {
    sim.run();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "(no std::logic_error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// lock_stat text

TEST(LockStatFormat, TimesAreMicrosecondsWithTwoDecimalsAfterRounding) {
  EXPECT_EQ(format_lock_stat_time(0), "0.00");
  EXPECT_EQ(format_lock_stat_time(4), "0.00");
  EXPECT_EQ(format_lock_stat_time(5), "0.01");
  EXPECT_EQ(format_lock_stat_time(1994), "1.99");
  EXPECT_EQ(format_lock_stat_time(1995), "2.00");
  EXPECT_EQ(format_lock_stat_time(999994), "999.99");
  EXPECT_EQ(format_lock_stat_time(999995), "1000.00");
  // The kernel prints into char num[15]: 14 characters at most.
  EXPECT_EQ(format_lock_stat_time(123456789012345678), "12345678901234");
}

TEST(LockStatFormat, LockTimeKeepsMinMaxTotalAndTruncatedAverage) {
  LockTime t;
  EXPECT_EQ(t.avg(), 0);
  t.add(40);
  t.add(100);
  t.add(50);
  EXPECT_EQ(t, (LockTime{40, 100, 190, 3}));
  EXPECT_EQ(t.avg(), 63);
}

LockClassStats make_class(std::string name) {
  LockClassStats c;
  c.name = std::move(name);
  return c;
}

TEST(LockStatFormat, ByteExactAgainstHandWrittenText) {
  // A rwsem with -W and -R lines and contentions.
  auto mem = make_class("mem_hotplug_lock");
  mem.write_waittime = {1000040, 1000040, 1000040, 1};  // +5 ns: 1000.04
  mem.write_holdtime = {1995, 1995, 1995, 1};           // 2.00
  mem.read_waittime = {30, 30, 30, 1};
  mem.read_holdtime = {40, 100, 190, 3};
  mem.con_bounces_read = 1;
  mem.acq_bounces_read = 2;
  mem.acq_bounces_write = 1;
  mem.contention_points = {{"show_slab_objects", 1}, {"mem_hotplug_begin", 1}};
  mem.contending_points = {{"kmem_cache_destroy", 2}};
  // A mutex with contentions; as many as mem_hotplug_lock, so it sorts after it by name.
  auto mutex = make_class("slab_mutex");
  mutex.write_waittime = {1500, 20000, 21500, 2};
  mutex.write_holdtime = {1994, 50000, 60000, 5};  // 1.99
  mutex.con_bounces_write = 1;
  mutex.acq_bounces_write = 3;
  mutex.contention_points = {{"kmem_cache_create", 1}, {"kmem_cache_destroy", 1}};
  mutex.contending_points = {{"kmem_cache_destroy", 2}};
  // Contended without a contending point: no dotted line.
  auto device = make_class("device_hotplug_lock");
  device.write_waittime = {250, 250, 250, 1};
  device.write_holdtime = {10, 20, 30, 2};
  device.contention_points = {{"lock_device_hotplug_sysfs", 1}};
  // Never contended.
  auto list = make_class("&n->list_lock");
  list.write_holdtime = {5, 100, 300, 10};
  list.acq_bounces_write = 4;
  // Never released: prints nothing.
  auto cpus = make_class("cpu_hotplug_lock");
  cpus.read_waittime = {0, 0, 0, 0};
  // Read holds only, with a name version.
  auto kn = make_class("kn->active");
  kn.name_version = 2;
  kn.read_holdtime = {1000, 1000, 1000, 1};

  const std::string expected = R"(lock_stat version 0.4
-----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
                              class name    con-bounces    contentions   waittime-min   waittime-max waittime-total   waittime-avg    acq-bounces   acquisitions   holdtime-min   holdtime-max holdtime-total   holdtime-avg
-----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------

                      mem_hotplug_lock-W:             0              1        1000.04        1000.04        1000.04        1000.04              1              1           2.00           2.00           2.00           2.00
                      mem_hotplug_lock-R:             1              1           0.03           0.03           0.03           0.03              2              3           0.04           0.10           0.19           0.06
                      ------------------
                        mem_hotplug_lock              1          [<0000000000000000>] show_slab_objects
                        mem_hotplug_lock              1          [<0000000000000000>] mem_hotplug_begin
                      ------------------
                        mem_hotplug_lock              2          [<0000000000000000>] kmem_cache_destroy

.............................................................................................................................................................................................................................

                              slab_mutex:             1              2           1.50          20.00          21.50          10.75              3              5           1.99          50.00          60.00          12.00
                              ----------
                              slab_mutex              1          [<0000000000000000>] kmem_cache_create
                              slab_mutex              1          [<0000000000000000>] kmem_cache_destroy
                              ----------
                              slab_mutex              2          [<0000000000000000>] kmem_cache_destroy

.............................................................................................................................................................................................................................

                     device_hotplug_lock:             0              1           0.25           0.25           0.25           0.25              0              2           0.01           0.02           0.03           0.02
                     -------------------
                     device_hotplug_lock              1          [<0000000000000000>] lock_device_hotplug_sysfs
                           &n->list_lock:             0              0           0.00           0.00           0.00           0.00              4             10           0.01           0.10           0.30           0.03
                          kn->active#2-R:             0              0           0.00           0.00           0.00           0.00              0              1           1.00           1.00           1.00           1.00
)";
  EXPECT_EQ(format_lock_stat({list, kn, cpus, mutex, device, mem}), expected);
  // The order of the input does not matter.
  EXPECT_EQ(format_lock_stat({mem, device, mutex, cpus, kn, list}), expected);
}

TEST(LockStatFormat, HeaderWarningAndNameTruncation) {
  const std::string dashes(221, '-');
  EXPECT_EQ(format_lock_stat({}, true),
            "lock_stat version 0.4\n"
            "*WARNING* lock debugging disabled!! - possibly due to a lockdep warning\n" +
                dashes + "\n" + format_lock_stat({}).substr(22 + 222));
  // 37 characters of name at most; "#N" and "/N" take two each from that room.
  auto c = make_class(std::string(50, 'a'));
  c.write_holdtime = {1, 1, 1, 1};
  c.name_version = 12;  // one digit survives, as the kernel's snprintf(.., 3, "#%d")
  c.subclass = 3;
  const std::string text = format_lock_stat({c});
  EXPECT_TRUE(contains(text, "\n   " + std::string(33, 'a') + "#1/3:")) << text;
}

TEST(LockStatRecording, PointsAreCountedPerFunctionUpToFour) {
  using View = LockStat::View;
  LockStat s("slab_mutex");
  for (const char* f : {"a", "b", "a", "c", "d", "e", "a"})
    s.contended(View::simulator, false, false, f, "");
  EXPECT_EQ(s.stats().contention_points,
            (std::vector<LockPoint>{{"a", 3}, {"b", 1}, {"c", 1}, {"d", 1}}));
  EXPECT_TRUE(s.stats().contending_points.empty());  // no previous acquirer, no point
  s.acquired(View::simulator, false, true, 7);
  s.acquired(View::simulator, true, false, -1);  // uncontended: no waittime
  s.released(View::simulator, true, 3);
  EXPECT_EQ(s.stats().write_waittime, (LockTime{7, 7, 7, 1}));
  EXPECT_EQ(s.stats().read_waittime.nr, 0u);
  EXPECT_EQ(s.stats().acq_bounces_write, 1u);
  EXPECT_EQ(s.stats().read_holdtime, (LockTime{3, 3, 3, 1}));
  EXPECT_EQ(s.kernel_stats(), make_class("slab_mutex")) << "the views are apart";
  s.clear();
  EXPECT_EQ(s.stats(), make_class("slab_mutex"));
}

// Points are found by the literal's address first; the same text at another address (a copy of
// the name) is still the same point, and a full list takes no fifth point by either road.
TEST(LockStatRecording, PointsAreTheTextNotTheAddress) {
  using View = LockStat::View;
  LockStat s("slob_lock");
  const char first[] = "slob_alloc";
  const char copy[] = "slob_alloc";
  ASSERT_NE(static_cast<const void*>(first), static_cast<const void*>(copy));
  for (const char* f : {first, copy, first, "slob_free", copy})
    s.contended(View::simulator, false, false, f, copy);
  EXPECT_EQ(s.stats().contention_points,
            (std::vector<LockPoint>{{"slob_alloc", 4}, {"slob_free", 1}}));
  EXPECT_EQ(s.stats().contending_points, (std::vector<LockPoint>{{"slob_alloc", 5}}));
  for (const char* f : {"b", "c", "d"})
    s.contended(View::simulator, false, false, f, "");
  const char another[] = "slob_free";
  s.contended(View::simulator, false, false, another, "");
  EXPECT_EQ(s.stats().contention_points,
            (std::vector<LockPoint>{{"slob_alloc", 4}, {"slob_free", 2}, {"b", 1}, {"c", 1}}));
  s.clear();
  s.contended(View::simulator, false, false, copy, "");
  EXPECT_EQ(s.stats().contention_points, (std::vector<LockPoint>{{"slob_alloc", 1}}));
}

// debug_locks_off() (kernel/locking/lockdep.c): every lockdep hook returns early once
// debug_locks is 0, so the kernel's statistics freeze; the simulator's go on.
TEST(LockStatRecording, DebugLocksOffFreezesTheKernelViewOnly) {
  using View = LockStat::View;
  LockStat s("slab_mutex");
  for (View v : {View::simulator, View::kernel}) {
    s.acquired(v, false, false, -1);
    s.released(v, false, 10);
  }
  s.debug_locks_off();
  EXPECT_FALSE(s.debug_locks());
  for (View v : {View::simulator, View::kernel}) {
    s.contended(v, false, true, "kmem_cache_create", "kmem_cache_destroy");
    s.acquired(v, false, true, 5);
    s.released(v, false, 20);
  }
  EXPECT_EQ(s.stats().write_holdtime, (LockTime{10, 20, 30, 2}));
  EXPECT_EQ(s.stats().contentions(), 1u);
  EXPECT_EQ(s.kernel_stats().write_holdtime, (LockTime{10, 10, 10, 1}));
  EXPECT_EQ(s.kernel_stats().contentions(), 0u);
  EXPECT_TRUE(s.kernel_stats().contention_points.empty());
}

// ---------------------------------------------------------------------------------------------
// percpu rw-semaphore (reference slub-hotplug.md §10 behaviour 10)

TEST(PercpuRwsem, ReadersAreConcurrentFreeAndMakeNoSimGridCall) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(1000));
  std::vector<std::string> order;
  for (int cpu = 0; cpu < 4; ++cpu) {
    sim.spawn_on_cpu(cpu, fmt::format("r{}", cpu), [&, cpu] {
      order.push_back(fmt::format("r{} asks", cpu));
      locks.lock(cpu, mems, 0, R, "get_online_mems");
      // No SimGrid call in between: no other actor ran, and no time passed.
      order.push_back(fmt::format("r{} holds at {}", cpu, Simulation::now_ns()));
      Simulation::sleep_for(100);
      locks.unlock(cpu, mems, 0, R);
    });
  }
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(order,
            (std::vector<std::string>{"r0 asks", "r0 holds at 0", "r1 asks", "r1 holds at 0",
                                      "r2 asks", "r2 holds at 0", "r3 asks", "r3 holds at 0"}));
  const auto& s = locks.stat(mems).stats();
  EXPECT_EQ(s.read_holdtime, (LockTime{100, 100, 400, 4}));
  EXPECT_EQ(s.contentions(), 0u);
  EXPECT_EQ(s.read_waittime.nr, 0u);
  EXPECT_EQ(s.acq_bounces_read, 3u);  // every reader after the first ran on another CPU
  EXPECT_EQ(s.write_holdtime.nr, 0u);
  EXPECT_TRUE(s.contention_points.empty());
}

// The reference's demo (simgrid-3.32.md section 2): R1 reads at 0, R2 at 10; W asks at 30 and
// blocks; R1 releases at 50, asks again at 55 and blocks behind W; R2 releases at 70 and W gets
// the lock at 70; W releases at 110 and both readers (R2 asked again at 80) get it at 110.
// Grace handling: W's rcu_sync_enter takes 10 ns (30-40), after which readers block.
TEST(PercpuRwsem, WriterBlocksNewReadersReferenceDemoTrace) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  Trace trace;
  std::vector<bool> blocked_seen;
  auto sem = [&] { return static_cast<const PercpuRwSemaphore*>(locks.find(mems, 0)); };
  sim.spawn_on_cpu(0, "R1", [&] {
    locks.lock(0, mems, 0, R, "kmem_cache_create");
    trace("R1 holds");
    Simulation::sleep_until(50);
    trace("R1 releases");
    locks.unlock(0, mems, 0, R);
    Simulation::sleep_until(55);
    trace("R1 asks");
    locks.lock(0, mems, 0, R, "kmem_cache_create");
    trace("R1 holds");
    Simulation::sleep_for(10);
    trace("R1 releases");
    locks.unlock(0, mems, 0, R);
  });
  sim.spawn_on_cpu(1, "R2", [&] {
    Simulation::sleep_until(10);
    locks.lock(1, mems, 0, R, "kmem_cache_destroy");
    trace("R2 holds");
    Simulation::sleep_until(70);
    trace("R2 releases");
    locks.unlock(1, mems, 0, R);
    Simulation::sleep_until(80);
    trace("R2 asks");
    locks.lock(1, mems, 0, R, "kmem_cache_destroy");
    trace("R2 holds");
    Simulation::sleep_for(10);
    trace("R2 releases");
    locks.unlock(1, mems, 0, R);
  });
  sim.spawn_on_cpu(2, "W", [&] {
    Simulation::sleep_until(30);
    trace("W asks");
    locks.lock(2, mems, 0, W, "mem_hotplug_begin");
    trace("W holds");
    Simulation::sleep_until(110);
    trace("W releases");
    locks.unlock(2, mems, 0, W);
  });
  sim.spawn_on_cpu(3, "probe", [&] {
    Simulation::sleep_until(35);  // W in its grace period: readers still get in
    blocked_seen.push_back(sem()->readers_blocked());
    Simulation::sleep_until(45);  // W waits for R1 and R2: new readers queue
    blocked_seen.push_back(sem()->readers_blocked());
    EXPECT_EQ(sem()->active_readers(), 2);
    Simulation::sleep_until(60);
    EXPECT_EQ(sem()->waiters(), 1u);  // R1
  });
  RunResult r = sim.run();
  EXPECT_FALSE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 120);
  EXPECT_EQ(blocked_seen, (std::vector<bool>{false, true}));
  EXPECT_EQ(trace.lines(),
            (std::vector<std::string>{"0 R1 holds", "10 R2 holds", "30 W asks", "50 R1 releases",
                                      "55 R1 asks", "70 R2 releases", "70 W holds", "80 R2 asks",
                                      "110 R1 holds", "110 R2 holds", "110 W releases",
                                      "120 R1 releases", "120 R2 releases"}));

  // Hand-computed lock_stat of the run. Last acquirer's CPU: R1 cpu0, R2 cpu1 (acq-bounce),
  // W contends on cpu2 (con-bounce), R1 contends at 55 (con-bounce, last is cpu1), W acquires
  // (acq-bounce), R2 contends at 80 (con-bounce, last is W's cpu2), R1 and R2 acquire at 110
  // (two acq-bounces).
  LockClassStats want = make_class("mem_hotplug_lock");
  want.read_waittime = {30, 55, 85, 2};   // R1 55->110, R2 80->110
  want.read_holdtime = {10, 60, 130, 4};  // 50, 60, 10, 10
  want.write_waittime = {40, 40, 40, 1};  // 30->70, grace period included
  want.write_holdtime = {40, 40, 40, 1};  // 70->110
  want.con_bounces_read = 2;
  want.acq_bounces_read = 3;
  want.con_bounces_write = 1;
  want.acq_bounces_write = 1;
  want.contention_points = {
      {"mem_hotplug_begin", 1}, {"kmem_cache_create", 1}, {"kmem_cache_destroy", 1}};
  want.contending_points = {{"kmem_cache_destroy", 2}, {"mem_hotplug_begin", 1}};
  EXPECT_EQ(locks.stat(mems).stats(), want);

  // What v5.10's /proc/lock_stat shows of the same run: percpu_down_read()/percpu_down_write()
  // call lock_acquire() (rwsem_acquire*()) before they wait and never lock_contended() or
  // lock_acquired(), so no contention, no bounce, and every hold runs from the request: R1
  // 0->50 and 55->120, R2 10->70 and 80->120, W 30->110 (its wait folded in).
  LockClassStats kernel = make_class("mem_hotplug_lock");
  kernel.read_holdtime = {40, 65, 215, 4};
  kernel.write_holdtime = {80, 80, 80, 1};
  EXPECT_EQ(locks.stat(mems).kernel_stats(), kernel);
  EXPECT_TRUE(contains(locks.lock_stat_text(), "mem_hotplug_lock-W:")) << locks.lock_stat_text();
}

TEST(PercpuRwsem, ReadersGetInDuringTheGracePeriodAndTheWriterDrainsThem) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(100));
  Trace trace;
  sim.spawn_on_cpu(0, "R1", [&] {
    locks.lock(0, mems, 0, R, "r1");
    Simulation::sleep_until(150);
    locks.unlock(0, mems, 0, R);
  });
  sim.spawn_on_cpu(1, "W", [&] {
    Simulation::sleep_until(10);
    locks.lock(1, mems, 0, W, "w");  // grace period 10-110, then waits for R1 and R2
    trace("W holds");
    Simulation::sleep_for(10);
    locks.unlock(1, mems, 0, W);
  });
  sim.spawn_on_cpu(2, "R2", [&] {
    Simulation::sleep_until(50);
    locks.lock(2, mems, 0, R, "r2");  // during the grace period: gets in
    trace("R2 holds");
    Simulation::sleep_until(200);
    locks.unlock(2, mems, 0, R);
  });
  sim.spawn_on_cpu(3, "R3", [&] {
    Simulation::sleep_until(120);
    locks.lock(3, mems, 0, R, "r3");  // after it: queued behind W
    trace("R3 holds");
    locks.unlock(3, mems, 0, R);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(trace.lines(),
            (std::vector<std::string>{"50 R2 holds", "200 W holds", "210 R3 holds"}));
  const auto& s = locks.stat(mems).stats();
  EXPECT_EQ(s.write_waittime, (LockTime{190, 190, 190, 1}));
  EXPECT_EQ(s.read_waittime, (LockTime{90, 90, 90, 1}));  // R3 only
}

// Waiters are woken in FIFO order, readers up to the first writer; a writer arriving while the
// rcu_sync is still entered (or less than a grace period after the last writer left) does not
// wait for another grace period.
TEST(PercpuRwsem, FifoWakeupAndGracePeriodReuse) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  Trace trace;
  sim.spawn_on_cpu(0, "W1", [&] {
    locks.lock(0, mems, 0, W, "w1");  // grace 0-10
    trace("W1 holds");
    Simulation::sleep_until(50);
    locks.unlock(0, mems, 0, W);
    Simulation::sleep_until(85);  // W2 left at 80: the sync is not idle before 90
    locks.lock(0, mems, 0, W, "w3");
    trace("W3 holds");
    Simulation::sleep_for(1);
    locks.unlock(0, mems, 0, W);  // idle again at 96
    Simulation::sleep_until(200);
    locks.lock(0, mems, 0, W, "w4");  // a full grace period again
    trace("W4 holds");
    locks.unlock(0, mems, 0, W);
  });
  sim.spawn_on_cpu(1, "R", [&] {
    Simulation::sleep_until(12);
    locks.lock(1, mems, 0, R, "r");  // queued first
    trace("R holds");
    Simulation::sleep_until(60);
    locks.unlock(1, mems, 0, R);
  });
  sim.spawn_on_cpu(2, "W2", [&] {
    Simulation::sleep_until(14);
    locks.lock(2, mems, 0, W, "w2");  // no grace period (W1 is inside); queued after R
    trace("W2 holds");
    Simulation::sleep_until(80);
    locks.unlock(2, mems, 0, W);
  });
  sim.spawn_on_cpu(3, "R4", [&] {
    Simulation::sleep_until(55);
    locks.lock(3, mems, 0, R, "r4");  // W2 owns the writer side from 50: queued
    trace("R4 holds");
    Simulation::sleep_until(82);
    locks.unlock(3, mems, 0, R);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(trace.lines(),
            (std::vector<std::string>{"10 W1 holds", "50 R holds", "60 W2 holds", "80 R4 holds",
                                      "85 W3 holds", "210 W4 holds"}));
}

TEST(PercpuRwsem, CpuHotplugLockAndMemoryChainKinds) {
  EXPECT_EQ(KernelLocks::kind_of(LockClass::mem_hotplug_lock), LockKind::percpu_rwsem);
  EXPECT_EQ(KernelLocks::kind_of(LockClass::cpu_hotplug_lock), LockKind::percpu_rwsem);
  EXPECT_EQ(KernelLocks::kind_of(LockClass::memory_chain), LockKind::rwsem);
  EXPECT_EQ(KernelLocks::kind_of(LockClass::slab_mutex), LockKind::mutex);
  EXPECT_EQ(KernelLocks::kind_of(LockClass::device_hotplug_lock), LockKind::mutex);
  EXPECT_EQ(KernelLocks::kind_of(LockClass::list_lock), LockKind::spinlock);
  EXPECT_EQ(KernelLocks::kind_of(kn_shrink), LockKind::kernfs_active);

  // The memory_chain rwsem has no grace period: a writer waits only for the readers.
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m);  // default costs: grace periods of 4 ticks at HZ=250
  EXPECT_EQ(locks.config().rcu_grace_period.nominal_ns(), 16'000'000);
  std::int64_t chain_writer = -1, cpus_writer = -1;
  sim.spawn_on_cpu(0, "notifier", [&] {
    locks.lock(0, LockClass::memory_chain, 0, R, "blocking_notifier_call_chain");
    Simulation::sleep_until(20);
    locks.unlock(0, LockClass::memory_chain, 0, R);
  });
  sim.spawn_on_cpu(1, "register", [&] {
    Simulation::sleep_until(5);
    locks.lock(1, LockClass::memory_chain, 0, W, "blocking_notifier_chain_register");
    chain_writer = Simulation::now_ns();
    locks.unlock(1, LockClass::memory_chain, 0, W);
    locks.lock(1, LockClass::cpu_hotplug_lock, 0, W, "cpus_write_lock");
    cpus_writer = Simulation::now_ns();
    locks.unlock(1, LockClass::cpu_hotplug_lock, 0, W);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(chain_writer, 20);
  EXPECT_EQ(cpus_writer, 16'000'000) << "the 4th tick boundary after the call";
  EXPECT_EQ(locks.find(LockClass::memory_chain, 0)->kind(), LockKind::rwsem);
}

// The default grace period (kernel/rcu/tree.c's jiffies_till_first_fqs, v5.10-v6.1, and the
// ticks measured on the booted v6.1): 4 ticks at HZ=250 from 2 CPUs up, 3 on one CPU, more at
// higher HZ (the first force-quiescent-state scan waits 2 ticks above HZ=250, 3 above 500) and
// with every 256 CPUs; it ends on a tick boundary, so a call 0.5 ms after a tick lasts 15.5 ms,
// as percpu_down_write() did in the guest.
TEST(RcuGracePeriod, TickAlignedDefaultFollowsHzAndTheCpuCount) {
  EXPECT_EQ(rcu_grace_period_ticks(4'000'000, 4), 4);
  EXPECT_EQ(rcu_grace_period_ticks(4'000'000, 2), 4);
  EXPECT_EQ(rcu_grace_period_ticks(4'000'000, 1), 3);
  EXPECT_EQ(rcu_grace_period_ticks(1'000'000, 4), 6);    // HZ=1000: 6 ms
  EXPECT_EQ(rcu_grace_period_ticks(3'333'333, 4), 5);    // HZ=300
  EXPECT_EQ(rcu_grace_period_ticks(10'000'000, 4), 4);   // HZ=100: 40 ms
  EXPECT_EQ(rcu_grace_period_ticks(4'000'000, 512), 6);  // nr_cpu_ids / 256 more
  const auto gp = RcuGracePeriod::on_ticks(4'000'000, 4);
  EXPECT_EQ(gp.end(500'000) - 500'000, 15'500'000);
  EXPECT_EQ(gp.end(4'000'000), 20'000'000);
  EXPECT_EQ(gp.nominal_ns(), 16'000'000);
  const auto fixed = RcuGracePeriod::fixed(1000);
  EXPECT_EQ(fixed.end(500'123), 501'123);
  EXPECT_FALSE(fixed.none());
  EXPECT_TRUE(RcuGracePeriod::fixed(0).none());
}

// ---------------------------------------------------------------------------------------------
// kernfs active reference

TEST(KernfsActive, RemovalFailsNewReferencesAndDrainsTheActiveOnes) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  constexpr auto kn = kn_shrink;
  Trace trace;
  sim.spawn_on_cpu(0, "reader-a", [&] {
    EXPECT_TRUE(locks.kernfs_get_active(0, kn_shrink, 7, "kernfs_fop_read_iter"));
    Simulation::sleep_until(30);
    locks.kernfs_put_active(0, kn_shrink, 7);
  });
  sim.spawn_on_cpu(1, "reader-b", [&] {
    Simulation::sleep_until(5);
    EXPECT_TRUE(locks.try_lock(1, kn, 7, R, "kernfs_fop_write_iter"));
    EXPECT_TRUE(locks.kernfs_get_active(1, kn_shrink, 8, "kernfs_fop_write_iter"));  // another node
    Simulation::sleep_until(50);
    locks.unlock(1, kn, 7, R);
    locks.unlock(1, kn, 8, R);
  });
  sim.spawn_on_cpu(2, "remover", [&] {
    Simulation::sleep_until(10);
    locks.lock(2, kn, 7, W, "kernfs_remove");
    trace("drained");
    Simulation::sleep_until(60);
    locks.unlock(2, kn, 7, W);
  });
  sim.spawn_on_cpu(3, "late", [&] {
    Simulation::sleep_until(20);
    EXPECT_FALSE(locks.kernfs_get_active(3, kn_shrink, 7, "kernfs_fop_read_iter"));
    auto* ref = static_cast<const KernfsActiveRef*>(locks.find(kn, 7));
    EXPECT_TRUE(ref->deactivated());
    EXPECT_EQ(ref->active(), 2);
    Simulation::sleep_until(70);
    EXPECT_FALSE(locks.kernfs_get_active(3, kn_shrink, 7, "kernfs_fop_read_iter"));  // for good
    EXPECT_TRUE(locks.kernfs_get_active(3, kn_shrink, 8, "kernfs_fop_read_iter"));
    locks.kernfs_put_active(3, kn_shrink, 8);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(trace.lines(), (std::vector<std::string>{"50 drained"}));
  const auto& s = locks.stat(kn).stats();
  EXPECT_EQ(s.read_holdtime, (LockTime{0, 45, 120, 4}));  // 30, 45 on node 7; 45, 0 on node 8
  EXPECT_EQ(s.write_waittime, (LockTime{40, 40, 40, 1}));
  EXPECT_EQ(s.write_holdtime, (LockTime{10, 10, 10, 1}));
  EXPECT_EQ(s.contention_points, (std::vector<LockPoint>{{"kernfs_remove", 1}}));
}

// ---------------------------------------------------------------------------------------------
// The §6.3 deadlock (e4f8e513c3d3): reader A holds a kernfs active reference and blocks on
// mem_hotplug_lock because writer W is queued; W waits for reader B, which holds
// mem_hotplug_lock for read and slab_mutex and waits for A's reference to drain.

void spawn_show_slab_objects_scenario(Simulation& sim, KernelLocks& locks, bool with_writer) {
  constexpr std::uint64_t cache_kn = 3;
  sim.spawn_on_cpu(0, "destroy-B", [&] {
    locks.lock(0, mems, 0, R, "kmem_cache_destroy");  // get_online_mems()
    locks.lock(0, LockClass::slab_mutex, 0, X, "kmem_cache_destroy");
    Simulation::sleep_until(100);
    locks.lock(0, kn_shrink, cache_kn, W, "kernfs_remove");  // sysfs_slab_unlink
    locks.unlock(0, kn_shrink, cache_kn, W);
    locks.unlock(0, LockClass::slab_mutex, 0, X);
    locks.unlock(0, mems, 0, R);
  });
  sim.spawn_on_cpu(1, "reader-A", [&] {
    Simulation::sleep_until(10);
    ASSERT_TRUE(locks.kernfs_get_active(1, kn_shrink, cache_kn, "kernfs_fop_read_iter"));
    Simulation::sleep_until(200);
    locks.lock(1, mems, 0, R, "show_slab_objects");  // get_online_mems()
    locks.unlock(1, mems, 0, R);
    locks.kernfs_put_active(1, kn_shrink, cache_kn);
  });
  if (with_writer) {
    sim.spawn_on_cpu(2, "hotplug-W", [&] {
      Simulation::sleep_until(50);
      locks.lock(2, LockClass::cpu_hotplug_lock, 0, R, "mem_hotplug_begin");
      locks.lock(2, mems, 0, W, "mem_hotplug_begin");  // online_pages()
      locks.unlock(2, mems, 0, W);
      locks.unlock(2, LockClass::cpu_hotplug_lock, 0, R);
    });
  }
}

// sysfs_add_file_mode_ns() (fs/sysfs/file.c, v5.10): each attribute is a lockdep class of its
// own. A read of one file (objects, kn->active#8) does not hold up the drain of another
// (shrink, kn->active#18): only the drain of the file being read waits. lock_stat names the
// classes kn->active#N and prints one digit of N (lockdep_proc.c seq_stats()).
TEST(KernfsActive, EachAttributeIsAClassOfItsOwn) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(0));
  const auto objects = alloc::kernfs_active_class(6);
  EXPECT_EQ(alloc::lock_class_name(objects), "kn->active#8");
  EXPECT_EQ(alloc::lock_class_name(kn_shrink), "kn->active#18");
  sim.spawn_on_cpu(0, "reader", [&] {
    EXPECT_TRUE(locks.kernfs_get_active(0, objects, 7, "kernfs_fop_read"));
    Simulation::sleep_until(40);
    locks.kernfs_put_active(0, objects, 7);
  });
  sim.spawn_on_cpu(1, "remover", [&] {
    Simulation::sleep_until(10);
    locks.lock(1, kn_shrink, 7, W, "kernfs_remove");  // not read: drained at once
    EXPECT_EQ(Simulation::now_ns(), 10);
    locks.unlock(1, kn_shrink, 7, W);
    locks.lock(1, objects, 7, W, "kernfs_remove");  // waits for the read
    EXPECT_EQ(Simulation::now_ns(), 40);
    locks.unlock(1, objects, 7, W);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(locks.stat(kn_shrink).stats().contentions(), 0u);
  EXPECT_EQ(locks.stat(objects).stats().write_waittime, (LockTime{30, 30, 30, 1}));
  EXPECT_EQ(locks.stat(objects).stats().full_name(), "kn->active#8");
  EXPECT_EQ(locks.stat(kn_shrink).stats().full_name(), "kn->active#18");
  const std::string text = locks.lock_stat_text();
  EXPECT_TRUE(contains(text, "kn->active#8-W:")) << text;
  EXPECT_TRUE(contains(text, "kn->active#1:")) << text;  // #18, cut to one digit
  EXPECT_FALSE(contains(text, "kn->active#18")) << text;
}

TEST(Deadlock, ShowSlabObjectsAgainstQueuedHotplugWriterEndsAsDeadlock) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  spawn_show_slab_objects_scenario(sim, locks, true);
  RunResult r = sim.run();
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 200);
  ASSERT_EQ(r.blocked.size(), 3u);
  EXPECT_EQ(r.blocked[0].name, "destroy-B");
  EXPECT_EQ(r.blocked[0].host, "cpu0");
  EXPECT_EQ(r.blocked[1].name, "hotplug-W");
  EXPECT_EQ(r.blocked[2].name, "reader-A");
  // The three waits were recorded as contentions when they began.
  EXPECT_EQ(locks.stat(mems).stats().contention_points,
            (std::vector<LockPoint>{{"mem_hotplug_begin", 1}, {"show_slab_objects", 1}}));
  EXPECT_EQ(locks.stat(kn_shrink).stats().contention_points,
            (std::vector<LockPoint>{{"kernfs_remove", 1}}));
}

TEST(Deadlock, WithoutAQueuedWriterTheSameLocksComplete) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  spawn_show_slab_objects_scenario(sim, locks, false);
  RunResult r = sim.run();
  EXPECT_FALSE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 200);  // B's drain waited for A's reference until 200
  EXPECT_EQ(locks.stat(kn_shrink).stats().write_waittime, (LockTime{100, 100, 100, 1}));
}

// ---------------------------------------------------------------------------------------------
// Mutex and spinlock

TEST(Mutex, FifoHandOffWithoutBarging) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  constexpr auto mutex = LockClass::slab_mutex;
  Trace trace;
  sim.spawn_on_cpu(0, "H", [&] {
    locks.lock(0, mutex, 0, X, "kmem_cache_create");
    Simulation::sleep_until(100);
    locks.unlock(0, mutex, 0, X);
    // Straight back, with no SimGrid call in between: the lock already belongs to W1.
    locks.lock(0, mutex, 0, X, "kmem_cache_create");
    trace("H holds");
    locks.unlock(0, mutex, 0, X);
  });
  for (int i = 1; i <= 3; ++i) {
    sim.spawn_on_cpu(i, fmt::format("W{}", i), [&, i] {
      Simulation::sleep_until(10 * i);
      locks.lock(i, mutex, 0, X, "kmem_cache_destroy");
      trace(fmt::format("W{} holds", i));
      Simulation::sleep_for(10);
      locks.unlock(i, mutex, 0, X);
    });
  }
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(trace.lines(), (std::vector<std::string>{"100 W1 holds", "110 W2 holds", "120 W3 holds",
                                                     "130 H holds"}));
  const auto& s = locks.stat(mutex).stats();
  EXPECT_EQ(s.write_waittime, (LockTime{30, 90, 300, 4}));
  EXPECT_EQ(s.write_holdtime, (LockTime{0, 100, 130, 5}));
  EXPECT_EQ(s.contention_points,
            (std::vector<LockPoint>{{"kmem_cache_destroy", 3}, {"kmem_cache_create", 1}}));
}

TEST(Mutex, TryLockAndAcquireCost) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLockConfig cfg;
  cfg.mutex_acquire_ns = 7;
  KernelLocks locks(m, cfg);
  constexpr auto dev = LockClass::device_hotplug_lock;
  std::vector<std::string> seen;
  sim.spawn_on_cpu(0, "holder", [&] {
    EXPECT_TRUE(locks.try_lock(0, dev, 0, X, "lock_device_hotplug_sysfs"));
    seen.push_back(fmt::format("holder at {}", Simulation::now_ns()));  // paid 7 ns
    Simulation::sleep_until(50);
    locks.unlock(0, dev, 0, X);
  });
  sim.spawn_on_cpu(2, "sysfs", [&] {
    Simulation::sleep_until(20);
    EXPECT_FALSE(locks.try_lock(2, dev, 0, X, "lock_device_hotplug_sysfs"));
    Simulation::sleep_until(60);
    EXPECT_TRUE(locks.try_lock(2, dev, 0, X, "lock_device_hotplug_sysfs"));
    seen.push_back(fmt::format("sysfs at {}", Simulation::now_ns()));  // no transfer cost
    locks.unlock(2, dev, 0, X);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(seen, (std::vector<std::string>{"holder at 7", "sysfs at 67"}));
  EXPECT_EQ(locks.stat(dev).stats().contentions(), 0u);  // a failed trylock is no contention
  EXPECT_EQ(locks.stat(dev).stats().write_holdtime.nr, 2u);
  EXPECT_EQ(locks.stat(dev).stats().acq_bounces_write, 1u);  // CPU 0, then CPU 2
  // mutex_trylock() (kernel/locking/mutex.c, v5.10) calls mutex_acquire() with trylock = 1 and
  // never lock_acquired(): the kernel counts no acq-bounce for it.
  EXPECT_EQ(locks.stat(dev).kernel_stats().acq_bounces_write, 0u);
  EXPECT_EQ(locks.stat(dev).kernel_stats().write_holdtime.nr, 2u);
}

// lockdep's first report calls debug_locks_off(): /proc/lock_stat keeps what it had and says
// so in its header (lockdep_proc.c seq_header()).
TEST(Mutex, LockStatTextFreezesAfterDebugLocksOff) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(0));
  constexpr auto slab = LockClass::slab_mutex;
  sim.spawn_on_cpu(0, "task", [&] {
    locks.lock(0, slab, 0, X, "kmem_cache_create");
    Simulation::sleep_for(10);
    locks.unlock(0, slab, 0, X);
    locks.debug_locks_off();
    locks.lock(0, slab, 0, X, "kmem_cache_destroy");
    Simulation::sleep_for(10);
    locks.unlock(0, slab, 0, X);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_FALSE(locks.debug_locks());
  EXPECT_EQ(locks.stat(slab).stats().write_holdtime.nr, 2u);
  EXPECT_EQ(locks.stat(slab).kernel_stats().write_holdtime.nr, 1u);
  const std::string text = locks.lock_stat_text();
  EXPECT_TRUE(contains(text,
                       "lock_stat version 0.4\n*WARNING* lock debugging disabled!! - "
                       "possibly due to a lockdep warning\n"))
      << text;
}

// __mutex_lock_common() (kernel/locking/mutex.c, v5.10): a waiter behind an owner that is on a
// CPU spins in mutex_optimistic_spin() and gets the lock with no lock_contended(); its hold time
// starts at lock_acquire(), so the spin is in it. The simulator sees the whole wait.
TEST(MutexKernelView, SpinnerBehindARunningOwnerIsNoContention) {
  for (const bool spin : {true, false}) {
    const auto m = two_node_machine();
    Simulation sim(m);
    sim.set_lookahead(g_lookahead);
    KernelLockConfig cfg = free_ops(0);
    cfg.mutex_spin_on_owner = spin;
    KernelLocks locks(m, cfg);
    constexpr auto slab = LockClass::slab_mutex;
    sim.spawn_on_cpu(0, "owner", [&] {
      locks.lock(0, slab, 0, X, "kmem_cache_create");
      Simulation::sleep_until(100);  // work: the owner stays on its CPU
      locks.unlock(0, slab, 0, X);
    });
    sim.spawn_on_cpu(1, "waiter", [&] {
      Simulation::sleep_until(10);
      locks.lock(1, slab, 0, X, "kmem_cache_destroy");
      EXPECT_EQ(Simulation::now_ns(), 100);
      Simulation::sleep_for(10);
      locks.unlock(1, slab, 0, X);
    });
    EXPECT_FALSE(sim.run().deadlock);
    const auto& sim_view = locks.stat(slab).stats();
    const auto& kernel = locks.stat(slab).kernel_stats();
    EXPECT_EQ(sim_view.write_waittime, (LockTime{90, 90, 90, 1}));
    EXPECT_EQ(sim_view.write_holdtime, (LockTime{10, 100, 110, 2}));
    if (spin) {
      EXPECT_EQ(kernel.contentions(), 0u);
      EXPECT_TRUE(kernel.contention_points.empty());
      EXPECT_EQ(kernel.write_holdtime, (LockTime{100, 100, 200, 2}));  // waiter: 10 -> 110
    } else {
      // Without MUTEX_SPIN_ON_OWNER (lock debugging before v4.10) the waiter sleeps at once.
      EXPECT_EQ(kernel.write_waittime, (LockTime{90, 90, 90, 1}));
      EXPECT_EQ(kernel.write_holdtime, (LockTime{10, 100, 110, 2}));
    }
    EXPECT_EQ(kernel.acq_bounces_write, 1u);  // lock_acquired() ran on CPU 1 after CPU 0
  }
}

// mutex_spin_on_owner() stops once !owner->on_cpu: when the owner sleeps (here in
// percpu_down_write()'s grace period), each spinner calls lock_contended() then; a waiter that
// arrives while the owner sleeps is contended at once; one that arrives after the owner runs
// again spins.
TEST(MutexKernelView, OwnerGoingToSleepTurnsSpinnersIntoContentions) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(100));
  constexpr auto slab = LockClass::slab_mutex;
  sim.spawn_on_cpu(0, "owner", [&] {
    locks.lock(0, slab, 0, X, "kmem_cache_create");
    Simulation::sleep_until(50);
    locks.lock(0, mems, 0, W, "mem_hotplug_begin");  // asleep from 50 to 150
    locks.unlock(0, mems, 0, W);
    Simulation::sleep_until(200);
    locks.unlock(0, slab, 0, X);
  });
  auto waiter = [&](int cpu, std::int64_t at, std::int64_t gets) {
    sim.spawn_on_cpu(cpu, fmt::format("w{}", cpu), [&locks, cpu, at, gets] {
      Simulation::sleep_until(at);
      locks.lock(cpu, slab, 0, X, "kmem_cache_destroy");
      EXPECT_EQ(Simulation::now_ns(), gets);
      Simulation::sleep_for(10);
      locks.unlock(cpu, slab, 0, X);
    });
  };
  waiter(1, 10, 200);   // spins from 10, sleeps at 50
  waiter(2, 100, 210);  // the owner sleeps: contended at 100
  waiter(3, 170, 220);  // the owner runs again: spins to the end
  EXPECT_FALSE(sim.run().deadlock);
  const auto& kernel = locks.stat(slab).kernel_stats();
  EXPECT_EQ(kernel.write_waittime, (LockTime{110, 150, 260, 2}));
  // owner 0 -> 200, w1 200 -> 210 (restamped), w2 210 -> 220 (restamped), w3 170 -> 230.
  EXPECT_EQ(kernel.write_holdtime, (LockTime{10, 200, 280, 4}));
  EXPECT_EQ(kernel.contention_points, (std::vector<LockPoint>{{"kmem_cache_destroy", 2}}));
  EXPECT_EQ(locks.stat(slab).stats().write_waittime, (LockTime{50, 190, 350, 3}));
}

// A task asleep in a mutex queue is not on a CPU either: spinners behind a mutex it owns give up
// too. A holds slab_mutex and spins on device_hotplug_lock; C spins on slab_mutex; when B, the
// owner of device_hotplug_lock, sleeps, A and then C go to sleep and both are contended.
TEST(MutexKernelView, SleepPropagatesAlongAChainOfOwners) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(100));
  constexpr auto slab = LockClass::slab_mutex;
  constexpr auto dev = LockClass::device_hotplug_lock;
  sim.spawn_on_cpu(0, "B", [&] {
    locks.lock(0, dev, 0, X, "lock_device_hotplug");
    Simulation::sleep_until(50);
    locks.lock(0, mems, 0, W, "mem_hotplug_begin");  // asleep from 50 to 150
    locks.unlock(0, mems, 0, W);
    Simulation::sleep_until(200);
    locks.unlock(0, dev, 0, X);
  });
  sim.spawn_on_cpu(1, "A", [&] {
    locks.lock(1, slab, 0, X, "kmem_cache_create");
    Simulation::sleep_until(10);
    locks.lock(1, dev, 0, X, "lock_device_hotplug");
    EXPECT_EQ(Simulation::now_ns(), 200);
    Simulation::sleep_until(210);
    locks.unlock(1, dev, 0, X);
    Simulation::sleep_until(220);
    locks.unlock(1, slab, 0, X);
  });
  sim.spawn_on_cpu(2, "C", [&] {
    Simulation::sleep_until(20);
    locks.lock(2, slab, 0, X, "kmem_cache_destroy");
    EXPECT_EQ(Simulation::now_ns(), 220);
    locks.unlock(2, slab, 0, X);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(locks.stat(dev).kernel_stats().write_waittime, (LockTime{150, 150, 150, 1}));
  EXPECT_EQ(locks.stat(slab).kernel_stats().write_waittime, (LockTime{170, 170, 170, 1}));
}

TEST(Spinlock, CrossNodeAcquisitionPaysTheLineTransfer) {
  // Asymmetric on purpose: the row is the acquirer's node, the column the previous holder's.
  const auto m = two_node_machine({{80, 150}, {170, 90}});
  NumaCosts numa(m);
  EXPECT_EQ(numa.line_transfer_ns(-1, 2), 0);
  EXPECT_EQ(numa.line_transfer_ns(0, 1), 0);
  EXPECT_EQ(numa.line_transfer_ns(0, 2), 170 - 90);
  EXPECT_EQ(numa.line_transfer_ns(3, 1), 150 - 80);
  EXPECT_THROW((void)numa.line_transfer_ns(0, 4), std::out_of_range);

  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLockConfig cfg;
  cfg.spinlock_acquire_ns = 5;
  KernelLocks locks(m, cfg);
  constexpr auto list = LockClass::list_lock;
  Trace trace;
  auto step = [&](int cpu, std::int64_t at, std::uint64_t instance) {
    Simulation::sleep_until(at);
    locks.lock(cpu, list, instance, X, "get_partial_node");
    trace(fmt::format("cpu{} [{}]", cpu, instance));
    Simulation::sleep_for(5);
    locks.unlock(cpu, list, instance, X);
  };
  sim.spawn_on_cpu(0, "c0", [&] { step(0, 0, 1); });
  sim.spawn_on_cpu(2, "c2", [&] {
    step(2, 0, 2);    // another instance: not contended, first use: no transfer
    step(2, 20, 1);   // from node 0: 5 + 80
    step(2, 200, 2);  // it held instance 2 last: 5
  });
  sim.spawn_on_cpu(3, "c3", [&] { step(3, 300, 1); });  // same node as cpu2: 5
  sim.spawn_on_cpu(1, "c1", [&] {
    step(1, 400, 1);  // from node 1: 5 + 70
    step(1, 500, 1);  // itself: 5
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(trace.lines(),
            (std::vector<std::string>{"5 cpu0 [1]", "5 cpu2 [2]", "105 cpu2 [1]", "205 cpu2 [2]",
                                      "305 cpu3 [1]", "475 cpu1 [1]", "505 cpu1 [1]"}));
  // Instances aggregate into one class; bounces are judged per instance.
  const auto& s = locks.stat(list).stats();
  EXPECT_EQ(s.write_holdtime.nr, 7u);
  EXPECT_EQ(s.acq_bounces_write, 3u);  // [1]: cpu0->2, 2->3, 3->1
  EXPECT_EQ(s.contentions(), 0u);
}

TEST(Spinlock, TheTransferCanBeSwitchedOff) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLockConfig cfg;
  cfg.spinlock_acquire_ns = 5;
  cfg.spinlock_cacheline_transfer = false;
  KernelLocks locks(m, cfg);
  std::int64_t second = -1;
  sim.spawn_on_cpu(0, "c0", [&] {
    locks.lock(0, LockClass::list_lock, 0, X, "f");
    locks.unlock(0, LockClass::list_lock, 0, X);
  });
  sim.spawn_on_cpu(3, "c3", [&] {
    Simulation::sleep_until(100);
    locks.lock(3, LockClass::list_lock, 0, X, "f");
    second = Simulation::now_ns();
    locks.unlock(3, LockClass::list_lock, 0, X);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(second, 105);
  EXPECT_EQ(locks.find(LockClass::list_lock, 0)->kind(), LockKind::spinlock);
}

TEST(LockStatScenario, ScriptedSpinlockContentionHandComputed) {
  const auto m = two_node_machine();  // remote line: 160 - 80 = 80 ns
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLockConfig cfg;
  cfg.spinlock_acquire_ns = 5;
  KernelLocks locks(m, cfg);
  constexpr auto list = LockClass::list_lock;
  sim.spawn_on_cpu(0, "A", [&] {
    locks.lock(0, list, 9, X, "deactivate_slab");  // acquired at 5
    Simulation::sleep_until(105);
    locks.unlock(0, list, 9, X);
    Simulation::sleep_until(300);
    locks.lock(0, list, 9, X, "deactivate_slab");  // from cpu3 (node 1): 300 + 5 + 80 = 385
    Simulation::sleep_until(400);
    locks.unlock(0, list, 9, X);
  });
  sim.spawn_on_cpu(2, "B", [&] {
    Simulation::sleep_until(20);
    locks.lock(2, list, 9, X, "get_partial_node");  // handed over at 105, + 5 + 80 = 190
    EXPECT_EQ(Simulation::now_ns(), 190);
    Simulation::sleep_until(200);
    locks.unlock(2, list, 9, X);
  });
  sim.spawn_on_cpu(3, "C", [&] {
    Simulation::sleep_until(30);
    locks.lock(3, list, 9, X, "get_partial_node");  // handed over at 200, same node: 205
    EXPECT_EQ(Simulation::now_ns(), 205);
    Simulation::sleep_until(225);
    locks.unlock(3, list, 9, X);
  });
  RunResult r = sim.run();
  EXPECT_EQ(r.end_time_ns, 400);

  LockClassStats want = make_class("&n->list_lock");
  want.write_waittime = {170, 175, 345, 2};  // B 20->190, C 30->205
  want.write_holdtime = {10, 100, 145, 4};   // A 100, B 10, C 20, A 15
  want.con_bounces_write = 2;                // B and C wait on other CPUs than cpu0 (last)
  want.acq_bounces_write = 3;                // B (0->2), C (2->3), A (3->0)
  want.contention_points = {{"get_partial_node", 2}};
  want.contending_points = {{"deactivate_slab", 2}};  // A had acquired it last both times
  EXPECT_EQ(locks.stat(list).stats(), want);
  // The kernel's hold times of A's uncontended acquisitions start at lock_acquire(), before the
  // line arrives (__lock_acquire() stamps holdtime_stamp; lock_acquired() stamps it again only
  // after a wait): A 0->105 and 300->400. The contended ones start at lock_acquired().
  EXPECT_EQ(locks.stat(list).kernel_stats().write_holdtime, (LockTime{10, 105, 235, 4}));

  const std::string expected = R"(lock_stat version 0.4
-----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
                              class name    con-bounces    contentions   waittime-min   waittime-max waittime-total   waittime-avg    acq-bounces   acquisitions   holdtime-min   holdtime-max holdtime-total   holdtime-avg
-----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------

                           &n->list_lock:             2              2           0.17           0.18           0.35           0.17              3              4           0.01           0.11           0.24           0.06
                           -------------
                           &n->list_lock              2          [<0000000000000000>] get_partial_node
                           -------------
                           &n->list_lock              2          [<0000000000000000>] deactivate_slab

.............................................................................................................................................................................................................................

)";
  EXPECT_EQ(locks.lock_stat_text(), expected);
  locks.clear_lock_stat();
  EXPECT_EQ(locks.stat(list).stats(), make_class("&n->list_lock"));
}

// ---------------------------------------------------------------------------------------------
// Misuse: the model checks ownership; SimGrid 3.32 would relock silently or abort.

template <typename Body>
std::string misuse_message(Body body) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  sim.spawn_on_cpu(0, "culprit", [&] { body(locks); });
  return run_error(sim);
}

TEST(Misuse, RelockingAHeldExclusiveLockThrows) {
  auto msg = misuse_message([](KernelLocks& l) {
    l.lock(0, LockClass::slab_mutex, 0, X, "kmem_cache_create");
    l.lock(0, LockClass::slab_mutex, 0, X, "kmem_cache_create");
  });
  EXPECT_TRUE(contains(msg, "slab_mutex[0]")) << msg;
  EXPECT_TRUE(contains(msg, "'culprit'")) << msg;
  EXPECT_TRUE(contains(msg, "already holding it")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, LockClass::list_lock, 4, X, "f");
    l.try_lock(0, LockClass::list_lock, 4, X, "f");
  });
  EXPECT_TRUE(contains(msg, "&n->list_lock[4]")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, mems, 0, W, "mem_hotplug_begin");
    l.lock(0, mems, 0, W, "mem_hotplug_begin");
  });
  EXPECT_TRUE(contains(msg, "already holding it")) << msg;
}

TEST(Misuse, ReadWriteSelfDeadlocksThrow) {
  auto msg = misuse_message([](KernelLocks& l) {
    l.lock(0, mems, 0, W, "mem_hotplug_begin");
    l.lock(0, mems, 0, R, "get_online_mems");  // §11 item 4: get_online_mems in a callback
  });
  EXPECT_TRUE(contains(msg, "for read")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, mems, 0, R, "get_online_mems");
    l.lock(0, mems, 0, W, "mem_hotplug_begin");
  });
  EXPECT_TRUE(contains(msg, "holding it for read")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    ASSERT_TRUE(l.kernfs_get_active(0, kn_shrink, 1, "kernfs_fop_write_iter"));
    l.lock(0, kn_shrink, 1, W, "kernfs_remove");
  });
  EXPECT_TRUE(contains(msg, "active reference")) << msg;
}

TEST(Misuse, UnlockingWhatIsNotHeldThrows) {
  auto msg = misuse_message(
      [](KernelLocks& l) { l.unlock(0, LockClass::slab_mutex, 0, X); });  // never taken
  EXPECT_TRUE(contains(msg, "never taken")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, LockClass::list_lock, 0, X, "f");
    l.unlock(0, LockClass::list_lock, 0, X);
    l.unlock(0, LockClass::list_lock, 0, X);
  });
  EXPECT_TRUE(contains(msg, "nobody holds it")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, mems, 0, R, "get_online_mems");
    l.unlock(0, mems, 0, W);
  });
  EXPECT_TRUE(contains(msg, "for write while holding it for read")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, mems, 0, W, "w");
    l.unlock(0, mems, 0, W);
    l.unlock(0, mems, 0, R);
  });
  EXPECT_TRUE(contains(msg, "for read without holding it")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, kn_shrink, 2, W, "kernfs_remove");
    l.unlock(0, kn_shrink, 2, R);
  });
  EXPECT_TRUE(contains(msg, "does not hold")) << msg;
}

TEST(Misuse, UnlockByANonOwnerThrowsThroughRun) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  sim.spawn_on_cpu(0, "owner", [&] {
    locks.lock(0, LockClass::slab_mutex, 0, X, "kmem_cache_create");
    Simulation::sleep_for(100);
    locks.unlock(0, LockClass::slab_mutex, 0, X);
  });
  sim.spawn_on_cpu(2, "thief", [&] {
    Simulation::sleep_for(10);
    locks.unlock(2, LockClass::slab_mutex, 0, X);
  });
  const std::string msg = run_error(sim);
  EXPECT_TRUE(contains(msg, "'thief' releases it without holding it")) << msg;
}

TEST(Misuse, WrongModesUnknownCpusAndRemovedNodes) {
  auto msg = misuse_message([](KernelLocks& l) { l.lock(0, LockClass::slab_mutex, 0, R, "f"); });
  EXPECT_TRUE(contains(msg, "has no read mode")) << msg;
  msg = misuse_message([](KernelLocks& l) { l.lock(0, mems, 0, X, "f"); });
  EXPECT_TRUE(contains(msg, "has no exclusive mode")) << msg;
  msg = misuse_message([](KernelLocks& l) { l.try_lock(0, mems, 0, W, "f"); });
  EXPECT_TRUE(contains(msg, "has no write mode")) << msg;
  msg = misuse_message([](KernelLocks& l) {
    l.lock(0, kn_shrink, 5, W, "kernfs_remove");
    l.unlock(0, kn_shrink, 5, W);
    l.lock(0, kn_shrink, 5, R, "kernfs_fop_read_iter");
  });
  EXPECT_TRUE(contains(msg, "after removal started")) << msg;

  const auto m = two_node_machine();
  {
    Simulation sim(m);
    sim.set_lookahead(g_lookahead);
    KernelLocks locks(m);
    sim.spawn_on_cpu(0, "lost", [&] { locks.lock(9, LockClass::slab_mutex, 0, X, "f"); });
    EXPECT_THROW(sim.run(), std::out_of_range);
  }
  // Outside a running simulation: a clear error, not a SimGrid abort.
  KernelLocks locks(m);
  EXPECT_THROW(locks.lock(0, LockClass::slab_mutex, 0, X, "f"), std::logic_error);
}

// ---------------------------------------------------------------------------------------------
// forget(): the record of a freed struct's lock goes once nobody holds or waits for it.

TEST(KernelLocksForget, FreedIdleLocksGoHeldOnesStayAndStatisticsRemain) {
  const auto m = two_node_machine();
  Simulation sim(m);
  sim.set_lookahead(g_lookahead);
  KernelLocks locks(m, free_ops(10));
  constexpr auto list_lock = LockClass::list_lock;
  sim.spawn_on_cpu(0, "offline", [&] {
    locks.lock(0, list_lock, 1, X, "free_partial");
    locks.unlock(0, list_lock, 1, X);
    EXPECT_TRUE(locks.kernfs_get_active(0, kn_shrink, 4, "kernfs_fop_read_iter"));
    Simulation::sleep_until(10);
    EXPECT_EQ(locks.instances(), 3u);
    locks.forget(list_lock, 1);  // idle: goes
    locks.forget(list_lock, 2);  // held by the reader: stays
    locks.forget(kn_shrink, 4);  // an active reference: stays
    locks.forget(list_lock, 9);  // never used: nothing to do
    EXPECT_EQ(locks.find(list_lock, 1), nullptr);
    EXPECT_NE(locks.find(list_lock, 2), nullptr);
    EXPECT_EQ(locks.instances(), 2u);
    locks.kernfs_put_active(0, kn_shrink, 4);
    locks.forget(kn_shrink, 4);
    EXPECT_EQ(locks.find(kn_shrink, 4), nullptr);
  });
  sim.spawn_on_cpu(1, "reader", [&] {
    locks.lock(1, list_lock, 2, X, "count_partial");
    Simulation::sleep_until(20);
    locks.unlock(1, list_lock, 2, X);
    locks.forget(list_lock, 2);
    EXPECT_EQ(locks.instances(), 0u);
    // A use-after-free takes the lock again: a fresh record.
    locks.lock(1, list_lock, 1, X, "count_partial");
    locks.unlock(1, list_lock, 1, X);
  });
  EXPECT_FALSE(sim.run().deadlock);
  EXPECT_EQ(locks.stat(list_lock).stats().write_holdtime.nr, 3u);
  EXPECT_EQ(locks.instances(), 1u);
}

}  // namespace
}  // namespace slabsim::sim

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--lookahead") slabsim::sim::g_lookahead = true;
  return RUN_ALL_TESTS();
}
