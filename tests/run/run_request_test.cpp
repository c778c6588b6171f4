// The one run entry point (run/run_request.hpp): inputs by name, file or JSON text, the
// settings' declared defaults, the seed's resolution, and a result whose config block records
// every setting that changes the outcome.
#include "run/run_request.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "config/diagnostics.hpp"
#include "run/result.hpp"
#include "workload/kernel_times.hpp"

namespace slabsim::sim {
namespace {

using nlohmann::json;

const char* tiny_workload = R"({
  "name": "tiny", "duration": "200us", "seed": 5,
  "caches": [{"name": "obj", "object_size": 64}],
  "threads": [{"name": "t", "cpus": "0-1", "cache": "obj",
               "think_time": {"constant": "1us"}, "lifetime": {"constant": "3us"}}],
  "kernel": {"rcu_grace_period": "200us"}
})";

json without_host(json result) {
  result.erase("host");
  return result;
}

TEST(RunRequest, DefaultsAreTheDeclaredOnes) {
  const RunRequest r;
  EXPECT_EQ(r.workload.text, default_scenario);
  EXPECT_EQ(r.strategy.text, default_strategy);
  EXPECT_TRUE(r.topology.empty());
  EXPECT_EQ(r.settings.quantum_ns, quantum_setting.default_value());
  EXPECT_EQ(r.settings.jitter_ns, jitter_setting.default_value());
  EXPECT_EQ(r.settings.allocator, alloc::AllocatorKind::slub);
  EXPECT_FALSE(r.settings.seed);
}

TEST(RunRequest, AWorkloadGivenAsTextWithoutATopologyIsBadInputNamingIt) {
  RunRequest r;
  r.workload = {tiny_workload, true};
  try {
    prepare_run(r);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].file, "<workload dict>");
    EXPECT_NE(e.diagnostics()[0].message.find("expected a \"topology\" key"), std::string::npos);
  }
  r.topology = {"two-socket-intel"};
  const PreparedRun p = prepare_run(r);
  EXPECT_EQ(p.machine.name, "two-socket-intel");
  EXPECT_EQ(p.seed(), 5u) << "no seed given: the workload's";
  r.settings.seed = 9;
  EXPECT_EQ(prepare_run(r).seed(), 9u);
  r.strategy = {R"({"name": "mine", "usable_nodes": "sometimes"})", true};
  try {
    prepare_run(r);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.diagnostics().at(0).file, "<strategy dict>");
    EXPECT_EQ(e.diagnostics().at(0).pointer, "/usable_nodes");
  }
}

TEST(RunRequest, TheConfigBlockRecordsEverySettingThatChangesTheOutcome) {
  RunRequest r;
  r.topology = {"two-socket-intel"};
  r.workload = {tiny_workload, true};
  r.strategy = {"hotplug_lock"};
  r.settings.allocator = alloc::AllocatorKind::slab;
  r.settings.quantum_ns = 2000;
  r.settings.jitter_ns = 300;
  r.settings.lookahead = false;
  const json config = result_json(run(r))["config"];
  EXPECT_EQ(config["allocator"], "slab");
  EXPECT_EQ(config["strategy"]["name"], "hotplug_lock");
  EXPECT_EQ(config["seed"], 5);
  EXPECT_EQ(config["quantum_ns"], 2000);
  EXPECT_EQ(config["jitter_ns"], 300);
  EXPECT_EQ(config["lookahead"], false);
  EXPECT_EQ(config["time_bucket_ns"], 0);  // automatic
  EXPECT_EQ(config["event_tasks"], 4);
  // Every kernel time, the workload's where it gives one and the model's default elsewhere.
  // The grace period also says whether it is tick-aligned (0: the workload's fixed one).
  ASSERT_EQ(config["kernel"].size(), workload::kernel_time_params().size() + 1);
  EXPECT_EQ(config["kernel"]["rcu_grace_period_ns"], 200'000);
  EXPECT_EQ(config["kernel"]["rcu_grace_period_ticks"], 0);
  for (const auto& k : workload::kernel_time_params()) {
    if (k.key != "rcu_grace_period") {
      EXPECT_EQ(config["kernel"][std::string(k.key) + "_ns"], k.default_ns) << k.key;
    }
  }
}

TEST(RunRequest, APreparedRunRunsAgainToTheSameBytes) {
  RunRequest r;
  r.workload = {"steady-local"};
  const auto prepared = std::make_shared<const PreparedRun>(prepare_run(r));
  const auto a = run(prepared), b = run(prepared);
  EXPECT_EQ(without_host(result_json(a)), without_host(result_json(b)));
  EXPECT_EQ(without_host(result_json(a)), without_host(result_json(run(r))));
  EXPECT_GT(a.metrics.allocations, 0u);
  EXPECT_EQ(result_json(a)["host"]["steps"], a.metrics.engine_steps);
  // Reports come from the same outcome.
  EXPECT_NE(report("summary", a).find("steady-local on two-socket-intel with slub"),
            std::string::npos);
}

}  // namespace
}  // namespace slabsim::sim
