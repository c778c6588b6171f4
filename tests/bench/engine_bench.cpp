// What a step of SimGrid 3.32 costs when the engine orders the actors, against the actors
// handing the host CPU to each other (through SimGrid, or on fibers without it), and the order
// SimGrid gives actors whose sleeps end at the same instant: the two facts an engine wrapper
// that orders the CPUs itself (issue #16) stands on. No slabsim code. Prints figures; never
// fails on them.
//
// Steps: N actors, one host each, take turns, one step each per turn, 10^6 steps in all.
//  - sleep: each sleeps N ns a step, actor k starting k + 1 ns late, so that no two wake
//    together (the engine advances its clock, ends a sleep action and resumes one actor per
//    step: what slabsim's sleeps that lookahead cannot skip cost).
//  - handoff: each gives the next actor its turn and waits for its own: no clock, no action,
//    only the maestro's round. Two ways: a semaphore per actor (release the next one's, acquire
//    its own), and suspend()/resume() with a flag for a turn given before its taker has
//    suspended, as sim/engine/simulation.cpp handed over with lookahead until 2026-12-06.
//  - fiber: no SimGrid at all, as sim/engine/simulation.cpp handed over with lookahead until
//    e7bd6f9: N Boost.Context fibers on the wrapper's stacks, each resumed in turn by a loop and
//    returning to it after its step (two stack switches a step).
//  - direct: the same fibers, each resuming the next itself (one switch a step), as the
//    wrapper hands over now.
// Ties: 8 actors each sleep 30 times 1-3 ns (seeded), so that many sleeps end together; the
// order SimGrid resumes them in is compared, step by step, with three rules a scheduler of its
// own could use: first asleep first (FIFO), last asleep first (LIFO), lowest actor first; then
// FIFO is handed to SimGrid itself, as sub-ns offsets on the sleeps' ends.
#include <fmt/format.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <queue>
#include <random>
#include <simgrid/s4u.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace s4u = simgrid::s4u;
using Clock = std::chrono::steady_clock;

std::vector<s4u::Host*> make_hosts(int n) {
  auto* zone = s4u::create_full_zone("bench");
  std::vector<s4u::Host*> hosts;
  for (int k = 0; k < n; ++k)
    hosts.push_back(zone->create_host(fmt::format("h{}", k), 1.0)->seal());
  zone->seal();
  return hosts;
}

// Actor k of n: k + 1 ns late, then a sleep of n ns a step.
void sleep_in_turn(int k, int n, std::int64_t steps) {
  s4u::this_actor::sleep_for(k + 1);
  for (std::int64_t i = 0; i < steps; ++i)
    s4u::this_actor::sleep_for(n);
}

// Actor k of `turns.size()`: a step, then the next actor's turn. Actor 0 has the first turn;
// in its last turn an actor passes on and ends, the last one to nobody.
struct Turn {
  s4u::SemaphorePtr semaphore = s4u::Semaphore::create(0);
  s4u::Actor* actor = nullptr;
  bool asleep = false;  // suspended, or its suspend simcall on its way
  bool given = false;   // given before its taker suspended
};

enum class Way { sleep, semaphore, suspend };

void give(Turn& t, Way way) {
  if (way == Way::semaphore) {
    t.semaphore->release();
  } else if (t.asleep) {
    t.asleep = false;
    t.actor->resume();
  } else {
    t.given = true;
  }
}

void take(Turn& t, Way way) {
  if (way == Way::semaphore) {
    t.semaphore->acquire();
    return;
  }
  if (!t.given) {
    t.asleep = true;
    s4u::this_actor::suspend();
  }
  t.given = false;
}

void hand_over_in_turn(std::vector<Turn>& turns, int k, std::int64_t steps, Way way) {
  const auto n = static_cast<int>(turns.size());
  if (k != 0) take(turns[static_cast<std::size_t>(k)], way);
  for (std::int64_t i = 0; i < steps; ++i) {
    const bool last_turn = i + 1 == steps;
    if (!last_turn || k != n - 1) give(turns[static_cast<std::size_t>((k + 1) % n)], way);
    if (!last_turn) take(turns[static_cast<std::size_t>(k)], way);
  }
}

