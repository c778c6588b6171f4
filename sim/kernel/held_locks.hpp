// The locks each CPU holds and the one it waits for, kept from the lock signals: what a deadlock
// report shows, since a deadlocked run ends with the CPUs' actors killed mid-wait.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "allocator/lock_class.hpp"
#include "kernel/lock_signals.hpp"

namespace slabsim::sim {

struct LockUse {
  int cpu = 0;
  alloc::LockClass cls = alloc::LockClass::slab_mutex;
  std::uint64_t instance = 0;
  alloc::LockMode mode = alloc::LockMode::exclusive;
  const char* function = "";  // the kernel function that took or asked for it (a literal)
};

class HeldLocks {
 public:
  explicit HeldLocks(int nr_cpu_ids) : awaiting_(static_cast<std::size_t>(nr_cpu_ids)) {}

  // Subscribes to `signals`, which must not be emitted once this object is gone.
  void observe(LockSignals& signals);

  // The locks held right now, in acquisition order over all CPUs.
  [[nodiscard]] const std::vector<LockUse>& held() const { return held_; }
  // The lock each waiting CPU waits for, by CPU id.
  [[nodiscard]] std::vector<LockUse> awaited() const;

 private:
  void requested(const LockEvent& e);
  void acquired(const LockEvent& e);
  void released(const LockEvent& e);

  std::vector<LockUse> held_;
  // Per CPU. An IPI handler running as a CPU whose own task waits overwrites the task's entry
  // while it waits itself.
  std::vector<std::optional<LockUse>> awaiting_;
};

}  // namespace slabsim::sim
