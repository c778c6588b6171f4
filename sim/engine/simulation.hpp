// The one door to SimGrid: a machine becomes a platform, model code becomes actors, and a run
// becomes a result. SimGrid 3.32 was written for one simulation per process and turns most
// errors into abort(); this wrapper makes runs repeatable in one process (Python, test suites)
// and turns actor exceptions and deadlocks into things the caller can handle. The measured
// behaviour it relies on is in reference/simgrid-3.32.md, sections 5 and 7.
//
// Time is integer nanoseconds: one SimGrid time unit is 1 ns and every CPU host runs at 1 flop
// per ns, so timestamps stay exact (doubles hold integers exactly up to 2^53 ns, ~104 days).
//
// Only sim/engine and tests include SimGrid; this header does not, so the rest of the project
// sees plain C++.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace slabsim::topology {
struct Topology;
}

namespace slabsim::sim {

struct BlockedActor {
  std::string name;
  std::string host;  // "cpu<N>" or "events"
};

struct RunResult {
  std::int64_t end_time_ns = 0;  // from the start of this run, not SimGrid's process-wide clock
  // Every actor still alive when SimGrid found that none could make progress (daemons too).
  bool deadlock = false;
  std::vector<BlockedActor> blocked;  // sorted by name, then host
  // Host-side cost figures, not part of any simulated result: sleeps through SimGrid's clock
  // (without lookahead), hand-overs from one actor to another (with it: one switch from its
  // stack to the next actor's), waits that ended with nobody else to run first
  // (with it: no switch), Wakeup's calls that blocked an actor (parks) or woke one (releases),
  // and the actor stacks made (without lookahead one SimGrid actor per body, with it a fiber
  // per body running at once).
  std::uint64_t engine_sleeps = 0;
  std::uint64_t handoffs = 0;
  std::uint64_t skipped_sleeps = 0;
  std::uint64_t engine_parks = 0;
  std::uint64_t engine_releases = 0;
  std::uint64_t actor_stacks = 0;
};

// A run ends when every regular actor has finished; daemons (background work such as reapers)
// are then killed wherever they are. Caveat: while regular actors are blocked forever, a daemon
// that keeps sleeping in a loop keeps time moving, so SimGrid never declares a deadlock and the
// run never ends.
enum class ActorKind { regular, daemon };

// One simulation: build, spawn, run once, read the result.
//
// At most one Simulation may exist at a time in a process (SimGrid has a single engine);
// constructing a second throws std::logic_error. A Simulation is used from one thread.
//
// SimGrid's logs are silenced for the whole process at the first construction: its threshold
// is set to critical and its output goes to /dev/null, because deadlock reports are CRITICAL and
// would otherwise reach stderr. Set SLABSIM_SIMGRID_LOG=<file> before the first construction to
// keep them in that file instead (useful when SimGrid aborts on an internal assertion, whose
// message would otherwise be lost).
//
// Ties: waits that end at the same nanosecond end in the order they were registered (a sleep
// when it begins, a wake-up when release() gives it, a new actor when it is spawned), with or
// without lookahead; release() and a spawn from an actor let the woken or new actor run first.
// SimGrid is given that order as fractions of a nanosecond on its clock: past 2^40 ns of its
// clock (the process's runs added up) a nanosecond holds 1,024 such instants at most, and more
// waits ending at one nanosecond make run() throw std::length_error.
//
// Actors are cooperative (one thread): code between two blocking calls runs atomically. An
// actor is killed (another actor threw, a deadlock was found, a daemon outlived the regular
// actors) by unwinding its stack with an exception that is not a std::exception: model code
// must not swallow it with catch (...). Without lookahead the unwinding stops for good at the
// first SimGrid call a destructor makes, and the destructors below that point never run; with
// it, blocking calls made while unwinding return at once. Results must not depend on either.
class Simulation {
 public:
  // Hosts: "cpu<N>" for each CPU of the machine (properties "node" and "socket"), plus "events"
  // for actors that play timed events and belong to no CPU. Throws std::invalid_argument for a
  // machine with duplicate or negative CPU ids, checked before the engine exists.
  explicit Simulation(const topology::Topology& machine);
  // Safe before run(): spawned actors are cancelled so that the next Simulation can be built.
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Callable before run() or from an actor during it. The body runs on the CPU's host and may
  // throw: the first exception stops the whole run (all actors are killed) and run() rethrows it.
  // Throws std::out_of_range for a CPU the machine lacks, std::logic_error after the run.
  void spawn_on_cpu(int cpu, std::string name, std::function<void()> body,
                    ActorKind kind = ActorKind::regular);
  void spawn_event_actor(std::string name, std::function<void()> body,
                         ActorKind kind = ActorKind::regular);

