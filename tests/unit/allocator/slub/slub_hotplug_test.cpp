// SLUB under memory hotplug, per strategy: behaviours 6-9 of reference/slub-hotplug.md
// section 10, mistakes 3 and 4 of section 11, and the 03afc0e25f7f race driven step by step.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// Nodes 0 and 1 with CPUs and memory; node 2 CPU-less with 2 offline normal blocks; node 3
// CPU-less with 2 offline movable blocks.
MachineLayout hotplug_layout() {
  MachineLayout l = small_layout(2, 2, 8);
  add_memory_node(l, 2, BlockPresence::offline, ZoneType::normal);
  add_memory_node(l, 2, BlockPresence::offline, ZoneType::movable);
  return l;
}
int first_block(const MachineLayout& l, int node) {
  for (std::size_t b = 0; b < l.blocks.size(); ++b)
    if (l.blocks[b].node == node) return static_cast<int>(b);
  return -1;
}

std::vector<std::string> without_list_locks(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v)
    if (s != "&n->list_lock") out.push_back(s);
  return out;
}

class PerStrategy : public ::testing::TestWithParam<std::string> {
 protected:
  SlubMachine m{hotplug_layout(), GetParam()};
  const int block2 = first_block(m.layout, 2);
  const int block3 = first_block(m.layout, 3);
  bool v512() const { return m.slub.strategy().usable_nodes == UsableNodes::slab_nodes; }
};

