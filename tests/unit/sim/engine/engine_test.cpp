#include <gtest/gtest.h>
#include <signal.h>

#include <csignal>
#include <cstdint>
#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <string>
#include <vector>
#include <xbt/config.hpp>

#include "engine/simulation.hpp"
#include "two_node_machine.hpp"

namespace slabsim::sim {
namespace {

using test_support::two_node_machine;

volatile std::sig_atomic_t sigint_seen = 0;
void test_sigint_handler(int) {
  sigint_seen = 1;
}

void (*current_sigint_handler())(int) {
  struct sigaction sa {};
  sigaction(SIGINT, nullptr, &sa);
  return sa.sa_handler;
}

// Under AddressSanitizer, the first throw (or other noreturn call) on an actor's stack, a stack
// ASan does not know about, makes ASan itself print a three-line warning once per process. It is
// not SimGrid output, so the silence checks leave it out.
std::string without_asan_stack_warning(std::string err) {
  const std::string first = "WARNING: ASan is ignoring requested __asan_handle_no_return";
  const std::string last = "https://github.com/google/sanitizers/issues/189\n";
  auto at = err.find(first);
  if (at == std::string::npos) return err;
  auto begin = err.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  auto end = err.find(last, at);
  if (end == std::string::npos) return err;
  return err.erase(begin, end + last.size() - begin);
}

// A deadlock's report, "<name> on <host>" in its order.
std::vector<std::string> blocked_list(const RunResult& r) {
  std::vector<std::string> list;
  for (const auto& b : r.blocked)
    list.push_back(b.name + " on " + b.host);
  return list;
}

// One actor sleeps 100 ns; returns what it saw.
std::int64_t run_one_sleeper(RunResult* result) {
  Simulation sim(two_node_machine());
  std::int64_t seen = -1;
  sim.spawn_on_cpu(1, "sleeper", [&] {
    Simulation::sleep_for(100);
    seen = Simulation::now_ns();
  });
  *result = sim.run();
  return seen;
}

// The tests below run with SimGrid ordering the actors (no lookahead) and with the wrapper
// ordering them (lookahead).
class EngineModes : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Lookahead, EngineModes, ::testing::Bool());

TEST_P(EngineModes, FiftyRunsEachStartAtZero) {
  const auto machine = two_node_machine();
  double previous_absolute = -1;
  for (int i = 0; i < 50; ++i) {
    Simulation sim(machine);
    sim.set_lookahead(GetParam());
    EXPECT_EQ(sim.host_count(), machine.cpu_ids().size() + 1);
    std::int64_t start_seen = -1, seen = -1;
    sim.spawn_on_cpu(i % 4, "sleeper", [&] {
      start_seen = Simulation::now_ns();
      Simulation::sleep_for(100);
      seen = Simulation::now_ns();
    });
    RunResult r = sim.run();
    EXPECT_EQ(start_seen, 0) << "run " << i;
    EXPECT_EQ(seen, 100) << "run " << i;
    EXPECT_EQ(r.end_time_ns, 100) << "run " << i;
    EXPECT_FALSE(r.deadlock);
    // SimGrid's own clock is process-wide and keeps growing without lookahead; ours restarts
    // each run. With lookahead SimGrid's clock does not move at all.
    double absolute = simgrid::s4u::Engine::get_clock();
    if (GetParam()) {
      EXPECT_EQ(absolute, previous_absolute < 0 ? absolute : previous_absolute);
    } else {
      EXPECT_GT(absolute, previous_absolute);
    }
    previous_absolute = absolute;
  }
  if (!GetParam()) {
    EXPECT_GE(previous_absolute, 50 * 100.0);
  }
}

// set_actor_stack_kib() applies to the engines made from then on, and 0 restores slabsim's
// default.
TEST(Engine, ActorStackSizeIsSetForTheNextEngines) {
  EXPECT_THROW(Simulation::set_actor_stack_kib(-1), std::invalid_argument);
  for (const int kib : {256, 0}) {
    Simulation::set_actor_stack_kib(kib);
    Simulation sim(two_node_machine());
    int seen = -1;
    sim.spawn_on_cpu(0, "reader", [&] {
      seen = simgrid::config::get_value<int>("contexts/stack-size");
      Simulation::sleep_for(10);
    });
    EXPECT_FALSE(sim.run().deadlock);
    EXPECT_EQ(seen, kib == 0 ? Simulation::default_actor_stack_kib : kib);
  }
}

TEST(Engine, PlatformHasOneHostPerCpuPlusEvents) {
  Simulation sim(two_node_machine());
  EXPECT_EQ(sim.host_count(), 5u);
  for (int cpu = 0; cpu < 4; ++cpu) {
    auto* host = simgrid::s4u::Host::by_name("cpu" + std::to_string(cpu));
    EXPECT_EQ(host->get_core_count(), 1);
    EXPECT_DOUBLE_EQ(host->get_speed(), 1.0);
    EXPECT_STREQ(host->get_property("node"), cpu < 2 ? "0" : "1");
    EXPECT_STREQ(host->get_property("socket"), cpu < 2 ? "0" : "1");
  }
  EXPECT_NE(simgrid::s4u::Host::by_name_or_null("events"), nullptr);

  // 1 flop per ns: executing 250 flops on a CPU takes 250 ns.
  std::vector<std::string> where;
  std::int64_t exec_end = -1;
  sim.spawn_on_cpu(3, "worker", [&] {
    where.push_back(simgrid::s4u::this_actor::get_host()->get_name());
    simgrid::s4u::this_actor::execute(250);
    exec_end = Simulation::now_ns();
  });
  sim.spawn_event_actor("hotplug", [&] {
    where.push_back(simgrid::s4u::this_actor::get_host()->get_name());
    Simulation::sleep_until(40);
    EXPECT_EQ(Simulation::now_ns(), 40);
    Simulation::sleep_until(10);  // already past: returns at once
    EXPECT_EQ(Simulation::now_ns(), 40);
    Simulation::sleep_for(0);
    EXPECT_EQ(Simulation::now_ns(), 40);
    EXPECT_THROW(Simulation::sleep_for(-1), std::invalid_argument);
  });
  RunResult r = sim.run();
  EXPECT_EQ(exec_end, 250);
  EXPECT_EQ(r.end_time_ns, 250);
  EXPECT_EQ(where, (std::vector<std::string>{"cpu3", "events"}));
}

TEST_P(EngineModes, ExceptionInActorReachesCaller) {
  const auto machine = two_node_machine();
  for (int round = 0; round < 3; ++round) {
    Simulation sim(machine);
    sim.set_lookahead(GetParam());
    bool survivor_finished = false;
    sim.spawn_on_cpu(0, "victim", [] {
      Simulation::sleep_for(10);
      throw std::runtime_error("boom");
    });
    sim.spawn_on_cpu(2, "bystander", [&] {
      Simulation::sleep_for(1000);
      survivor_finished = true;
    });
    sim.spawn_event_actor("later", [&] { Simulation::sleep_for(500); });
    try {
      sim.run();
      ADD_FAILURE() << "run() returned normally";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
    EXPECT_FALSE(survivor_finished);  // the first exception stops the whole run
    EXPECT_THROW(sim.run(), std::logic_error);
  }
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
  EXPECT_EQ(r.end_time_ns, 100);
}

TEST_P(EngineModes, FirstExceptionWinsAndAnyTypeIsKept) {
  {
    Simulation sim(two_node_machine());
    sim.set_lookahead(GetParam());
    sim.spawn_on_cpu(0, "first", [] {
      Simulation::sleep_for(5);
      throw 42;
    });
    sim.spawn_on_cpu(1, "second", [] {
      Simulation::sleep_for(6);
      throw std::logic_error("too late");
    });
    EXPECT_THROW(sim.run(), int);
  }
  {
    // Thrown before the actor's first simcall, while other actors have not started yet.
    Simulation sim(two_node_machine());
    sim.set_lookahead(GetParam());
    sim.spawn_on_cpu(0, "immediate", [] { throw std::out_of_range("at once"); });
    bool ran = false;
    sim.spawn_on_cpu(1, "never", [&] { ran = true; });
    EXPECT_THROW(sim.run(), std::out_of_range);
    EXPECT_FALSE(ran);
  }
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
}

TEST(Engine, DeadlockIsAResultAndSilent) {
  const auto machine = two_node_machine();
  for (int round = 0; round < 2; ++round) {
    testing::internal::CaptureStderr();
    RunResult r;
    {
      Simulation sim(machine);
      auto m1 = simgrid::s4u::Mutex::create();
      auto m2 = simgrid::s4u::Mutex::create();
      // Spawned in reverse name order: the report is sorted, not in creation order.
      sim.spawn_on_cpu(2, "task-b", [m1, m2] {
        m2->lock();
        Simulation::sleep_for(10);
        m1->lock();
      });
      sim.spawn_on_cpu(0, "task-a", [m1, m2] {
        m1->lock();
        Simulation::sleep_for(10);
        m2->lock();
      });
      sim.spawn_event_actor("bystander", [] { Simulation::sleep_for(3); });
      r = sim.run();
    }
    EXPECT_EQ(without_asan_stack_warning(testing::internal::GetCapturedStderr()), "");
    EXPECT_TRUE(r.deadlock);
    EXPECT_EQ(r.end_time_ns, 10);
    EXPECT_EQ(blocked_list(r), (std::vector<std::string>{"task-a on cpu0", "task-b on cpu2"}));
  }
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
  EXPECT_FALSE(r.deadlock);
  EXPECT_TRUE(r.blocked.empty());
}

// Actors parked on wake-ups nobody gives: a deadlock, reported with every actor still alive
// (daemons too), at the time the last one blocked; a daemon parked for good does not keep a
// finished run alive.
TEST_P(EngineModes, ParkedForGoodIsADeadlock) {
  RunResult r;
  {
    Simulation sim(two_node_machine());
    sim.set_lookahead(GetParam());
    Wakeup never_a, never_b, never_daemon;
    sim.spawn_on_cpu(2, "task-b", [&] {
      Simulation::sleep_for(12);
      never_b.park();
    });
    sim.spawn_on_cpu(0, "task-a", [&] {
      Simulation::sleep_for(10);
      never_a.park();
    });
    sim.spawn_event_actor("bystander", [] { Simulation::sleep_for(3); });
    sim.spawn_event_actor(
        "daemon", [&] { never_daemon.park(); }, ActorKind::daemon);
    r = sim.run();
  }
  EXPECT_TRUE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 12);
  EXPECT_EQ(blocked_list(r),
            (std::vector<std::string>{"daemon on events", "task-a on cpu0", "task-b on cpu2"}));

  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  Wakeup never;
  sim.spawn_event_actor(
      "daemon", [&] { never.park(); }, ActorKind::daemon);
  sim.spawn_on_cpu(1, "work", [] { Simulation::sleep_for(8); });
  r = sim.run();
  EXPECT_FALSE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 8);
}

