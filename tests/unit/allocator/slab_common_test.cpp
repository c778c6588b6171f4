// mm/slab_common.c as SlabCommon models it: kmem_cache_create/destroy/shrink run the strategy's
// lock nests around the allocator's hooks, in the kernel's order, and own the list of caches;
// /proc/slabinfo is printed once, from each allocator's get_slabinfo(). First with a spy allocator
// that records what slab_common asks of it, then with the three real ones.
#include "allocator/slab_common.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/make_allocator.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/strategy.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc::testing {
namespace {

// An allocator that only records the hooks slab_common calls, with the number of lock events
// the environment had seen at each call, so a test can tell what was held around it.
class SpyAllocator final : public Allocator, public AllocatorState, public SlabSysfs {
 public:
  SpyAllocator(FakeEnvironment& env, const std::string& strategy, bool with_sysfs)
      : Allocator(env, *find_strategy_preset(strategy)),
        AllocatorState(common_),
        env_(env),
        with_sysfs_(with_sysfs) {}

  struct Call {
    std::string hook;
    std::string cache;
    std::size_t lock_events;  // env.events.size() when the hook ran
  };
  std::vector<Call> calls;
  int shutdown_result = 0;  // what __kmem_cache_shutdown() answers: non-zero = objects remain
  std::optional<std::string> refuse;  // a why for __kmem_cache_create() to fail with

  [[nodiscard]] AllocatorKind kind() const override { return AllocatorKind::slub; }
  ObjectRef kmem_cache_alloc(Cache*, Gfp) override { return {}; }
  ObjectRef kmem_cache_alloc_node(Cache*, Gfp, int) override { return {}; }
  void kmem_cache_free(Cache*, ObjectRef) override {}
  SlabSysfs* sysfs() override { return with_sysfs_ ? this : nullptr; }
  std::optional<std::string> slab_attr_show(Cache*, std::string_view,
                                            const std::vector<bool>&) override {
    return std::nullopt;
  }
  void sysfs_slab_unlink(Cache* s) override { record("sysfs_slab_unlink", s->name); }
  [[nodiscard]] bool sysfs_slab_linked(const Cache*) const override { return false; }
  [[nodiscard]] std::optional<LockClass> active_ref_class(std::string_view) const override {
    return std::nullopt;
  }

  AllocatorState& state() override { return *this; }
  [[nodiscard]] bool node_usable(int) const override { return true; }
  [[nodiscard]] NodeStructCounts hotplug_node_structs() const override { return {}; }
  [[nodiscard]] CacheReport cache_report(const Cache*, const std::vector<bool>&) const override {
    return {};
  }
  [[nodiscard]] const std::vector<LayoutField>& layout_fields() const override {
    static const std::vector<LayoutField> fields = {
        {"size", LayoutType::number, "s->size",
         [](const Cache& s, std::string_view) { return LayoutValue{.number = s.size}; }},
        {"merged_into", LayoutType::cache, "__kmem_cache_alias()",
         [](const Cache& s, std::string_view requested) {
           return LayoutValue{.cache = merged_into(s, requested)};
         }}};
    return fields;
  }
  [[nodiscard]] std::uint64_t slabs_allocated() const override { return 0; }
  int check_invariants(const char*) override { return 0; }

  std::vector<std::string> hooks() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      out.push_back(c.hook + " " + c.cache);
    return out;
  }

 private:
  CreatedCache __kmem_cache_create(const std::string& name, unsigned object_size, unsigned,
                                   CacheFlags) override {
    record("__kmem_cache_create", name);
    if (refuse) return {nullptr, -22, *refuse};
    auto s = std::make_unique<Cache>();
    s->name = name;
    s->id = common_.new_cache_id();
    s->size = object_size;
    caches_.push_back(std::move(s));
    return {caches_.back().get(), 0, {}};
  }
  int __kmem_cache_shutdown(Cache* s) override {
    record("__kmem_cache_shutdown", s->name);
    return shutdown_result;
  }
  void __kmem_cache_release(Cache* s) override { record("__kmem_cache_release", s->name); }
  int __kmem_cache_shrink(Cache* s) override {
    record("__kmem_cache_shrink", s->name);
    return 0;
  }
  void record(const char* hook, const std::string& cache) {
    calls.push_back({hook, cache, env_.events.size()});
  }