INSTANTIATE_TEST_SUITE_P(Presets, PerStrategy,
                         ::testing::Values("mutex_only", "hotplug_lock", "shrink_slab_mutex",
                                           "slab_nodes", "slab_nodes_nocpu", "v6.1"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// The 03afc0e25f7f race: a cache created between the GOING_ONLINE callbacks and
// node_states_set_node() misses the new node under mutex_only; the hotplug lock makes the
// creation wait; slab_nodes lets it run and still gives it the node.
TEST_P(PerStrategy, CacheCreatedWhileANodeGoesOnline) {
  KmemCache* late = nullptr;
  bool blocked = false;
  m.hotplug.on_step = [&](HotplugStep step) {
    if (step != HotplugStep::going_online_notified) return;
    m.env.cpu = 1;  // another CPU creates a cache right now
    try {
      late = m.create("late", 128);
    } catch (const WouldBlock&) {
      blocked = true;
      m.env.release(1, LockClass::cpu_hotplug_lock, LockMode::read);
    }
    m.env.cpu = 0;
  };
  m.env.cpu = 0;
  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  m.hotplug.on_step = nullptr;
  EXPECT_TRUE(m.env.misuse.empty());

  if (GetParam() == "hotplug_lock") {
    EXPECT_TRUE(blocked) << "get_online_mems() must wait for online_pages()";
    EXPECT_EQ(late, nullptr);
    EXPECT_EQ(m.new_violations(), 0);
    return;
  }
  ASSERT_FALSE(blocked);
  ASSERT_NE(late, nullptr);
  if (GetParam() == "mutex_only") {
    EXPECT_EQ(late->node[2], nullptr);
    EXPECT_GE(m.new_violations(), 1);
    ASSERT_FALSE(m.slub.violations().empty());
    const Violation& v = m.slub.violations()[0];
    EXPECT_NE(v.what.find("cache late has no kmem_cache_node for node 2"), std::string::npos)
        << v.what;
    EXPECT_EQ(v.function, "test");
    EXPECT_EQ(v.cpu, m.env.cpu);
    EXPECT_EQ(v.time_ns, m.env.time);
    // The consequence: a slab of node 2 deactivated to a NULL kmem_cache_node.
    Object o = m.alloc(late, 0, 2);
    EXPECT_EQ(o.slab->pages.node, 2);
    m.env.cpu = 0;
    m.slub.flush_all(late);
    bool null_deref = false;
    for (const auto& v : m.slub.violations())
      null_deref |= v.function == "deactivate_slab" && v.what.find("NULL") != std::string::npos;
    EXPECT_TRUE(null_deref);
  } else {
    EXPECT_NE(late->node[2], nullptr);
    EXPECT_EQ(m.new_violations(), 0);
    for (const auto& v : m.slub.violations())
      ADD_FAILURE() << v.what;
  }
}

// Behaviour 6: an unusable node becomes NUMA_NO_NODE; N_NORMAL_MEMORY and slab_nodes differ
// inside the hotplug window.
TEST_P(PerStrategy, UsableNodeTestDiffersInsideTheOnlineWindow) {
  // Before 0715e6c516f1 (v5.6) ___slab_alloc() never ignores the node (mutex_only's v3.14).
  const bool ignores = m.slub.strategy().node_paths == NodePaths::v5_6;
  KmemCache* s = m.create("c", 64);
  ASSERT_NE(s, nullptr);
  m.alloc(s, 0, 2);  // node 2 has no memory yet: unusable under every strategy
  EXPECT_EQ(s->fallback_to_no_node[2], ignores ? 1u : 0u);

  bool usable_in_window = false, n_normal_in_window = true;
  std::uint64_t fallbacks_in_window = 0;
  m.hotplug.on_step = [&](HotplugStep step) {
    if (step != HotplugStep::going_online_notified) return;
    usable_in_window = m.slub.node_usable(2);
    n_normal_in_window = m.states.test(2, NodeState::normal_memory);
    const std::uint64_t before = s->fallback_to_no_node[2];
    m.env.cpu = 2;
    m.slub.kmem_cache_alloc_node(s, gfp_kernel, 2);  // an allocation running meanwhile
    m.env.cpu = 0;
    fallbacks_in_window = s->fallback_to_no_node[2] - before;
  };
  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  EXPECT_FALSE(n_normal_in_window);
  EXPECT_EQ(usable_in_window, v512());
  EXPECT_EQ(fallbacks_in_window, ignores && !v512() ? 1u : 0u);
  // After ONLINE both tests agree and node 2 gets its own slabs.
  EXPECT_TRUE(m.slub.node_usable(2));
  Object o = m.alloc(s, 0, 2);
  EXPECT_EQ(o.slab->pages.node, 2);
}

// Behaviour 7: GOING_ONLINE runs before node_states_set_node(), OFFLINE after
// node_states_clear_node(), all under mem_hotplug_lock (write) taken after cpu_hotplug_lock.
TEST_P(PerStrategy, HotplugOrderingAndLockNesting) {
  std::vector<std::string> seen;
  m.hotplug.register_notifier(
      {"observer", 0, [&](MemoryAction a, const MemoryNotify& arg) {
         seen.push_back(std::string(memory_action_name(a)) +
                        " N_NORMAL=" + (m.states.test(2, NodeState::normal_memory) ? "1" : "0") +
                        " normal=" + std::to_string(arg.status_change_nid_normal) +
                        " any=" + std::to_string(arg.status_change_nid));
         return 0;
       }});
  const std::size_t from = m.env.events.size();
  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  ASSERT_EQ(m.hotplug.online_pages(block2 + 1, ZoneType::normal), 0);
  ASSERT_EQ(m.hotplug.offline_pages(block2 + 1), 0);
  ASSERT_EQ(m.hotplug.offline_pages(block2), 0);
  EXPECT_EQ(
      seen,
      (std::vector<std::string>{
          "MEM_GOING_ONLINE N_NORMAL=0 normal=2 any=2", "MEM_ONLINE N_NORMAL=1 normal=2 any=2",
          "MEM_GOING_ONLINE N_NORMAL=1 normal=-1 any=-1", "MEM_ONLINE N_NORMAL=1 normal=-1 any=-1",
          "MEM_GOING_OFFLINE N_NORMAL=1 normal=-1 any=-1",
          "MEM_OFFLINE N_NORMAL=1 normal=-1 any=-1", "MEM_GOING_OFFLINE N_NORMAL=1 normal=2 any=2",
          "MEM_OFFLINE N_NORMAL=0 normal=2 any=2"}));
  const auto locks = without_list_locks(m.env.acquisitions(from));
  ASSERT_GE(locks.size(), 3u);
  EXPECT_EQ(locks[0], "cpu_hotplug_lock(R)");
  EXPECT_EQ(locks[1], "mem_hotplug_lock(W)");
  EXPECT_EQ(locks[2], "(memory_chain).rwsem(R)");
  EXPECT_FALSE(m.env.anything_held());
}

// Behaviour 8 and mistake 3: SLUB keys on status_change_nid_normal only; v5.10 frees the
// node structs at OFFLINE, v5.12 keeps them and reuses them, and only flips slab_nodes.
TEST_P(PerStrategy, NodeStructsAcrossOfflineAndReonline) {
  KmemCache* s = m.create("c", 64);
  ASSERT_EQ(m.hotplug.online_pages(block3, ZoneType::movable), 0);
  EXPECT_EQ(s->node[3], nullptr) << "movable-only memory: no status_change_nid_normal";
  EXPECT_FALSE(m.slub.slab_nodes_test(3));

  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  KmemCacheNode* first = s->node[2];
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(m.slub.slab_nodes_test(2), v512());

  bool slab_nodes_at_going_offline = false;
  m.hotplug.register_notifier({"observer", 0, [&](MemoryAction a, const MemoryNotify&) {
                                 if (a == MemoryAction::going_offline)
                                   slab_nodes_at_going_offline = m.slub.slab_nodes_test(2);
                                 return 0;
                               }});
  ASSERT_EQ(m.hotplug.offline_pages(block2), 0);
  EXPECT_EQ(slab_nodes_at_going_offline, v512()) << "cleared at OFFLINE, not GOING_OFFLINE";
  EXPECT_FALSE(m.slub.slab_nodes_test(2));
  if (m.slub.strategy().offline_frees_nodes) {
    EXPECT_EQ(s->node[2], nullptr);
    EXPECT_TRUE(first->freed);
    EXPECT_TRUE(m.env.lock_was_freed(LockClass::list_lock, first->lock_instance));
  } else {
    EXPECT_EQ(s->node[2], first) << "v5.12 never frees kmem_cache_node structs";
    EXPECT_FALSE(m.env.lock_was_freed(LockClass::list_lock, first->lock_instance));
  }
  ASSERT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), 0);
  if (m.slub.strategy().going_online_reuses_nodes)
    EXPECT_EQ(s->node[2], first) << "re-online reuses the leftover struct";
  else
    EXPECT_NE(s->node[2], nullptr);
  EXPECT_EQ(m.new_violations(), 0);
}

