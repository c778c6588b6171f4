// Locking strategies from JSON: a preset as base, knobs overridden, errors with JSON paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "strategy/strategy_format.hpp"

namespace slabsim::strategy {
namespace {

using nlohmann::json;

alloc::Strategy from_text(const std::string& text) {
  return load_strategy(config::parse_json_document(text, "s.json"));
}

config::Diagnostic only_error(const std::string& text) {
  try {
    from_text(text);
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 1u) << e.what();
    return e.diagnostics().front();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

TEST(Strategies, PresetsLoadByNameAndRoundTrip) {
  for (const auto& preset : alloc::strategy_presets()) {
    EXPECT_EQ(load_strategy(preset.name), preset);
    json j = to_json(preset);
    j["name"] = "copy-of-" + preset.name;
    j["base"] = preset.name;
    alloc::Strategy copy = from_text(j.dump());
    copy.name = preset.name;
    EXPECT_EQ(copy, preset) << "the JSON form carries every knob of " << preset.name;
  }
}

// What each preset claims, checked against the kernel it names, as read from the sources the
// team's reference cites (shared/reference/slub-hotplug.md section 0 and the lock table of 4.1):
// mm/slab_common.c of that version for create and destroy, and kmem_cache_shrink() wherever that
// version has it (mm/slub.c before 03afc0e25f7f moved it to mm/slab_common.c). A preset whose
// locks or provenance change must change here too, with its source.
struct KernelNests {
  const char* preset;
  const char* kernel;
  const char* commit;  // the documented commit (or patch) the preset reproduces
  std::vector<alloc::LockStep> create, destroy, shrink;
};

const std::vector<KernelNests>& kernel_nests() {
  using alloc::LockClass;
  using alloc::LockMode;
  const alloc::LockStep cpus{LockClass::cpu_hotplug_lock, LockMode::read};  // get_online_cpus()
  const alloc::LockStep mems{LockClass::mem_hotplug_lock, LockMode::read};  // get_online_mems()
  const alloc::LockStep mutex{LockClass::slab_mutex, LockMode::exclusive};
  static const std::vector<KernelNests> nests = {
      // v3.14 kmem_cache_create()/_destroy(): get_online_cpus(), slab_mutex; SLUB's own
      // kmem_cache_shrink() took no lock (03afc0e25f7f's diff adds get_online_mems() to the
      // first two and moves shrink to slab_common.c).
      {"mutex_only", "v3.14", "03afc0e25f7f", {cpus, mutex}, {cpus, mutex}, {}},
      // v5.3: 03afc0e25f7f's nests, still with get_online_mems() in show_slab_objects(), which
      // e4f8e513c3d3 removed.
      {"hotplug_lock_sysfs",
       "v5.3",
       "e4f8e513c3d3",
       {cpus, mems, mutex},
       {cpus, mems, mutex},
       {cpus, mems}},
      // v5.10 (SC-pre): get_online_cpus, get_online_mems, slab_mutex; shrink cpus, mems.
      {"hotplug_lock",
       "v5.10",
       "03afc0e25f7f",
       {cpus, mems, mutex},
       {cpus, mems, mutex},
       {cpus, mems}},
      // [RFC 1/3] (P-RFC1): no memory hotplug lock, slab_mutex re-added to shrink.
      {"shrink_slab_mutex", "RFC", "[RFC 1/3]", {cpus, mutex}, {cpus, mutex}, {cpus, mutex}},
      // 7e1fa93deff4 (P2), v5.12-rc1 before 59450bbc12be: cpus, slab_mutex; shrink cpus.
      {"slab_nodes", "v5.12-rc1", "7e1fa93deff4", {cpus, mutex}, {cpus, mutex}, {cpus}},
      // v5.12 (SC-post, 59450bbc12be, P3): slab_mutex only; shrink takes no lock at all.
      {"slab_nodes_nocpu", "v5.12", "59450bbc12be", {mutex}, {mutex}, {}},
      // v6.1 mm/slab_common.c: kmem_cache_create_usercopy() takes slab_mutex only;
      // kmem_cache_destroy() cpus_read_lock() then slab_mutex (and kmem_cache_release() after
      // both, 0495e337b703); kmem_cache_shrink() nothing of its own (SLUB's flush_all() takes
      // cpus_read_lock() inside __kmem_cache_shrink(), which the allocator tests check).
      {"v6.1", "v6.1", "830b3c68c1fb", {mutex}, {cpus, mutex}, {}},
  };
  return nests;
}

TEST(Strategies, EachPresetMatchesTheKernelItNames) {
  const auto& nests = kernel_nests();
  ASSERT_EQ(alloc::strategy_presets().size(), nests.size())
      << "a preset without its kernel's lock nests here, or the other way round";
  for (const auto& preset : alloc::strategy_presets()) {
    SCOPED_TRACE(preset.name);
    const auto it = std::find_if(nests.begin(), nests.end(),
                                 [&](const KernelNests& k) { return preset.name == k.preset; });
    ASSERT_NE(it, nests.end()) << "no kernel source recorded for this preset";
    EXPECT_TRUE(preset.kernel.starts_with(it->kernel)) << preset.kernel;
    EXPECT_NE(preset.commit.find(it->commit), std::string::npos) << preset.commit;
    EXPECT_EQ(preset.create_locks, it->create) << describe_steps(preset.create_locks);
    EXPECT_EQ(preset.destroy_locks, it->destroy) << describe_steps(preset.destroy_locks);
    EXPECT_EQ(preset.shrink_locks, it->shrink) << describe_steps(preset.shrink_locks);
  }
}

// The knobs that follow from the kernel version: the usable-node mask is slab_nodes from
// 7e1fa93deff4 on (and in the RFC that led to it), N_NORMAL_MEMORY before; node structs are kept
// and reused from 666716fd267d on; the sysfs object files take the memory hotplug lock only
// before e4f8e513c3d3 (v5.4): lock_memory_hotplug() in v3.14, get_online_mems() from v3.16.
TEST(Strategies, EachPresetsNodeKnobsFollowItsKernel) {
  for (const auto& preset : alloc::strategy_presets()) {
    SCOPED_TRACE(preset.name);
    const bool slab_nodes_era =
        preset.name.starts_with("slab_nodes") || preset.kernel.starts_with("v6.");
    const bool rfc = preset.kernel.starts_with("RFC");
    EXPECT_EQ(preset.usable_nodes == alloc::UsableNodes::slab_nodes, slab_nodes_era || rfc);
    EXPECT_EQ(preset.going_online_reuses_nodes, slab_nodes_era);
    EXPECT_EQ(preset.offline_frees_nodes, !slab_nodes_era);
    const bool before_e4f8e513c3d3 =
        preset.name == "hotplug_lock_sysfs" || preset.name == "mutex_only";
    EXPECT_EQ(!preset.show_locks.empty(), before_e4f8e513c3d3) << describe_steps(preset.show_locks);
  }
}

// The generation of the SLUB code follows the kernel: v6.1 for the v6.1 preset, v5.12's code for
// every preset of v5.12 and before; a strategy file may pick either.
TEST(Strategies, SlubVersionFollowsTheKernel) {
  for (const auto& preset : alloc::strategy_presets()) {
    SCOPED_TRACE(preset.name);
    EXPECT_EQ(preset.slub_version == alloc::SlubVersion::v6_1, preset.kernel.starts_with("v6.1"));
  }
  const alloc::Strategy s = from_text(R"({"name": "old-locks-new-code", "base": "hotplug_lock",
      "slub_version": "v6.1"})");
  EXPECT_EQ(s.slub_version, alloc::SlubVersion::v6_1);
  EXPECT_EQ(s.create_locks, alloc::find_strategy_preset("hotplug_lock")->create_locks);
  EXPECT_EQ(from_text(R"({"name": "x", "base": "v6.1"})").slub_version, alloc::SlubVersion::v6_1);
  const auto d = only_error(R"({"name": "x", "slub_version": "v6.2"})");
  EXPECT_EQ(d.pointer, "/slub_version");
}

// The node paths follow the kernel: mutex_only (v3.14) runs v3.14's __slab_alloc() and unchecked
// node walks, hotplug_lock_sysfs (v5.3) the node_to_mem_node() mismatch of a561ce00b09e, every
// preset of v5.10 and later the NUMA_NO_NODE fallback of 0715e6c516f1 (v5.6).
TEST(Strategies, NodePathsFollowTheKernel) {
  for (const auto& preset : alloc::strategy_presets()) {
    SCOPED_TRACE(preset.name);
    const alloc::NodePaths expected = preset.kernel == "v3.14"  ? alloc::NodePaths::v3_14
                                      : preset.kernel == "v5.3" ? alloc::NodePaths::v5_5
                                                                : alloc::NodePaths::v5_6;
    EXPECT_EQ(preset.node_paths, expected);
  }
  const alloc::Strategy s = from_text(R"({"name": "v5.10-without-0715e6c516f1",
      "base": "hotplug_lock", "node_paths": "v5.5"})");
  EXPECT_EQ(s.node_paths, alloc::NodePaths::v5_5);
  EXPECT_EQ(s.create_locks, alloc::find_strategy_preset("hotplug_lock")->create_locks);
  EXPECT_EQ(to_json(s)["node_paths"], "v5.5");
  EXPECT_EQ(from_text(R"({"name": "x", "base": "mutex_only"})").node_paths,
            alloc::NodePaths::v3_14);
  auto d = only_error(R"({"name": "x", "node_paths": "v5.4"})");
  EXPECT_EQ(d.pointer, "/node_paths");
  EXPECT_NE(d.message.find("\"v5.5\""), std::string::npos) << d.message;
  d = only_error(R"({"name": "x", "node_paths": 5.6})");
  EXPECT_EQ(d.pointer, "/node_paths");
}

// v3.14 took lock_memory_hotplug(), a plain mutex, in the hotplug operations and in SLUB's
// show_slab_objects(); mem_hotplug_lock (bfc8c90139eb, v3.16) in every later preset.
TEST(Strategies, HotplugSideFollowsTheKernel) {
  for (const auto& preset : alloc::strategy_presets()) {
    SCOPED_TRACE(preset.name);
    EXPECT_EQ(preset.hotplug_side, preset.kernel == "v3.14" ? alloc::HotplugSide::mem_hotplug_mutex
                                                            : alloc::HotplugSide::mem_hotplug_lock);
  }
  const alloc::Strategy s = from_text(R"({"name": "x", "base": "hotplug_lock",
      "hotplug_side": "mem_hotplug_mutex", "show_locks": ["lock_memory_hotplug"]})");
  EXPECT_EQ(s.hotplug_side, alloc::HotplugSide::mem_hotplug_mutex);
  EXPECT_EQ(s.show_locks, (std::vector<alloc::LockStep>{
                              {alloc::LockClass::mem_hotplug_mutex, alloc::LockMode::exclusive}}));
  EXPECT_EQ(to_json(s)["hotplug_side"], "mem_hotplug_mutex");
  EXPECT_EQ(to_json(s)["show_locks"][0], "lock_memory_hotplug");
  const auto d = only_error(R"({"name": "x", "hotplug_side": "mem_hotplug_rwsem"})");
  EXPECT_EQ(d.pointer, "/hotplug_side");
}

