// Property-based tests of the three slab allocators through their contract (RapidCheck): random
// sequences of allocations (any node or NUMA_NO_NODE, on any online CPU), frees (local and
// remote), CPUs going offline (CPUHP_SLUB_DEAD/CPUHP_SLAB_PREPARE's teardown, then
// page_alloc_cpu_dead()) and back, memory hot-add, online, offline and a cancelled online (a
// notifier after the allocator's vetoes MEM_GOING_ONLINE), cache create/destroy/shrink, sysfs
// reads (SLUB), cache_reap() (SLAB) and RCU grace periods, for each allocator under each
// strategy it is compared with. After every step:
// - the model's own invariant checks find nothing (AllocatorState::check_invariants());
// - objects are conserved: per cache, the objects the sequence holds are the cache's objects
//   in use;
// - pages are conserved: per node, the managed pages are the buddy allocator's free and
//   isolated free pages, the per-CPU lists' pages and the pages slabs hold.
// RapidCheck shrinks a failing sequence to a minimal one, which then belongs in the
// allocator's own tests as a regression test.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocator/make_allocator.hpp"
#include "allocator/mm/memory_hotplug.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc {
// Named, not anonymous: the sanitizer pass compiles this folder's tests as one unit.
namespace slab_property_test {

using testing::FakeEnvironment;

// Nodes 0 and 1 with two CPUs and two 4 MiB blocks each; node 2 CPU-less with a block offline,
// one absent (hot-add) and a movable one offline.
MachineLayout machine() {
  MachineLayout l = testing::small_layout(/*nodes=*/2, /*cpus_per_node=*/2,
                                          /*blocks_per_node=*/2, /*block_pages=*/1024);
  testing::add_memory_node(l, 1, BlockPresence::offline);
  l.blocks.push_back({2, ZoneType::normal, BlockPresence::absent});
  l.blocks.push_back({2, ZoneType::movable, BlockPresence::offline});
  return l;
}

enum class Kind {
  alloc,
  free,
  cpu_toggle,
  memory_online,
  memory_offline,
  memory_add,
  cancelled_online,
  cache_toggle,
  shrink,
  sysfs_read,
  reap,
  grace_period,
};

struct Op {
  Kind kind = Kind::alloc;
  int a = 0, b = 0, c = 0;
};

void showValue(const Op& op, std::ostream& os) {
  static constexpr const char* names[] = {
      "alloc",          "free",       "cpu on/off",    "memory online",
      "memory offline", "memory add", "cancel online", "cache create/destroy",
      "shrink",         "sysfs read", "cache_reap",    "grace period"};
  os << names[static_cast<int>(op.kind)] << "(" << op.a << ", " << op.b << ", " << op.c << ")";
}

struct Held {
  std::size_t cache;
  ObjectRef object;
};

class Model {
 public:
  // `tally` counts what the steps did, over every sequence.
  Model(AllocatorKind kind, const Strategy& strategy, std::map<std::string, std::uint64_t>& tally)
      : pages_(layout_), states_(boot_node_states(layout_)), env_(layout_), tally_(tally) {
    pages_.set_pcp_version(strategy.page_alloc);
    allocator_ = make_allocator(kind, env_, pages_, states_, strategy);
    hotplug_ = std::make_unique<MemoryHotplug>(env_, pages_, states_, HotplugCosts{},
                                               strategy.hotplug_side);
    register_memory_callback(*hotplug_, *allocator_);
    // After the allocator's callback: the error injector of mem-on-off-test.sh.
    hotplug_->register_notifier({"veto", 0, [this](MemoryAction a, const MemoryNotify&) {
                                   return a == MemoryAction::going_online && veto_ ? -12 : 0;
                                 }});
    cpu_online_.assign(static_cast<std::size_t>(layout_.nr_cpu_slots()), true);
    caches_.push_back(create("prop-64", 64));
    caches_.push_back(create("prop-1000", 1000));
    caches_.push_back(nullptr);  // "prop-rcu": created and destroyed by the sequence
    held_.resize(caches_.size());
    rcu_pending_.assign(caches_.size(), 0);
  }