TEST_P(EngineModes, DaemonsDoNotKeepTheRunAlive) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  int ticks = 0;
  sim.spawn_event_actor(
      "reaper",
      [&] {
        for (;;) {
          Simulation::sleep_for(10);
          ++ticks;
        }
      },
      ActorKind::daemon);
  sim.spawn_on_cpu(0, "work", [] { Simulation::sleep_for(55); });
  RunResult r = sim.run();
  EXPECT_FALSE(r.deadlock);
  EXPECT_EQ(r.end_time_ns, 55);
  EXPECT_EQ(ticks, 5);
}

TEST_P(EngineModes, ActorsCanSpawnActors) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  std::vector<std::int64_t> seen;
  sim.spawn_event_actor("parent", [&] {
    Simulation::sleep_for(20);
    sim.spawn_on_cpu(3, "child", [&] {
      Simulation::sleep_for(5);
      seen.push_back(Simulation::now_ns());
    });
  });
  RunResult r = sim.run();
  EXPECT_EQ(seen, (std::vector<std::int64_t>{25}));
  EXPECT_EQ(r.end_time_ns, 25);
  EXPECT_THROW(sim.spawn_on_cpu(0, "late", [] {}), std::logic_error);
}

// SimGrid actors created in this process, counted from the creation signal (connected once:
// SimGrid keeps its signals across engines).
int simgrid_actors_created() {
  static int created = 0;
  static const bool connected = [] {
    simgrid::s4u::Actor::on_creation_cb([](simgrid::s4u::Actor&) { ++created; });
    return true;
  }();
  (void)connected;
  return created;
}

