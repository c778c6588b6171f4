#include "engine/simulation.hpp"

#include <xbt/log.h>

#include <algorithm>
#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <xbt/config.hpp>

#include "engine/run_queue.hpp"
#include "topology/topology.hpp"

namespace s4u = simgrid::s4u;
namespace ctx = boost::context;

namespace slabsim::sim {

namespace {

int actor_stack_kib = 0;  // Simulation::set_actor_stack_kib(); 0: the default

int stack_kib() {
  return actor_stack_kib > 0 ? actor_stack_kib : Simulation::default_actor_stack_kib;
}

struct CpuPlacement {
  int cpu = 0;
  int node = 0;
  std::optional<int> socket;
};

// Checked before the engine exists: a duplicate host name would be an xbt_assert, i.e. abort().
std::vector<CpuPlacement> place_cpus(const topology::Topology& machine) {
  std::vector<CpuPlacement> placed;
  for (const auto& node : machine.nodes) {
    for (int cpu : node.cpus) {
      if (cpu < 0)
        throw std::invalid_argument("Simulation: negative CPU id " + std::to_string(cpu) +
                                    " on node " + std::to_string(node.id));
      std::optional<int> socket = node.socket;
      for (const auto& s : machine.sockets)
        if (!socket && std::find(s.cpus.begin(), s.cpus.end(), cpu) != s.cpus.end()) socket = s.id;
      placed.push_back({cpu, node.id, socket});
    }
  }
  std::sort(placed.begin(), placed.end(),
            [](const CpuPlacement& a, const CpuPlacement& b) { return a.cpu < b.cpu; });
  auto dup = std::adjacent_find(placed.begin(), placed.end(),
                                [](const auto& a, const auto& b) { return a.cpu == b.cpu; });
  if (dup != placed.end())
    throw std::invalid_argument("Simulation: CPU " + std::to_string(dup->cpu) +
                                " belongs to more than one node");
  return placed;
}

std::int64_t to_ns(double t) {
  return std::llround(t);
}

// Claimed for the whole life of a Simulation: SimGrid aborts on a second engine, we throw.
std::atomic<bool> g_claimed{false};
// The Simulation that exists, for the static actor helpers and the deadlock callback.
Simulation::Impl* g_live = nullptr;

void on_deadlock() noexcept;

// Process-wide settings; SimGrid keeps logs, config and signals across engines.
void configure_process_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    xbt_log_control_set("root.thres:critical");
    // Deadlock reports are CRITICAL, the highest level ("off" does not exist in 3.32), so only a
    // different appender keeps stderr quiet. Each app:file setting opens a new FILE, hence once.
    const char* path = std::getenv("SLABSIM_SIMGRID_LOG");
    std::string appender = "root.app:file:";
    appender += (path != nullptr && *path != '\0') ? path : "/dev/null";
    xbt_log_control_set(appender.c_str());
    // The default, but stated: the factory cannot change once the first engine exists (unlike
    // contexts/nthreads, which only exists from then on; see Impl).
    s4u::Engine::set_config("contexts/factory:raw");
    // A process-global signal: connected once, dispatched to whichever Simulation is running.
    s4u::Engine::on_deadlock_cb([] { on_deadlock(); });
  });
}

// The Engine constructor installs a SIGINT handler that calls exit(1) and is never removed.
class SigintGuard {
 public:
  SigintGuard() { saved_ok_ = sigaction(SIGINT, nullptr, &saved_) == 0; }
  ~SigintGuard() {
    if (saved_ok_) sigaction(SIGINT, &saved_, nullptr);
  }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  struct sigaction saved_ {};
  bool saved_ok_ = false;
};

}  // namespace

struct Simulation::Impl {
  enum class State { ready, running, finished };

  std::unique_ptr<s4u::Engine> engine;
  std::map<int, s4u::Host*> cpu_hosts;
  s4u::Host* events_host = nullptr;
  State state = State::ready;
  // SimGrid's clock only ever grows across engines in a process; nothing runs between the
  // construction and run(), so this is also the clock at the start of the run.
  double start_clock = 0;
  // Checked first by every actor body: an actor that never started cannot be killed cleanly
  // (killed before its first step, its body still runs and its first simcall never returns).
  bool cancelled = false;
  std::exception_ptr error;
  RunResult result;

