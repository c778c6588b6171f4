// Lock statistics as CONFIG_LOCK_STAT keeps them per lock class, and the text of /proc/lock_stat
// (version 0.4) that shows them. Plain C++: no SimGrid here, so the formatter can be used and
// tested without a simulation.
//
// What is recorded, per class and separately for read and write (exclusive) acquisitions, in
// integer ns, following the lockdep hooks (kernel/locking/lockdep.c, lockdep_proc.c):
// - contended(): an acquisition had to wait. Counts a con-bounce when the waiting CPU differs
//   from the CPU that last acquired the lock instance (lockdep's lock->cpu), notes the waiter's
//   function as a contention point and the last acquirer's function as a contending point.
// - acquired(): the lock is taken. Counts an acq-bounce when the CPU differs from the last
//   acquirer's; a contended acquisition adds its wait (request to acquisition) to the waittime.
//   "contentions" is the number of waittimes recorded.
// - released(): adds the hold time. As in the kernel, "acquisitions" is the number of hold
//   times, so a lock still held is not counted yet.
// Two views are kept per class:
// - The simulator's (stats()): every wait and hold of every kind of lock, complete, which the
//   kernel cannot measure and which make the strategy comparison (results' "lock_waits").
// - The kernel's (kernel_stats()): only what v5.10's hooks record, which is what /proc/lock_stat
//   prints. The lock (kernel_lock.hpp) says which hooks its kernel counterpart calls: percpu
//   rw-semaphores never call lock_contended()/lock_acquired(), so they show no contention and
//   their hold time starts at lock_acquire(), the request; trylocks never call lock_acquired(),
//   so they make no acq-bounce and do not move lockdep's lock->cpu. After debug_locks_off()
//   (lockdep's first report) the kernel's view records nothing more (lockdep_enabled() is false
//   in every hook).
// Difference from a real kernel, on purpose: a contended acquisition whose wait was 0 ns (a
// hand-off at the same simulated instant) still counts as a contention (the kernel only records
// waits of non-zero length, which a real clock always gives). Not modelled yet: a mutex waiter
// that gets the lock by optimistic spinning records no contention in the kernel.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slabsim::sim {

// LOCKSTAT_POINTS: call sites remembered per class.
inline constexpr std::size_t lockstat_points = 4;

// struct lock_time: min, max and total of the recorded durations, in ns.
struct LockTime {
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::int64_t total = 0;
  std::uint64_t nr = 0;

  void add(std::int64_t ns);
  // total / nr, truncated; 0 when nothing was recorded.
  [[nodiscard]] std::int64_t avg() const;
  bool operator==(const LockTime&) const = default;
};

// A contention or contending point: the kernel function, and how many times it was seen.
struct LockPoint {
  std::string function;
  std::uint64_t count = 0;
  bool operator==(const LockPoint&) const = default;
};

// What /proc/lock_stat prints for one class: struct lock_class_stats plus the class's name.
struct LockClassStats {
  std::string name;      // lock_class_base_name(); truncated to 37 characters when printed
  int name_version = 1;  // printed as "#<version>" when > 1 (one digit, as the kernel does)
  int subclass = 0;      // printed as "/<subclass>" when != 0 (one digit)
  LockTime read_waittime;
  LockTime write_waittime;
  LockTime read_holdtime;   // its nr is the "acquisitions" of the -R line
  LockTime write_holdtime;  // its nr is the "acquisitions" of the -W (or plain) line
  std::uint64_t con_bounces_read = 0;
  std::uint64_t con_bounces_write = 0;
  std::uint64_t acq_bounces_read = 0;
  std::uint64_t acq_bounces_write = 0;
  // At most lockstat_points each, in the order first seen.
  std::vector<LockPoint> contention_points;  // functions that waited
  std::vector<LockPoint> contending_points;  // functions that last acquired the lock then

  // The name in full, "#<version>" included (lock_class_name()): what the results call it.
  [[nodiscard]] std::string full_name() const;
  // read + write contentions, the sort key of /proc/lock_stat.
  [[nodiscard]] std::uint64_t contentions() const;
  bool operator==(const LockClassStats&) const = default;
};