// With lookahead, a stack whose body has ended runs the next body spawned, whatever its CPU or
// kind; each body keeps its own id, name, time and kind.
TEST_P(EngineModes, EndedActorsRunLaterBodies) {
  const int created_before = simgrid_actors_created();
  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  struct Seen {
    long id;
    std::string name;
    std::int64_t at;
  };
  std::vector<Seen> seen;
  std::int64_t regular_done = -1;
  sim.spawn_on_cpu(0, "driver", [&] {
    for (int i = 0; i < 200; ++i) {
      sim.spawn_on_cpu(1, "child-" + std::to_string(i), [&] {
        Simulation::sleep_for(1);
        seen.push_back({Simulation::actor_id(), Simulation::actor_name(), Simulation::now_ns()});
      });
      Simulation::sleep_for(2);
    }
    sim.spawn_on_cpu(2, "regular", [&] {
      Simulation::sleep_for(100);
      regular_done = Simulation::now_ns();
    });
  });
  sim.spawn_on_cpu(
      2, "daemon", [] { Simulation::sleep_for(1); }, ActorKind::daemon);
  const RunResult r = sim.run();
  ASSERT_EQ(seen.size(), 200u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].name, "child-" + std::to_string(i));
    EXPECT_EQ(seen[i].at, static_cast<std::int64_t>(2 * i + 1));
    if (i > 0) {
      EXPECT_GT(seen[i].id, seen[i - 1].id);
    }
  }
  EXPECT_EQ(regular_done, 500);
  EXPECT_EQ(r.end_time_ns, 500);
  EXPECT_FALSE(r.deadlock);
  // With lookahead, fibers: the driver's, the daemon's and one for the children, which the
  // regular body then reuses, and no SimGrid actor at all. Without it, a SimGrid actor each.
  EXPECT_EQ(r.actor_stacks, GetParam() ? 3u : 203u);
  EXPECT_EQ(simgrid_actors_created() - created_before, GetParam() ? 0 : 203);
}