TEST(Strategies, BaseAndOverrides) {
  const alloc::Strategy s = from_text(R"({"name": "mine", "base": "hotplug_lock",
      "shrink_locks": [], "usable_nodes": "slab_nodes"})");
  const alloc::Strategy& base = *alloc::find_strategy_preset("hotplug_lock");
  EXPECT_EQ(s.create_locks, base.create_locks);
  EXPECT_TRUE(s.shrink_locks.empty());
  EXPECT_EQ(s.usable_nodes, alloc::UsableNodes::slab_nodes);
  EXPECT_EQ(s.offline_frees_nodes, base.offline_frees_nodes);
  EXPECT_EQ(s.kernel, "user-defined");
  EXPECT_EQ(describe_steps(s.create_locks), "get_online_cpus > get_online_mems > slab_mutex");
  EXPECT_EQ(describe_steps(s.shrink_locks), "no lock");
}

TEST(Strategies, ErrorsNameThePathAndTheExpectation) {
  auto d = only_error(R"({"name": "x", "create_locks": ["slab_mutx"]})");
  EXPECT_EQ(d.pointer, "/create_locks/0");
  EXPECT_NE(d.message.find("did you mean \"slab_mutex\"?"), std::string::npos) << d.message;
  d = only_error(R"({"name": "x", "usable_node": "slab_nodes"})");
  EXPECT_EQ(d.pointer, "/usable_node");
  EXPECT_NE(d.message.find("did you mean \"usable_nodes\"?"), std::string::npos) << d.message;
  d = only_error(R"({"name": "x", "base": "v5.12"})");
  EXPECT_EQ(d.pointer, "/base");
  d = only_error(R"({"name": "slab_nodes", "shrink_locks": []})");
  EXPECT_EQ(d.pointer, "/name");
  d = only_error(R"({"base": "slab_nodes"})");
  EXPECT_EQ(d.pointer, "");
  EXPECT_THROW(load_strategy("no-such-strategy"), config::ConfigError);
}

TEST(Strategies, ExampleFileLoads) {
  const auto s = load_strategy(std::string(SLABSIM_SOURCE_DIR) +
                               "/workloads/strategies/slab_nodes_no_reuse.json");
  EXPECT_EQ(s.name, "slab_nodes_no_reuse");
  EXPECT_TRUE(s.offline_frees_nodes);
  EXPECT_EQ(s.usable_nodes, alloc::UsableNodes::slab_nodes);
}

TEST(Strategies, CommittedSchemaIsTheGeneratedOne) {
  std::ifstream in(std::string(SLABSIM_SOURCE_DIR) + "/workloads/strategies/strategy.schema.json");
  json committed = json::parse(in);
  json generated = strategy_spec()->json_schema();
  generated["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  generated["title"] = "slabsim locking strategy";
  EXPECT_EQ(committed, generated) << "regenerate: build/slabsim strategies --schema > "
                                     "workloads/strategies/strategy.schema.json";
}

}  // namespace
}  // namespace slabsim::strategy