// A notifier after SLUB (priority 0, as mem-on-off-test.sh's error injector) vetoes
// GOING_ONLINE: SLUB sees CANCEL_ONLINE and must undo.
TEST_P(PerStrategy, CancelOnlineUndoesSlub) {
  KmemCache* s = m.create("c", 64);
  m.hotplug.register_notifier({"notifier-error-inject", 0, [](MemoryAction a, const MemoryNotify&) {
                                 return a == MemoryAction::going_online ? -enomem : 0;
                               }});
  EXPECT_EQ(m.hotplug.online_pages(block2, ZoneType::normal), -enomem);
  EXPECT_EQ(m.pages.block_state(block2), BlockPresence::offline);
  EXPECT_FALSE(m.states.test(2, NodeState::normal_memory));
  EXPECT_FALSE(m.slub.slab_nodes_test(2));
  if (m.slub.strategy().offline_frees_nodes)
    EXPECT_EQ(s->node[2], nullptr);
  else
    EXPECT_NE(s->node[2], nullptr) << "v5.12 keeps the struct for the next try";
  EXPECT_EQ(m.new_violations(), 0);
}

// Mistake 3: slab_nodes is set after the per-cache loop, and not on its -ENOMEM path.
TEST(SlabNodes, NotSetWhenAStructCannotBeAllocated) {
  SlubMachine m{hotplug_layout(), "slab_nodes"};
  KmemCache* s = m.create("c", 64);
  ASSERT_NE(s, nullptr);
  // Exhaust memory and the kmem_cache_node cache's free objects.
  std::vector<PageBlockRef> hog;
  for (int nid = 0; nid < 2; ++nid)
    while (auto p = m.pages.alloc_pages(nid, 0, gfp_thisnode, nid))
      hog.push_back(*p);
  std::vector<Object> structs;
  m.env.cpu = 0;
  while (Object o =
             slub_object(m.slub.kmem_cache_alloc(m.slub.kmem_cache_node_cache(), gfp_kernel)))
    structs.push_back(o);
  EXPECT_EQ(m.hotplug.online_pages(first_block(m.layout, 2), ZoneType::normal), -enomem);
  EXPECT_FALSE(m.slub.slab_nodes_test(2));
  for (auto o : structs)
    m.slub.kmem_cache_free(m.slub.kmem_cache_node_cache(), object_ref(o));
  for (auto p : hog)
    m.pages.free_pages(p, 0);
  EXPECT_EQ(m.new_violations(), 0);
}