TEST_P(EngineModes, ADaemonSpawnedDuringTheRunEndsWithIt) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  int ticks = 0;
  sim.spawn_on_cpu(0, "driver", [&] {
    Simulation::sleep_for(3);
    sim.spawn_on_cpu(
        2, "ticker",
        [&] {
          for (;;) {
            Simulation::sleep_for(10);
            ++ticks;
          }
        },
        ActorKind::daemon);
    Simulation::sleep_for(50);
  });
  const RunResult r = sim.run();
  EXPECT_EQ(r.end_time_ns, 53);
  // Ticks at 13 ... 43; the one due at 53 was registered after the driver's end, which wins.
  EXPECT_EQ(ticks, 4);
}

// An actor killed at the run's end whose destructors block (a lock guard that wakes a waiter,
// a sleep): without lookahead SimGrid's unwinding stops at the first such call, and the rest of
// that destructor never runs; with it the calls return at once, without moving time, and the
// destructors run to their end. Either way the run ends, and the next one runs.
TEST_P(EngineModes, DestructorsOfAKilledActorMayBlock) {
  struct BlocksWhenDestroyed {
    Wakeup* waiter;
    std::vector<std::int64_t>* seen;
    ~BlocksWhenDestroyed() {
      waiter->release();
      Simulation::sleep_for(5);
      seen->push_back(Simulation::now_ns());
    }
  };
  Wakeup nobody;
  std::vector<std::int64_t> seen;
  {
    Simulation sim(two_node_machine());
    sim.set_lookahead(GetParam());
    sim.spawn_on_cpu(
        1, "daemon",
        [&] {
          BlocksWhenDestroyed guard{&nobody, &seen};
          for (;;)
            Simulation::sleep_for(10);
        },
        ActorKind::daemon);
    sim.spawn_on_cpu(0, "work", [] { Simulation::sleep_for(25); });
    const RunResult r = sim.run();
    EXPECT_FALSE(r.deadlock);
    EXPECT_EQ(r.end_time_ns, 25);
  }
  EXPECT_EQ(seen, GetParam() ? std::vector<std::int64_t>{25} : std::vector<std::int64_t>{});
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
}