// The statistics of one lock class, fed by every instance of the class (as lockdep aggregates
// all locks that share a class key). The bounce decisions are the caller's: it knows the CPU
// that last acquired the instance (in each view: the kernel's lock->cpu moves only at
// lock_acquired()).
class LockStat {
 public:
  enum class View : std::uint8_t { simulator, kernel };

  // `name`: the class's name string; `name_version`: lockdep's #N (1: none).
  explicit LockStat(std::string name, int name_version = 1);

  // lock_contended(): `function` waits; `holder_function` last acquired the instance (empty if
  // it was never acquired: no contending point is recorded then).
  // Both are the model's function names, string literals: a point is found by the literal's
  // address first, by its text only when that fails.
  void contended(View view, bool read, bool bounce, const char* function,
                 const char* holder_function);
  // lock_acquired(): `waittime_ns` is the wait of a contended acquisition, or < 0 when the
  // acquisition did not wait (nothing is added to the waittime then).
  void acquired(View view, bool read, bool bounce, std::int64_t waittime_ns);
  // lock_release(): the hold time of one acquisition.
  void released(View view, bool read, std::int64_t holdtime_ns);

  // debug_locks_off(): the kernel's view stops recording.
  void debug_locks_off() { debug_locks_ = false; }
  [[nodiscard]] bool debug_locks() const { return debug_locks_; }

  // Writing "0" to /proc/lock_stat: everything but the name goes back to zero, in both views.
  void clear();

  [[nodiscard]] const LockClassStats& stats() const { return stats_; }
  [[nodiscard]] const LockClassStats& kernel_stats() const { return kernel_; }

 private:
  // The view's statistics, or nullptr when it records nothing now.
  LockClassStats* of(View view);

  // The literal each point of a view was last counted from, by its index in the points.
  struct PointKeys {
    std::array<const char*, lockstat_points> contention{};
    std::array<const char*, lockstat_points> contending{};
  };

  LockClassStats stats_;
  LockClassStats kernel_;
  std::array<PointKeys, 2> keys_{};  // index: View
  bool debug_locks_ = true;
};

// Inline: every acquisition and release records in both views.
inline void LockTime::add(std::int64_t ns) {
  if (ns > max) max = ns;
  if (ns < min || nr == 0) min = ns;
  total += ns;
  ++nr;
}

inline LockClassStats* LockStat::of(View view) {
  if (view == View::simulator) return &stats_;
  return debug_locks_ ? &kernel_ : nullptr;
}

inline void LockStat::acquired(View view, bool read, bool bounce, std::int64_t waittime_ns) {
  LockClassStats* s = of(view);
  if (!s) return;
  if (waittime_ns >= 0) (read ? s->read_waittime : s->write_waittime).add(waittime_ns);
  if (bounce) ++(read ? s->acq_bounces_read : s->acq_bounces_write);
}

inline void LockStat::released(View view, bool read, std::int64_t holdtime_ns) {
  LockClassStats* s = of(view);
  if (!s) return;
  (read ? s->read_holdtime : s->write_holdtime).add(holdtime_ns);
}

// The text of /proc/lock_stat for `classes`: the "lock_stat version 0.4" header (plus the
// "*WARNING* lock debugging disabled!!" line if asked), then the classes sorted by descending
// contentions, ties by name, version and subclass (the kernel's sort is not stable; this one is
// deterministic). Classes that were never released print nothing, as in the kernel.
//
// The simulator has no code addresses: a contention point's address column prints
// "[<0000000000000000>]" and its symbol column the bare function name (the kernel prints
// "function+0xoff/0xsize").
std::string format_lock_stat(std::vector<LockClassStats> classes,
                             bool lock_debugging_disabled = false);

// One time as lock_stat prints it: ns + 5, then "<us>.<two digits>", cut to 14 characters.
std::string format_lock_stat_time(std::int64_t ns);

}  // namespace slabsim::sim
