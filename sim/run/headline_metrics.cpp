#include "run/headline_metrics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace slabsim::sim {

using nlohmann::json;

namespace {

constexpr unsigned views_csv_python = view_csv | view_python;

json count_of(const json& array) {
  return array.size();
}

std::uint64_t sum_of(const json& array) {
  std::uint64_t total = 0;
  for (const auto& v : array)
    total += v.get<std::uint64_t>();
  return total;
}

// The lock_waits entry of `cls` (the simulator's complete waits and holds), or nullptr when the
// run never took the class.
const json* lock_class_entry(const json& metrics, std::string_view cls) {
  for (const auto& c : metrics["lock_waits"])
    if (c["class"].get<std::string_view>() == cls) return &c;
  return nullptr;
}

// read + write total of a lock class's "waittime" or "holdtime".
json lock_total(const json& metrics, std::string_view cls, const char* time) {
  const json* c = lock_class_entry(metrics, cls);
  if (!c) return nullptr;
  return (*c)["read"][time]["total_ns"].get<std::int64_t>() +
         (*c)["write"][time]["total_ns"].get<std::int64_t>();
}

json hotplug_max(const json& metrics, const char* key) {
  std::int64_t max = 0;
  for (const auto& h : metrics["hotplug"])
    max = std::max(max, h[key].get<std::int64_t>());
  return max;
}

json scalar(const json& metrics, const char* key) {
  return metrics[key];
}

std::string us(const json& ns) {
  return fmt::format("{:.2f}", static_cast<double>(ns.get<std::int64_t>()) / 1000.0);
}

std::vector<HeadlineMetric> make_metrics() {
  using M = MetricFormat;
  // clang-format off
  return {
      {"simulated_ns", "", "", 0, view_python, M::count,
       [](const json& r, std::string_view) { return r["simulated_ns"]; }},
      {"allocations", "allocations", "allocations", 1, view_compare | view_summary | views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "allocations"); },
       [](const RunMetrics& r) { return json(r.allocations); }},
      {"frees", "", "frees", 1, view_summary | views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "frees"); },
       [](const RunMetrics& r) { return json(r.frees); }},
      {"live_objects", "", "live", 1, view_summary, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "live_objects"); },
       [](const RunMetrics& r) {
         return json(static_cast<std::int64_t>(r.allocations) - static_cast<std::int64_t>(r.frees));
       }},
      {"failed_allocations", "", "failed", 1, view_summary | view_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "failed_allocations"); },
       [](const RunMetrics& r) { return json(r.failed_allocations); }},
      {"remote_alloc_ratio", "remote alloc ratio", "remote allocations", 2,
       view_compare | view_summary | views_csv_python, M::ratio,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return m["remote_alloc"]["ratio"]; }},
      {"remote_access_ratio", "remote access ratio", "remote accesses", 2,
       view_compare | view_summary | views_csv_python, M::ratio,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return m["remote_access"]["ratio"]; }},
      {"fallbacks_to_numa_no_node", "fallbacks to NUMA_NO_NODE", "fallbacks to NUMA_NO_NODE", 3,
       view_compare | view_summary | views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return json(sum_of(m["fallbacks_to_numa_no_node"])); }},
      // SLUB's ALLOC_NODE_MISMATCH over the workload's caches; null for SLAB and SLOB.
      {"alloc_node_mismatch", "alloc_node_mismatch", "alloc_node_mismatch", 3,
       view_compare | view_summary | views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "alloc_node_mismatch"); },
       [](const RunMetrics& r) {
         return r.alloc_node_mismatch ? json(*r.alloc_node_mismatch) : json(nullptr);
       }},
      // Slabs (SLOB: pages) taken from the page allocator, boot caches included.
      {"slab_pages_allocated", "", "", 0, 0, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return scalar(m, "slab_pages_allocated"); },
       [](const RunMetrics& r) { return json(r.slab_pages_allocated); }},
      {"contentions", "contentions", "", 0, view_compare, M::count,
       [](const json& r, std::string_view cls) {
         const json& m = r["metrics"];
         const json* c = lock_class_entry(m, cls);
         return c ? (*c)["contentions"] : json(nullptr);
       }, nullptr, true},
      {"wait_ns", "wait total", "", 0, view_compare | views_csv_python, M::ns_as_us,
       [](const json& r, std::string_view cls) {
         const json& m = r["metrics"]; return lock_total(m, cls, "waittime"); },
       nullptr, true},
      {"hold_ns", "hold total", "", 0, view_compare | view_csv, M::ns_as_us,
       [](const json& r, std::string_view cls) {
         const json& m = r["metrics"]; return lock_total(m, cls, "holdtime"); },
       nullptr, true},
      {"hotplug_operations", "hotplug ops (failed)", "", 0, view_compare | view_python, M::operations,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return count_of(m["hotplug"]); }},
      {"hotplug_max_ns", "hotplug max latency", "", 0, view_compare | views_csv_python, M::ns_as_us,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return hotplug_max(m, "duration_ns"); }},
      {"hotplug_max_lock_wait_ns", "hotplug max lock wait", "", 0, view_compare, M::ns_as_us,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return hotplug_max(m, "lock_wait_ns"); }},
      {"lockdep_reports", "lockdep reports", "", 0, view_compare, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return count_of(m["lockdep"]["reports"]); }},
      {"violations", "violations", "", 0, view_compare | views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return count_of(m["violations"]); }},
      {"deadlock", "deadlock", "", 0, view_compare | views_csv_python, M::yes_no,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return json(!m["deadlock"].is_null()); }},
      {"lockdep_cycles", "", "", 0, views_csv_python, M::count,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"]; return count_of(m["lockdep"]["cycles"]); }},
      {"findings", "", "", 0, views_csv_python, M::text,
       [](const json& r, std::string_view) {
         const json& m = r["metrics"];
         return json(fmt::format("{}", fmt::join(m["findings"].get<std::vector<std::string>>(), ", ")));
       }},
  };
  // clang-format on
}

}  // namespace

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const std::vector<HeadlineMetric>& headline_metrics() {
  static const std::vector<HeadlineMetric> metrics = make_metrics();
  return metrics;
}