// A deadlock names the bodies that wait, not the ones that ran on their actors before.
TEST_P(EngineModes, ADeadlockNamesTheBodiesThatWait) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(GetParam());
  Wakeup never;
  sim.spawn_on_cpu(0, "driver", [&] {
    sim.spawn_on_cpu(1, "first", [] { Simulation::sleep_for(1); });
    Simulation::sleep_for(5);
    sim.spawn_on_cpu(1, "second", [&] { never.park(); });
  });
  const RunResult r = sim.run();
  EXPECT_TRUE(r.deadlock);
  EXPECT_EQ(blocked_list(r), (std::vector<std::string>{"second on cpu1"}));
}

TEST(Engine, SigintHandlerSurvivesARun) {
  struct sigaction mine {
  }, before{};
  mine.sa_handler = test_sigint_handler;
  sigemptyset(&mine.sa_mask);
  ASSERT_EQ(sigaction(SIGINT, &mine, &before), 0);
  {
    Simulation sim(two_node_machine());
    EXPECT_EQ(current_sigint_handler(), &test_sigint_handler);
    sim.spawn_on_cpu(0, "sleeper", [] { Simulation::sleep_for(100); });
    sim.run();
    EXPECT_EQ(current_sigint_handler(), &test_sigint_handler);
  }
  EXPECT_EQ(current_sigint_handler(), &test_sigint_handler);
  raise(SIGINT);  // ours, not SimGrid's exit(1)
  EXPECT_EQ(sigint_seen, 1);
  sigaction(SIGINT, &before, nullptr);
}

TEST_P(EngineModes, DestroyedWithoutRunLeavesNoTrace) {
  const auto machine = two_node_machine();
  for (int round = 0; round < 3; ++round) {
    testing::internal::CaptureStderr();
    int ran = 0;
    {
      Simulation sim(machine);
      sim.set_lookahead(GetParam());
      for (int cpu = 0; cpu < 4; ++cpu)
        sim.spawn_on_cpu(cpu, "worker" + std::to_string(cpu), [&] {
          ++ran;
          Simulation::sleep_for(10);
        });
      sim.spawn_event_actor("events", [&] { ++ran; });
      sim.spawn_event_actor(
          "daemon", [&] { ++ran; }, ActorKind::daemon);
    }
    EXPECT_EQ(ran, 0);
    EXPECT_EQ(without_asan_stack_warning(testing::internal::GetCapturedStderr()), "");
  }
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
  EXPECT_EQ(r.end_time_ns, 100);
}

