// The caches a machine has after boot: the kmalloc family each generation boots, checked against
// the order a booted 6.1 kernel made them in, and a workload's "boot_caches" list.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "allocator/kmalloc_caches.hpp"
#include "config/json_document.hpp"
#include "run/runner.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::sim {
namespace {

const std::string source_dir = SLABSIM_SOURCE_DIR;

// workloads/boot-caches/debian-6.1-qemu-guest.json is what `topology import --boot-caches` made
// of the booted Debian 6.1 guest's snapshot: in creation order, from its /proc/slabinfo. Its
// kmalloc caches come in the order of the model's create_kmalloc_caches() for v6.1, after
// kmem_cache and kmem_cache_node (kmem_cache_init(): bootstrap()).
TEST(BootCachesOfTheBootedKernel, KmallocOrderIsTheModelsV6_1Order) {
  const auto list =
      config::load_json_document(source_dir + "/workloads/boot-caches/debian-6.1-qemu-guest.json");
  std::vector<std::string> kernel;
  for (const auto& c : list.root)
    if (alloc::is_kmalloc_cache_name(c["name"].get<std::string>()))
      kernel.push_back(c["name"].get<std::string>());
  std::vector<std::string> model;
  for (const auto& c :
       alloc::kmalloc_boot_caches(alloc::slub_kmalloc_family(alloc::SlubVersion::v6_1)))
    model.push_back(c.name);
  EXPECT_EQ(kernel, model);
  ASSERT_GE(list.root.size(), 2u);
  EXPECT_EQ(list.root[0]["name"], "kmem_cache");
  EXPECT_EQ(list.root[1]["name"], "kmem_cache_node");
}

// A workload's list is made at boot: under slab_nomerge every cache of it has its own struct, so
// the going-online callback allocates one kmem_cache_node per cache on slab_caches, as the
// guest's 199 slabinfo rows (+2: nf_conntrack, created as the online starts, and
// nf_conntrack_expect, created at 16.5 ms, before the callback at about 16.65 ms) would.
TEST(BootCachesOfTheBootedKernel, ListIsMadeAtBootAndWalkedByTheHotplugCallback) {
  const auto doc =
      config::load_json_document(source_dir + "/workloads/boot-caches/node-online-booted.json");
  const auto machine = topology::load_topology(*workload::workload_topology(doc));
  const auto w = workload::load_workload(doc, machine);
  EXPECT_EQ(w.boot_caches.size(), 199u - 52u - 2u - 1u) << "vm_area_struct is the workload's own";
  RunOptions o;
  o.tuning.slab_nomerge = true;
  const RunMetrics m = run_simulation(machine, w, strategy::load_strategy("v6.1"), o);
  ASSERT_EQ(m.hotplug.size(), 1u);
  EXPECT_EQ(m.hotplug[0].node_structs_allocated, 199u + 2u);
  // Merging (the default) folds many of them into a few: fewer structs to walk.
  const RunMetrics merged = run_simulation(machine, w, strategy::load_strategy("v6.1"), {});
  EXPECT_LT(merged.hotplug[0].node_structs_allocated, 199u);
  EXPECT_GT(merged.hotplug[0].node_structs_allocated, 52u + 2u);
}

// The list's file and JSON pointer in every complaint about it.
TEST(BootCachesOfTheBootedKernel, BadListNamesItsFileAndPointer) {
  const std::string dir = ::testing::TempDir();
  config::write_file_atomically(
      dir + "/list.json",
      R"([{"name": "x", "object_size": 64, "align": 8, "flags": ["SLAB_TRACE"]}])");
  const std::string workload = R"({"name": "w", "duration": "1ms", "boot_caches": "list.json",
    "caches": [{"name": "c", "object_size": 64}],
    "threads": [{"name": "t", "cpus": "0", "cache": "c", "think_time": {"constant": "1us"},
                 "lifetime": {"constant": "1us"}}]})";
  config::write_file_atomically(dir + "/w.json", workload);
  const auto machine = topology::load_topology("qemu-2node-hotplug");
  try {
    (void)workload::load_workload(dir + "/w.json", machine);
    FAIL() << "accepted a flag the model does not have";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("list.json"), std::string::npos) << what;
    EXPECT_NE(what.find("/0/flags/0"), std::string::npos) << what;
    EXPECT_NE(what.find("expected a flag the model has (SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, "
                        "SLAB_TYPESAFE_BY_RCU, SLAB_CACHE_DMA, SLAB_RED_ZONE, SLAB_POISON, "
                        "SLAB_STORE_USER), got SLAB_TRACE"),
              std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace slabsim::sim
