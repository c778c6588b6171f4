// The allocator's environment on the two-node test machine, wired as the runner wires it
// (sim/run/machine.cpp): the environment charges the lock acquire costs, not KernelLocks.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <utility>

#include "engine/simulation.hpp"
#include "kernel/kernel_locks.hpp"
#include "run/machine_environment.hpp"
#include "two_node_machine.hpp"

namespace slabsim::sim::test_support {

inline KernelLockConfig charged_by_environment() {
  KernelLockConfig c;
  c.mutex_acquire_ns = 0;
  c.spinlock_acquire_ns = 0;
  c.spinlock_cacheline_transfer = false;
  return c;
}

class EnvironmentMachine {
 public:
  explicit EnvironmentMachine(bool lookahead = false)
      : topology_(two_node_machine()),
        sim_(topology_),
        locks_(topology_, charged_by_environment()),
        env_(topology_, locks_, 1, 10000, 5, 5) {
    sim_.set_lookahead(lookahead);
    env_.set_spawner([this](int cpu, std::string name, std::function<void()> body) {
      sim_.spawn_on_cpu(cpu, std::move(name), [this, body = std::move(body)] {
        env_.actor_started();
        body();
      });
    });
  }
  MachineEnvironment& env() { return env_; }
  // An actor on `cpu`, which learns where it runs as the runner's do.
  void spawn(int cpu, std::function<void()> body) {
    sim_.spawn_on_cpu(cpu, fmt::format("cpu{}", cpu), [this, body = std::move(body)] {
      env_.actor_started();
      body();
    });
  }
  void run() { sim_.run(); }

 private:
  topology::Topology topology_;
  Simulation sim_;
  KernelLocks locks_;
  MachineEnvironment env_;
};

}  // namespace slabsim::sim::test_support