  // Lookahead (off by default; set before the first spawn): the wrapper orders the actors
  // itself, by the tie rule, and runs them itself, each on its own stack (a Boost.Context
  // fiber), without SimGrid. A wait after which nobody else can act first (every other actor is
  // due strictly later) costs no switch at all; any other hands over to the next actor, one switch
  // from its stack to the other's (tests/bench/engine_bench.cpp, `direct`). SimGrid's
  // clock then stays where the run began, and now_ns() is the wrapper's. Results are the same as
  // without lookahead, byte for byte; that holds only if actors block solely through sleep_for(),
  // sleep_until() and Wakeup: model code must make no SimGrid call (s4u::Mutex, execute,
  // this_actor), as with lookahead it runs outside any SimGrid actor.
  void set_lookahead(bool on);

  // The actors' stack size, in KiB (SimGrid's contexts/stack-size, and the fibers' with
  // lookahead), for every Simulation constructed from now on in the process; 0 restores the
  // default.
  static void set_actor_stack_kib(int kib);
  // slabsim's default, and what the CLI's memory checks assume (run/host_memory.hpp). SimGrid's
  // own 8 MiB made every run map, fault in and give back 8 MiB per actor: node-online ran at
  // 2.6 M simulated operations per host second alone and 3.05 M in a process running it again
  // and again, against 3.0 M and 4.3 M with 512 KiB (scripts/bench's profile mode, 2026-12-06).
  // The model's deepest call chains need far less: the whole test suite passes with 64 KiB
  // stacks, and the fuzzer's end-to-end target runs with 256 KiB under AddressSanitizer. A
  // stack overflow hits SimGrid's guard page (a crash, not a silent corruption).
  static constexpr int default_actor_stack_kib = 512;

  // Runs until every regular actor has finished or a deadlock is found. At most once per
  // Simulation (std::logic_error otherwise). Rethrows the first exception an actor threw.
  RunResult run();

  [[nodiscard]] std::size_t host_count() const;

  // For code running inside an actor of the current run (std::logic_error elsewhere). Times are
  // relative to the start of the run.
  static std::int64_t now_ns();
  static void sleep_for(std::int64_t ns);    // ns >= 0 (std::invalid_argument otherwise)
  static void sleep_until(std::int64_t ns);  // returns at once if ns is already past
  // The calling actor's id (its own, from 1 in spawn order: not SimGrid's, whose actors run one
  // body after another with lookahead) and name, for ownership checks and messages.
  static long actor_id();
  static std::string actor_name();

  // The CPU the calling actor runs as: the one spawn_on_cpu() put it on (-1 for an event
  // actor), or the one a RunAsCpu of it gives while that lives. Kept by the wrapper: no SimGrid
  // call, so model code may read it after every blocking call.
  static int current_cpu();
  // For its life, the calling actor runs as `cpu`, across its blocking calls: an IPI handler
  // that the sender's actor runs on the target CPU's behalf. The destructor makes no SimGrid
  // call (it is safe while SimGrid unwinds a killed actor).
  class RunAsCpu {
   public:
    explicit RunAsCpu(int cpu);
    ~RunAsCpu();
    RunAsCpu(const RunAsCpu&) = delete;
    RunAsCpu& operator=(const RunAsCpu&) = delete;

   private:
    int* binding_;  // the actor's entry in the wrapper, which outlives the actor
    int previous_;
  };

  struct Impl;  // public only so the implementation's free functions can name it

 private:
  // What the inline accessors read while a run with lookahead is live (null otherwise): its
  // clock and the running actor's id and CPU, which the wrapper keeps. Model code asks for them
  // millions of times a run; calls out of line were 2.7% of SLOB's instructions.
  struct Running {
    const std::int64_t* now = nullptr;
    const long* actor_id = nullptr;
    const int* cpu = nullptr;
  };
  static inline const Running* running_ = nullptr;
  // The accessors without lookahead, or outside a run (std::logic_error).
  static std::int64_t now_ns_slow();
  static long actor_id_slow();
  static int current_cpu_slow();

  std::unique_ptr<Impl> impl_;
};

inline std::int64_t Simulation::now_ns() {
  if (running_ != nullptr) [[likely]]
    return *running_->now;
  return now_ns_slow();
}

inline long Simulation::actor_id() {
  if (running_ != nullptr) [[likely]]
    return *running_->actor_id;
  return actor_id_slow();
}

inline int Simulation::current_cpu() {
  if (running_ != nullptr) [[likely]]
    return *running_->cpu;
  return current_cpu_slow();
}

// A wake-up call for one blocked actor: park() blocks the calling actor until another actor
// calls release() (a release before the park is kept, and the park then returns at once). The
// woken actor resumes at the releaser's time and runs before the releaser goes on (the tie
// rule above). For code running inside an actor of a running simulation.
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  void park();
  void release();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slabsim::sim
