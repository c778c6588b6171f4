// A run's timeline in Chrome's trace-event JSON format (what https://ui.perfetto.dev and
// chrome://tracing open): one track per CPU with its lock waits and holds, and the event
// tasks' hotplug operations (with their phases) and cache events. It is an observer: it
// records what the lock signals and the event tasks' operation signals tell it.
//
// The viewers build a call tree per track, so slices on one track must nest: a slice that has
// begun but not ended when the run stops (a deadlock) is ended at the end of the run, so that
// it still contains what it contained. Nothing here reads a host clock or an address, so the
// same run gives the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/lock_class.hpp"
#include "kernel/lock_signals.hpp"
#include "run/operation_signals.hpp"

namespace slabsim::sim {

// The trace file could not be written: an output path the user gave, so bad input.
struct TraceWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class TraceRecorder {
 public:
  // Identifies a slice begun with begin() until end() ends it.
  using SliceId = std::size_t;

  void name_process(std::string name);
  // The track of `tid` (a CPU id), and where the viewers list it.
  void name_thread(int tid, std::string name);
  // Run-wide facts for the file's "otherData" (machine, workload, strategy, seed).
  void set_metadata(nlohmann::json other_data) { other_data_ = std::move(other_data); }

  // A slice whose end is not known yet. `category` is kept as a view: a string literal.
  SliceId begin(int tid, std::int64_t start_ns, std::string name, std::string_view category,
                nlohmann::json args = nlohmann::json::object());
  // Ends it; `args` are added to those given at the start.
  void end(SliceId id, std::int64_t end_ns, const nlohmann::json& args = nlohmann::json::object());
  // A moment, shown as a mark on the track.
  void instant(int tid, std::int64_t at_ns, std::string name, std::string_view category,
               nlohmann::json args = nlohmann::json::object());

  // Records the event tasks' operations from their signals: a slice per cache event and per
  // hotplug operation, with its result; the phases of memory hotplug between its steps, on the
  // same track; a mark for each change of the error injection.
  void observe(OperationSignals& signals);
  // Records lock waits and holds from the run's lock signals. A lock() call may block: its
  // request begins a wait, which its acquisition ends (a wait slice when time passed). A trylock
  // that succeeds is an acquisition with no request. `signals` must not be emitted once this
  // object is gone.
  void observe(LockSignals& signals);

  // Ends what is still open at `end_ns` (marked "deadlock": true when the run ended in one).
  void finish(std::int64_t end_ns, bool deadlock);
  // The file's text: metadata first, then the slices by time, track, length (longest first)
  // and the order they began in: a slice must precede those it contains, even when they begin
  // together (the viewers take the first as the parent), and a slice begins before those it
  // contains. The run is deterministic, so that order is too.
  [[nodiscard]] std::string json_text() const;
  // json_text(), written atomically. Throws TraceWriteError.
  void write(const std::string& path) const;

  [[nodiscard]] std::size_t event_count() const { return metadata_.size() + events_.size(); }

 private:
  // A hotplug step reached on `tid`: ends the phase of the previous step and begins the phase
  // of this one. The phase also ends when the operation drops mem_hotplug_lock for write
  // (mem_hotplug_done()), because a phase must nest inside the lock's hold.
  void hotplug_step(int tid, std::string_view step, std::int64_t now_ns);
  void end_phase(int tid, std::int64_t now_ns);
  void lock_requested(const LockEvent& e);
  void lock_acquired(const LockEvent& e);
  void lock_released(const LockEvent& e);

  struct Event {
    char phase = 'X';  // 'X' a complete slice, 'i' an instant
    int tid = 0;
    std::int64_t start_ns = 0;
    std::int64_t duration_ns = -1;  // -1 while open
    std::string name;
    std::string_view category;
    nlohmann::json args;
  };
  struct Request {
    alloc::LockClass cls;
    std::uint64_t instance;
    alloc::LockMode mode;
    const char* function;
    std::int64_t since_ns;
  };
  struct Hold {
    alloc::LockClass cls;
    std::uint64_t instance;
    alloc::LockMode mode;
    SliceId slice;
  };
  struct PerCpu {
    // Usually at most one request: a second comes from an IPI handler running as the CPU
    // while the CPU's own task waits.
    std::vector<Request> requests;
    std::vector<Hold> holds;
    std::vector<SliceId> operations;  // begun, not yet ended
    SliceId phase = no_slice;
  };
  static constexpr SliceId no_slice = static_cast<SliceId>(-1);

  PerCpu& cpu(int id);

  std::vector<nlohmann::json> metadata_;
  std::vector<Event> events_;
  std::vector<PerCpu> cpus_;  // by CPU id
  nlohmann::json other_data_ = nlohmann::json::object();
};

}  // namespace slabsim::sim