const std::vector<std::string>& headline_lock_classes() {
  static const std::vector<std::string> classes = {"slab_mutex", "mem_hotplug_lock",
                                                   "cpu_hotplug_lock"};
  return classes;
}

std::string MetricColumn::name() const {
  return metric->per_lock_class ? fmt::format("{}_{}", lock_class, metric->column)
                                : std::string(metric->column);
}

std::string_view compare_unit(MetricFormat format) {
  switch (format) {
    case MetricFormat::count:
    case MetricFormat::operations:
      return "count";
    case MetricFormat::ratio:
      return "ratio";
    case MetricFormat::ns_as_us:
      return "us";
    case MetricFormat::yes_no:
      return "yes/no";
    case MetricFormat::text:
      return "";
  }
  return "";
}

std::string MetricColumn::label() const {
  // The table names a time's unit in its row: "slab_mutex wait total us".
  const std::string suffix = metric->format == MetricFormat::ns_as_us ? " us" : "";
  return metric->per_lock_class ? fmt::format("{} {}{}", lock_class, metric->compare_label, suffix)
                                : fmt::format("{}{}", metric->compare_label, suffix);
}

json MetricColumn::value(const json& result) const {
  json v = metric->value(result, lock_class);
  if (metric->per_lock_class && v.is_null()) return 0;
  return v;
}

std::string MetricColumn::compare_cell(const json& result) const {
  const json v = metric->value(result, lock_class);
  if (v.is_null()) return "-";
  switch (metric->format) {
    case MetricFormat::count:
    case MetricFormat::text:
      return v.is_string() ? v.get<std::string>() : v.dump();
    case MetricFormat::ratio:
      return fmt::format("{:.4f}", v.get<double>());
    case MetricFormat::ns_as_us:
      return us(v);
    case MetricFormat::yes_no:
      return v.get<bool>() ? "yes" : "no";
    case MetricFormat::operations: {
      int failed = 0;
      for (const auto& h : result["metrics"]["hotplug"])
        failed += h["result"].get<int>() != 0;
      return fmt::format("{} ({})", v.dump(), failed);
    }
  }
  return v.dump();
}

std::string MetricColumn::csv_cell(const json& result) const {
  const json v = value(result);
  // A counter the allocator does not have: an empty field, which CSV readers take as missing.
  if (v.is_null()) return "";
  return v.is_string() ? csv_field(v.get<std::string>()) : v.dump();
}

std::vector<MetricColumn> metric_columns(MetricView view,
                                         const std::vector<std::string>& lock_classes) {
  const auto& classes = view == view_compare ? lock_classes : headline_lock_classes();
  std::vector<MetricColumn> out;
  const auto& metrics = headline_metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (!(metrics[i].views & view)) continue;
    if (!metrics[i].per_lock_class) {
      out.push_back({&metrics[i], {}});
      continue;
    }
    // A run of per-lock-class metrics is shown class by class: each class's metrics together.
    std::size_t end = i;
    while (end < metrics.size() && metrics[end].per_lock_class)
      ++end;
    for (const auto& cls : classes)
      for (std::size_t k = i; k < end; ++k)
        if (metrics[k].views & view) out.push_back({&metrics[k], cls});
    i = end - 1;
  }
  return out;
}

std::vector<std::string> lock_classes_of(const json& result) {
  std::vector<std::string> out;
  for (const auto& c : result["metrics"]["lock_waits"]) {
    std::int64_t time = 0;
    for (const char* side : {"read", "write"})
      for (const char* what : {"waittime", "holdtime"})
        time += c[side][what]["total_ns"].get<std::int64_t>();
    if (time > 0 || c["contentions"].get<std::uint64_t>() > 0)
      out.push_back(c["class"].get<std::string>());
  }
  return out;
}

std::string summary_figures(const json& result) {
  const json& metrics = result["metrics"];
  std::map<int, std::vector<std::string>> lines;
  for (const auto& m : headline_metrics()) {
    if (!(m.views & view_summary)) continue;
    const json v = m.value(result, {});
    std::string text = v.is_null()                       ? "-"
                       : m.format == MetricFormat::ratio ? fmt::format("{:.4f}", v.get<double>())
                                                         : v.dump();
    // The remote allocation ratio with what it is a ratio of.
    if (m.column == "remote_alloc_ratio")
      text += fmt::format(" ({} of {})", metrics["remote_alloc"]["remote"].dump(),
                          metrics["remote_alloc"]["total"].dump());
    lines[m.summary_line].push_back(fmt::format("{} {}", m.summary_label, text));
  }
  std::string out;
  for (const auto& [line, figures] : lines)
    out += fmt::format("{}\n", fmt::join(figures, "  "));
  return out;
}

json recorded_metrics(const RunMetrics& m) {
  json out = json::object();
  for (const auto& metric : headline_metrics())
    if (metric.record) out[std::string(metric.column)] = metric.record(m);
  return out;
}

}  // namespace slabsim::sim
