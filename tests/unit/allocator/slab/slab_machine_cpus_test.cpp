// The machine's CPUs, not the simulator's: what mm/slab.c (v5.10) derives from its CPU counts
// (enable_cpucache()'s num_possible_cpus() > 1 for the shared array, and nr_cpus_node() in
// each node's free_limit) counts neither the event-task CPUs the simulator adds nor holes.
#include <gtest/gtest.h>

#include "slab_machine.hpp"

namespace slabsim::alloc::testing {
namespace {

// 2 nodes x 2 CPUs, then `event_cpus` event-task CPUs on node 0.
MachineLayout with_event_cpus(int event_cpus) {
  MachineLayout l = small_layout(/*nodes=*/2, /*cpus_per_node=*/2, /*blocks_per_node=*/8);
  for (int k = 0; k < event_cpus; ++k)
    l.cpu_node.push_back(0);
  l.nr_event_cpus = event_cpus;
  return l;
}

// init_cache_node(): free_limit = (1 + nr_cpus_node(node)) * batchcount + num. A 1000-byte
// cache has batchcount 27 and 4 objects per slab; node 0 has 2 CPUs however many event tasks.
TEST(SlabMachineCpus, FreeLimitCountsTheNodesMachineCpus) {
  for (int events : {0, 1, 4}) {
    SlabMachine m(with_event_cpus(events));
    SlabCache* c = m.create("k1000", 1000);
    EXPECT_EQ(c->get_node(0)->free_limit, 3u * 27 + 4) << events << " event CPUs";
    EXPECT_EQ(c->get_node(1)->free_limit, 3u * 27 + 4) << events << " event CPUs";
    EXPECT_EQ(c->cpu_cache.size(), static_cast<std::size_t>(4 + events));
  }
}

// enable_cpucache(): a shared array only when num_possible_cpus() > 1. One machine CPU with
// event tasks is still a uniprocessor.
TEST(SlabMachineCpus, OneMachineCpuHasNoSharedArray) {
  MachineLayout l = small_layout(/*nodes=*/1, /*cpus_per_node=*/1, /*blocks_per_node=*/8);
  l.cpu_node.push_back(0);
  l.cpu_node.push_back(0);
  l.nr_event_cpus = 2;
  SlabMachine m(l);
  EXPECT_EQ(m.create("k1000", 1000)->shared, 0u);
  // A hole in the ids is no CPU either: ids 0 and 2 are two CPUs, and get the array.
  MachineLayout holes = small_layout(1, 3, 8);
  holes.cpu_node[1] = MachineLayout::no_cpu;
  SlabMachine two(holes);
  SlabCache* c = two.create("k1000", 1000);
  EXPECT_EQ(c->shared, 8u);
  EXPECT_EQ(c->get_node(0)->free_limit, 3u * 27 + 4);
}

}  // namespace
}  // namespace slabsim::alloc::testing
