// What the CPUs do with kernel locks, as signals: the environment emits them from its one lock
// path, and observers that must see every acquisition subscribe to them (lockdep, the registry
// of held locks a deadlock report shows, the trace) instead of being called from each lock path.
//
// Order: for a lock() that may wait, `requested` (after the CPU has paid its local work, before
// it waits), then `acquired` once it holds the lock; a trylock that succeeds is only `acquired`
// (with `trylock` set), one that fails emits nothing. kernfs_get_active() is a trylock read of
// kernfs_active, kernfs_put_active() its release. Observers see the events in the order the
// CPUs made them, which is the simulation's (deterministic) order.
#pragma once

#include <cstdint>

#include "allocator/lock_class.hpp"
#include "kernel/signal.hpp"

namespace slabsim::sim {

struct LockEvent {
  int cpu = 0;  // the CPU the acquiring code runs as
  alloc::LockClass cls = alloc::LockClass::slab_mutex;
  std::uint64_t instance = 0;
  alloc::LockMode mode = alloc::LockMode::exclusive;
  const char* function = "";  // the kernel function taking it (a literal); "" on release
  std::int64_t now_ns = 0;    // the CPU's time
  bool trylock = false;       // acquired by a trylock, which never waits
};

struct LockSignals {
  Signal<const LockEvent&> requested;
  Signal<const LockEvent&> acquired;
  Signal<const LockEvent&> released;
};

}  // namespace slabsim::sim