// Behaviour 9: the lock nests of create, destroy and shrink per version (section 4.1).
TEST_P(PerStrategy, EntryPointLockNests) {
  const Strategy& st = m.slub.strategy();
  auto expect_steps = [&](const std::vector<std::string>& got, const std::vector<LockStep>& want,
                          const char* what) {
    std::vector<std::string> names;
    for (const auto& step : want) {
      std::string n(lock_class_name(step.cls));
      if (step.mode == LockMode::read) n += "(R)";
      names.push_back(n);
    }
    ASSERT_GE(got.size(), names.size()) << what;
    EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + names.size()), names) << what;
  };
  std::size_t from = m.env.events.size();
  KmemCache* s = m.create("c", 64);
  expect_steps(without_list_locks(m.env.acquisitions(from)), st.create_locks, "create");
  from = m.env.events.size();
  m.slub.kmem_cache_shrink(s);
  expect_steps(without_list_locks(m.env.acquisitions(from)), st.shrink_locks, "shrink");
  if (GetParam() == "slab_nodes_nocpu") {
    EXPECT_TRUE(without_list_locks(m.env.acquisitions(from)).empty())
        << "v5.12 shrink is lock-free";
  }
  from = m.env.events.size();
  m.slub.kmem_cache_destroy(s);
  auto destroy = without_list_locks(m.env.acquisitions(from));
  expect_steps(destroy, st.destroy_locks, "destroy");
  // The last drain of the removal is the last attribute's (usersize, or v6.1's skip_kfence).
  const int last = slab_attributes(st.slub_version).back();
  EXPECT_EQ(destroy.back(), std::string(lock_class_name(kernfs_active_class(last))) + "(W)")
      << "sysfs removal drains active references inside the nest";
  EXPECT_FALSE(m.env.anything_held());
  // The release freed the node structs and the directory's kernfs nodes: their locks go.
  for (const auto& n : s->node_store)
    EXPECT_TRUE(m.env.lock_was_freed(LockClass::list_lock, n->lock_instance));
  for (const int attribute : slab_attributes(st.slub_version))
    EXPECT_TRUE(m.env.lock_was_freed(kernfs_active_class(attribute), s->id)) << attribute;
}

// Mistake 4: get_online_mems() is not a recursive lock. SLUB's GOING_OFFLINE callback runs
// under the hotplug write lock and must use the internal __kmem_cache_shrink.
TEST(HotplugLock, GoingOfflineShrinksWithoutTheHotplugLock) {
  SlubMachine m{hotplug_layout(), "hotplug_lock"};
  KmemCache* s = m.create("c", 64);
  ASSERT_EQ(m.hotplug.online_pages(first_block(m.layout, 2), ZoneType::normal), 0);
  std::vector<Object> objs;
  for (int i = 0; i < 100; ++i)
    objs.push_back(m.alloc(s, 0, 2));
  for (auto o : objs)
    m.free(s, o, 0);
  m.env.cpu = 0;
  m.slub.kmem_cache_shrink(s);  // empty slabs still pin their pages until shrunk
  EXPECT_EQ(m.hotplug.offline_pages(first_block(m.layout, 2)), 0);
  EXPECT_TRUE(m.env.misuse.empty()) << m.env.misuse.front();
  // The public kmem_cache_shrink() from inside the write section would self-deadlock.
  m.env.hold(0, LockClass::mem_hotplug_lock, LockMode::write);
  EXPECT_THROW(m.slub.kmem_cache_shrink(s), WouldBlock);
  EXPECT_EQ(m.env.misuse.size(), 1u);
}