  // Applies `op` where it can run; what it did goes into tally() (e.g. "memory offline -16").
  void apply(const Op& op) {
    const int cpus = layout_.nr_cpu_slots();
    const int blocks = static_cast<int>(layout_.blocks.size());
    const int block = op.a % blocks;
    const ZoneType zone = layout_.blocks[static_cast<std::size_t>(block)].zone;
    const std::size_t i = static_cast<std::size_t>(op.a) % caches_.size();
    switch (op.kind) {
      case Kind::alloc: {
        if (!caches_[i] || !on_cpu(op.b % cpus)) return;
        const int node = op.c % 4 == 3 ? numa_no_node : op.c % 3;
        ObjectRef x = node == numa_no_node
                          ? allocator_->kmem_cache_alloc(caches_[i], gfp_kernel)
                          : allocator_->kmem_cache_alloc_node(caches_[i], gfp_kernel, node);
        if (!x) return note("alloc failed");
        held_[i].push_back(x);
        if (node == numa_no_node) return note("alloc");
        return note(x.node == node ? "alloc_node" : "alloc_node fallback");
      }
      case Kind::free: {
        if (held_[i].empty() || !on_cpu(op.b % cpus)) return;
        const std::size_t k = static_cast<std::size_t>(op.c) % held_[i].size();
        const ObjectRef x = held_[i][k];
        allocator_->kmem_cache_free(caches_[i], x);
        held_[i].erase(held_[i].begin() + static_cast<std::ptrdiff_t>(k));
        // SLOB's kmem_cache_free() of a SLAB_TYPESAFE_BY_RCU cache's object is call_rcu() of
        // kmem_rcu_free(): in use until the grace period. SLUB and SLAB free it at once (only
        // the slab's pages wait).
        if (allocator_->kind() == AllocatorKind::slob && caches_[i]->flags.typesafe_by_rcu)
          ++rcu_pending_[i];
        return note(x.node == layout_.cpu_node[static_cast<std::size_t>(env_.cpu)] ? "free"
                                                                                   : "free remote");
      }
      case Kind::cpu_toggle:
        return toggle_cpu(1 + op.a % (cpus - 1));  // CPU 0 stays: it runs the hotplug operations
      case Kind::memory_online:
        if (pages_.block_state(block) != BlockPresence::offline) return;
        env_.cpu = 0;
        return note("memory online", hotplug_->online_pages(block, zone));
      case Kind::memory_offline:
        if (pages_.block_state(block) != BlockPresence::online) return;
        env_.cpu = 0;
        return note("memory offline", hotplug_->offline_pages(block));  // -EBUSY: slabs in it
      case Kind::memory_add:
        if (pages_.block_state(block) != BlockPresence::absent) return;
        env_.cpu = 0;
        return note("memory add", hotplug_->add_memory(block));
      case Kind::cancelled_online: {
        if (pages_.block_state(block) != BlockPresence::offline) return;
        env_.cpu = 0;
        veto_ = true;
        const int ret = hotplug_->online_pages(block, zone);
        veto_ = false;
        return note("memory online vetoed", ret);
      }
      case Kind::cache_toggle:
        env_.cpu = 0;
        if (!caches_[2]) {
          caches_[2] = create("prop-rcu", 272, CacheFlags{.typesafe_by_rcu = true});
          return note("cache create");
        }
        if (!held_[2].empty()) return;
        if (const int ret = allocator_->kmem_cache_destroy(caches_[2]); ret)
          return note("cache destroy", ret);
        caches_[2] = nullptr;  // its rcu_barrier() ran every pending free
        rcu_pending_[2] = 0;
        return note("cache destroy");
      case Kind::shrink:
        if (!caches_[i] || !on_cpu(op.b % cpus)) return;
        return note("shrink", allocator_->kmem_cache_shrink(caches_[i]));
      case Kind::sysfs_read: {
        static constexpr const char* files[] = {"slabs",     "objects",       "partial",
                                                "cpu_slabs", "total_objects", "objects_partial"};
        if (!caches_[i] || !allocator_->sysfs() || !on_cpu(op.b % cpus)) return;
        (void)allocator_->sysfs()->slab_attr_show(caches_[i], files[op.c % 6], cpu_online_);
        return note("sysfs read");
      }
      case Kind::reap:
        if (!allocator_->cache_reaper() || !on_cpu(op.a % cpus)) return;
        allocator_->cache_reaper()->cache_reap();
        return note("cache_reap");
      case Kind::grace_period:
        env_.cpu = 0;
        env_.end_grace_period();
        rcu_pending_.assign(caches_.size(), 0);
        return note("grace period");
    }
  }