TEST(Engine, BadUseThrowsInsteadOfAborting) {
  {
    Simulation sim(two_node_machine());
    EXPECT_THROW(sim.spawn_on_cpu(4, "x", [] {}), std::out_of_range);
    EXPECT_THROW(sim.spawn_on_cpu(-1, "x", [] {}), std::out_of_range);
    EXPECT_THROW(sim.spawn_on_cpu(0, "x", nullptr), std::invalid_argument);
    EXPECT_THROW(Simulation second(two_node_machine()), std::logic_error);
    EXPECT_THROW(Simulation::now_ns(), std::logic_error);  // not inside a run
    // The first one is unharmed.
    sim.spawn_on_cpu(0, "sleeper", [] { Simulation::sleep_for(7); });
    EXPECT_EQ(sim.run().end_time_ns, 7);
  }
  auto bad = two_node_machine();
  bad.nodes[1].cpus = {1, 2};  // cpu1 on both nodes
  EXPECT_THROW(Simulation{bad}, std::invalid_argument);
  RunResult r;
  EXPECT_EQ(run_one_sleeper(&r), 100);
}

// Model code that throws and catches inside an actor, on deep frames with local arrays, then
// reuses the stack; and actors killed mid-stack whose stacks the next run reuses. Under
// AddressSanitizer this needs stack instrumentation off (GCC --param=asan-stack=0, Clang
// -mllvm -asan-stack=0): ASan cannot clear the redzones of frames unwound on SimGrid's actor
// stacks, so it reports false stack-buffer-underflows here otherwise.
int throw_from_depth(int depth) {
  volatile char frame[64];
  for (auto& c : frame)
    c = static_cast<char>(depth);
  if (depth == 0) throw std::runtime_error("deep");
  return throw_from_depth(depth - 1) + frame[0];
}

int use_stack(int depth) {
  volatile char frame[160];
  for (auto& c : frame)
    c = static_cast<char>(depth);
  if (depth == 0) {
    Simulation::sleep_for(1);
    return 0;
  }
  return use_stack(depth - 1) + frame[depth % 160];
}

TEST_P(EngineModes, ActorStacksSurviveUnwinding) {
  const auto machine = two_node_machine();
  int caught = 0;
  for (int round = 0; round < 6; ++round) {
    Simulation sim(machine);
    sim.set_lookahead(GetParam());
    for (int cpu = 0; cpu < 4; ++cpu) {
      sim.spawn_on_cpu(cpu, "a" + std::to_string(cpu), [&caught, cpu, round] {
        for (int i = 0; i < 5; ++i) {
          try {
            throw_from_depth(12 + cpu);
          } catch (const std::runtime_error&) {
            ++caught;
          }
          use_stack(16);
        }
        if (round % 2 == 1 && cpu == 0) throw std::runtime_error("stop");  // kills the others
        use_stack(30);
      });
    }
    if (round % 2 == 1)
      EXPECT_THROW(sim.run(), std::runtime_error);
    else
      EXPECT_EQ(sim.run().end_time_ns, 6);  // six use_stack() calls of 1 ns each
  }
  EXPECT_EQ(caught, 6 * 4 * 5);
}

// Four CPUs contend for one lock with different hold times; every event is logged with its
// time relative to the run's start.
std::vector<std::string> contention_trace() {
  Simulation sim(two_node_machine());
  std::vector<std::string> trace;
  auto lock = simgrid::s4u::Mutex::create();
  for (int cpu = 0; cpu < 4; ++cpu) {
    sim.spawn_on_cpu(cpu, "cpu" + std::to_string(cpu) + "-task", [&trace, lock, cpu] {
      for (int i = 0; i < 20; ++i) {
        Simulation::sleep_for(cpu + 1);
        lock->lock();
        trace.push_back(std::to_string(Simulation::now_ns()) + " cpu" + std::to_string(cpu) +
                        " acquire " + std::to_string(i));
        Simulation::sleep_for(3 + cpu * 2);
        lock->unlock();
        trace.push_back(std::to_string(Simulation::now_ns()) + " cpu" + std::to_string(cpu) +
                        " release");
      }
    });
  }
  RunResult r = sim.run();
  trace.push_back("end " + std::to_string(r.end_time_ns));
  return trace;
}

TEST(Engine, DeterministicTraces) {
  auto first = contention_trace();
  RunResult r;
  run_one_sleeper(&r);  // moves SimGrid's absolute clock in between
  auto second = contention_trace();
  ASSERT_EQ(first.size(), 4u * 20 * 2 + 1);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.front().substr(0, 2), "1 ");  // cpu0's first sleep, from 0
}

