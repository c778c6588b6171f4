// How far a run has come: the operations and events played (the host block's engine_steps), and
// the user's progress callback every RunOptions::progress_every completed allocations and frees.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "engine/simulation.hpp"
#include "run/runner.hpp"

namespace slabsim::sim {

class RunProgress {
 public:
  explicit RunProgress(std::function<void(std::int64_t simulated_ns)> callback)
      : callback_(std::move(callback)) {}

  // An operation (even one skipped or failed) or an event was played.
  void step() { ++steps_; }
  // An allocation or a free completed.
  void operation_completed() {
    if (--until_callback_ > 0) return;
    until_callback_ = RunOptions::progress_every;
    if (callback_) callback_(Simulation::now_ns());
  }
  [[nodiscard]] std::uint64_t steps() const { return steps_; }

 private:
  std::function<void(std::int64_t)> callback_;
  std::uint64_t steps_ = 0;
  std::uint64_t until_callback_ = RunOptions::progress_every;
};

}  // namespace slabsim::sim
