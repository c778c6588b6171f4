// The lock signals (sim/kernel/lock_signals.hpp) as the environment emits them: an observer sees
// every acquisition, in the order the CPUs make them, once each; one that detaches sees no more.
// (A whole run observed: run_test.cpp, LockSignals.)
#include "kernel/lock_signals.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/simulation.hpp"
#include "kernel/kernel_locks.hpp"
#include "run/machine_environment.hpp"

namespace slabsim::sim {
namespace {

using alloc::LockClass;
using alloc::LockMode;

topology::Topology two_node_machine() {
  topology::Topology m;
  m.name = "test-2node";
  m.sockets = {{0, "s0", {0}, {0, 1}}, {1, "s1", {1}, {2, 3}}};
  m.nodes = {{0, 0, {0, 1}, {}}, {1, 1, {2, 3}, {}}};
  m.slit = {{10, 20}, {20, 10}};
  m.latency_ns = {{80, 160}, {160, 80}};
  return m;
}

KernelLockConfig charged_by_environment() {
  KernelLockConfig c;
  c.mutex_acquire_ns = 0;
  c.spinlock_acquire_ns = 0;
  c.spinlock_cacheline_transfer = false;
  return c;
}

// "<time> cpu<n> <signal> <class> <mode>[ trylock]" for every signal.
struct Recorder {
  std::vector<std::string> lines;
  std::vector<Signal<const LockEvent&>::Connection> connections;

  void observe(LockSignals& s) {
    connections = {s.requested.connect([this](const LockEvent& e) { add("requested", e); }),
                   s.acquired.connect([this](const LockEvent& e) { add("acquired", e); }),
                   s.released.connect([this](const LockEvent& e) { add("released", e); })};
  }
  void detach(LockSignals& s) {
    s.requested.disconnect(connections[0]);
    s.acquired.disconnect(connections[1]);
    s.released.disconnect(connections[2]);
  }
  void add(const char* what, const LockEvent& e) {
    lines.push_back(fmt::format("{} cpu{} {} {} {}{}", e.now_ns, e.cpu, what,
                                alloc::lock_class_name(e.cls), alloc::lock_mode_name(e.mode),
                                e.trylock ? " trylock" : ""));
  }
};

// CPU 0 holds slab_mutex for 100 ns; CPU 2 fails to trylock it, waits for it, takes a kernfs
// active reference under it; CPU 0 trylocks device_hotplug_lock. Nothing is seen of the failed
// trylock, and a lock() is seen when it is asked for and when it is taken. (CPU 0's unlock hands
// the mutex over to CPU 2, which runs first.)
TEST(LockSignals, AnObserverSeesEveryAcquisitionInOrder) {
  const topology::Topology machine = two_node_machine();
  Simulation sim(machine);
  KernelLocks locks(machine, charged_by_environment());
  MachineEnvironment env(machine, locks, 1, 10000, 5, 5);
  Recorder seen;
  seen.observe(env.lock_signals());
  sim.spawn_on_cpu(0, "cpu0", [&] {
    env.actor_started();
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "a");
    env.charge(100);
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
    EXPECT_TRUE(env.try_lock(LockClass::device_hotplug_lock, 0, LockMode::exclusive, "b"));
    env.unlock(LockClass::device_hotplug_lock, 0, LockMode::exclusive);
  });
  sim.spawn_on_cpu(2, "cpu2", [&] {
    env.actor_started();
    env.sleep_for(10);
    EXPECT_FALSE(env.try_lock(LockClass::slab_mutex, 0, LockMode::exclusive, "c"));
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "d");
    EXPECT_TRUE(env.kernfs_get_active(7, "e"));
    env.kernfs_put_active(7);
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  });
  sim.run();
  EXPECT_EQ(seen.lines, (std::vector<std::string>{
                            "0 cpu0 requested slab_mutex exclusive",
                            "0 cpu0 acquired slab_mutex exclusive",
                            "10 cpu2 requested slab_mutex exclusive",
                            "105 cpu0 released slab_mutex exclusive",
                            "105 cpu2 acquired slab_mutex exclusive",
                            "105 cpu0 acquired device_hotplug_lock exclusive trylock",
                            "110 cpu0 released device_hotplug_lock exclusive",
                            "110 cpu2 acquired kn->count read trylock",
                            "110 cpu2 released kn->count read",
                            "110 cpu2 released slab_mutex exclusive",
                        }));
}

TEST(LockSignals, ADetachedObserverSeesNothingMore) {
  const topology::Topology machine = two_node_machine();
  Simulation sim(machine);
  KernelLocks locks(machine, charged_by_environment());
  MachineEnvironment env(machine, locks, 1, 10000, 5, 5);
  Recorder seen, stays;
  seen.observe(env.lock_signals());
  stays.observe(env.lock_signals());
  sim.spawn_on_cpu(1, "cpu1", [&] {
    env.actor_started();
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "a");
    seen.detach(env.lock_signals());
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  });
  sim.run();
  EXPECT_EQ(seen.lines, (std::vector<std::string>{"0 cpu1 requested slab_mutex exclusive",
                                                  "0 cpu1 acquired slab_mutex exclusive"}));
  EXPECT_EQ(stays.lines.size(), 3u);
}

}  // namespace
}  // namespace slabsim::sim