// Lookahead: sleeps nobody else could notice skip SimGrid, yet every actor sees the same times
// and acts in the same order of simulated time as without it; a Wakeup hands the releaser's
// time to the woken actor, and an actor spawned by another starts at its spawner's time.
std::vector<std::string> wakeup_trace(bool lookahead, RunResult* out) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(lookahead);
  std::vector<std::string> trace;
  auto log = [&trace](const std::string& who) {
    trace.push_back(std::to_string(Simulation::now_ns()) + " " + who);
  };
  Wakeup wakeup;
  sim.spawn_on_cpu(0, "a", [&] {
    for (int i = 0; i < 10; ++i) {
      Simulation::sleep_for(100);
      log("a");
    }
    wakeup.release();
    Simulation::sleep_for(5);
    log("a after release");
  });
  sim.spawn_on_cpu(2, "b", [&] {
    Simulation::sleep_until(450);
    log("b");
    wakeup.park();
    log("b woken");
  });
  sim.spawn_event_actor("c", [&] {
    Simulation::sleep_until(1200);
    log("c");
    sim.spawn_on_cpu(3, "d", [&] {
      log("d");
      Simulation::sleep_for(7);
      log("d");
    });
    Simulation::sleep_for(3);
    log("c");
  });
  *out = sim.run();
  return trace;
}

TEST(Engine, LookaheadKeepsTimesAndOrder) {
  RunResult with, without;
  const auto a = wakeup_trace(true, &with);
  const auto b = wakeup_trace(false, &without);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, (std::vector<std::string>{"100 a", "200 a", "300 a", "400 a", "450 b", "500 a",
                                         "600 a", "700 a", "800 a", "900 a", "1000 a",
                                         "1000 b woken", "1005 a after release", "1200 c", "1200 d",
                                         "1203 c", "1207 d"}));
  EXPECT_EQ(with.end_time_ns, 1207);
  EXPECT_EQ(without.end_time_ns, 1207);
  EXPECT_EQ(without.skipped_sleeps, 0u);
  EXPECT_GT(with.skipped_sleeps, 0u);
  EXPECT_LT(with.engine_sleeps, without.engine_sleeps);
  // One park (b) and one release (a), lookahead or not: each is a semaphore simcall.
  EXPECT_EQ(with.engine_parks, 1u);
  EXPECT_EQ(with.engine_releases, 1u);
  EXPECT_EQ(without.engine_parks, 1u);
  EXPECT_EQ(without.engine_releases, 1u);
}

// The tie rule: waits that end at the same nanosecond end in the order they were registered,
// whatever the actors' ids, hosts or spawn order, with or without lookahead. A woken actor and
// a spawned one are registered before the actor that woke or spawned it goes on, so they run
// first (after the waits registered before them).
std::vector<std::string> tie_trace(bool lookahead) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(lookahead);
  std::vector<std::string> trace;
  auto log = [&trace](const std::string& who) {
    trace.push_back(std::to_string(Simulation::now_ns()) + " " + who);
  };
  // Each sleeps until 100 after a first sleep that orders their registrations: d, b, c, a.
  auto two_sleeps = [&](std::int64_t first, const std::string& who) {
    Simulation::sleep_until(first);
    Simulation::sleep_until(100);
    log(who);
  };
  Wakeup wakeup;
  sim.spawn_on_cpu(0, "a", [&] { two_sleeps(40, "a"); });
  sim.spawn_on_cpu(1, "b", [&] { two_sleeps(20, "b"); });
  sim.spawn_on_cpu(2, "c", [&] { two_sleeps(30, "c"); });
  sim.spawn_event_actor("d", [&] {
    two_sleeps(10, "d");
    wakeup.release();
    log("d after the release");
    sim.spawn_on_cpu(1, "f", [&] { log("f"); });
    log("d after the spawn");
    Simulation::sleep_for(0);
    log("d after a yield");
  });
  sim.spawn_on_cpu(3, "e", [&] {
    Simulation::sleep_until(50);
    wakeup.park();
    log("e woken");
    Simulation::sleep_for(0);
    log("e after a yield");
  });
  sim.run();
  return trace;
}

