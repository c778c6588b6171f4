// The headline metrics declared once (run/headline_metrics.hpp): each view's columns, the
// value rules (a counter the allocator lacks, a lock class never taken), and the result
// writer's recorded scalars.
#include "run/headline_metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "lock_class_json.hpp"

namespace slabsim::sim {
namespace {

using nlohmann::json;

json lock_class(const std::string& name, std::int64_t wait, std::int64_t hold, int contentions) {
  return test_support::lock_class_json(name, wait, hold, contentions);
}

// A result as the writer makes it, reduced to what the headline metrics read: SLAB's (no
// alloc_node_mismatch), which took slab_mutex and &n->list_lock only.
json slab_result() {
  return {{"simulated_ns", 4000},
          {"metrics",
           {{"allocations", 10},
            {"frees", 7},
            {"live_objects", 3},
            {"failed_allocations", 1},
            {"remote_alloc", {{"remote", 1}, {"total", 10}, {"ratio", 0.1}}},
            {"remote_access", {{"remote", 2}, {"total", 40}, {"ratio", 0.05}}},
            {"fallbacks_to_numa_no_node", {2, 0, 3}},
            {"alloc_node_mismatch", nullptr},
            {"slab_pages_allocated", 4},
            {"lock_waits",
             {lock_class("slab_mutex", 1500, 2500, 2), lock_class("&n->list_lock", 0, 700, 0)}},
            {"hotplug",
             {{{"duration_ns", 9000}, {"lock_wait_ns", 100}, {"result", 0}},
              {{"duration_ns", 3000}, {"lock_wait_ns", 800}, {"result", -16}}}},
            {"lockdep", {{"reports", {"a splat"}}, {"cycles", {"A -> B"}}}},
            {"violations", json::array()},
            {"deadlock", nullptr},
            {"findings", {"lockdep A -> B", "online-failed"}}}}};
}

std::vector<std::string> names(const std::vector<MetricColumn>& columns) {
  std::vector<std::string> out;
  for (const auto& c : columns)
    out.push_back(c.name());
  return out;
}

const MetricColumn& column(const std::vector<MetricColumn>& columns, const std::string& name) {
  auto it = std::find_if(columns.begin(), columns.end(),
                         [&](const MetricColumn& c) { return c.name() == name; });
  if (it == columns.end()) throw std::out_of_range(name);
  return *it;
}

TEST(HeadlineMetrics, EachViewHasItsColumnsOnceInOneOrder) {
  for (const auto view : {view_compare, view_summary, view_csv, view_python}) {
    const auto n = names(metric_columns(view, {"slab_mutex"}));
    EXPECT_EQ(std::set<std::string>(n.begin(), n.end()).size(), n.size()) << view;
  }
  // The CSV and Python share their columns but for those only one of them has.
  const auto csv = names(metric_columns(view_csv));
  const auto python = names(metric_columns(view_python));
  EXPECT_EQ(python.front(), "simulated_ns");
  EXPECT_EQ(csv.front(), "allocations");
  EXPECT_EQ(csv.back(), "findings");
  EXPECT_EQ(python.back(), "findings");
  for (const auto& cls : headline_lock_classes()) {
    EXPECT_NE(std::find(csv.begin(), csv.end(), cls + "_wait_ns"), csv.end()) << cls;
    EXPECT_NE(std::find(csv.begin(), csv.end(), cls + "_hold_ns"), csv.end()) << cls;
    EXPECT_NE(std::find(python.begin(), python.end(), cls + "_wait_ns"), python.end()) << cls;
  }
}

TEST(HeadlineMetrics, CompareShowsEachLockClassItsRunsTookClassByClass) {
  const auto rows = metric_columns(view_compare, {"slab_mutex", "&n->list_lock"});
  std::vector<std::string> labels;
  for (const auto& c : rows)
    labels.push_back(c.label());
  const auto first = std::find(labels.begin(), labels.end(), "slab_mutex contentions");
  ASSERT_NE(first, labels.end());
  EXPECT_EQ(*(first + 1), "slab_mutex wait total us");
  EXPECT_EQ(*(first + 2), "slab_mutex hold total us");
  EXPECT_EQ(*(first + 3), "&n->list_lock contentions");
  EXPECT_EQ(labels.front(), "allocations");
  EXPECT_EQ(labels.back(), "deadlock");
}

TEST(HeadlineMetrics, AMissingCounterOrLockClassIsShownAsEachViewMeansIt) {
  const json r = slab_result();
  const auto compare = metric_columns(view_compare, {"slab_mutex", "mem_hotplug_lock"});
  EXPECT_EQ(column(compare, "alloc_node_mismatch").compare_cell(r), "-");
  EXPECT_EQ(column(compare, "mem_hotplug_lock_wait_ns").compare_cell(r), "-");
  EXPECT_EQ(column(compare, "slab_mutex_wait_ns").compare_cell(r), "1.50");
  EXPECT_EQ(column(compare, "slab_mutex_contentions").compare_cell(r), "2");
  EXPECT_EQ(column(compare, "hotplug_operations").compare_cell(r), "2 (1)");
  EXPECT_EQ(column(compare, "hotplug_max_ns").compare_cell(r), "9.00");
  EXPECT_EQ(column(compare, "hotplug_max_lock_wait_ns").compare_cell(r), "0.80");
  EXPECT_EQ(column(compare, "remote_alloc_ratio").compare_cell(r), "0.1000");
  EXPECT_EQ(column(compare, "deadlock").compare_cell(r), "no");

  const auto csv = metric_columns(view_csv);
  EXPECT_EQ(column(csv, "alloc_node_mismatch").csv_cell(r), "");        // missing, not "null"
  EXPECT_EQ(column(csv, "mem_hotplug_lock_wait_ns").csv_cell(r), "0");  // nothing waited
  EXPECT_EQ(column(csv, "fallbacks_to_numa_no_node").csv_cell(r), "5");
  EXPECT_EQ(column(csv, "deadlock").csv_cell(r), "false");
  EXPECT_EQ(column(csv, "findings").csv_cell(r), "\"lockdep A -> B, online-failed\"");

  const auto python = metric_columns(view_python);
  EXPECT_TRUE(column(python, "alloc_node_mismatch").value(r).is_null());
  EXPECT_EQ(column(python, "simulated_ns").value(r), 4000);
  EXPECT_EQ(column(python, "slab_mutex_wait_ns").value(r), 1500);
}

TEST(HeadlineMetrics, SummaryFiguresAreTheSummaryViewsLines) {
  EXPECT_EQ(summary_figures(slab_result()),
            "allocations 10  frees 7  live 3  failed 1\n"
            "remote allocations 0.1000 (1 of 10)  remote accesses 0.0500\n"
            "fallbacks to NUMA_NO_NODE 5  alloc_node_mismatch -\n");
}

TEST(HeadlineMetrics, TheWriterRecordsTheDeclaredScalarsAndTheyReadBack) {
  RunMetrics m;
  m.allocations = 12;
  m.frees = 5;
  m.failed_allocations = 2;
  m.slab_pages_allocated = 9;
  const json recorded = recorded_metrics(m);
  EXPECT_EQ(recorded, (json{{"allocations", 12},
                            {"frees", 5},
                            {"live_objects", 7},
                            {"failed_allocations", 2},
                            {"alloc_node_mismatch", nullptr},
                            {"slab_pages_allocated", 9}}));
  m.alloc_node_mismatch = 3;
  EXPECT_EQ(recorded_metrics(m)["alloc_node_mismatch"], 3);
  // Each recorded metric's value, read back from a result holding it, is what was recorded.
  const json result = {{"metrics", recorded_metrics(m)}};
  for (const auto& metric : headline_metrics()) {
    if (metric.record) {
      EXPECT_EQ(metric.value(result, {}), result["metrics"][std::string(metric.column)])
          << metric.column;
    }
  }
}

}  // namespace
}  // namespace slabsim::sim
