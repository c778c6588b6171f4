// The machine's CPUs, not the simulator's: what mm/slub.c derives from its CPU counts
// (calculate_order() of v5.10, v5.12 and v6.1, and the show_stat() columns) counts neither the
// event-task CPUs the simulator adds nor the holes in the CPU ids.
#include <gtest/gtest.h>

#include "allocator/slub/kmem_cache_open.hpp"
#include "allocator/slub/slub_sysfs.hpp"
#include "slub_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// 4 machine CPUs on two nodes, then `event_cpus` event-task CPUs on node 0.
MachineLayout with_event_cpus(int event_cpus) {
  MachineLayout l = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/4);
  for (int k = 0; k < event_cpus; ++k)
    l.cpu_node.push_back(0);
  l.nr_event_cpus = event_cpus;
  return l;
}

TEST(MachineCpus, CountsLeaveOutEventCpusAndHoles) {
  MachineLayout l = with_event_cpus(3);
  l.cpu_node[1] = MachineLayout::no_cpu;  // CPU ids 0, 2, 3: a hole at 1
  EXPECT_EQ(l.nr_cpu_slots(), 7);
  EXPECT_EQ(l.nr_cpu_ids(), 4);
  EXPECT_EQ(l.num_present_cpus(), 3);
  EXPECT_TRUE(l.is_event_cpu(4));
  EXPECT_FALSE(l.is_event_cpu(3));
  EXPECT_EQ(l.shown_cpu(5), 0);  // the first machine CPU of node 0
  EXPECT_EQ(l.shown_cpu(2), 2);
}

// calculate_order() v5.10 uses nr_cpu_ids; 3286222fc609 (v5.12, v6.1) num_present_cpus(),
// nr_cpu_ids when that is at most 1.
TEST(MachineCpus, CalculateOrderCpusPerVersion) {
  MachineLayout l = with_event_cpus(4);
  l.cpu_node[1] = MachineLayout::no_cpu;
  EXPECT_EQ(calculate_order_cpus(SlubVersion::v5_10, l), 4);
  EXPECT_EQ(calculate_order_cpus(SlubVersion::v5_12, l), 3);
  EXPECT_EQ(calculate_order_cpus(SlubVersion::v6_1, l), 3);
  MachineLayout one = small_layout(1, 2, 4);
  one.cpu_node[0] = MachineLayout::no_cpu;  // one present CPU, id 1: nr_cpu_ids 2
  EXPECT_EQ(calculate_order_cpus(SlubVersion::v5_12, one), 2);
}

// The case: 4 vCPUs and 4 event tasks. calculate_order() on 4 CPUs starts from
// 4 * (fls(4) + 1) = 16 objects: a 256-byte cache has order 0 with 16 objects (on 8 CPUs it
// would be 20 objects, order 1 with 32), whatever the number of event tasks.
TEST(MachineCpus, GeometryDoesNotDependOnEventTasks) {
  for (const char* strategy : {"hotplug_lock", "slab_nodes_nocpu", "v6.1"}) {
    for (int events : {0, 1, 4, 12}) {
      SlubMachine m(with_event_cpus(events), strategy);
      KmemCache* s = m.create("c256", 256);
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->s.order, 0u) << strategy << " with " << events << " event CPUs";
      EXPECT_EQ(s->s.objects, 16u) << strategy << " with " << events << " event CPUs";
      EXPECT_EQ(s->cpu_slab.size(), static_cast<std::size_t>(4 + events));
    }
  }
}

// show_stat() prints one column per machine CPU: an event task's counts show under the first
// CPU of its node, as if the task had run there; the sum is unchanged.
TEST(MachineCpus, StatColumnsShowEventCpusUnderAMachineCpu) {
  SlubMachine m(with_event_cpus(2));
  KmemCache* s = m.create("c", 256);
  ASSERT_NE(s, nullptr);
  m.alloc(s, 0);
  m.alloc(s, 3);
  m.alloc(s, 3);
  m.alloc(s, 5);  // an event-task CPU on node 0
  const std::vector<bool> online(6, true);
  auto text = m.slub.slab_attr_show(s, "alloc_fastpath", online);
  ASSERT_TRUE(text.has_value());
  // One fast-path allocation per CPU after the first slow-path one: C0 gets CPU 5's.
  const auto slow = m.slub.slab_attr_show(s, "alloc_slowpath", online);
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(*slow, "3 C0=2 C3=1\n");
  EXPECT_EQ(*text, "1 C3=1\n");
  // Without the mapping, the model's own columns.
  EXPECT_EQ(sysfs_stat_file(*s, ALLOC_SLOWPATH, online), "3 C0=1 C3=1 C5=1\n");
}

}  // namespace
}  // namespace slabsim::alloc::testing
