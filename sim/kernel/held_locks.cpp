#include "kernel/held_locks.hpp"

namespace slabsim::sim {

void HeldLocks::observe(LockSignals& signals) {
  signals.requested.connect([this](const LockEvent& e) { requested(e); });
  signals.acquired.connect([this](const LockEvent& e) { acquired(e); });
  signals.released.connect([this](const LockEvent& e) { released(e); });
}

void HeldLocks::requested(const LockEvent& e) {
  awaiting_[e.cpu] = LockUse{e.cpu, e.cls, e.instance, e.mode, e.function};
}

void HeldLocks::acquired(const LockEvent& e) {
  if (!e.trylock) awaiting_[e.cpu].reset();
  held_.push_back({e.cpu, e.cls, e.instance, e.mode, e.function});
}

void HeldLocks::released(const LockEvent& e) {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->cpu == e.cpu && it->cls == e.cls && it->instance == e.instance && it->mode == e.mode) {
      held_.erase(it);
      return;
    }
  }
}

std::vector<LockUse> HeldLocks::awaited() const {
  std::vector<LockUse> out;
  for (const auto& a : awaiting_)
    if (a) out.push_back(*a);
  return out;
}

}  // namespace slabsim::sim