  FakeEnvironment& env_;
  bool with_sysfs_;
  std::vector<std::unique_ptr<Cache>> caches_;
};

class SlabCommonHooks : public ::testing::Test {
 protected:
  MachineLayout layout = small_layout();
  FakeEnvironment env{layout};
  SpyAllocator spy{env, "hotplug_lock", /*with_sysfs=*/true};

  void TearDown() override {
    EXPECT_FALSE(env.anything_held());
    EXPECT_TRUE(env.misuse.empty());
  }
};

// kmem_cache_create_usercopy(): get_online_cpus, get_online_mems, slab_mutex (v5.10), the hook
// inside all three, then list_add() at the head of slab_caches; ids in creation order.
TEST_F(SlabCommonHooks, CreateRunsTheHookInsideTheCreateNestAndListsAtTheHead) {
  Cache* a = spy.kmem_cache_create("a", 64, 0, {});
  Cache* b = spy.kmem_cache_create("b", 128, 0, {});
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(env.acquisitions(),
            (std::vector<std::string>{"cpu_hotplug_lock(R)", "mem_hotplug_lock(R)", "slab_mutex",
                                      "cpu_hotplug_lock(R)", "mem_hotplug_lock(R)", "slab_mutex"}));
  ASSERT_EQ(spy.calls.size(), 2u);
  EXPECT_EQ(spy.calls[0].lock_events, 3u) << "the hook runs with the whole nest held";
  EXPECT_EQ(spy.calls[1].lock_events, 9u);
  EXPECT_EQ(env.events[0].function, "kmem_cache_create");
  EXPECT_EQ(spy.slab_common().slab_caches(), (std::vector<Cache*>{b, a}));
  EXPECT_TRUE(a->listed);
  EXPECT_EQ(a->refcount, 1);
  EXPECT_LT(a->id, b->id);
  EXPECT_EQ(spy.slab_common().find_cache("a"), a);
  EXPECT_EQ(spy.slab_common().find_cache("c"), nullptr);
  EXPECT_TRUE(spy.kernel_log().empty());
}

// A failed __kmem_cache_create(): pr_warn("kmem_cache_create(%s) failed with error %d"), nothing
// listed, the nest released all the same.
TEST_F(SlabCommonHooks, FailedCreateLogsTheKernelLineAndListsNothing) {
  spy.refuse = "no room";
  EXPECT_EQ(spy.kmem_cache_create("bad", 64, 0, {}), nullptr);
  EXPECT_TRUE(spy.slab_common().slab_caches().empty());
  EXPECT_EQ(spy.kernel_log(),
            (std::vector<std::string>{"kmem_cache_create(bad) failed with error -22: no room"}));
}

// kmem_cache_destroy(): refcount-- and nothing more while it stays above 0; at 0
// shutdown_cache(): __kmem_cache_shutdown(), list_del(), sysfs_slab_unlink() (SLUB's sysfs),
// the release, all inside the destroy nest.
TEST_F(SlabCommonHooks, DestroyShutsDownUnlinksAndReleasesAtTheLastReference) {
  Cache* s = spy.kmem_cache_create("s", 64, 0, {});
  s->refcount = 2;  // an alias
  spy.calls.clear();
  EXPECT_EQ(spy.kmem_cache_destroy(s), 1);
  EXPECT_TRUE(spy.calls.empty());
  const std::size_t before = env.events.size();
  EXPECT_EQ(spy.kmem_cache_destroy(s), 0);
  EXPECT_EQ(spy.hooks(), (std::vector<std::string>{"__kmem_cache_shutdown s", "sysfs_slab_unlink s",
                                                   "__kmem_cache_release s"}));
  for (const auto& call : spy.calls)
    EXPECT_EQ(call.lock_events, before + 3) << call.hook << " inside the destroy nest";
  EXPECT_FALSE(s->listed);
  EXPECT_TRUE(s->destroyed);
  EXPECT_TRUE(spy.slab_common().slab_caches().empty());
  EXPECT_THROW(spy.kmem_cache_destroy(s), std::invalid_argument);
  EXPECT_EQ(spy.kmem_cache_destroy(nullptr), 0);
}

