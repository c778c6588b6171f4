// MachineEnvironment (sim/run/machine_environment): the current CPU comes from the running actor,
// whoever ran while it blocked, and an IPI handler runs as its target CPU even when it blocks on
// a lock inside run_on_cpu(). Every test runs with and without the engine's lookahead.
#include "run/machine_environment.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "environment_machine.hpp"

namespace slabsim::sim {
namespace {

using alloc::LockClass;
using alloc::LockMode;

using test_support::EnvironmentMachine;

class Environment : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Lookahead, Environment, ::testing::Bool());

// "<time> <what> as cpu <n>", and a failure when the CPU is not the one expected.
struct Log {
  MachineEnvironment& env;
  std::vector<std::string> lines;
  void operator()(int expected_cpu, const std::string& what) {
    EXPECT_EQ(env.current_cpu(), expected_cpu) << what;
    lines.push_back(fmt::format("{} {} as cpu {}", env.local_now(), what, env.current_cpu()));
  }
};

TEST_P(Environment, CurrentCpuIsTheRunningActorsAfterEveryBlockingCall) {
  EnvironmentMachine m(GetParam());
  MachineEnvironment& env = m.env();
  Log log{env, {}};
  for (int cpu : {0, 2}) {
    m.spawn(cpu, [&, cpu] {
      for (int i = 0; i < 3; ++i) {
        env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "test");
        log(cpu, "holds");
        env.charge(100);
        env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
        log(cpu, "released");
        env.sleep_for(10);
      }
    });
  }
  m.run();
  // The two CPUs take turns; the unlock hands the mutex over, and the CPU taking it runs first.
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{
                "5 holds as cpu 0", "110 holds as cpu 2", "105 released as cpu 0",
                "215 holds as cpu 0", "210 released as cpu 2", "320 holds as cpu 2",
                "315 released as cpu 0", "425 holds as cpu 0", "420 released as cpu 2",
                "530 holds as cpu 2", "525 released as cpu 0", "630 released as cpu 2"}));
}

// CPU 0 sends an IPI to CPU 1 whose handler blocks on slab_mutex, which CPU 2 holds: while it
// waits, CPU 2 and CPU 1's own task run and see their own CPUs; the handler resumes as CPU 1,
// and the sender is CPU 0 again once it has returned. CPU 1's own task takes no lock until then.
TEST_P(Environment, IpiHandlerBlockedOnALockStillRunsAsItsTarget) {
  EnvironmentMachine m(GetParam());
  MachineEnvironment& env = m.env();
  Log log{env, {}};
  std::vector<std::string> acquisitions;
  env.lock_signals().acquired.connect([&](const LockEvent& e) {
    acquisitions.push_back(
        fmt::format("{} cpu {} {}", e.now_ns, e.cpu, alloc::lock_class_name(e.cls)));
  });
  m.spawn(2, [&] {
    env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "holder");
    env.charge(1000);
    env.flush();
    log(2, "holder done");
    env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
  });
  m.spawn(0, [&] {
    env.sleep_for(10);
    env.run_on_cpu(1, [&] {
      log(1, "handler");
      env.lock(LockClass::slab_mutex, 0, LockMode::exclusive, "handler");
      log(1, "handler holds");
      env.unlock(LockClass::slab_mutex, 0, LockMode::exclusive);
    });
    log(0, "sender after the IPI");
  });
  m.spawn(1, [&] {
    env.sleep_for(20);
    EXPECT_TRUE(env.cpu_taken(1));
    log(1, "own task");
    env.lock(LockClass::list_lock, 7, LockMode::exclusive, "own task");  // waits for the handler
    log(1, "own task holds");
    env.unlock(LockClass::list_lock, 7, LockMode::exclusive);
  });
  m.run();
  // The sender pays the IPI (500 ns) and the handler's time; CPU 1's own task is woken as the
  // handler returns, at 1010, and takes its lock then.
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "10 handler as cpu 1", "20 own task as cpu 1",
                           "1005 holder done as cpu 2", "1010 handler holds as cpu 1",
                           "1015 own task holds as cpu 1", "1510 sender after the IPI as cpu 0"}));
  EXPECT_EQ(acquisitions, (std::vector<std::string>{"0 cpu 2 slab_mutex", "1005 cpu 1 slab_mutex",
                                                    "1010 cpu 1 &n->list_lock"}));
}