  // What is wrong after a step, or "".
  [[nodiscard]] std::string error() {
    env_.cpu = 0;
    if (const int found = allocator_->state().check_invariants("slab_property_test"); found) {
      const auto& v = allocator_->state().violations();
      return std::to_string(found) + " invariant violation(s), the last: " + v.back().what;
    }
    if (env_.anything_held()) return "a lock is still held";
    if (!env_.misuse.empty()) return env_.misuse.back();
    for (std::size_t i = 0; i < caches_.size(); ++i) {
      if (!caches_[i]) continue;
      const auto in_use = allocator_->state().cache_report(caches_[i], cpu_online_).objects_in_use;
      if (in_use != held_[i].size() + rcu_pending_[i])
        return caches_[i]->name + ": " + std::to_string(in_use) + " objects in use, " +
               std::to_string(held_[i].size()) + " allocated and not freed, " +
               std::to_string(rcu_pending_[i]) + " freed after a grace period";
    }
    for (int n = 0; n < layout_.nr_node_ids(); ++n) {
      std::uint64_t slab_pages = 0;
      for (std::size_t b = 0; b < layout_.blocks.size(); ++b)
        if (layout_.blocks[b].node == n) slab_pages += pages_.unmovable_pages(static_cast<int>(b));
      const std::uint64_t managed =
          pages_.managed_pages(n, ZoneType::normal) + pages_.managed_pages(n, ZoneType::movable);
      const std::uint64_t counted =
          pages_.free_pages(n) + pages_.isolated_free_pages(n) + pages_.pcp_pages(n) + slab_pages;
      if (managed != counted)
        return "node " + std::to_string(n) + ": managed " + std::to_string(managed) +
               " pages != free + isolated + per-CPU + slab " + std::to_string(counted);
    }
    return "";
  }

 private:
  Cache* create(const std::string& name, unsigned size, CacheFlags flags = {}) {
    Cache* s = allocator_->kmem_cache_create(name, size, 0, flags);
    if (!s) throw std::logic_error("slab_property_test: cannot create " + name);
    return s;
  }

  void note(const std::string& what, int ret = 0) {
    ++tally_[ret ? what + " " + std::to_string(ret) : what];
  }

  // Runs the next call on `cpu` if it is online.
  bool on_cpu(int cpu) {
    if (!cpu_online_[static_cast<std::size_t>(cpu)]) return false;
    env_.cpu = cpu;
    return true;
  }

  // cpu_down()/cpu_up() as sim/run/hotplug_operations.cpp runs them: the teardown on CPU 0
  // after the CPU stopped; the prepare step before it starts again.
  void toggle_cpu(int cpu) {
    env_.cpu = 0;
    auto online = cpu_online_[static_cast<std::size_t>(cpu)];  // a std::vector<bool> reference
    if (online) {
      online = false;
      if (auto* dead = allocator_->cpuhp_dead()) dead->dead_cpu(cpu);
      hotplug_->page_alloc_cpu_dead(cpu);
      return note("cpu offline");
    }
    if (auto* prepare = allocator_->cpuhp_prepare())
      if (const int ret = prepare->prepare_cpu(cpu); ret) return note("cpu online", ret);
    hotplug_->page_alloc_cpu_online(cpu);
    online = true;
    note("cpu online");
  }