// Offlining a block that holds a slab page fails at isolation, before any notifier; even an
// empty slab pins its pages until a shrink discards it.
TEST(Offline, SlabPageInTheBlockFailsIsolation) {
  SlubMachine m{hotplug_layout(), "slab_nodes_nocpu"};
  const int block = first_block(m.layout, 2);
  // Created before the node comes online, so its kmem_cache_node for node 2 lives elsewhere.
  KmemCache* s = m.create("c", 64);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  Object o = m.alloc(s, 0, 2);
  ASSERT_EQ(o.slab->pages.block, block);
  int notified = 0;
  m.hotplug.register_notifier({"observer", 0, [&](MemoryAction, const MemoryNotify&) {
                                 ++notified;
                                 return 0;
                               }});
  EXPECT_EQ(m.hotplug.offline_pages(block), -ebusy);
  EXPECT_EQ(notified, 0);
  ASSERT_FALSE(m.hotplug.log().empty());
  EXPECT_NE(m.hotplug.log().back().find("failure to isolate range"), std::string::npos);
  m.free(s, o, 0);
  m.env.cpu = 0;
  EXPECT_EQ(m.hotplug.offline_pages(block), -ebusy) << "the empty slab still pins the block";
  EXPECT_EQ(notified, 0);
  m.slub.kmem_cache_shrink(s);
  EXPECT_EQ(m.hotplug.offline_pages(block), 0);
  EXPECT_EQ(notified, 2);  // GOING_OFFLINE, OFFLINE
  EXPECT_EQ(m.new_violations(), 0);
}

// A cache created while the node is online puts its kmem_cache_node for that node on the node
// itself (kmem_cache_alloc_node), which then pins a block of it.
TEST(Offline, NodeStructsCreatedOnTheNodePinIt) {
  SlubMachine m{hotplug_layout(), "slab_nodes_nocpu"};
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  KmemCache* s = m.create("c", 64);
  ASSERT_NE(s->node[2], nullptr);
  EXPECT_EQ(s->node[2]->backing.slab->pages.node, 2);
  EXPECT_EQ(m.hotplug.offline_pages(block), -ebusy);
}

TEST(CpuHotplug, DeadCpuSlabsAreFlushed) {
  SlubMachine m{small_layout(2, 2, 8), "slab_nodes_nocpu"};
  KmemCache* s = m.create("c", 256);
  std::vector<Object> objs;
  for (unsigned i = 0; i < s->s.objects + 5; ++i)
    objs.push_back(m.alloc(s, 1));
  m.free(s, objs[0], 1);  // the first, full slab goes to CPU 1's partial list
  ASSERT_NE(s->cpu_slab[1].page, nullptr);
  ASSERT_NE(s->cpu_slab[1].partial, nullptr);
  m.env.cpu = 0;
  m.slub.dead_cpu(1);
  EXPECT_EQ(s->cpu_slab[1].page, nullptr);
  EXPECT_EQ(s->cpu_slab[1].partial, nullptr);
  EXPECT_EQ(m.stat(s, CPUSLAB_FLUSH), 1u);
  // slub_cpu_dead() (v5.10-v6.1) runs on the CPU taking CPU 1 down: stat()'s raw_cpu_inc()
  // counts the flush there.
  EXPECT_EQ(s->cpu_slab[0].stat[CPUSLAB_FLUSH], 1u);
  EXPECT_EQ(s->cpu_slab[1].stat[CPUSLAB_FLUSH], 0u);
  for (std::size_t i = 1; i < objs.size(); ++i)
    m.free(s, objs[i], 0);
  EXPECT_EQ(m.new_violations(), 0);
}

}  // namespace
}  // namespace slabsim::alloc::testing

