// What a deadlocked run shows: the actors SimGrid found blocked, the locks each CPU holds and
// the one each waits for, in words ("CPU 1 holds slab_mutex#0, taken in kmem_cache_destroy").
#pragma once

#include "engine/simulation.hpp"
#include "kernel/held_locks.hpp"
#include "run/metrics.hpp"

namespace slabsim::sim {

DeadlockInfo describe_deadlock(const RunResult& end, const HeldLocks& locks);

}  // namespace slabsim::sim