// Objects remain: -EBUSY, "Slab cache still has objects", and the cache stays listed with
// refcount 0, as v5.10 leaves it; nothing is released.
TEST_F(SlabCommonHooks, DestroyWithObjectsRemainingKeepsTheCache) {
  Cache* s = spy.kmem_cache_create("busy", 64, 0, {});
  spy.calls.clear();
  spy.shutdown_result = 1;
  EXPECT_EQ(spy.kmem_cache_destroy(s), -ebusy);
  EXPECT_EQ(spy.hooks(), (std::vector<std::string>{"__kmem_cache_shutdown busy"}));
  EXPECT_EQ(spy.kernel_log(),
            (std::vector<std::string>{"kmem_cache_destroy busy: Slab cache still has objects"}));
  EXPECT_TRUE(s->listed);
  EXPECT_FALSE(s->destroyed);
  EXPECT_EQ(s->refcount, 0);
}

// Without the sysfs part (SLAB, SLOB: no SLAB_SUPPORTS_SYSFS) there is nothing to unlink.
TEST(SlabCommon, NoSysfsPartNoUnlink) {
  MachineLayout layout = small_layout();
  FakeEnvironment env{layout};
  SpyAllocator spy{env, "slab_nodes_nocpu", /*with_sysfs=*/false};
  Cache* s = spy.kmem_cache_create("s", 64, 0, {});
  spy.calls.clear();
  EXPECT_EQ(spy.kmem_cache_destroy(s), 0);
  EXPECT_EQ(spy.hooks(),
            (std::vector<std::string>{"__kmem_cache_shutdown s", "__kmem_cache_release s"}));
  EXPECT_EQ(env.acquisitions(), (std::vector<std::string>{"slab_mutex", "slab_mutex"}));
}