// An IPI to a CPU with interrupts off is taken at the local_irq_restore() that turns them back
// on (1234 ns here), not at some later poll, and the CPU's task waits for its handler at its next
// local_irq_save(); two IPIs waiting for the same CPU run one after the other, in arrival order.
// The first handler runs before the code after the restore, as the kernel's would.
TEST_P(Environment, AnInterruptIsTakenWhereInterruptsComeBackOn) {
  EnvironmentMachine m(GetParam());
  MachineEnvironment& env = m.env();
  Log log{env, {}};
  m.spawn(1, [&] {
    env.irq_disable();
    env.charge(1234);
    env.flush();
    env.irq_enable();
    log(1, "interrupts on");
    env.irq_disable();  // waits for both handlers
    log(1, "interrupts off again");
    env.irq_enable();
  });
  for (int sender : {0, 2}) {
    m.spawn(sender, [&, sender] {
      env.sleep_for(10 * (sender + 1));
      env.run_on_cpu(1, [&] {
        log(1, fmt::format("handler from cpu {}", sender));
        env.charge(100);
        env.flush();
      });
      log(sender, "sender after the IPI");
    });
  }
  m.run();
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{
                "1234 handler from cpu 0 as cpu 1", "1234 interrupts on as cpu 1",
                "1334 handler from cpu 2 as cpu 1", "1834 sender after the IPI as cpu 0",
                "1434 interrupts off again as cpu 1", "1934 sender after the IPI as cpu 2"}));
}

// rcu_barrier() returns as the last callback queued before it has run: here when CPU 1, which
// queued it, turns its interrupts back on 250 ns after the grace period ended (where a poll of
// every 100 ns returned at +300).
TEST_P(Environment, RcuBarrierReturnsAsTheLastCallbackHasRun) {
  EnvironmentMachine m(GetParam());
  MachineEnvironment& env = m.env();
  Log log{env, {}};
  const std::int64_t grace_end = RcuGracePeriod{}.end(0);
  m.spawn(1, [&] {
    env.call_rcu([&] { log(1, "callback"); });
    env.sleep_until(grace_end - 50);
    env.irq_disable();
    env.charge(300);
    env.flush();
    env.irq_enable();
  });
  m.spawn(0, [&] {
    env.sleep_for(10);
    env.rcu_barrier();
    log(0, "after the barrier");
  });
  m.run();
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           fmt::format("{} callback as cpu 1", grace_end + 250),
                           fmt::format("{} after the barrier as cpu 0", grace_end + 250)}));
}

// on_each_cpu() returns when every handler has run, also when the first handlers have nothing
// to wait for and end while the sender still spawns the others (a count kept one by one reached
// zero then, and the sender returned with `fn` gone before the last handlers ran).
TEST_P(Environment, RunOnCpusReturnsAfterTheLastHandlerEvenWhenTheFirstEndAtOnce) {
  EnvironmentMachine m(GetParam());
  MachineEnvironment& env = m.env();
  std::vector<int> ran;
  int after = -1;
  m.spawn(0, [&] {
    env.sleep_for(10);
    env.run_on_cpus({1, 2, 3, 0}, [&](int cpu) {
      if (cpu == 2 || cpu == 3) {  // CPU 1's handler and the sender's own make no engine call
        env.charge(100 * cpu);
        env.flush();
      }
      ran.push_back(cpu);
    });
    after = static_cast<int>(ran.size());
  });
  m.run();
  EXPECT_EQ(after, 4);
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3}));
}

// Boot and reports run outside the engine: the code runs as CPU 0, and an IPI handler at once
// as its target.
TEST(Environment, OutsideTheEngineHandlersRunAsTheirTarget) {
  EnvironmentMachine m(true);
  MachineEnvironment& env = m.env();
  env.set_outside_engine(true, 0);
  EXPECT_EQ(env.current_cpu(), 0);
  int seen = -1;
  env.run_on_cpu(3, [&] { seen = env.current_cpu(); });
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(env.current_cpu(), 0);
}

}  // namespace
}  // namespace slabsim::sim