// Host ns per step: Engine::run() timed, actors built before.
double ns_per_step(int n, Way way) {
  s4u::Engine engine("engine_bench");
  const auto hosts = make_hosts(n);
  const std::int64_t steps = std::max<std::int64_t>(1000, 1'000'000 / n);
  std::vector<Turn> turns(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k)
    turns[static_cast<std::size_t>(k)].actor =
        s4u::Actor::create(fmt::format("a{}", k), hosts[static_cast<std::size_t>(k)],
                           [k, n, steps, way, &turns] {
                             if (way == Way::sleep)
                               sleep_in_turn(k, n, steps);
                             else
                               hand_over_in_turn(turns, k, steps, way);
                           })
            .get();
  const auto start = Clock::now();
  engine.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return seconds * 1e9 / static_cast<double>(steps * n);
}

// Host ns per step with fibers: the loop timed, fibers made before.
double ns_per_fiber_step(int n) {
  namespace ctx = boost::context;
  const std::int64_t steps = std::max<std::int64_t>(1000, 1'000'000 / n);
  std::vector<ctx::fiber> fibers;
  for (int k = 0; k < n; ++k)
    fibers.emplace_back(std::allocator_arg, ctx::protected_fixedsize_stack(512 * 1024),
                        [steps](ctx::fiber&& loop) {
                          for (std::int64_t i = 0; i < steps; ++i)
                            loop = std::move(loop).resume();
                          return std::move(loop);
                        });
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i)
    for (auto& f : fibers)
      f = std::move(f).resume();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& f : fibers)
    f = std::move(f).resume();  // each returns, and its stack is freed
  return seconds * 1e9 / static_cast<double>(steps * n);
}

// Host ns per step with fibers handing over directly, as sim/engine/simulation.cpp has since
// e7bd6f9: each resumes the next in a ring (one stack switch a step), and the handle of the
// stack it leaves goes where that stack keeps it. Fibers made before; the ring timed.
double ns_per_direct_step(int n) {
  namespace ctx = boost::context;
  const std::int64_t steps = std::max<std::int64_t>(1000, 1'000'000 / n);
  std::vector<ctx::fiber> fibers(static_cast<std::size_t>(n));
  ctx::fiber back;  // the timing code's stack, while the ring runs
  ctx::fiber* suspended = &back;
  for (int k = 0; k < n; ++k) {
    const auto me = static_cast<std::size_t>(k);
    const auto next = static_cast<std::size_t>((k + 1) % n);
    fibers[me] = ctx::fiber(std::allocator_arg, ctx::protected_fixedsize_stack(512 * 1024),
                            [&, me, next, last = k == n - 1](ctx::fiber&& from) {
                              *suspended = std::move(from);
                              for (std::int64_t i = 0; i < steps - (last ? 1 : 0); ++i) {
                                suspended = &fibers[me];
                                ctx::fiber left = std::move(fibers[next]).resume();
                                *suspended = std::move(left);
                              }
                              suspended = &fibers[me];  // this stack ends
                              return std::move(back);
                            });
  }
  const auto start = Clock::now();
  ctx::fiber ended = std::move(fibers.front()).resume();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // The others wait in their last hand-over: destroying them unwinds their stacks.
  return seconds * 1e9 / static_cast<double>(steps * n);
}

struct Wake {
  double at;
  int actor;
  bool operator==(const Wake&) const = default;
};

