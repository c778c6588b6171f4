// slabsim's side of the kernel check (sim/check/): the events only the check needs
// (memory_add, alloc_burst, free_burst), the guest subset's refusals, and the model's document
// with the guest's block ids and sysfs lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "check/model_run.hpp"
#include "config/diagnostics.hpp"
#include "run/run_request.hpp"

namespace slabsim::check {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

json workload(json events, json extra = json::object()) {
  json w = {{"name", "kc"},
            {"topology", "qemu-2node-hotplug"},
            {"duration", "200ms"},
            {"event_tasks", 1},
            {"caches",
             {{{"name", "cache_a"},
               {"object_size", 256},
               {"flags", {"hwcache_align"}},
               {"at_boot", false}}}},
            {"events", std::move(events)}};
  w.update(extra);
  return w;
}

ordered_json model(const json& w) {
  sim::RunRequest r;
  r.workload = {w.dump(), true};
  r.strategy = {"v6.1"};
  const sim::PreparedRun p = sim::prepare_run(r);
  return kernel_check_model(p, topology::qemu_machine(p.machine, p.machine.name));
}

std::vector<config::Diagnostic> refusals(const json& w) {
  try {
    model(w);
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

bool has_line(const ordered_json& lines, const std::string& line) {
  for (const auto& l : lines)
    if (l == line) return true;
  return false;
}

const json node2_scenario = {
    {{"at", "1ms"}, {"memory_add", {{"node", 2}, {"blocks", 8}}}},
    {{"at", "50ms"}, {"memory_online", {{"node", 2}, {"blocks", 8}}}},
    {{"at", "70ms"}, {"cache_create", {{"cache", "cache_a"}}}},
    {{"at", "71ms"},
     {"alloc_burst", {{"cache", "cache_a"}, {"node", 2}, {"cpu", 0}, {"count", 40}}}},
    {{"at", "72ms"},
     {"alloc_burst", {{"cache", "cache_a"}, {"node", -1}, {"cpu", 2}, {"count", 8}}}},
    {{"at", "73ms"}, {"free_burst", {{"cache", "cache_a"}, {"cpu", 2}, {"count", 0}}}},
    {{"at", "74ms"}, {"cache_destroy", {{"cache", "cache_a"}}}},
};

// add_memory() of a DIMM's blocks (memhp_default_state=offline): node 2 comes online with its
// blocks offline, and no memory yet; the guest's ids start at 40 (QEMU's hot-plug window).
TEST(KernelCheckModel, AHotAddLeavesTheDimmOfflineUnderTheGuestsBlockIds) {
  const auto doc = model(workload(node2_scenario));
  const auto& add = doc["events"][0];
  EXPECT_EQ(add["type"], "memory_add");
  EXPECT_EQ(add["dimms"], ordered_json::array({"dimm0"}));
  ASSERT_EQ(add["blocks"].size(), 8u);
  EXPECT_EQ(add["blocks"][0]["block"], 40);
  EXPECT_EQ(add["blocks"][0]["model_block"], 32);
  const auto& nodes = add["dump"]["nodes"];
  EXPECT_TRUE(has_line(nodes, "/sys/devices/system/node/online:0-2"));
  EXPECT_TRUE(has_line(nodes, "/sys/devices/system/node/has_memory:0-1"));
  EXPECT_TRUE(has_line(nodes, "/sys/devices/system/node/node2/distance:20 20 10"));
  const auto& blocks = add["dump"]["blocks"];
  EXPECT_TRUE(has_line(blocks, "/sys/devices/system/memory/memory40/state:offline"));
  // valid_zones_show(): an offline block on an empty node defaults to the kernel zone.
  EXPECT_TRUE(has_line(blocks, "/sys/devices/system/memory/memory40/valid_zones:Normal Movable"));
  EXPECT_TRUE(has_line(blocks, "/sys/devices/system/memory/memory47/phys_index:0000002f"));
  EXPECT_TRUE(has_line(blocks, "link:/sys/devices/system/memory/memory47/node2"));
  // Node 1's boot memory above the PCI hole: the model's block 31 is the guest's 39.
  EXPECT_TRUE(has_line(blocks, "/sys/devices/system/memory/memory39/state:online"));
  EXPECT_FALSE(has_line(blocks, "/sys/devices/system/memory/memory31/state:online"));

  const auto& online = doc["events"][1];
  EXPECT_EQ(online["as"], "online_kernel") << "the blocks' declared zone";
  EXPECT_TRUE(has_line(online["dump"]["nodes"], "/sys/devices/system/node/has_normal_memory:0-2"));
  EXPECT_TRUE(
      has_line(online["dump"]["blocks"], "/sys/devices/system/memory/memory40/valid_zones:Normal"));
}

// The probe's alloc and free: kmem_cache_alloc_node() on the given CPU, where each object
// landed, in order; the free of every kept object.
TEST(KernelCheckModel, BurstsReportWhereTheirObjectsLanded) {
  const auto doc = model(workload(node2_scenario));
  const auto& to_node2 = doc["events"][3];
  EXPECT_EQ(to_node2["rc"], 0);
  EXPECT_EQ(to_node2["allocated"], 40);
  EXPECT_EQ(to_node2["per_node"], ordered_json({{"2", 40}}));
  EXPECT_EQ(to_node2["runs"], ordered_json::array({ordered_json::array({2, 40})}));
  const auto& any_node = doc["events"][4];
  // NUMA_NO_NODE from CPU 2: its own node's memory.
  EXPECT_EQ(any_node["per_node"], ordered_json({{"1", 8}}));
  const auto& cache = any_node["dump"]["slab:cache_a"];
  EXPECT_TRUE(has_line(cache, "/sys/kernel/slab/cache_a/objs_per_slab:16"));
  // show_slab_objects(SO_ALL | SO_OBJECTS): a node's objects less the free ones on its partial
  // list, so the CPU slabs count whole (16 objects each).
  EXPECT_TRUE(has_line(cache, "/sys/kernel/slab/cache_a/objects:64 N1=16 N2=48")) << cache.dump();
  const auto& freed = doc["events"][5];
  EXPECT_EQ(freed["count"], 48) << "count 0: every kept object";
  const auto& destroy = doc["events"][6];
  EXPECT_EQ(destroy["rc"], 0);
  EXPECT_TRUE(destroy["dump"]["slab:cache_a"].empty()) << "the cache is gone";
}

TEST(KernelCheckModel, TheSameInputsGiveTheSameDocument) {
  EXPECT_EQ(model(workload(node2_scenario)).dump(), model(workload(node2_scenario)).dump());
}

TEST(KernelCheckModel, WhatTheGuestCannotPlayIsRefusedWithItsPath) {
  json w = workload({{{"at", "1ms"}, {"cpu_offline", {{"cpu", 1}}}},
                     {{"at", "2ms"}, {"memory_online", {{"node", 0}, {"blocks", 1}}}}},
                    {{"event_tasks", 2}});
  w["caches"].push_back({{"name", "late_boot"}, {"object_size", 64}});
  w["caches"].push_back({{"name", "kmalloc-64"}, {"object_size", 60}});
  const auto d = refusals(w);
  std::vector<std::string> pointers;
  for (const auto& x : d)
    pointers.push_back(x.pointer);
  EXPECT_EQ(pointers,
            (std::vector<std::string>{"/event_tasks", "/caches/1/name", "/caches/2/object_size",
                                      "/events/0", "/events/1/memory_online/node"}));
  EXPECT_NE(d[1].message.find("kmalloc-8, kmalloc-16"), std::string::npos) << d[1].message;
}

TEST(KernelCheckModel, AHotAddOfPartOfADimmIsRefused) {
  const auto d =
      refusals(workload({{{"at", "1ms"}, {"memory_add", {{"node", 2}, {"blocks", 3}}}}}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].pointer, "/events/0/memory_add/blocks");
  EXPECT_NE(d[0].message.find("dimm0 = node 2 blocks 32-39"), std::string::npos) << d[0].message;
}

TEST(KernelCheckModel, ADestroyWithKeptObjectsIsRefused) {
  const auto d = refusals(
      workload({{{"at", "1ms"}, {"cache_create", {{"cache", "cache_a"}}}},
                {{"at", "2ms"},
                 {"alloc_burst", {{"cache", "cache_a"}, {"node", 0}, {"cpu", 0}, {"count", 4}}}},
                {{"at", "3ms"}, {"cache_destroy", {{"cache", "cache_a"}}}}}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].pointer, "/events/2/cache_destroy/cache");
}

// A DIMM's unplug: try_remove_memory() of its offline blocks, last DIMM first; node 2 leaves
// N_ONLINE with its last block (try_offline_node()). An online block is refused: the guest's
// ACPI eject would offline it first, which the model does not do.
TEST(KernelCheckModel, UnplugRemovesWholeOfflineDimmsLastInFirstOut) {
  const auto doc =
      model(workload({{{"at", "1ms"}, {"memory_add", {{"node", 2}}}},
                      {{"at", "150ms"}, {"memory_remove", {{"node", 2}, {"blocks", 8}}}},
                      {{"at", "160ms"}, {"memory_remove", {{"node", 2}}}}}));
  const auto& first = doc["events"][1];
  EXPECT_EQ(first["rc"], 0);
  EXPECT_EQ(first["dimms"], ordered_json::array({"dimm1"}));
  EXPECT_EQ(first["blocks"][0]["block"], 48);
  EXPECT_FALSE(
      has_line(first["dump"]["blocks"], "/sys/devices/system/memory/memory48/state:offline"));
  EXPECT_TRUE(has_line(first["dump"]["nodes"], "/sys/devices/system/node/online:0-2"));
  const auto& last = doc["events"][2];
  EXPECT_EQ(last["dimms"], ordered_json::array({"dimm0"}));
  EXPECT_TRUE(has_line(last["dump"]["nodes"], "/sys/devices/system/node/online:0-1"));

  const auto d =
      refusals(workload({{{"at", "1ms"}, {"memory_add", {{"node", 2}}}},
                         {{"at", "150ms"}, {"memory_online", {{"node", 2}, {"blocks", 1}}}},
                         {{"at", "160ms"}, {"memory_remove", {{"node", 2}}}}}));
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].pointer, "/events/2/memory_remove/blocks");
  EXPECT_NE(d[0].message.find("acpi_scan_try_to_offline"), std::string::npos) << d[0].message;
}

// The probe keeps at most 4096 pages (PROBE_MAX_PAGES): a workload keeping more is refused.
TEST(KernelCheckModel, KeepingMorePagesThanTheProbeCanIsRefused) {
  const json burst = {{"node", 0}, {"cpu", 0}, {"count", 4096}};
  const auto d = refusals(workload({{{"at", "1ms"}, {"page_burst", burst}},
                                    {{"at", "2ms"}, {"page_free", json::object()}},
                                    {{"at", "3ms"}, {"page_burst", burst}},
                                    {{"at", "4ms"}, {"page_burst", burst}}}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].pointer, "/events/3/page_burst/count");
}

// The probe's pages are kernel pages: user pages, which an offline would migrate, are the
// model's alone.
TEST(KernelCheckModel, UserPagesAreRefused) {
  const auto d = refusals(
      workload({{{"at", "1ms"},
                 {"page_burst", {{"node", 0}, {"cpu", 0}, {"count", 8}, {"movable", true}}}}}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].pointer, "/events/0/page_burst/movable");
}

// numastat as zone_statistics() counts a page burst: numa_hit on the node the pages come from,
// other_node there when the allocating CPU is elsewhere.
TEST(KernelCheckModel, APageBurstShowsItsNumastatChange) {
  const auto doc = model(workload(
      {{{"at", "1ms"}, {"page_burst", {{"node", 1}, {"cpu", 0}, {"order", 1}, {"count", 10}}}}}));
  const auto& e = doc["events"][0];
  EXPECT_EQ(e["per_node"], ordered_json({{"1", 10}}));
  EXPECT_EQ(e["numastat_delta"]["1"]["numa_hit"], 10);
  EXPECT_EQ(e["numastat_delta"]["1"]["other_node"], 10);
  EXPECT_EQ(e["numastat_delta"]["0"]["numa_hit"], 0);
}

}  // namespace
}  // namespace slabsim::check