TEST(Engine, TiesEndInTheOrderTheWaitsWereRegistered) {
  const auto with = tie_trace(true);
  EXPECT_EQ(with, tie_trace(false));
  EXPECT_EQ(with,
            (std::vector<std::string>{"100 d", "100 b", "100 c", "100 a", "100 e woken",
                                      "100 d after the release", "100 e after a yield", "100 f",
                                      "100 d after the spawn", "100 d after a yield"}));
}

// Without lookahead every wait ends at its own instant of SimGrid's clock, a fraction of a
// nanosecond apart; far into simulated time a nanosecond holds fewer such instants, and a run
// that needs more is refused rather than ordered wrongly.
TEST(Engine, TooManyTiesForTheEngineClockAreAnError) {
  Simulation sim(two_node_machine());
  constexpr std::int64_t far = std::int64_t{1} << 42;  // 73 minutes
  for (int i = 0; i < 300; ++i)  // a nanosecond there holds 256 (2^-10 ns apart, up to 1/4)
    sim.spawn_event_actor("sleeper" + std::to_string(i), [] { Simulation::sleep_until(far); });
  try {
    sim.run();
    ADD_FAILURE() << "300 waits ending at 2^42 ns were ordered";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("waits end at the same nanosecond (4398046511104 ns)"),
              std::string::npos)
        << e.what();
  }
}

// The CPU an actor runs as comes from the actor, whoever ran in between: its spawn CPU, -1 for an
// event actor, and a RunAsCpu's CPU while that lives, across blocking calls, with and without
// lookahead.
std::vector<std::string> cpu_binding_trace(bool lookahead) {
  Simulation sim(two_node_machine());
  sim.set_lookahead(lookahead);
  std::vector<std::string> trace;
  auto log = [&trace](const std::string& who) {
    trace.push_back(std::to_string(Simulation::now_ns()) + " " + who + " as cpu " +
                    std::to_string(Simulation::current_cpu()));
  };
  Wakeup wakeup;
  sim.spawn_on_cpu(1, "a", [&] {
    log("a");
    {
      const Simulation::RunAsCpu handler(3);
      log("a handler");
      wakeup.park();  // blocked until d releases it, others run meanwhile
      log("a handler woken");
      Simulation::sleep_for(10);
      log("a handler");
    }
    log("a");
  });
  sim.spawn_on_cpu(3, "b", [&] {
    for (int i = 0; i < 3; ++i) {
      Simulation::sleep_for(4);
      log("b");
    }
  });
  sim.spawn_event_actor("c", [&] {
    Simulation::sleep_for(2);
    log("c");
  });
  sim.spawn_on_cpu(0, "d", [&] {
    Simulation::sleep_for(5);
    log("d");
    wakeup.release();
    Simulation::sleep_for(1);
    log("d");
  });
  sim.run();
  return trace;
}

TEST(Engine, CurrentCpuIsTheActorsOrTheOneItRunsAs) {
  const auto with = cpu_binding_trace(true);
  EXPECT_EQ(with, cpu_binding_trace(false));
  EXPECT_EQ(with, (std::vector<std::string>{
                      "0 a as cpu 1", "0 a handler as cpu 3", "2 c as cpu -1", "4 b as cpu 3",
                      "5 d as cpu 0", "5 a handler woken as cpu 3", "6 d as cpu 0", "8 b as cpu 3",
                      "12 b as cpu 3", "15 a handler as cpu 3", "15 a as cpu 1"}));
}

TEST(Engine, CurrentCpuOnlyInsideAnActor) {
  EXPECT_THROW(Simulation::current_cpu(), std::logic_error);
  EXPECT_THROW(Simulation::RunAsCpu(2), std::logic_error);
}

}  // namespace
}  // namespace slabsim::sim
