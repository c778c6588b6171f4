#include "kernel/lockdep.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <deque>
#include <stdexcept>
#include <string_view>

namespace slabsim::sim {

using alloc::LockClass;
using alloc::LockMode;

namespace {

// Dependency types, lockdep's DEP_*_BIT: Exclusive/Shared holder, Recursive/Non-recursive
// acquirer.
constexpr std::uint8_t dep_en = 1U << 0;
constexpr std::uint8_t dep_er = 1U << 1;
constexpr std::uint8_t dep_sn = 1U << 2;
constexpr std::uint8_t dep_sr = 1U << 3;
constexpr std::uint8_t dep_any = dep_en | dep_er | dep_sn | dep_sr;
constexpr std::uint8_t dep_exclusive_holder = dep_en | dep_er;
constexpr std::uint8_t dep_nonrecursive = dep_en | dep_sn;

std::uint8_t dep_bit(LockMode held_mode, bool next_recursive) {
  const bool shared = held_mode == LockMode::read;
  if (shared) return next_recursive ? dep_sr : dep_sn;
  return next_recursive ? dep_er : dep_en;
}

int idx(LockClass c) {
  return static_cast<int>(c);
}

std::string lock_name(LockClass c) {
  return std::string(alloc::lock_class_name(c));
}

std::string lock_desc(LockClass c, LockMode m) {
  return "(" + lock_name(c) + "){" + std::string(alloc::lock_mode_name(m)) + "}";
}

}  // namespace

struct Lockdep::Graph : boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS,
                                              boost::no_property, EdgeInfo> {
  using adjacency_list::adjacency_list;
};

Lockdep::Lockdep() : graph_(std::make_unique<Graph>(alloc::lock_class_count)) {}
Lockdep::~Lockdep() = default;

std::size_t Lockdep::edge_count() const {
  return boost::num_edges(*graph_);
}

void Lockdep::observe(LockSignals& signals) {
  signals.requested.connect(
      [this](const LockEvent& e) { acquire(e.cpu, e.cls, e.mode, e.function); });
  signals.acquired.connect([this](const LockEvent& e) {
    if (e.trylock) acquire(e.cpu, e.cls, e.mode, e.function, /*trylock=*/true);
  });
  signals.released.connect([this](const LockEvent& e) { release(e.cpu, e.cls, e.mode); });
}

void Lockdep::set_recursive_read(LockClass cls, bool recursive) {
  recursive_read_[idx(cls)] = recursive;
}

bool Lockdep::recursive(LockClass cls, LockMode mode) const {
  return mode == LockMode::read && recursive_read_[idx(cls)];
}

std::size_t Lockdep::held_count(int cpu) const {
  if (cpu < 0 || static_cast<std::size_t>(cpu) >= held_.size()) return 0;
  return held_[cpu].size();
}

void Lockdep::acquire(int cpu, LockClass cls, LockMode mode, const char* function, bool trylock) {
  if (cpu < 0) throw std::out_of_range("Lockdep::acquire: negative cpu");
  if (static_cast<std::size_t>(cpu) >= held_.size()) held_.resize(cpu + 1);
  auto& stack = held_[cpu];
  const Held next{cls, mode, function ? function : "?"};

  if (!trylock) {
    // check_deadlock(): the same class already held by this CPU.
    const auto same =
        std::find_if(stack.rbegin(), stack.rend(), [&](const Held& h) { return h.cls == cls; });
    if (same != stack.rend()) {
      if (!(recursive(cls, mode) && same->mode == LockMode::read)) {
        report_recursive(cpu, *same, next);
      }
      stack.push_back(next);
      return;
    }
    // check_prevs_add(): an edge from every class held, the most recent entry of each.
    // Added in the order the held locks were taken, so edges() reads in acquisition order. A
    // CPU holds a few locks: a scan for a later entry of the class beats clearing an array of
    // every class on each acquisition.
    for (auto h = stack.begin(); h != stack.end(); ++h) {
      const bool latest = std::none_of(std::next(h), stack.end(),
                                       [&](const Held& later) { return later.cls == h->cls; });
      if (latest) add_dependency(cpu, *h, next);
    }
  }
  stack.push_back(next);
}

bool Lockdep::release(int cpu, LockClass cls, LockMode mode) {
  if (cpu < 0 || static_cast<std::size_t>(cpu) >= held_.size()) return false;
  auto& stack = held_[cpu];
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    if (it->cls == cls && it->mode == mode) {
      stack.erase(std::next(it).base());
      return true;
    }
  }
  return false;
}

