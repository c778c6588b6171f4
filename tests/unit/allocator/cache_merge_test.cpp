// Cache merging as mm/slab_common.c does it for every allocator (v5.10, v5.12, v6.1 alike):
// kmem_cache_create_usercopy() tries __kmem_cache_alias() first, which takes the cache
// find_mergeable() finds; slab_unmergeable() keeps a cache out. SLUB and SLAB merge, SLOB never
// does (mm/slab.h's __kmem_cache_alias() returns NULL).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "allocator/allocator.hpp"
#include "allocator/cache_layout.hpp"
#include "allocator/make_allocator.hpp"
#include "allocator/mm/node_states.hpp"
#include "allocator/mm/page_alloc.hpp"
#include "allocator/strategy.hpp"
#include "fake_environment.hpp"

namespace slabsim::alloc::testing {
namespace {

class Merging : public ::testing::TestWithParam<AllocatorKind> {
 protected:
  MachineLayout layout = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8);
  PageAllocator pages{layout};
  NodeStates states = boot_node_states(layout);
  FakeEnvironment env{layout};
  std::unique_ptr<Allocator> allocator =
      make_allocator(GetParam(), env, pages, states, *find_strategy_preset("slab_nodes_nocpu"));
  const SlabCommon& common = allocator->slab_common();
  bool merges() const { return GetParam() != AllocatorKind::slob; }

  Cache* create(const std::string& name, unsigned size, CacheFlags flags = {}, unsigned align = 0) {
    return allocator->kmem_cache_create(name, size, align, flags);
  }
  // merged_into as the results record it for a create that asked for `name`.
  std::optional<std::string> merged(const Cache& s, const std::string& name) const {
    return merged_into(s, name);
  }

