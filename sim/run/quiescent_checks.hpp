// The allocator's global invariant checks, run at quiescent moments: they hold only when no CPU
// or event task is inside the allocator (a CPU waiting for a lock in a slow path has half-moved
// objects), so a check asked for after an event waits until everything inside has returned.
#pragma once

#include <optional>
#include <string>

#include "allocator/allocator.hpp"

namespace slabsim::sim {

class QuiescentChecks {
 public:
  explicit QuiescentChecks(alloc::Allocator& allocator) : allocator_(allocator) {}

  // Asks for a check labelled `where` (replacing one still waiting) and runs it if nothing is
  // inside the model.
  void request(std::string where) {
    due_ = std::move(where);
    run_if_quiescent();
  }
  // Runs the check asked for if nothing is inside the model: at operation boundaries.
  void run_if_quiescent() {
    if (!due_ || inside_ > 0) return;
    allocator_.state().check_invariants(due_->c_str());
    due_.reset();
  }

  // Code entering and leaving the model (ModelCall).
  void enter() { ++inside_; }
  void leave() { --inside_; }

 private:
  alloc::Allocator& allocator_;
  int inside_ = 0;  // calls into the allocator under way, over all actors
  std::optional<std::string> due_;
};

}  // namespace slabsim::sim