  struct ActorState {
    std::size_t slot = 0;  // in `queue`, and its index in `actors`
    // The body it runs now: with lookahead a fiber runs one body after another (`idle`).
    long id = 0;  // actor_id(): a body's own, from 1 in spawn order
    std::string name;
    s4u::Host* host = nullptr;
    bool alive = false;  // spawned, and its body has not ended
    int cpu = -1;        // spawn_on_cpu's, or a RunAsCpu's while one lives; -1: an event actor
    bool regular = true;
    std::function<void()> body;  // until it starts
    // With lookahead: its stack, suspended while the run's loop or another actor runs.
    ctx::fiber fiber;
  };
  bool lookahead = false;
  std::deque<ActorState> actors;     // stable addresses
  std::vector<ActorState*> by_slot;  // actors[slot], without the deque's index arithmetic
  ActorState* current = nullptr;     // the running actor's (set_current())
  std::size_t regular_alive = 0;
  long last_id = 0;
  // With lookahead, the wrapper orders the actors and switches between their stacks itself
  // (Boost.Context fibers), and SimGrid runs nothing: a hand-over through SimGrid (resume(),
  // suspend() and a maestro round) cost 205-350 ns, a fiber's resume and return 11-12 ns, and
  // one fiber resuming another 7-11 ns with 4 to 64 of them (tests/bench/engine_bench.cpp). `queue`
  // holds every actor due to run (a sleeper, a woken or new actor), and the first of it runs next,
  // given its turn by the actor that waits (pass_turn()), or by the run's loop for the first turn
  // (run_actors()); `now` is the running actor's time. SimGrid's clock stays where the run began.
  RunQueue queue;
  std::int64_t now = 0;
  ctx::fiber loop;                  // run_actors(), suspended while an actor runs
  ctx::fiber* suspended = nullptr;  // where the stack suspended last keeps its handle
  bool over = false;                // the last regular body has ended
  bool unwinding = false;           // the actors' stacks unwind: blocking calls return at once
  // An actor whose body has ended waits here for the next body spawned: making a stack (mapped
  // with a guard page, then unmapped) per body cost a sixth of node-online's host time, for the
  // 134 IPI handlers, RCU callbacks and kworkers it spawns. Without lookahead each body has its
  // own SimGrid actor.
  std::vector<ActorState*> idle;
  // Without lookahead, SimGrid orders them, given the tie rule as fractions of a nanosecond:
  // each wait ends after its whole nanosecond, the k-th registered for that nanosecond k steps
  // later, and times are read back rounded.
  std::map<std::int64_t, std::uint32_t> registered_at;  // whole ns -> waits registered for it

  explicit Impl(const std::vector<CpuPlacement>& cpus) {
    {
      SigintGuard sigint;
      engine = std::make_unique<s4u::Engine>("slabsim");
    }
    // Model code relies on actors being cooperative on one thread: code between two SimGrid
    // calls runs atomically and needs no locking of its own.
    if (simgrid::config::get_value<std::string>("contexts/factory") != "raw")
      throw std::logic_error("Simulation: SimGrid was set up with non-raw contexts");
    if (simgrid::config::get_value<int>("contexts/nthreads") != 1)
      s4u::Engine::set_config("contexts/nthreads:1");
    // The key exists once an engine does, and keeps its value from one engine to the next.
    if (simgrid::config::get_value<int>("contexts/stack-size") != stack_kib())
      s4u::Engine::set_config("contexts/stack-size:" + std::to_string(stack_kib()));
    auto* zone = s4u::create_full_zone("machine");
    for (const auto& c : cpus) {
      auto* host = zone->create_host("cpu" + std::to_string(c.cpu), 1.0);
      host->set_core_count(1);
      host->set_property("node", std::to_string(c.node));
      if (c.socket) host->set_property("socket", std::to_string(*c.socket));
      host->seal();
      cpu_hosts.emplace(c.cpu, host);
    }
    events_host = zone->create_host("events", 1.0)->set_core_count(1)->seal();
    zone->seal();
    start_clock = s4u::Engine::get_clock();
  }

