// A lock dependency validator in the manner of the kernel's lockdep (kernel/locking/lockdep.c),
// for the lock classes of the model. Plain C++ (no SimGrid): it observes every acquisition and
// release of a run (observe(), the lock signals); it needs no simulated time, so it reports
// *possible* deadlocks, including orderings whose acquisitions never overlapped in time.
//
// What it keeps:
// - Per CPU (each CPU is one execution context of the simulation), the stack of held locks, as
//   lockdep's task->held_locks. release() removes the most recent entry of the same class and
//   mode, wherever it is in the stack (out-of-order unlocks are legal).
// - A directed graph (Boost.Graph adjacency_list) whose vertices are lock classes, not
//   instances, as lockdep's: every &n->list_lock is one vertex. On acquire(), an edge
//   held -> acquired is added for every class the CPU already holds, taken from its most
//   recent entry (lockdep adds only the edge from the most recent non-trylock lock; the extra
//   transitive edges are implied by lockdep's too, so they find shorter cycles, never false
//   ones). Each edge remembers the first chain that created it: the CPU, the function that
//   took the held lock and the one taking the new lock, and both modes.
//
// What it reports (reports(), in the order found; format_report() prints them):
// - "possible circular locking dependency": after a dependency held -> acquired is added (or
//   an existing edge is seen with a new dependency type, see below), a path acquired -> ... ->
//   held is searched; a cycle is recorded once per distinct set of edges.
// - "possible recursive locking": a CPU acquires a class it already holds, unless both are reads
//   of a recursive-read class (see below). Such an acquisition adds no edge (lockdep stops
//   there too). Recorded once per (class, held mode, new mode).
// - A trylock (acquire(..., trylock = true)) cannot wait: as in lockdep, it is not checked and
//   adds no edge into its class; edges out of it are added when the CPU takes further locks.
//   (lockdep's kernfs_get_active() is such a trylock: rwsem_acquire_read(..., trylock=1).)
//
// The read/write rule (lockdep's since v5.10, "recursive read" support):
// - A held lock is Exclusive (exclusive or write mode) or Shared (read mode). An acquisition is
//   Recursive when it is a read of a class marked recursive-read (set_recursive_read()), that
//   is a lock whose readers never wait for a waiting writer (rwlock_t's read_lock() in
//   interrupt context; lockdep's read == 2); every other acquisition is Non-recursive. Each
//   edge carries the set of types seen: -(EN)->, -(ER)->, -(SN)->, -(SR)->.
// - A cycle is a deadlock unless at some lock class in it the edge entering the class is
//   -(*R)-> and the edge leaving it is -(S*)-> (the class is held for read, and the cycle's
//   other user of it only takes it recursively for read: two readers never block each other).
//   Cycles that are not excluded this way ("strong" cycles in lockdep's terms) are reported.
// - No class of the model is recursive-read by default: down_read() of the memory notifier
//   chain's rw_semaphore, percpu_down_read() of mem_hotplug_lock / cpu_hotplug_lock and the
//   kernfs active reference (kn->active) are all non-recursive reads for lockdep, because a
//   pending writer makes new readers wait. So a read of mem_hotplug_lock or kn->active against a
//   write elsewhere is reported (reference §4.6, §6.3), and so is a read-read ABBA of two such
//   classes (two queued writers make it a deadlock). Likewise two reads of the same
//   non-recursive class on one CPU are recursive locking (lockdep reports a nested down_read()).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "allocator/lock_class.hpp"
#include "kernel/lock_signals.hpp"