void Lockdep::add_dependency(int cpu, const Held& held, const Held& next) {
  const std::uint8_t type = dep_bit(held.mode, recursive(next.cls, next.mode));
  Graph& g = *graph_;
  auto [e, exists] = boost::edge(idx(held.cls), idx(next.cls), g);
  if (exists) {
    if (g[e].types & type) return;  // nothing new
    g[e].types |= type;
  } else {
    EdgeInfo info;
    info.first = {held.cls, next.cls, held.mode, next.mode, held.function, next.function, cpu};
    info.types = type;
    info.order = boost::num_edges(g);
    boost::add_edge(idx(held.cls), idx(next.cls), info, g);
  }
  check_circular(cpu, held, next, type);
}

// Breadth-first search for a strong path next -> ... -> held (lockdep's check_noncircular()).
// A state is (class, entered only through -(*R)-> edges); from such a state only -(E*)-> edges
// may be taken. The path closes a strong cycle with the new edge held -(type)-> next unless it
// enters `held` only through -(*R)-> edges and `type` is -(S*)->.
void Lockdep::check_circular(int cpu, const Held& held, const Held& next, std::uint8_t type) {
  constexpr int n = alloc::lock_class_count;
  const int source = idx(next.cls);
  const int target = idx(held.cls);
  const bool type_shared = (type & dep_exclusive_holder) == 0;
  auto state = [](int v, bool only_r) { return v * 2 + (only_r ? 1 : 0); };
  const Graph& g = *graph_;
  std::array<int, 2 * n> parent;
  parent.fill(-2);  // -2: not visited, -1: root
  std::deque<int> queue;
  const bool start_r = (type & dep_nonrecursive) == 0;
  parent[state(source, start_r)] = -1;
  queue.push_back(state(source, start_r));
  int found = -1;
  while (!queue.empty() && found < 0) {
    const int s = queue.front();
    queue.pop_front();
    const int v = s / 2;
    const bool only_r = s % 2 == 1;
    for (auto [it, end] = boost::out_edges(v, g); it != end; ++it) {
      const int u = static_cast<int>(boost::target(*it, g));
      const std::uint8_t allowed = g[*it].types & (only_r ? dep_exclusive_holder : dep_any);
      if (allowed == 0) continue;
      const bool u_r = (allowed & dep_nonrecursive) == 0;
      // A state entered through a non-recursive edge allows every edge out: it dominates.
      if (parent[state(u, false)] != -2 || parent[state(u, u_r)] != -2) continue;
      parent[state(u, u_r)] = s;
      if (u == target) {
        if (!(u_r && type_shared)) {
          found = state(u, u_r);
          break;
        }
        continue;  // do not walk on through `held`: that would reuse the new edge
      }
      queue.push_back(state(u, u_r));
    }
  }
  if (found < 0) return;

  std::vector<int> path;  // classes target ... source, reversed below
  for (int s = found; s != -1; s = parent[s])
    path.push_back(s / 2);
  std::reverse(path.begin(), path.end());

  Report report;
  report.kind = Report::Kind::circular;
  report.cpu = cpu;
  report.cycle.push_back(
      {held.cls, next.cls, held.mode, next.mode, held.function, next.function, cpu});
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    auto [e, exists] = boost::edge(path[i], path[i + 1], g);
    report.cycle.push_back(g[e].first);
  }
  std::vector<std::pair<int, int>> key;
  for (const auto& e : report.cycle)
    key.emplace_back(idx(e.from), idx(e.to));
  std::sort(key.begin(), key.end());
  if (!seen_cycles_.insert(std::move(key)).second) return;
  reports_.push_back(std::move(report));
  reported(reports_.back());
}