  ~Impl() {
    cancel_leftovers();
    engine.reset();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // The run's time, in ns from its start. Without lookahead it is SimGrid's clock, read afresh
  // (a raw SimGrid call such as execute() may have moved it).
  [[nodiscard]] std::int64_t clock() const { return lookahead ? now : read_engine_clock(); }
  [[nodiscard]] std::int64_t read_engine_clock() const {
    return to_ns(s4u::Engine::get_clock() - start_clock);
  }

  // What Simulation's inline accessors read (Simulation::Running), while the run is live.
  Running running;
  void set_current(ActorState* a) {
    current = a;
    running.actor_id = &a->id;
    running.cpu = &a->cpu;
  }

  // ----- Without lookahead: SimGrid orders the actors.

  // SimGrid's time for the next wait to end at `at` (run time) under the tie rule.
  double engine_time(std::int64_t at) {
    const std::uint32_t k = registered_at[at]++;
    const double whole = start_clock + static_cast<double>(at);
    const double step =
        std::max(std::ldexp(1.0, -20),
                 std::nextafter(whole, std::numeric_limits<double>::infinity()) - whole);
    // A quarter of a nanosecond at most, so that rounding gives the whole nanosecond back.
    if (static_cast<double>(k) * step > 0.25)
      throw std::length_error("Simulation: more than " + std::to_string(k) +
                              " waits end at the same nanosecond (" + std::to_string(at) +
                              " ns); the engine's clock cannot order more there");
    return whole + static_cast<double>(k) * step;
  }
  void engine_sleep_until(ActorState& me, std::int64_t until) {
    const double at = engine_time(until);
    ++result.engine_sleeps;
    s4u::this_actor::sleep_until(at);
    resumed_by_engine(me);
  }
  void resumed_by_engine(ActorState& me) {
    set_current(&me);
    now = read_engine_clock();
    registered_at.erase(registered_at.begin(), registered_at.lower_bound(now));
  }

  // ----- With lookahead: the wrapper orders them and switches stacks.

  // Until no actor can run: every regular body has ended, one threw, or every actor waits for
  // good (a deadlock). Then the actors' stacks unwind. The loop gives the first turn; from then
  // on the actors hand over to each other directly (pass_turn()), and come back here only when
  // there is nobody to hand over to.
  void run_actors() {
    while (!cancelled && !over) {
      if (queue.empty()) {
        record_deadlock();
        break;
      }
      switch_to(take_first().fiber, loop);
    }
    unwind_actors();
  }
  // The first actor in the queue, unlisted: it runs next, at the time it was due.
  ActorState& take_first() {
    // The slot is the actor's index: its state, likely out of the cache with many actors, is
    // not needed for the queue's update.
    const std::size_t slot = queue.first();
    now = queue.due(slot);
    queue.unlist(slot);
    ActorState& next = *by_slot[slot];
    set_current(&next);
    ++result.handoffs;
    return next;
  }
  // Suspends the running stack, whose handle goes to `mine` (its actor's fiber, or `loop`), and
  // runs `next` (an actor's fiber, or the loop when the run is over or nobody can run).
  // Boost.Context gives a suspended stack's handle to the stack resumed next, as the return of
  // its own resume() (or its entry's argument): `suspended` says where that stack keeps it.
  // Returns when this stack runs again.
  void switch_to(ctx::fiber& next, ctx::fiber& mine) {
    suspended = &mine;
    ctx::fiber from = std::move(next).resume();
    *suspended = std::move(from);
  }
  // `me`, listed or not, lets the first actor in the queue run; returns when `me` runs again.
  // If `me` is that actor, nobody else can act before it: it goes on without a switch. With
  // nobody to run, the loop finds the deadlock.
  void pass_turn(ActorState& me) {
    if (unwinding) [[unlikely]]
      return;
    if (queue.empty()) [[unlikely]] {
      switch_to(loop, me.fiber);
      return;
    }
    if (queue.first() == me.slot) {
      now = queue.due(me.slot);
      queue.unlist(me.slot);
      ++result.skipped_sleeps;
      return;
    }
    switch_to(take_first().fiber, me.fiber);
  }
  // Wakeup::release() by `me`: `woken` runs first, now, then `me`, both after every wait
  // registered until now. With no such wait `woken` would be the queue's first as soon as
  // listed: it runs at once instead, and the queue is spared listing and unlisting it (the
  // order is the same: it draws no registration number, and only their order counts).
  void hand_to_woken(ActorState& me, ActorState& woken) {
    const bool others_first = !queue.empty() && queue.due(queue.first()) <= now;
    if (others_first || unwinding) [[unlikely]] {
      queue.list(woken.slot, now);
      queue.list(me.slot, now);
      pass_turn(me);
      return;
    }
    queue.list(me.slot, now);
    set_current(&woken);
    ++result.handoffs;
    switch_to(woken.fiber, me.fiber);
  }
  void make_fiber(ActorState& me) {
    ++result.actor_stacks;
    me.fiber =
        ctx::fiber(std::allocator_arg,
                   ctx::protected_fixedsize_stack(static_cast<std::size_t>(stack_kib()) * 1024),
                   [this, &me](ctx::fiber&& from) {
                     *suspended = std::move(from);
                     do {
                       run_body(me);
                     } while (lookahead_body_ended(me));
                     // Its stack ends: nothing of it to keep.
                     suspended = &me.fiber;
                     return std::move(loop);
                   });
  }
  // After a body: `me` waits for another body (true), unless the run is over (false).
  bool lookahead_body_ended(ActorState& me) {
    if (cancelled) return false;
    if (regular_alive == 0) {
      over = true;
      return false;
    }
    idle.push_back(&me);
    pass_turn(me);
    return true;
  }
  // Destroying a suspended fiber unwinds its stack, as SimGrid's kill does an actor's, with an
  // exception that is not a std::exception; one never started runs nothing.
  void unwind_actors() noexcept {
    unwinding = true;
    for (std::size_t i = 0; i < actors.size(); ++i) {
      ActorState& a = actors[i];
      if (!a.fiber) continue;
      set_current(&a);
      ctx::fiber gone = std::move(a.fiber);
    }
  }

  // ----- Both.

  // `yield`: a wait that ends now (sleep_for(0)) lets the waits registered for now end first.
  void wait_until(ActorState& me, std::int64_t until, bool yield) {
    const std::int64_t t = clock();
    if (until < t || (until == t && !yield)) return;
    if (!lookahead) {
      engine_sleep_until(me, until);
      return;
    }
    // Listed, `me` would come first exactly when every other actor is due strictly later (one
    // due at `until` registered before): then it goes on, and the queue is left alone.
    if (queue.empty() || queue.due(queue.first()) > until) {
      now = until;
      ++result.skipped_sleeps;
      return;
    }
    queue.list(me.slot, until);
    pass_turn(me);
  }

  void spawn(s4u::Host* host, int cpu, std::string name, std::function<void()> body,
             ActorKind kind) {
    if (state == State::finished)
      throw std::logic_error("Simulation: cannot spawn '" + name + "' after the run");
    if (!body) throw std::invalid_argument("Simulation: actor '" + name + "' has no body");
    ActorState* spawner = state == State::running ? current : nullptr;
    const std::int64_t start = spawner != nullptr ? clock() : 0;
    const bool regular = kind == ActorKind::regular;
    const bool reused = lookahead && !idle.empty();
    ActorState& me = reused ? *idle.back() : actors.emplace_back();
    if (reused) {
      idle.pop_back();
    } else {
      me.slot = queue.add();
      by_slot.push_back(&me);
    }
    me.id = ++last_id;
    me.name = std::move(name);
    me.host = host;
    me.alive = true;
    me.cpu = cpu;
    me.regular = regular;
    me.body = std::move(body);
    if (me.regular) ++regular_alive;
    if (lookahead) {
      queue.list(me.slot, start);
      if (!reused) make_fiber(me);
    } else {
      const double start_at = engine_time(start);  // its place among the waits ending at `start`
      auto actor = s4u::Actor::init(me.name, host);
      ++result.actor_stacks;
      actor->start([this, &me, start_at] {
        if (cancelled) return;
        ++result.engine_sleeps;
        s4u::this_actor::sleep_until(start_at);
        resumed_by_engine(me);
        run_body(me);
      });
      // After start(): SimGrid 3.32 kills its daemons once it has as many actors as daemons,
      // and a daemon made before its actor starts is counted only among the daemons, so that a
      // daemon spawned by the last regular actor was killed unstarted, and the run crashed.
      // Started, the new actor waits for its start time or turn before its body runs.
      if (!me.regular) actor->daemonize();
    }
    if (spawner == nullptr) return;
    // The new actor runs first: the spawner goes on after every wait registered until now.
    if (lookahead) {
      queue.list(spawner->slot, start);
      pass_turn(*spawner);
    } else {
      engine_sleep_until(*spawner, start);
    }
  }

  void run_body(ActorState& me) {
    if (cancelled) return;
    const std::function<void()> body = std::move(me.body);
    me.body = nullptr;
    std::exception_ptr thrown;
    try {
      body();
    } catch (const simgrid::ForcefulKillException&) {
      throw;  // SimGrid killing this actor: it must unwind to SimGrid
    } catch (const ctx::detail::forced_unwind&) {
      throw;  // the run's end unwinding this fiber: it must unwind to Boost.Context
    } catch (...) {
      thrown = std::current_exception();
    }
    // Outside the handler, as a precaution: kill_all switches to the other actors' stacks, which
    // throw and catch ForcefulKillException, and the C++ runtime keeps its list of exceptions
    // being handled per thread, not per actor stack.
    if (thrown) {
      fail(std::move(thrown));
      return;
    }
    me.alive = false;
    if (me.regular) --regular_alive;
  }

  void fail(std::exception_ptr e) {
    if (!error) error = std::move(e);
    cancelled = true;
    if (!lookahead) s4u::Actor::kill_all();  // with lookahead, the loop unwinds the actors
  }

  // Leaves no actor behind: an engine destroyed with live actors skips its cleanup, and the next
  // Engine construction in the process then aborts. Verified on 3.32: cancel flag, kill_all (for
  // actors already blocked in SimGrid), then run() to let every actor end.
  void cancel_leftovers() noexcept {
    if (lookahead) unwind_actors();
    if (!engine || engine->get_actor_count() == 0) return;
    cancelled = true;
    try {
      s4u::Actor::kill_all();
      engine->run();
    } catch (...) {
      // Nothing more can be done; the next construction will report it.
    }
  }

  void record_deadlock() {
    result.deadlock = true;
    for (const ActorState& a : actors)
      if (a.alive) result.blocked.push_back({a.name, a.host->get_name()});
    std::sort(result.blocked.begin(), result.blocked.end(), [](const auto& a, const auto& b) {
      return std::tie(a.name, a.host) < std::tie(b.name, b.host);
    });
  }
};

namespace {

// Fired by the maestro when no actor can progress, before SimGrid kills the blocked actors
// (verified: they are all still listed by get_all_actors()).
void on_deadlock() noexcept {
  Simulation::Impl* sim = g_live;
  if (sim == nullptr || sim->state != Simulation::Impl::State::running || sim->cancelled) return;
  try {
    sim->record_deadlock();
  } catch (...) {
    if (!sim->error) sim->error = std::current_exception();
  }
}

[[noreturn, gnu::cold, gnu::noinline]] void not_in_a_run(const char* what) {
  throw std::logic_error(std::string("Simulation::") + what +
                         " is only valid inside an actor of a running simulation");
}

// Inline: model code asks for the time and the CPU millions of times a run.
inline Simulation::Impl& current_run(const char* what) {
  if (g_live == nullptr || g_live->state != Simulation::Impl::State::running) [[unlikely]]
    not_in_a_run(what);
  return *g_live;
}

}  // namespace

Simulation::Simulation(const topology::Topology& machine) {
  auto cpus = place_cpus(machine);
  configure_process_once();
  bool expected = false;
  if (!g_claimed.compare_exchange_strong(expected, true))
    throw std::logic_error("Simulation: another Simulation exists in this process");
  try {
    if (s4u::Engine::has_instance())
      throw std::logic_error("Simulation: a SimGrid engine already exists in this process");
    impl_ = std::make_unique<Impl>(cpus);
  } catch (...) {
    g_claimed = false;
    throw;
  }
  g_live = impl_.get();
}

Simulation::~Simulation() {
  running_ = nullptr;
  impl_.reset();
  g_live = nullptr;
  g_claimed = false;
}

void Simulation::spawn_on_cpu(int cpu, std::string name, std::function<void()> body,
                              ActorKind kind) {
  auto it = impl_->cpu_hosts.find(cpu);
  if (it == impl_->cpu_hosts.end())
    throw std::out_of_range("Simulation: the machine has no CPU " + std::to_string(cpu));
  impl_->spawn(it->second, cpu, std::move(name), std::move(body), kind);
}

void Simulation::spawn_event_actor(std::string name, std::function<void()> body, ActorKind kind) {
  impl_->spawn(impl_->events_host, -1, std::move(name), std::move(body), kind);
}

void Simulation::set_actor_stack_kib(int kib) {
  if (kib < 0) throw std::invalid_argument("Simulation::set_actor_stack_kib: negative size");
  actor_stack_kib = kib;
}

void Simulation::set_lookahead(bool on) {
  if (impl_->state != Impl::State::ready || !impl_->actors.empty())
    throw std::logic_error("Simulation::set_lookahead: only before the first spawn");
  impl_->lookahead = on;
}

RunResult Simulation::run() {
  Impl& s = *impl_;
  if (s.state != Impl::State::ready)
    throw std::logic_error("Simulation::run: a simulation runs at most once");
  s.state = Impl::State::running;
  if (s.lookahead) {
    s.running.now = &s.now;
    running_ = &s.running;
  }
  try {
    if (s.lookahead) {
      s.run_actors();
    } else {
      s.engine->run();
    }
  } catch (...) {
    // SimGrid itself threw from the maestro (it mostly aborts instead).
    if (!s.error) s.error = std::current_exception();
  }
  s.state = Impl::State::finished;
  running_ = nullptr;
  s.result.end_time_ns = s.lookahead ? s.now : s.read_engine_clock();
  if (s.error) {
    s.cancel_leftovers();
    std::rethrow_exception(s.error);
  }
  return s.result;
}

std::size_t Simulation::host_count() const {
  return impl_->engine->get_host_count();
}

std::int64_t Simulation::now_ns_slow() {
  return current_run("now_ns").clock();
}

void Simulation::sleep_for(std::int64_t ns) {
  Impl& s = current_run("sleep_for");
  if (ns < 0) throw std::invalid_argument("Simulation::sleep_for: negative duration");
  s.wait_until(*s.current, s.clock() + ns, /*yield=*/true);
}

void Simulation::sleep_until(std::int64_t ns) {
  Impl& s = current_run("sleep_until");
  s.wait_until(*s.current, ns, /*yield=*/false);
}

long Simulation::actor_id_slow() {
  return current_run("actor_id").current->id;
}

std::string Simulation::actor_name() {
  return current_run("actor_name").current->name;
}

int Simulation::current_cpu_slow() {
  return current_run("current_cpu").current->cpu;
}

Simulation::RunAsCpu::RunAsCpu(int cpu)
    : binding_(&current_run("RunAsCpu").current->cpu), previous_(*binding_) {
  *binding_ = cpu;
}

Simulation::RunAsCpu::~RunAsCpu() {
  *binding_ = previous_;
}

// ---------------------------------------------------------------------------------------------
// Wakeup

struct Wakeup::Impl {
  Simulation::Impl::ActorState* parked = nullptr;
  bool released = false;  // release() came before park()
  // Without lookahead: the parked actor blocks on it, and once woken sleeps until its place
  // among the waits ending at the release's time, which release() registers.
  s4u::SemaphorePtr semaphore;
  double wake_at = 0;
};

Wakeup::Wakeup() : impl_(std::make_unique<Impl>()) {}
Wakeup::~Wakeup() = default;

void Wakeup::park() {
  Simulation::Impl& s = current_run("Wakeup::park");
  Simulation::Impl::ActorState& me = *s.current;
  if (std::exchange(impl_->released, false)) return;
  impl_->parked = &me;
  ++s.result.engine_parks;
  if (s.lookahead) {
    s.pass_turn(me);
    return;
  }
  if (!impl_->semaphore) impl_->semaphore = s4u::Semaphore::create(0);
  impl_->semaphore->acquire();
  ++s.result.engine_sleeps;
  s4u::this_actor::sleep_until(impl_->wake_at);
  s.resumed_by_engine(me);
}

// The woken actor runs first, as the kernel's woken task does on the CPU whose interrupts came
// back on: the releaser goes on after every wait registered until now.
void Wakeup::release() {
  Simulation::Impl& s = current_run("Wakeup::release");
  Simulation::Impl::ActorState& me = *s.current;
  Simulation::Impl::ActorState* woken = std::exchange(impl_->parked, nullptr);
  if (woken == nullptr) {
    impl_->released = true;
    return;
  }
  ++s.result.engine_releases;
  const std::int64_t now = s.clock();
  if (s.lookahead) {
    s.hand_to_woken(me, *woken);
    return;
  }
  impl_->wake_at = s.engine_time(now);
  impl_->semaphore->release();
  s.engine_sleep_until(me, now);
}

}  // namespace slabsim::sim
