#include "engine/simulation.hpp"

#include <xbt/log.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <xbt/config.hpp>

#include "topology/topology.hpp"

namespace s4u = simgrid::s4u;

namespace slabsim::sim {

namespace {

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
  double start_clock = 0;  // SimGrid's clock only ever grows across engines in a process
  // Checked first by every actor body: an actor that never started cannot be killed cleanly
  // (killed before its first step, its body still runs and its first simcall never returns).
  bool cancelled = false;
  std::exception_ptr error;
  RunResult result;

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
  }

  ~Impl() {
    cancel_leftovers();
    engine.reset();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void spawn(s4u::Host* host, std::string name, std::function<void()> body, ActorKind kind) {
    if (state == State::finished)
      throw std::logic_error("Simulation: cannot spawn '" + name + "' after the run");
    if (!body) throw std::invalid_argument("Simulation: actor '" + name + "' has no body");
    auto actor = s4u::Actor::init(name, host);
    if (kind == ActorKind::daemon) actor->daemonize();
    actor->start([this, body = std::move(body)] { run_body(body); });
  }

  void run_body(const std::function<void()>& body) {
    if (cancelled) return;
    std::exception_ptr thrown;
    try {
      body();
    } catch (const simgrid::ForcefulKillException&) {
      throw;  // SimGrid killing this actor: it must unwind to SimGrid
    } catch (...) {
      thrown = std::current_exception();
    }
    // Outside the handler, as a precaution: kill_all switches to the other actors' stacks, which
    // throw and catch ForcefulKillException, and the C++ runtime keeps its list of exceptions
    // being handled per thread, not per actor stack.
    if (thrown) fail(std::move(thrown));
  }

  void fail(std::exception_ptr e) {
    if (!error) error = std::move(e);
    cancelled = true;
    s4u::Actor::kill_all();
  }

  // Leaves no actor behind: an engine destroyed with live actors skips its cleanup, and the next
  // Engine construction in the process then aborts. Verified on 3.32: cancel flag, kill_all (for
  // actors already blocked in SimGrid), then run() to let every actor end.
  void cancel_leftovers() noexcept {
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
    for (const auto& actor : engine->get_all_actors())
      result.blocked.push_back({actor->get_name(), actor->get_host()->get_name()});
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

Simulation::Impl& current_run(const char* what) {
  if (g_live == nullptr || g_live->state != Simulation::Impl::State::running)
    throw std::logic_error(std::string("Simulation::") + what +
                           " is only valid inside an actor of a running simulation");
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
  impl_.reset();
  g_live = nullptr;
  g_claimed = false;
}

void Simulation::spawn_on_cpu(int cpu, std::string name, std::function<void()> body,
                              ActorKind kind) {
  auto it = impl_->cpu_hosts.find(cpu);
  if (it == impl_->cpu_hosts.end())
    throw std::out_of_range("Simulation: the machine has no CPU " + std::to_string(cpu));
  impl_->spawn(it->second, std::move(name), std::move(body), kind);
}

void Simulation::spawn_event_actor(std::string name, std::function<void()> body, ActorKind kind) {
  impl_->spawn(impl_->events_host, std::move(name), std::move(body), kind);
}

RunResult Simulation::run() {
  Impl& s = *impl_;
  if (s.state != Impl::State::ready)
    throw std::logic_error("Simulation::run: a simulation runs at most once");
  s.state = Impl::State::running;
  s.start_clock = s4u::Engine::get_clock();
  try {
    s.engine->run();
  } catch (...) {
    // SimGrid itself threw from the maestro (it mostly aborts instead).
    if (!s.error) s.error = std::current_exception();
  }
  s.state = Impl::State::finished;
  s.result.end_time_ns = to_ns(s4u::Engine::get_clock() - s.start_clock);
  if (s.error) {
    s.cancel_leftovers();
    std::rethrow_exception(s.error);
  }
  return s.result;
}

std::size_t Simulation::host_count() const {
  return impl_->engine->get_host_count();
}

std::int64_t Simulation::now_ns() {
  const Impl& s = current_run("now_ns");
  return to_ns(s4u::Engine::get_clock() - s.start_clock);
}

void Simulation::sleep_for(std::int64_t ns) {
  current_run("sleep_for");
  if (ns < 0) throw std::invalid_argument("Simulation::sleep_for: negative duration");
  s4u::this_actor::sleep_for(static_cast<double>(ns));
}

void Simulation::sleep_until(std::int64_t ns) {
  const Impl& s = current_run("sleep_until");
  s4u::this_actor::sleep_until(s.start_clock + static_cast<double>(ns));
}

}  // namespace slabsim::sim