// SimGrid's wake order for one seed, and how many wakes each rule puts elsewhere.
// With `offsets`, each sleep ends a fraction of a ns past its whole ns, the fraction growing
// with the order the sleeps began in (2^-20 ns a step; times read back rounded): a rule of
// one's own (first asleep first) given to SimGrid, as --no-lookahead would need it.
void compare_ties(unsigned seed, bool offsets, std::vector<int>& misplaced, std::size_t& wakes) {
  constexpr int n = 8, sleeps = 30;
  std::mt19937 rng(seed);
  std::vector<std::vector<int>> durations(n, std::vector<int>(sleeps));
  for (auto& d : durations)
    for (int& x : d)
      x = 1 + static_cast<int>(rng() % 3);

  std::vector<Wake> simgrid;
  {
    s4u::Engine engine("engine_bench_ties");
    const auto hosts = make_hosts(n);
    // SimGrid's clock goes on from one engine to the next in a process.
    const double start = s4u::Engine::get_clock();
    const auto now = [start] { return std::round(s4u::Engine::get_clock() - start); };
    long asleep = n;  // the actors' starts come first
    for (int k = 0; k < n; ++k)
      s4u::Actor::create(
          fmt::format("a{}", k), hosts[static_cast<std::size_t>(k)],
          [k, offsets, start, now, &asleep, &durations, &simgrid] {
            simgrid.push_back({now(), k});
            for (int d : durations[static_cast<std::size_t>(k)]) {
              if (offsets)
                s4u::this_actor::sleep_until(start + now() + d + std::ldexp(asleep++, -20));
              else
                s4u::this_actor::sleep_for(d);
              simgrid.push_back({now(), k});
            }
          });
    engine.run();
  }
  // The same actors under a scheduler of one's own: (wake time, tie key) first.
  const std::vector<std::function<long(long, int)>> rules = {
      [](long asleep, int) { return asleep; }, [](long asleep, int) { return -asleep; },
      [](long, int actor) { return static_cast<long>(actor); }};
  for (std::size_t r = 0; r < rules.size(); ++r) {
    using Due = std::tuple<double, long, int>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
    long asleep = 0;
    std::vector<int> done(n, 0);
    for (int k = 0; k < n; ++k)
      due.push({0.0, rules[r](asleep++, k), k});
    std::vector<Wake> own;
    while (!due.empty()) {
      const auto [at, key, k] = due.top();
      due.pop();
      own.push_back({at, k});
      auto& step = done[static_cast<std::size_t>(k)];
      if (step < sleeps)
        due.push({at + durations[static_cast<std::size_t>(k)][static_cast<std::size_t>(step++)],
                  rules[r](asleep++, k), k});
    }
    for (std::size_t i = 0; i < own.size() && i < simgrid.size(); ++i)
      misplaced[r] += own[i] == simgrid[i] ? 0 : 1;
  }
  wakes += simgrid.size();
}

}  // namespace

int main() {
  std::cout << "# SimGrid 3.32, plain s4u: host ns per step (10^6 steps, Engine::run() timed)\n"
            << "# handoff: a semaphore per actor, or suspend()/resume() (the engine wrapper's\n"
            << "# until 2026-12-06); fiber: Boost.Context fibers and a loop, no SimGrid (the\n"
            << "# wrapper's until e7bd6f9); direct: fibers resuming each other (the wrapper's\n"
            << "# now); ratio: sleep against the wrapper's\n"
            << fmt::format("{:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>8}\n", "actors", "sleep",
                           "semaphore", "suspend", "fiber", "direct", "ratio");
  for (const int n : {4, 16, 64, 1024}) {
    const double sleep = ns_per_step(n, Way::sleep);
    const double semaphore = ns_per_step(n, Way::semaphore);
    const double suspend = ns_per_step(n, Way::suspend);
    const double fiber = ns_per_fiber_step(n);
    const double direct = ns_per_direct_step(n);
    std::cout << fmt::format("{:>8} {:>12.0f} {:>12.0f} {:>12.0f} {:>12.1f} {:>12.1f} {:>7.0f}x\n",
                             n, sleep, semaphore, suspend, fiber, direct, sleep / direct)
              << std::flush;
  }
  std::vector<int> misplaced(3, 0), with_offsets(3, 0);
  std::size_t wakes = 0, wakes_with_offsets = 0;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    compare_ties(seed, false, misplaced, wakes);
    compare_ties(seed, true, with_offsets, wakes_with_offsets);
  }
  std::cout << fmt::format(
      "\n# ties: 20 seeds x 8 actors x 30 sleeps of 1-3 ns, {} wakes; the wakes each rule puts\n"
      "# elsewhere than SimGrid does (0: the rule is SimGrid's)\n"
      "first asleep first (FIFO) {:>6}\nlast asleep first (LIFO)  {:>6}\nlowest actor first        "
      "{:>6}\n",
      wakes, misplaced[0], misplaced[1], misplaced[2]);
  std::cout << fmt::format(
      "first asleep first, given to SimGrid as sub-ns offsets (2^-20 ns per sleep begun) {:>6}\n",
      with_offsets[0]);
  return 0;
}
