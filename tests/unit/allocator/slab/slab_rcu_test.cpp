// SLAB_TYPESAFE_BY_RCU in SLAB (issue #14 item 6): slab_destroy() (mm/slab.c, v5.10) hands a
// slab's pages back from an RCU callback, kmem_rcu_free() -> kmem_freepages().
#include <gtest/gtest.h>

#include <vector>

#include "slab_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

TEST(SlabRcu, SlabDestroyV5_10DefersTheTypesafeByRcuPagesByAGracePeriod) {
  SlabMachine m{small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/4)};
  CacheFlags rcu;
  rcu.typesafe_by_rcu = true;
  SlabCache* c = m.create("rcu-256", 256, rcu);
  SlabCache* plain = m.create("plain-256", 256);
  for (SlabCache* cache : {c, plain}) {
    std::vector<ObjectRef> objs;
    for (int i = 0; i < 40; ++i)
      objs.push_back(m.alloc(cache, 0));
    for (auto o : objs)
      m.free(cache, o, 0);
  }
  m.env.cpu = 0;
  const std::uint64_t free_before = m.pages.free_pages(0);
  ASSERT_EQ(m.slab.kmem_cache_shrink(plain), 0);
  const std::uint64_t after_plain = m.pages.free_pages(0);
  EXPECT_GT(after_plain, free_before) << "kmem_freepages() at once without the flag";
  EXPECT_TRUE(m.env.rcu_callbacks.empty());
  ASSERT_EQ(m.slab.kmem_cache_shrink(c), 0);
  EXPECT_FALSE(m.env.rcu_callbacks.empty()) << "call_rcu(&page->rcu_head, kmem_rcu_free)";
  EXPECT_EQ(m.pages.free_pages(0), after_plain) << "the pages wait for the grace period";
  m.env.end_grace_period();
  EXPECT_GT(m.pages.free_pages(0), after_plain);
  EXPECT_EQ(m.new_violations(), 0);
}

}  // namespace
}  // namespace slabsim::alloc::testing