namespace slabsim::alloc::testing {
namespace {

// mm/slub.c v6.1: kmem_cache_shrink() takes no lock in slab_common.c, but SLUB's flush_all() takes
// cpus_read_lock() and then flush_lock around its per-CPU works (5a836bf6b09f); v5.12 takes none.
TEST(V61, ShrinkLocksCpuHotplugThenFlushLockInFlushAll) {
  for (const std::string preset : {"slab_nodes_nocpu", "v6.1"}) {
    SCOPED_TRACE(preset);
    SlubMachine m{hotplug_layout(), preset};
    KmemCache* s = m.create("c", 64);
    m.alloc(s, 0);
    const std::size_t from = m.env.events.size();
    m.env.cpu = 0;
    m.slub.kmem_cache_shrink(s);
    const auto locks = without_list_locks(m.env.acquisitions(from));
    if (preset == "v6.1")
      EXPECT_EQ(locks, (std::vector<std::string>{"cpu_hotplug_lock(R)", "flush_lock"}));
    else
      EXPECT_TRUE(locks.empty());
    EXPECT_FALSE(m.env.anything_held());
  }
}

// mm/slab_common.c v6.1: kmem_cache_destroy() takes cpus_read_lock() then slab_mutex, flushes with
// flush_all_cpus_locked() (flush_lock, no second cpu_hotplug_lock), and removes the sysfs
// directory only after both locks are released (0495e337b703). v5.12 removes it under slab_mutex.
TEST(V61, DestroyRemovesSysfsAfterItsLocks) {
  for (const std::string preset : {"slab_nodes_nocpu", "v6.1"}) {
    SCOPED_TRACE(preset);
    SlubMachine m{hotplug_layout(), preset};
    KmemCache* s = m.create("c", 64);
    m.free(s, m.alloc(s, 0), 0);
    const std::size_t from = m.env.events.size();
    EXPECT_EQ(m.slub.kmem_cache_destroy(s), 0);
    // Acquisitions and releases, list_locks left out and the directory's drains, one per
    // attribute file (kernfs_drain(): acquired and released at once), as one "kn->active".
    std::vector<std::string> seq;
    std::vector<std::string_view> drained;
    for (std::size_t i = from; i < m.env.events.size(); ++i) {
      const auto& e = m.env.events[i];
      if (e.cls == LockClass::list_lock) continue;
      if (is_kernfs_active(e.cls)) {
        if (e.acquire) drained.push_back(slab_attribute_names()[kernfs_attribute_of(e.cls)]);
        if (!seq.empty() && seq.back() == "-kn->active") continue;
        if (!e.acquire) {
          seq.push_back("-kn->active");
          continue;
        }
        if (!seq.empty() && seq.back() == "+kn->active") continue;
        seq.push_back("+kn->active");
        continue;
      }
      seq.push_back(std::string(e.acquire ? "+" : "-") + std::string(lock_class_name(e.cls)));
    }
    std::vector<std::string_view> files;
    for (int a : slab_attributes(preset == "v6.1" ? SlubVersion::v6_1 : SlubVersion::v5_12))
      files.push_back(slab_attribute_names()[static_cast<std::size_t>(a)]);
    EXPECT_EQ(drained, files);
    EXPECT_EQ(files.size(), preset == "v6.1" ? 56u : 57u);
    if (preset == "v6.1")
      EXPECT_EQ(seq, (std::vector<std::string>{"+cpu_hotplug_lock", "+slab_mutex", "+flush_lock",
                                               "-flush_lock", "-slab_mutex", "-cpu_hotplug_lock",
                                               "+kn->active", "-kn->active"}));
    else
      EXPECT_EQ(seq, (std::vector<std::string>{"+slab_mutex", "+kn->active", "-kn->active",
                                               "-slab_mutex"}));
    EXPECT_TRUE(s->destroyed);
    EXPECT_FALSE(m.env.anything_held());
  }
}

// mm/slub.c v6.1: slab_mem_going_offline_callback() runs inside offline_pages(), which holds
// cpu_hotplug_lock (mem_hotplug_begin()); it flushes with flush_all_cpus_locked() and must not take
// cpu_hotplug_lock again, which a writer queued meanwhile would turn into a deadlock.
TEST(V61, GoingOfflineFlushesWithoutTakingCpuHotplugLockAgain) {
  SlubMachine m{hotplug_layout(), "v6.1"};
  KmemCache* s = m.create("c", 64);
  const int block = first_block(m.layout, 2);
  ASSERT_EQ(m.hotplug.online_pages(block, ZoneType::normal), 0);
  m.alloc(s, 0);  // CPU 0 holds a cpu slab, so the callback's flush has work to do
  const std::size_t from = m.env.events.size();
  ASSERT_EQ(m.hotplug.offline_pages(block), 0);
  const auto locks = without_list_locks(m.env.acquisitions(from));
  EXPECT_EQ(std::count(locks.begin(), locks.end(), "cpu_hotplug_lock(R)"), 1);
  EXPECT_NE(std::find(locks.begin(), locks.end(), "flush_lock"), locks.end());
  EXPECT_TRUE(m.env.misuse.empty());
  EXPECT_FALSE(m.env.anything_held());
}

}  // namespace
}  // namespace slabsim::alloc::testing
