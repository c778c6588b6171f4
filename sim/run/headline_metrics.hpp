// The headline metrics: the figures people compare between runs, each declared once (its column
// in the sweep CSV and Python's Result.summary, its key in the result's "metrics" when the
// result records it as it is, its row in `slabsim compare`, its place in the summary report)
// and computed from a result document, so that a run in memory, a result file and a sweep's
// point files give the same values. The result writer records the declared scalars; the
// summary, `compare`, the sweep CSV and Python's frames read the table.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "run/metrics.hpp"

namespace slabsim::sim {

// Where a metric is shown.
enum MetricView : unsigned {
  view_compare = 1u << 0,  // a row of `slabsim compare`
  view_summary = 1u << 1,  // the figures lines of the summary report
  view_csv = 1u << 2,      // a column of `slabsim sweep`'s sweep.csv
  view_python = 1u << 3,   // a column of Python's Result.summary (and so of slabsim.sweep())
};

// How a value is shown in `compare` (and, for times, which unit).
enum class MetricFormat {
  count,       // an integer; null (the allocator has no such counter): "-"
  ratio,       // 4 decimals
  ns_as_us,    // compare shows µs with 2 decimals; the CSV and Python keep ns
  yes_no,      // a boolean: "yes"/"no"
  operations,  // hotplug operations: "N (F)", F of them failed
  text,
};

// The unit of a format's cells in `compare`, in ASCII: "count" (operations too), "ratio", "us"
// (µs), "yes/no"; "" for text.
std::string_view compare_unit(MetricFormat format);

struct HeadlineMetric {
  // The CSV and Python column, and for a recorded metric its key in the result's "metrics".
  // For a per-lock-class metric, the part after "<class>_" ("wait_ns").
  std::string_view column;
  // The row of `slabsim compare` without its unit ("" for none); per lock class, the part
  // after "<class> ".
  std::string_view compare_label;
  // Its label on a figures line of the summary report (summary_line 1, 2, 3), or none (0).
  std::string_view summary_label;
  int summary_line = 0;
  unsigned views = 0;
  MetricFormat format = MetricFormat::count;
  // The value in a result document (and, per lock class, the class's name); null when the run
  // has none (SLAB's alloc_node_mismatch, a lock class never taken).
  nlohmann::json (*value)(const nlohmann::json& result, std::string_view lock_class) = nullptr;
  // For a metric the result records as it is: its value from the run, under metrics.<column>.
  nlohmann::json (*record)(const RunMetrics& m) = nullptr;
  bool per_lock_class = false;
};

// Every headline metric, in the order each view shows them.
const std::vector<HeadlineMetric>& headline_metrics();

// The lock classes whose per-class metrics have fixed columns in the CSV and in Python (a
// `compare` table has rows for every class any of its runs took).
const std::vector<std::string>& headline_lock_classes();

// One metric made concrete for a view: a column of one lock class, or the metric itself.
struct MetricColumn {
  const HeadlineMetric* metric = nullptr;
  std::string lock_class;                  // per-lock-class metrics only
  [[nodiscard]] std::string name() const;  // "allocations", "slab_mutex_wait_ns"
  // The row of compare's table: "allocations", "slab_mutex wait total us" (a time with its unit).
  [[nodiscard]] std::string label() const;
  // The value in a result document: a class the run never took counts as 0 for the CSV and
  // Python (nothing waited), and stays null for `compare` ("-": not taken).
  [[nodiscard]] nlohmann::json value(const nlohmann::json& result) const;
  [[nodiscard]] std::string compare_cell(const nlohmann::json& result) const;
  [[nodiscard]] std::string csv_cell(const nlohmann::json& result) const;
};

// The columns of `view` in order. For view_compare, `lock_classes` are the classes the compared
// runs took (their rows follow lock_stat's order); the other views use headline_lock_classes().
std::vector<MetricColumn> metric_columns(MetricView view,
                                         const std::vector<std::string>& lock_classes = {});

// The lock classes of a result document's lock_waits, in its order: those the run held or
// waited for some time, or that saw a contention. Classes only taken and released at the same
// instant (the drains of a sysfs directory's files that nobody was reading) are left out.
std::vector<std::string> lock_classes_of(const nlohmann::json& result);

// The summary report's figures lines of a result document (each ending in '\n').
std::string summary_figures(const nlohmann::json& result);

// A CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);

// The metrics the result records as they are (allocations, frees, ...), keyed by column.
nlohmann::json recorded_metrics(const RunMetrics& m);

}  // namespace slabsim::sim