  MachineLayout layout_ = machine();
  PageAllocator pages_;
  NodeStates states_;
  FakeEnvironment env_;
  std::unique_ptr<Allocator> allocator_;
  std::unique_ptr<MemoryHotplug> hotplug_;
  std::vector<bool> cpu_online_;
  std::vector<Cache*> caches_;
  std::vector<std::vector<ObjectRef>> held_;
  std::vector<std::size_t> rcu_pending_;  // per cache: frees waiting for a grace period
  bool veto_ = false;
  std::map<std::string, std::uint64_t>& tally_;
};

Op random_op() {
  const int kind = *rc::gen::weightedElement<int>({{30, 0},
                                                   {22, 1},
                                                   {4, 2},
                                                   {4, 3},
                                                   {4, 4},
                                                   {2, 5},
                                                   {2, 6},
                                                   {3, 7},
                                                   {3, 8},
                                                   {3, 9},
                                                   {2, 10},
                                                   {2, 11}});
  return Op{static_cast<Kind>(kind), *rc::gen::inRange(0, 1000), *rc::gen::inRange(0, 1000),
            *rc::gen::inRange(0, 1000)};
}

struct Case {
  AllocatorKind allocator;
  std::string strategy;
};

// How gtest names a case in its listing ("slub/v6.1"), rather than by its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << allocator_name(c.allocator) << "/" << c.strategy;
}

// Every allocator under every strategy preset.
std::vector<Case> every_case() {
  std::vector<Case> out;
  for (const auto& [kind, description] : allocator_kinds())
    for (const Strategy& st : strategy_presets())
      out.push_back({kind, st.name});
  return out;
}

class SlabProperty : public ::testing::TestWithParam<Case> {};

TEST_P(SlabProperty, InvariantsAndConservationHoldAfterEveryStep) {
  const Case c = GetParam();
  const Strategy* strategy = find_strategy_preset(c.strategy);
  ASSERT_NE(strategy, nullptr);
  std::map<std::string, std::uint64_t> tally;
  const bool ok = rc::check([&] {
    const auto ops = *rc::gen::container<std::vector<Op>>(rc::gen::exec(random_op));
    Model m(c.allocator, *strategy, tally);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      m.apply(ops[i]);
      if (std::string e = m.error(); !e.empty()) {
        std::ostringstream step;
        showValue(ops[i], step);
        RC_FAIL("after step " + std::to_string(i) + " " + step.str() + ": " + e);
      }
    }
  });
  EXPECT_TRUE(ok);
  // The sequences reach every path they are meant to: a property that stopped exercising one
  // (an operation that always returns early) fails here instead of passing unseen.
  std::vector<std::string> expected = {"alloc",
                                       "alloc_node",
                                       "alloc_node fallback",
                                       "free",
                                       "free remote",
                                       "cpu offline",
                                       "cpu online",
                                       "memory online",
                                       "memory offline",
                                       "memory offline -16",
                                       "memory add",
                                       "memory online vetoed -12",
                                       "cache create",
                                       "cache destroy",
                                       "shrink",
                                       "grace period"};
  if (c.allocator == AllocatorKind::slub) expected.push_back("sysfs read");
  if (c.allocator == AllocatorKind::slab) expected.push_back("cache_reap");
  std::string seen;
  for (const auto& [what, n] : tally)
    seen += what + ": " + std::to_string(n) + "\n";
  for (const auto& what : expected)
    EXPECT_GT(tally[what], 0u) << what << " never happened; what did:\n" << seen;
  if (std::getenv("SLAB_PROPERTY_TALLY")) std::cout << seen;
}

INSTANTIATE_TEST_SUITE_P(Allocators, SlabProperty, ::testing::ValuesIn(every_case()),
                         [](const auto& info) {
                           std::string name = std::string(allocator_name(info.param.allocator)) +
                                              "_" + info.param.strategy;
                           for (char& ch : name)
                             if (ch == '.') ch = '_';
                           return name;
                         });

}  // namespace slab_property_test
}  // namespace slabsim::alloc