namespace slabsim::sim {

// One dependency: `to` was acquired while `from` was held.
struct LockdepEdge {
  alloc::LockClass from = alloc::LockClass::slab_mutex;
  alloc::LockClass to = alloc::LockClass::slab_mutex;
  alloc::LockMode from_mode = alloc::LockMode::exclusive;
  alloc::LockMode to_mode = alloc::LockMode::exclusive;
  std::string from_function;  // where the held lock was taken
  std::string to_function;    // where the new lock was being taken
  int cpu = 0;
};

struct LockdepReport {
  enum class Kind : std::uint8_t { circular, recursive };
  Kind kind = Kind::circular;
  int cpu = 0;  // the CPU whose acquisition found it
  // circular: the cycle. cycle[0] is the new dependency (held -> acquiring, with the current
  // acquisition's functions); cycle[1..] is the existing path from the acquiring class back to
  // the held one, each edge with the chain that first created it. cycle[i].to ==
  // cycle[i+1].from, cycle.back().to == cycle[0].from.
  // recursive: one entry, the held lock -> the same class being acquired again.
  std::vector<LockdepEdge> cycle;
};

class Lockdep {
 public:
  using Report = LockdepReport;

  Lockdep();
  ~Lockdep();
  Lockdep(const Lockdep&) = delete;
  Lockdep& operator=(const Lockdep&) = delete;

  // Marks `cls`'s read acquisitions as recursive reads (see the header comment). Call before
  // the run: edges already recorded keep their types.
  void set_recursive_read(alloc::LockClass cls, bool recursive = true);

  // Feeds acquire() and release() from a run's lock signals: a lock() is checked when it is
  // requested, before it waits (as mutex_lock() calls lock_acquire() before it waits), a trylock
  // once it has succeeded. `signals` must not be emitted once this object is gone.
  void observe(LockSignals& signals);

  // `function` must outlive the hold (the model passes string literals). cpu >= 0.
  void acquire(int cpu, alloc::LockClass cls, alloc::LockMode mode, const char* function,
               bool trylock = false);
  // Removes the most recent held entry of (cls, mode) on `cpu`; false if there is none
  // (lockdep's "bad unlock balance"), which changes nothing.
  bool release(int cpu, alloc::LockClass cls, alloc::LockMode mode);

  [[nodiscard]] const std::vector<Report>& reports() const { return reports_; }
  // Emitted with each new report. The kernel prints the first one only: print_usage_bug() and
  // print_circular_bug() call debug_locks_off(), and lockdep and lock statistics stop there
  // (an observer of this signal does the same to the lock statistics); this validator goes on
  // and reports every cycle the run makes.
  Signal<const Report&> reported;
  [[nodiscard]] std::size_t edge_count() const;
  // "A -> B (f1, f2)" per edge, in the order the edges were created: A held (taken in f1)
  // while B was taken in f2. Class names are lock_class_name()'s.
  [[nodiscard]] std::vector<std::string> edges() const;
  // How many locks `cpu` holds now.
  [[nodiscard]] std::size_t held_count(int cpu) const;

 private:
  struct Held {
    alloc::LockClass cls;
    alloc::LockMode mode;
    const char* function;
  };
  struct EdgeInfo {
    LockdepEdge first;       // the chain that created it
    std::uint8_t types = 0;  // dependency types seen, bits of dep_bit()
    std::size_t order = 0;   // creation index
  };
  // A Boost.Graph adjacency_list, defined in lockdep.cpp: its header is about 70,000 lines,
  // which every file that includes this one would otherwise parse.
  struct Graph;

  [[nodiscard]] bool recursive(alloc::LockClass cls, alloc::LockMode mode) const;
  void add_dependency(int cpu, const Held& held, const Held& next);
  void check_circular(int cpu, const Held& held, const Held& next, std::uint8_t type);
  void report_recursive(int cpu, const Held& held, const Held& next);

  std::unique_ptr<Graph> graph_;
  std::array<bool, alloc::lock_class_count> recursive_read_{};
  std::vector<std::vector<Held>> held_;  // per CPU
  std::vector<Report> reports_;
  std::set<std::vector<std::pair<int, int>>> seen_cycles_;
  std::set<std::array<int, 3>> seen_recursive_;
};

// The report as lockdep prints it (dmesg style, one '\n'-terminated line each): the WARNING
// line, the locks involved, "the existing dependency chain (in reverse order) is:" with one
// "-> #k (class){mode}:" block per edge (the function that took the held lock, then the one
// taking the new lock), and "other info that might help us debug this:" with the possible
// unsafe locking scenario.
[[nodiscard]] std::string format_report(const LockdepReport& report);

}  // namespace slabsim::sim
