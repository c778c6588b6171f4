// CMPXCHG_DOUBLE_FAIL at every site mm/slub.c counts it (issue #14 item 7): __cmpxchg_double_slab()
// and cmpxchg_double_slab() count each failed attempt, so acquire_slab(), get_freelist(),
// unfreeze_partials(), deactivate_slab() (v5.10's stage one too) and __slab_free() all do. The
// fake environment's on_sync hook makes another CPU free into the slab between the read and
// the cmpxchg, as a CPU running meanwhile would.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

class SlubCmpxchg : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(m.new_violations(), 0);
    EXPECT_TRUE(m.env.misuse.empty());
    EXPECT_FALSE(m.env.anything_held());
    EXPECT_EQ(m.env.irq_depth, 0);
  }
  // Makes CPU 2 free `o` once, at the sync `fire()` picks.
  void free_from_cpu2_when(std::function<bool()> fire, Object o) {
    m.env.on_sync = [this, fire = std::move(fire), o] {
      if (fired || !fire()) return;
      fired = true;
      const int saved = m.env.cpu;
      m.free(s, o, 2);
      m.env.cpu = saved;
    };
  }
  SlubMachine m{small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8)};
  KmemCache* s = m.create("test-256", 256);
  bool fired = false;
};

// acquire_slab() (v5.12): under the list_lock, but a free to a slab that stays partial takes no
// lock, so it lands between the read and the cmpxchg.
TEST_F(SlubCmpxchg, AcquireSlabV5_12CountsAFailedCmpxchg) {
  std::vector<Object> objs;
  for (unsigned i = 0; i < s->s.objects / 2; ++i)
    objs.push_back(m.alloc(s, 0));
  m.env.cpu = 0;
  m.slub.flush_all(s);  // the slab goes to node 0's partial list
  ASSERT_EQ(s->node[0]->nr_partial, 1u);
  bool locked = false;
  m.env.before_lock = [&](LockClass cls, std::uint64_t, const char* function) {
    locked = locked || (cls == LockClass::list_lock && std::string(function) == "get_partial_node");
  };
  free_from_cpu2_when([&] { return locked; }, objs[1]);
  objs.push_back(m.alloc(s, 1));  // CPU 1 (node 0) refills from the partial list
  m.env.on_sync = nullptr;
  m.env.before_lock = nullptr;
  EXPECT_TRUE(fired);
  EXPECT_EQ(m.stat(s, ALLOC_FROM_PARTIAL), 1u);
  EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 1u);
  for (std::size_t i = 0; i < objs.size(); ++i)
    if (i != 1) m.free(s, objs[i], 1);
}

// get_freelist() (v5.12): the cpu slab is frozen and other CPUs free to page->freelist with no
// lock while the owner takes it.
TEST_F(SlubCmpxchg, GetFreelistV5_12CountsAFailedCmpxchg) {
  std::vector<Object> objs;
  for (unsigned i = 0; i < s->s.objects; ++i)
    objs.push_back(m.alloc(s, 0));
  m.free(s, objs[0], 2);  // FREE_FROZEN: page->freelist holds it
  const int start = m.env.syncs;
  // get_freelist() syncs before its read, then pays the cmpxchg: the second sync is the window.
  free_from_cpu2_when([&] { return m.env.syncs == start + 2; }, objs[1]);
  const Object refill = m.alloc(s, 0);
  m.env.on_sync = nullptr;
  EXPECT_TRUE(fired);
  EXPECT_EQ(m.stat(s, ALLOC_REFILL), 1u);
  EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 1u);
  EXPECT_EQ(m.stat(s, FREE_FROZEN), 2u);
  m.free(s, refill, 0);
  for (std::size_t i = 2; i < objs.size(); ++i)
    m.free(s, objs[i], 0);
}

// unfreeze_partials() (v5.12): a slab on the CPU's partial list is frozen; a free to it takes no
// lock, so it races with the unfreezing cmpxchg under the list_lock.
TEST_F(SlubCmpxchg, UnfreezePartialsV5_12CountsAFailedCmpxchg) {
  std::vector<Object> full;
  for (unsigned i = 0; i < s->s.objects; ++i)
    full.push_back(m.alloc(s, 0));
  const Object next = m.alloc(s, 0);  // a new cpu slab; the full one is on no list
  m.free(s, full[0], 0);              // the full slab goes to CPU 0's partial list, frozen
  ASSERT_EQ(m.stat(s, CPU_PARTIAL_FREE), 1u);
  bool locked = false;
  m.env.before_lock = [&](LockClass cls, std::uint64_t, const char* function) {
    locked =
        locked || (cls == LockClass::list_lock && std::string(function) == "unfreeze_partials");
  };
  free_from_cpu2_when([&] { return locked; }, full[1]);
  m.env.cpu = 0;
  m.slub.flush_all(s);
  m.env.on_sync = nullptr;
  m.env.before_lock = nullptr;
  EXPECT_TRUE(fired);
  EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 1u);
  m.free(s, next, 0);
  for (std::size_t i = 2; i < full.size(); ++i)
    m.free(s, full[i], 0);
}

// deactivate_slab() v5.10, stage one: one cmpxchg per object of the CPU freelist, each racing
// with frees to the still-frozen slab.
TEST(SlubCmpxchgV5_10, DeactivateSlabStageOneCountsAFailedCmpxchg) {
  SlubMachine m{small_layout(2, 2, 8), "hotplug_lock"};
  KmemCache* s = m.create("test-256", 256);
  ASSERT_NE(s, nullptr);
  const Object a = m.alloc(s, 0);
  const Object b = m.alloc(s, 0);
  Slab* page = a.slab;
  bool fired = false;
  int seen = 0;
  // Once the flush began: deactivate_slab()'s own sync first, then stage one's first window.
  m.env.on_sync = [&] {
    if (fired || m.stat(s, CPUSLAB_FLUSH) == 0 || ++seen < 2) return;
    ASSERT_TRUE(page->frozen);
    fired = true;
    m.free(s, a, 2);
    m.env.cpu = 0;
  };
  m.env.cpu = 0;
  m.slub.flush_all(s);
  m.env.on_sync = nullptr;
  EXPECT_TRUE(fired);
  EXPECT_EQ(m.stat(s, FREE_FROZEN), 1u);
  EXPECT_EQ(m.stat(s, CMPXCHG_DOUBLE_FAIL), 1u);
  m.free(s, b, 0);
  EXPECT_EQ(m.new_violations(), 0);
}

}  // namespace
}  // namespace slabsim::alloc::testing