void Lockdep::report_recursive(int cpu, const Held& held, const Held& next) {
  const std::array<int, 3> key{idx(held.cls), static_cast<int>(held.mode),
                               static_cast<int>(next.mode)};
  if (!seen_recursive_.insert(key).second) return;
  Report report;
  report.kind = Report::Kind::recursive;
  report.cpu = cpu;
  report.cycle.push_back(
      {held.cls, next.cls, held.mode, next.mode, held.function, next.function, cpu});
  reports_.push_back(std::move(report));
  reported(reports_.back());
}

std::vector<std::string> Lockdep::edges() const {
  // Each class's out-edges, not boost::edges(): its iterator holds a boost::optional that GCC 12
  // at -O1 (the sanitizer build) warns may be used uninitialized, a false positive.
  std::vector<const EdgeInfo*> all;
  const Graph& g = *graph_;
  for (auto [v, v_end] = boost::vertices(g); v != v_end; ++v)
    for (auto [it, end] = boost::out_edges(*v, g); it != end; ++it)
      all.push_back(&g[*it]);
  std::sort(all.begin(), all.end(),
            [](const EdgeInfo* a, const EdgeInfo* b) { return a->order < b->order; });
  std::vector<std::string> out;
  out.reserve(all.size());
  for (const EdgeInfo* e : all) {
    out.push_back(lock_name(e->first.from) + " -> " + lock_name(e->first.to) + " (" +
                  e->first.from_function + ", " + e->first.to_function + ")");
  }
  return out;
}

std::string format_report(const LockdepReport& report) {
  if (report.cycle.empty()) return {};
  const LockdepEdge& now = report.cycle.front();
  std::string s;
  auto line = [&s](const std::string& text) { s += text + "\n"; };
  const bool circular = report.kind == LockdepReport::Kind::circular;
  const std::string title = circular ? "WARNING: possible circular locking dependency detected"
                                     : "WARNING: possible recursive locking detected";
  line(title);
  line(std::string(title.size(), '-'));
  line("CPU " + std::to_string(report.cpu) + " is trying to acquire lock:");
  line(" " + lock_desc(now.to, now.to_mode) + ", at: " + now.to_function);
  line("");
  line("but task is already holding lock:");
  line(" " + lock_desc(now.from, now.from_mode) + ", at: " + now.from_function);
  line("");
  const std::string prev = lock_name(now.from);
  const std::string next = lock_name(now.to);
  if (!circular) {
    line("other info that might help us debug this:");
    line(" Possible unsafe locking scenario:");
    line("");
    line("       CPU0");
    line("       ----");
    line("  lock(" + prev + ");");
    line("  lock(" + next + ");");
    line("");
    line(" *** DEADLOCK ***");
    line("");
    line(" May be due to missing lock nesting notation");
    return s;
  }
  line("which lock already depends on the new lock.");
  line("");
  line("");
  line("the existing dependency chain (in reverse order) is:");
  for (std::size_t k = report.cycle.size(); k-- > 0;) {
    const LockdepEdge& e = report.cycle[k];
    line("");
    line("-> #" + std::to_string(k) + " " + lock_desc(e.to, e.to_mode) + ":");
    line("       " + e.from_function);
    line("       " + e.to_function);
  }
  line("");
  line("other info that might help us debug this:");
  line("");
  // print_circular_lock_scenario(): source = the lock being acquired, target = the lock held,
  // parent = the class the existing path goes through just before the held one.
  const std::string parent = lock_name(report.cycle.back().from);
  if (parent != next) {
    line("Chain exists of:");
    line("  " + next + " --> " + parent + " --> " + prev);
    line("");
  }
  line(" Possible unsafe locking scenario:");
  line("");
  line("       CPU0                    CPU1");
  line("       ----                    ----");
  line("  lock(" + prev + ");");
  line("                               lock(" + parent + ");");
  line("                               lock(" + prev + ");");
  line("  lock(" + next + ");");
  line("");
  line(" *** DEADLOCK ***");
  return s;
}

}  // namespace slabsim::sim
