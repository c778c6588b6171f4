// The lock signals (sim/kernel/lock_signals.hpp) as the environment emits them: an observer sees
// every acquisition, in the order the CPUs make them, once each; one that detaches sees no more.
// (A whole run observed: run_test.cpp, LockSignals.)
#include "kernel/lock_signals.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "environment_machine.hpp"

namespace slabsim::sim {
namespace {

using alloc::LockClass;
using alloc::LockMode;

using test_support::EnvironmentMachine;

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
// the mutex over to CPU 2, which runs first; at 110 ns both are due, and CPU 2, which began its
// wait first, goes first.)
TEST(LockSignals, AnObserverSeesEveryAcquisitionInOrder) {
  EnvironmentMachine m;
  MachineEnvironment& env = m.env();
  Recorder seen;
  seen.observe(env.lock_signals());
  m.spawn(0, [&] {
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "a");
    env.charge(100);
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
    EXPECT_TRUE(env.try_lock(LockClass::device_hotplug_lock, 0, LockMode::exclusive, "b"));
    env.unlock(LockClass::device_hotplug_lock, 0, LockMode::exclusive);
  });
  m.spawn(2, [&] {
    env.sleep_for(10);
    EXPECT_FALSE(env.try_lock(LockClass::slab_mutex, 0, LockMode::exclusive, "c"));
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "d");
    EXPECT_TRUE(env.kernfs_get_active(alloc::kernfs_active_class(0), 7, "e"));
    env.kernfs_put_active(alloc::kernfs_active_class(0), 7);
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  });
  m.run();
  EXPECT_EQ(seen.lines, (std::vector<std::string>{
                            "0 cpu0 requested slab_mutex exclusive",
                            "0 cpu0 acquired slab_mutex exclusive",
                            "10 cpu2 requested slab_mutex exclusive",
                            "105 cpu0 released slab_mutex exclusive",
                            "105 cpu2 acquired slab_mutex exclusive",
                            "105 cpu0 acquired device_hotplug_lock exclusive trylock",
                            "110 cpu2 acquired kn->active#2 read trylock",
                            "110 cpu2 released kn->active#2 read",
                            "110 cpu2 released slab_mutex exclusive",
                            "110 cpu0 released device_hotplug_lock exclusive",
                        }));
}

TEST(LockSignals, ADetachedObserverSeesNothingMore) {
  EnvironmentMachine m;
  MachineEnvironment& env = m.env();
  Recorder seen, stays;
  seen.observe(env.lock_signals());
  stays.observe(env.lock_signals());
  m.spawn(1, [&] {
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "a");
    seen.detach(env.lock_signals());
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  });
  m.run();
  EXPECT_EQ(seen.lines, (std::vector<std::string>{"0 cpu1 requested slab_mutex exclusive",
                                                  "0 cpu1 acquired slab_mutex exclusive"}));
  EXPECT_EQ(stays.lines.size(), 3u);
}

}  // namespace
}  // namespace slabsim::sim
