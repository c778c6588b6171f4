// Lockdep (sim/kernel/lockdep): dependency graph of lock classes, circular and recursive
// locking reports, the read/write rule, and the splat text. No simulation: acquisitions are fed
// by hand, CPU by CPU, never overlapping in time.
#include "kernel/lockdep.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace slabsim::sim {
namespace {

using alloc::LockClass;
using alloc::LockMode;

constexpr auto slab_mutex = LockClass::slab_mutex;
constexpr auto list_lock = LockClass::list_lock;
constexpr auto mems = LockClass::mem_hotplug_lock;
constexpr auto cpus = LockClass::cpu_hotplug_lock;
constexpr auto chain = LockClass::memory_chain;
constexpr auto kn = alloc::kernfs_active_class(16);  // shrink's kn->active: kn->active#18
constexpr auto R = LockMode::read;
constexpr auto W = LockMode::write;
constexpr auto X = LockMode::exclusive;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The ABBA of the brief: slab_mutex -> list_lock on CPU 0, later list_lock -> slab_mutex on
// CPU 1.
void abba(Lockdep& ld) {
  ld.acquire(0, slab_mutex, X, "kmem_cache_destroy");
  ld.acquire(0, list_lock, X, "free_partial");
  ld.release(0, list_lock, X);
  ld.release(0, slab_mutex, X);
  ld.acquire(1, list_lock, X, "__kmem_cache_shrink");
  ld.acquire(1, slab_mutex, X, "bogus_callback");
  ld.release(1, slab_mutex, X);
  ld.release(1, list_lock, X);
}

TEST(Lockdep, AbbaAcrossTwoCpusIsReportedOnceWithBothEdges) {
  Lockdep ld;
  abba(ld);
  ASSERT_EQ(ld.reports().size(), 1U);
  const auto& r = ld.reports()[0];
  EXPECT_EQ(r.kind, Lockdep::Report::Kind::circular);
  EXPECT_EQ(r.cpu, 1);
  ASSERT_EQ(r.cycle.size(), 2U);
  // #0: the new dependency, list_lock held while slab_mutex is taken.
  EXPECT_EQ(r.cycle[0].from, list_lock);
  EXPECT_EQ(r.cycle[0].to, slab_mutex);
  EXPECT_EQ(r.cycle[0].from_function, "__kmem_cache_shrink");
  EXPECT_EQ(r.cycle[0].to_function, "bogus_callback");
  EXPECT_EQ(r.cycle[0].cpu, 1);
  // #1: the existing one, from CPU 0.
  EXPECT_EQ(r.cycle[1].from, slab_mutex);
  EXPECT_EQ(r.cycle[1].to, list_lock);
  EXPECT_EQ(r.cycle[1].from_function, "kmem_cache_destroy");
  EXPECT_EQ(r.cycle[1].to_function, "free_partial");
  EXPECT_EQ(r.cycle[1].cpu, 0);

  EXPECT_EQ(ld.edge_count(), 2U);
  EXPECT_EQ(ld.edges(), (std::vector<std::string>{
                            "slab_mutex -> &n->list_lock (kmem_cache_destroy, free_partial)",
                            "&n->list_lock -> slab_mutex (__kmem_cache_shrink, bogus_callback)"}));
  EXPECT_EQ(ld.held_count(0), 0U);
  EXPECT_EQ(ld.held_count(1), 0U);
}

TEST(Lockdep, SameCycleSeenAgainReportsOnce) {
  Lockdep ld;
  abba(ld);
  abba(ld);
  // And from the other side, with other CPUs and functions: the same set of edges.
  ld.acquire(3, slab_mutex, X, "kmem_cache_create_usercopy");
  ld.acquire(3, list_lock, X, "init_kmem_cache_nodes");
  ld.release(3, list_lock, X);
  ld.release(3, slab_mutex, X);
  EXPECT_EQ(ld.reports().size(), 1U);
  EXPECT_EQ(ld.edge_count(), 2U);
  // The edges keep the chain that first created them.
  EXPECT_EQ(ld.edges()[0], "slab_mutex -> &n->list_lock (kmem_cache_destroy, free_partial)");
}

// Reference §4.6: RFC 1/3 took slab_mutex in kmem_cache_shrink under the sysfs write's active
// reference, while destroy removes the sysfs directory (drains kn->active) under slab_mutex.
TEST(Lockdep, Rfc13ShrinkUnderActiveRefAgainstDestroyIsReported) {
  Lockdep ld;
  ld.acquire(0, kn, R, "kernfs_fop_write");
  ld.acquire(0, slab_mutex, X, "kmem_cache_shrink");
  ld.release(0, slab_mutex, X);
  ld.release(0, kn, R);
  EXPECT_TRUE(ld.reports().empty());
  ld.acquire(1, slab_mutex, X, "kmem_cache_destroy");
  ld.acquire(1, kn, W, "kernfs_remove");
  ld.release(1, kn, W);
  ld.release(1, slab_mutex, X);
  ASSERT_EQ(ld.reports().size(), 1U);
  const auto& r = ld.reports()[0];
  ASSERT_EQ(r.cycle.size(), 2U);
  EXPECT_EQ(r.cycle[0].from, slab_mutex);
  EXPECT_EQ(r.cycle[0].to, kn);
  EXPECT_EQ(r.cycle[0].to_mode, W);
  EXPECT_EQ(r.cycle[0].to_function, "kernfs_remove");
  EXPECT_EQ(r.cycle[1].from, kn);
  EXPECT_EQ(r.cycle[1].from_mode, R);
  EXPECT_EQ(r.cycle[1].from_function, "kernfs_fop_write");
  EXPECT_EQ(r.cycle[1].to_function, "kmem_cache_shrink");
}

// Reference §6.3 (e4f8e513c3d3): mem_hotplug_lock -> slab_mutex -> kn->active -> mem_hotplug_lock,
// with only reads of mem_hotplug_lock: the pending hotplug writer makes it a deadlock.
TEST(Lockdep, E4f8e513ThreeLockCycleIsReported) {
  Lockdep ld;
  ld.acquire(0, cpus, R, "kmem_cache_create_usercopy");
  ld.acquire(0, mems, R, "kmem_cache_create_usercopy");
  ld.acquire(0, slab_mutex, X, "kmem_cache_create_usercopy");
  ld.release(0, slab_mutex, X);
  ld.release(0, mems, R);
  ld.release(0, cpus, R);
  ld.acquire(1, slab_mutex, X, "kmem_cache_destroy");
  ld.acquire(1, kn, W, "kernfs_remove");
  ld.release(1, kn, W);
  ld.release(1, slab_mutex, X);
  EXPECT_TRUE(ld.reports().empty());
  ld.acquire(2, kn, R, "kernfs_seq_start");
  ld.acquire(2, mems, R, "show_slab_objects");
  ld.release(2, mems, R);
  ld.release(2, kn, R);

  ASSERT_EQ(ld.reports().size(), 1U);
  const auto& r = ld.reports()[0];
  EXPECT_EQ(r.kind, Lockdep::Report::Kind::circular);
  EXPECT_EQ(r.cpu, 2);
  ASSERT_EQ(r.cycle.size(), 3U);
  EXPECT_EQ(r.cycle[0].from, kn);
  EXPECT_EQ(r.cycle[0].to, mems);
  EXPECT_EQ(r.cycle[0].to_function, "show_slab_objects");
  EXPECT_EQ(r.cycle[1].from, mems);
  EXPECT_EQ(r.cycle[1].to, slab_mutex);
  EXPECT_EQ(r.cycle[1].from_function, "kmem_cache_create_usercopy");
  EXPECT_EQ(r.cycle[2].from, slab_mutex);
  EXPECT_EQ(r.cycle[2].to, kn);
  EXPECT_EQ(r.cycle[2].to_function, "kernfs_remove");

  const std::string text = format_report(r);
  EXPECT_TRUE(contains(text,
                       "-> #2 (kn->active#18){write}:\n       kmem_cache_destroy\n"
                       "       kernfs_remove\n"));
  EXPECT_TRUE(contains(text, "-> #1 (slab_mutex){exclusive}:\n"));
  EXPECT_TRUE(contains(text,
                       "-> #0 (mem_hotplug_lock){read}:\n       kernfs_seq_start\n"
                       "       show_slab_objects\n"));
  EXPECT_LT(text.find("-> #2"), text.find("-> #1"));
  EXPECT_LT(text.find("-> #1"), text.find("-> #0"));
  EXPECT_TRUE(
      contains(text, "Chain exists of:\n  mem_hotplug_lock --> slab_mutex --> kn->active#18\n"));
}

TEST(Lockdep, ConsistentOrderingIsNotReported) {
  Lockdep ld;
  for (int round = 0; round < 50; ++round) {
    const int cpu = round % 4;
    ld.acquire(cpu, cpus, R, "get_online_cpus");
    if (round % 3 != 0) ld.acquire(cpu, mems, R, "get_online_mems");
    ld.acquire(cpu, slab_mutex, X, "kmem_cache_create_usercopy");
    if (round % 2 == 0) {
      ld.acquire(cpu, list_lock, X, "free_partial");
      ld.release(cpu, list_lock, X);
    }
    ld.release(cpu, slab_mutex, X);
    if (round % 3 != 0) ld.release(cpu, mems, R);
    ld.release(cpu, cpus, R);
    // A list_lock alone, and the hotplug writer's order.
    ld.acquire(cpu, list_lock, X, "get_partial_node");
    ld.release(cpu, list_lock, X);
    ld.acquire(cpu, cpus, R, "mem_hotplug_begin");
    ld.acquire(cpu, mems, W, "mem_hotplug_begin");
    ld.acquire(cpu, slab_mutex, X, "slab_mem_going_online_callback");
    ld.release(cpu, slab_mutex, X);
    ld.release(cpu, mems, W);
    ld.release(cpu, cpus, R);
  }
  EXPECT_TRUE(ld.reports().empty());
  // cpus -> mems, cpus -> slab_mutex, mems -> slab_mutex, and -> list_lock from all three.
  EXPECT_EQ(ld.edge_count(), 6U);
}

// The read/write rule: plain reads (down_read, percpu_down_read, kernfs active refs) wait for a
// pending writer, so a read-read ABBA is reported; with recursive-read classes it is not.
TEST(Lockdep, ReadReadAbbaDependsOnRecursiveRead) {
  auto run = [](Lockdep& ld) {
    ld.acquire(0, chain, R, "blocking_notifier_call_chain");
    ld.acquire(0, cpus, R, "get_online_cpus");
    ld.release(0, cpus, R);
    ld.release(0, chain, R);
    ld.acquire(1, cpus, R, "get_online_cpus");
    ld.acquire(1, chain, R, "blocking_notifier_call_chain");
    ld.release(1, chain, R);
    ld.release(1, cpus, R);
  };
  Lockdep plain;
  run(plain);
  EXPECT_EQ(plain.reports().size(), 1U);

  Lockdep recursive;
  recursive.set_recursive_read(chain);
  recursive.set_recursive_read(cpus);
  run(recursive);
  EXPECT_TRUE(recursive.reports().empty());
  EXPECT_EQ(recursive.edge_count(), 2U);

  // A recursive read of chain under cpus' write lock does not wait (chain is only read-held):
  // the cycle chain -(SR)-> cpus -(ER)-> chain enters chain through a recursive read and leaves
  // it from a read hold, so it is not reported...
  recursive.acquire(2, cpus, W, "cpus_write_lock");
  recursive.acquire(2, chain, R, "blocking_notifier_call_chain");
  recursive.release(2, chain, R);
  recursive.release(2, cpus, W);
  EXPECT_TRUE(recursive.reports().empty());
  // ...but a writer of chain under cpus' write lock deadlocks with CPU 0's chain(R) -> cpus(R):
  // chain -(SR)-> cpus -(EN)-> chain is reported.
  recursive.acquire(3, cpus, W, "cpus_write_lock");
  recursive.acquire(3, chain, W, "blocking_notifier_chain_register");
  recursive.release(3, chain, W);
  recursive.release(3, cpus, W);
  EXPECT_EQ(recursive.reports().size(), 1U);
}

TEST(Lockdep, OutOfOrderReleaseRemovesTheRightEntry) {
  Lockdep ld;
  ld.acquire(0, cpus, R, "get_online_cpus");
  ld.acquire(0, mems, R, "get_online_mems");
  ld.acquire(0, slab_mutex, X, "kmem_cache_destroy");
  EXPECT_TRUE(ld.release(0, mems, R));  // from the middle of the stack
  EXPECT_EQ(ld.held_count(0), 2U);
  EXPECT_FALSE(ld.release(0, mems, R));        // not held any more
  EXPECT_FALSE(ld.release(0, cpus, W));        // held, but in another mode
  EXPECT_FALSE(ld.release(5, slab_mutex, X));  // a CPU never seen
  // mems is not held: taking list_lock adds no mems -> list_lock edge.
  ld.acquire(0, list_lock, X, "free_partial");
  ld.release(0, list_lock, X);
  ld.release(0, slab_mutex, X);
  ld.release(0, cpus, R);
  EXPECT_EQ(ld.held_count(0), 0U);
  for (const auto& e : ld.edges())
    EXPECT_NE(e.rfind("mem_hotplug_lock -> &n->list_lock", 0), 0U);
  EXPECT_EQ(ld.edge_count(), 5U);
  EXPECT_TRUE(ld.reports().empty());
}

TEST(Lockdep, RecursiveLockingIsReported) {
  Lockdep ld;
  ld.acquire(0, slab_mutex, X, "kmem_cache_destroy");
  ld.acquire(0, slab_mutex, X, "slab_mem_offline_callback");
  ASSERT_EQ(ld.reports().size(), 1U);
  const auto& r = ld.reports()[0];
  EXPECT_EQ(r.kind, Lockdep::Report::Kind::recursive);
  ASSERT_EQ(r.cycle.size(), 1U);
  EXPECT_EQ(r.cycle[0].from_function, "kmem_cache_destroy");
  EXPECT_EQ(r.cycle[0].to_function, "slab_mem_offline_callback");
  EXPECT_EQ(ld.edge_count(), 0U);  // no self edge
  const auto text = lines(format_report(r));
  ASSERT_GE(text.size(), 3U);
  EXPECT_EQ(text[0], "WARNING: possible recursive locking detected");
  EXPECT_EQ(text[2], "CPU 0 is trying to acquire lock:");
  // Both entries are held; releasing them leaves the CPU clean.
  EXPECT_EQ(ld.held_count(0), 2U);
  ld.release(0, slab_mutex, X);
  ld.release(0, slab_mutex, X);
  EXPECT_EQ(ld.held_count(0), 0U);

  // Read then write of the same rwsem class: a conflicting mode.
  ld.acquire(1, mems, R, "get_online_mems");
  ld.acquire(1, mems, W, "mem_hotplug_begin");
  EXPECT_EQ(ld.reports().size(), 2U);
  // A nested read of a non-recursive class is also reported (a pending writer blocks it)...
  ld.acquire(2, kn, R, "kernfs_fop_write");
  ld.acquire(2, kn, R, "kernfs_fop_write");
  EXPECT_EQ(ld.reports().size(), 3U);
  // ...but not of a recursive-read class, which adds no self edge either.
  Lockdep rec;
  rec.set_recursive_read(chain);
  rec.acquire(0, chain, R, "blocking_notifier_call_chain");
  rec.acquire(0, chain, R, "blocking_notifier_call_chain");
  EXPECT_TRUE(rec.reports().empty());
  EXPECT_EQ(rec.edge_count(), 0U);
  // The same recursion again reports nothing new.
  ld.acquire(3, slab_mutex, X, "a");
  ld.acquire(3, slab_mutex, X, "b");
  EXPECT_EQ(ld.reports().size(), 3U);
}

TEST(Lockdep, TrylockAddsNoEdgeIntoItsClass) {
  Lockdep ld;
  ld.acquire(0, slab_mutex, X, "kmem_cache_destroy");
  ld.acquire(0, LockClass::device_hotplug_lock, X, "lock_device_hotplug_sysfs", true);
  ld.acquire(0, list_lock, X, "free_partial");
  EXPECT_EQ(ld.edges(),
            (std::vector<std::string>{
                "slab_mutex -> &n->list_lock (kmem_cache_destroy, free_partial)",
                "device_hotplug_lock -> &n->list_lock (lock_device_hotplug_sysfs, free_partial)"}));
}

TEST(Lockdep, FormatReportReadsLikeLockdep) {
  Lockdep ld;
  abba(ld);
  ASSERT_EQ(ld.reports().size(), 1U);
  const std::string text = format_report(ld.reports()[0]);
  const auto l = lines(text);
  const std::vector<std::string> expected{
      "WARNING: possible circular locking dependency detected",
      "------------------------------------------------------",
      "CPU 1 is trying to acquire lock:",
      " (slab_mutex){exclusive}, at: bogus_callback",
      "",
      "but task is already holding lock:",
      " (&n->list_lock){exclusive}, at: __kmem_cache_shrink",
      "",
      "which lock already depends on the new lock.",
      "",
      "",
      "the existing dependency chain (in reverse order) is:",
      "",
      "-> #1 (&n->list_lock){exclusive}:",
      "       kmem_cache_destroy",
      "       free_partial",
      "",
      "-> #0 (slab_mutex){exclusive}:",
      "       __kmem_cache_shrink",
      "       bogus_callback",
      "",
      "other info that might help us debug this:",
      "",
      " Possible unsafe locking scenario:",
      "",
      "       CPU0                    CPU1",
      "       ----                    ----",
      "  lock(&n->list_lock);",
      "                               lock(slab_mutex);",
      "                               lock(&n->list_lock);",
      "  lock(slab_mutex);",
      "",
      " *** DEADLOCK ***",
  };
  EXPECT_EQ(l, expected);
  EXPECT_FALSE(contains(text, "Chain exists of"));  // two locks only
}

}  // namespace
}  // namespace slabsim::sim
