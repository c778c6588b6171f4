// How far a run has come: the operations and events played (the host block's engine_steps), and
// the user's progress callback every RunOptions::progress_every completed allocations and frees.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "engine/simulation.hpp"
#include "run/host_memory.hpp"
#include "run/runner.hpp"

namespace slabsim::sim {

class RunProgress {
 public:
  explicit RunProgress(std::function<void(std::int64_t simulated_ns)> callback,
                       std::uint64_t max_memory_bytes = 0)
      : callback_(std::move(callback)), max_memory_bytes_(max_memory_bytes) {}

  // An operation (even one skipped or failed) or an event was played.
  void step() { ++steps_; }
  // An allocation or a free completed.
  void operation_completed() {
    if (--until_callback_ > 0) return;
    until_callback_ = RunOptions::progress_every;
    check_resident(max_memory_bytes_, Simulation::now_ns());
    if (callback_) callback_(Simulation::now_ns());
  }
  [[nodiscard]] std::uint64_t steps() const { return steps_; }

 private:
  std::function<void(std::int64_t)> callback_;
  std::uint64_t max_memory_bytes_;
  std::uint64_t steps_ = 0;
  std::uint64_t until_callback_ = RunOptions::progress_every;
};

}  // namespace slabsim::sim
