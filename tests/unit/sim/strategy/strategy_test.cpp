// Locking strategies from JSON: a preset as base, knobs overridden, errors with JSON paths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