  void TearDown() override {
    EXPECT_EQ(allocator->state().check_invariants("test"), 0);
    EXPECT_FALSE(env.anything_held());
    EXPECT_TRUE(env.misuse.empty());
  }
};

INSTANTIATE_TEST_SUITE_P(Kinds, Merging,
                         ::testing::Values(AllocatorKind::slub, AllocatorKind::slab,
                                           AllocatorKind::slob),
                         [](const auto& info) { return std::string(allocator_name(info.param)); });

// The rules of find_mergeable() and slab_unmergeable(), for the allocators that merge.
using MergingRules = Merging;
INSTANTIATE_TEST_SUITE_P(Kinds, MergingRules,
                         ::testing::Values(AllocatorKind::slub, AllocatorKind::slab),
                         [](const auto& info) { return std::string(allocator_name(info.param)); });

// kmem_cache_create_usercopy() -> __kmem_cache_alias() -> find_mergeable(): a second cache of a
// compatible size is the first one, with one more reference, inside the same lock nest; no
// struct kmem_cache is made for it.
TEST_P(Merging, CompatibleCreatesMergeUnderTheCreateNest) {
  const std::size_t boot_caches = common.slab_caches().size();
  Cache* a = create("a", 64);
  ASSERT_NE(a, nullptr);
  const std::size_t before = env.events.size();
  Cache* b = create("b", 60);  // ALIGN(60, 8) = 64 = a's s->size
  ASSERT_NE(b, nullptr);
  const auto nest = env.acquisitions(before);
  if (!merges()) {
    EXPECT_NE(b, a);
    EXPECT_EQ(common.slab_caches().size(), boot_caches + 2);
    return;
  }
  EXPECT_EQ(b, a);
  // The alias was found inside the create nest, and nothing else was locked: no allocation of a
  // struct kmem_cache or of its kmem_cache_node structs.
  EXPECT_EQ(nest, std::vector<std::string>{"slab_mutex"});
  EXPECT_EQ(a->refcount, 2);
  EXPECT_EQ(common.slab_caches().size(), boot_caches + 1);
  EXPECT_EQ(merged(*b, "b"), "a");
  EXPECT_EQ(merged(*a, "a"), std::nullopt);
}

// find_mergeable(): s->size - size must stay below a word, and s->size a multiple of the
// alignment the request needs.
TEST_P(MergingRules, SizeAndAlignmentMustFit) {
  Cache* a = create("a", 64);
  EXPECT_NE(create("smaller", 56), a);           // 64 - 56 = 8: a word too much
  EXPECT_NE(create("larger", 72), a);            // size > s->size
  EXPECT_NE(create("aligned", 64, {}, 128), a);  // 64 is no multiple of 128
  EXPECT_EQ(create("same", 64, {}, 64), a);
}

// slab_unmergeable() and find_mergeable() refuse every SLAB_NEVER_MERGE flag the model has, on
// either side: the new cache's flags and the candidate's.
TEST_P(MergingRules, NeverMergeFlagsPreventMerging) {
  const CacheFlags red_zone{.red_zone = true}, poison{.poison = true},
      store_user{.store_user = true}, rcu{.typesafe_by_rcu = true};
  for (const CacheFlags& flags : {red_zone, poison, store_user, rcu}) {
    ASSERT_TRUE(flags.never_merge());
    Cache* plain = create("plain", 256);
    Cache* flagged = create("flagged", 256, flags);
    EXPECT_NE(flagged, plain);
    EXPECT_EQ(plain->refcount, 1);
    // A flagged cache is no target either.
    Cache* plain2 = create("plain2", 256);
    EXPECT_EQ(plain2, plain);
    allocator->kmem_cache_destroy(plain2);
    allocator->kmem_cache_destroy(flagged);
    allocator->kmem_cache_destroy(plain);
  }
  Cache* first = create("rcu-first", 512, rcu);
  EXPECT_NE(create("after-rcu", 512), first);
}

// A ctor prevents merging both ways (find_mergeable()'s `if (ctor)`, slab_unmergeable()'s
// `if (s->ctor)`).
TEST_P(MergingRules, ConstructorPreventsMerging) {
  const CacheFlags ctor{.has_ctor = true};
  Cache* with_ctor = create("ctor", 128, ctor);
  Cache* plain = create("plain", 128);
  EXPECT_NE(plain, with_ctor);
  EXPECT_NE(create("ctor2", 128, ctor), plain);
  EXPECT_NE(create("ctor3", 128, ctor), with_ctor);
}

// SLAB_MERGE_SAME: SLAB_RECLAIM_ACCOUNT must agree.
TEST_P(MergingRules, MergeSameFlagsMustAgree) {
  Cache* plain = create("plain", 128);
  Cache* reclaim = create("reclaim", 128, {.reclaim_account = true});
  EXPECT_NE(reclaim, plain);
  EXPECT_EQ(create("reclaim2", 128, {.reclaim_account = true}), reclaim);
  EXPECT_EQ(create("plain2", 128), plain);
}

// The slab_nomerge boot parameter.
TEST_P(Merging, SlabNomergePreventsMerging) {
  allocator->set_slab_nomerge(true);
  Cache* a = create("a", 64);
  EXPECT_NE(create("b", 64), a);
  EXPECT_EQ(a->refcount, 1);
}

// create_boot_cache() leaves refcount -1 and create_kmalloc_cache() gives the kmalloc caches
// a usercopy whitelist (usersize = size): no boot cache (kmem_cache, kmem_cache_node, the kmalloc
// family) is ever a target, even of the same size and flags.
TEST_P(MergingRules, BootCachesAreNeverTargets) {
  const std::vector<Cache*> boot_caches = common.slab_caches();
  for (const Cache* boot : boot_caches) {
    ASSERT_TRUE(boot->refcount == -1 || boot->usersize != 0) << boot->name;
    Cache* s = create("like-" + boot->name, boot->size, boot->flags);
    ASSERT_NE(s, nullptr);
    EXPECT_NE(s, boot);
    EXPECT_EQ(s->refcount, 1);
    EXPECT_EQ(allocator->kmem_cache_destroy(s), 0);
  }
}

// list_for_each_entry_reverse(s, &slab_caches, list): the oldest match wins.
TEST_P(MergingRules, FirstCreatedMatchWins) {
  allocator->set_slab_nomerge(true);
  Cache* older = create("older", 96);
  Cache* newer = create("newer", 96);
  ASSERT_NE(older, newer);
  allocator->set_slab_nomerge(false);
  EXPECT_EQ(create("third", 96), older);
  EXPECT_EQ(older->refcount, 2);
  EXPECT_EQ(newer->refcount, 1);
}

// kmem_cache_destroy() of an alias only drops its reference: the target stays listed and
// usable, and goes at its last reference.
TEST_P(MergingRules, DestroyingTheAliasKeepsTheTarget) {
  Cache* a = create("a", 64);
  Cache* b = create("b", 64);
  ASSERT_EQ(b, a);
  EXPECT_EQ(allocator->kmem_cache_destroy(b), 1);
  EXPECT_EQ(a->refcount, 1);
  EXPECT_FALSE(a->destroyed);
  EXPECT_EQ(common.find_cache("a"), a);
  const ObjectRef o = allocator->kmem_cache_alloc(a, gfp_kernel);
  ASSERT_TRUE(o);
  allocator->kmem_cache_free(a, o);
  EXPECT_EQ(allocator->kmem_cache_destroy(a), 0);
  EXPECT_TRUE(a->destroyed);
}

}  // namespace
}  // namespace slabsim::alloc::testing