// kmem_cache_shrink(): the shrink nest (v5.10: cpus, mems; no slab_mutex) around the hook.
TEST_F(SlabCommonHooks, ShrinkRunsTheHookInsideTheShrinkNest) {
  Cache* s = spy.kmem_cache_create("s", 64, 0, {});
  spy.calls.clear();
  const std::size_t before = env.events.size();
  EXPECT_EQ(spy.kmem_cache_shrink(s), 0);
  EXPECT_EQ(spy.hooks(), (std::vector<std::string>{"__kmem_cache_shrink s"}));
  EXPECT_EQ(spy.calls[0].lock_events, before + 2);
  EXPECT_EQ(env.acquisitions(before),
            (std::vector<std::string>{"cpu_hotplug_lock(R)", "mem_hotplug_lock(R)"}));
  EXPECT_EQ(env.events[before].function, "kmem_cache_shrink");
  EXPECT_THROW(spy.kmem_cache_shrink(nullptr), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// /proc/slabinfo: print_slabinfo_header() and cache_show(), mm/slab_common.c (v5.10)

// A get_slabinfo() that answers what it is told.
class FixedSlabinfo final : public SlabinfoSource {
 public:
  SlabInfo info;
  std::string stats;
  bool debug = false;
  [[nodiscard]] SlabInfo get_slabinfo(const Cache&) const override { return info; }
  [[nodiscard]] std::string slabinfo_show_stats(const Cache&) const override { return stats; }
  [[nodiscard]] bool config_debug_slab() const override { return debug; }
};

TEST(Slabinfo, HeaderLinesAreByteExact) {
  const std::string columns =
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
      "tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
      "<sharedavail>";
  EXPECT_EQ(print_slabinfo_header(false), "slabinfo - version: 2.1\n" + columns + "\n");
  EXPECT_EQ(print_slabinfo_header(true),
            "slabinfo - version: 2.1 (statistics)\n" + columns +
                " : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> "
                "<nodeallocs> <remotefrees> <alienoverflow> : cpustat <allochit> <allocmiss> "
                "<freehit> <freemiss>\n");
}

// "%-17s %6lu %6lu %6u %4u %4d": names padded to 17 columns but never cut, s->size from the
// cache, pagesperslab = 1 << cache_order; slabinfo_show_stats() before the newline.
TEST(Slabinfo, RowLayout) {
  Cache s;
  s.name = "a-very-long-cache-name";
  s.size = 1024;
  FixedSlabinfo source;
  source.info = {.active_objs = 3,
                 .num_objs = 16,
                 .active_slabs = 1,
                 .num_slabs = 1,
                 .shared_avail = 0,
                 .limit = 54,
                 .batchcount = 27,
                 .shared = 8,
                 .objects_per_slab = 16,
                 .cache_order = 2};
  EXPECT_EQ(cache_show(s, source),
            "a-very-long-cache-name      3     16   1024   16    4 : tunables   54   27    8 : "
            "slabdata      1      1      0\n");
  s.name = "short";
  source.stats = " : globalstat x";
  EXPECT_EQ(cache_show(s, source),
            "short                  3     16   1024   16    4 : tunables   54   27    8 : "
            "slabdata      1      1      0 : globalstat x\n");
}

// ---------------------------------------------------------------------------------------------
// The three allocators through the contract

class Allocators : public ::testing::TestWithParam<AllocatorKind> {
 protected:
  MachineLayout layout = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8);
  PageAllocator pages{layout};
  NodeStates states = boot_node_states(layout);
  FakeEnvironment env{layout};
  std::unique_ptr<Allocator> allocator =
      make_allocator(GetParam(), env, pages, states, *find_strategy_preset("hotplug_lock"));

  void TearDown() override {
    EXPECT_EQ(allocator->state().check_invariants("test"), 0);
    EXPECT_FALSE(env.anything_held());
    EXPECT_TRUE(env.misuse.empty());
  }
};

INSTANTIATE_TEST_SUITE_P(Kinds, Allocators,
                         ::testing::Values(AllocatorKind::slub, AllocatorKind::slab,
                                           AllocatorKind::slob),
                         [](const auto& info) { return std::string(allocator_name(info.param)); });

// Whichever allocator, create, destroy and shrink are slab_common's: the same nests, the same
// list, the same log line for a refused cache.
TEST_P(Allocators, CreateDestroyShrinkAreSlabCommons) {
  const SlabCommon& common = allocator->slab_common();
  const std::size_t boot_caches = common.slab_caches().size();
  const std::size_t before = env.events.size();
  Cache* a = allocator->kmem_cache_create("a", 100, 0, {});
  ASSERT_NE(a, nullptr);
  const auto nest = env.acquisitions(before);
  ASSERT_GE(nest.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(nest.begin(), nest.begin() + 3),
            (std::vector<std::string>{"cpu_hotplug_lock(R)", "mem_hotplug_lock(R)", "slab_mutex"}));
  Cache* b = allocator->kmem_cache_create("b", 200, 0, {});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(common.slab_caches().size(), boot_caches + 2);
  EXPECT_EQ(common.slab_caches()[0], b);
  EXPECT_EQ(common.slab_caches()[1], a);
  EXPECT_EQ(common.find_cache("a"), a);

  EXPECT_EQ(allocator->kmem_cache_create("zero", 0, 0, {}), nullptr);
  ASSERT_FALSE(allocator->state().kernel_log().empty());
  EXPECT_TRUE(allocator->state().kernel_log().back().starts_with(
      "kmem_cache_create(zero) failed with error -22: "));

  EXPECT_EQ(allocator->kmem_cache_shrink(a), 0);
  EXPECT_EQ(allocator->kmem_cache_destroy(a), 0);
  EXPECT_TRUE(a->destroyed);
  EXPECT_EQ(common.find_cache("a"), nullptr);
  EXPECT_THROW(allocator->kmem_cache_destroy(a), std::invalid_argument);
  EXPECT_EQ(allocator->kmem_cache_destroy(b), 0);
  EXPECT_EQ(common.slab_caches().size(), boot_caches);
}

// __kmem_cache_shutdown() sees a live object in SLUB and SLAB (-EBUSY, the cache stays); SLOB's
// cannot, so its destroy succeeds.
TEST_P(Allocators, DestroyWithALiveObject) {
  Cache* s = allocator->kmem_cache_create("live", 64, 0, {});
  ObjectRef x = allocator->kmem_cache_alloc(s, gfp_kernel);
  ASSERT_TRUE(x);
  const int err = allocator->kmem_cache_destroy(s);
  if (GetParam() == AllocatorKind::slob) {
    EXPECT_EQ(err, 0);
    EXPECT_TRUE(allocator->state().kernel_log().empty());
    return;  // the object's later free is a use-after-free, which the SLOB tests cover
  }
  EXPECT_EQ(err, -ebusy);
  EXPECT_EQ(allocator->state().kernel_log().back(),
            "kmem_cache_destroy live: Slab cache still has objects");
  EXPECT_EQ(allocator->slab_common().find_cache("live"), s);
  allocator->kmem_cache_free(s, x);
}

// Which optional parts each allocator has, as the kernel registers them: SLUB a memory
// callback, CPUHP_SLUB_DEAD (teardown only), sysfs and /proc/slabinfo; SLAB a memory callback,
// CPUHP_SLAB_PREPARE (both), cache_reap() and /proc/slabinfo (with statistics); SLOB none.
TEST_P(Allocators, OptionalPartsAreThereOnlyWhereTheKernelHasThem) {
  const AllocatorKind kind = GetParam();
  const bool slub = kind == AllocatorKind::slub;
  const bool slab = kind == AllocatorKind::slab;
  EXPECT_EQ(allocator->memory_callback() != nullptr, slub || slab);
  EXPECT_EQ(allocator->cpuhp_prepare() != nullptr, slab);
  EXPECT_EQ(allocator->cpuhp_dead() != nullptr, slub || slab);
  EXPECT_EQ(allocator->cache_reaper() != nullptr, slab);
  EXPECT_EQ(allocator->sysfs() != nullptr, slub);
  ASSERT_EQ(allocator->slabinfo_source() != nullptr, slub || slab);
  const std::string slabinfo = allocator->state().proc_slabinfo();
  if (kind == AllocatorKind::slob) {
    EXPECT_EQ(slabinfo, "");
    return;
  }
  EXPECT_EQ(allocator->slabinfo_source()->config_debug_slab(), slab);
  EXPECT_EQ(slabinfo.substr(0, slabinfo.find('\n') + 1),
            slab ? "slabinfo - version: 2.1 (statistics)\n" : "slabinfo - version: 2.1\n");
  // One header, then one row per cache on slab_caches, in its order.
  const Cache* newest = allocator->slab_common().slab_caches().front();
  const std::size_t first_row = slabinfo.find('\n', slabinfo.find('\n') + 1) + 1;
  EXPECT_EQ(slabinfo.compare(first_row, newest->name.size(), newest->name), 0);
  EXPECT_EQ(std::count(slabinfo.begin(), slabinfo.end(), '\n'),
            static_cast<long>(2 + allocator->slab_common().slab_caches().size()));
}

}  // namespace
}  // namespace slabsim::alloc::testing
