// slabsim sweep: the points of a sweep plan (run/sweep_plan.hpp) listed, run (all of them, or
// those of --index: a job array's task) each into DIR/point-N.json, and merged into
// DIR/sweep.csv, one row of headline metrics per point.
//
// A point whose file already holds its whole result is not run again, so an interrupted sweep
// or job array redoes only what is missing, and Python's slabsim.sweep shares the directory.
// What is printed depends only on the inputs and on what the directory holds.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "allocator/allocator.hpp"
#include "cli/command.hpp"
#include "config/diagnostics.hpp"
#include "run/findings.hpp"
#include "run/headline_metrics.hpp"
#include "run/host_memory.hpp"
#include "run/result.hpp"
#include "run/run_request.hpp"
#include "run/sweep_plan.hpp"

namespace slabsim::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct SweepOptions {
  std::string plan;
  bool list = false;
  std::string indices;
  bool merge = false;
  std::string output;
  bool schema = false;
};

// "3", "0-7", "0-3,8,10-11": the points to run, each once, in order; anything else, or a point
// the plan does not have, is a bad --index.
std::vector<std::size_t> parse_indices(const std::string& text, std::size_t count) {
  auto bad = [&](const std::string& why) {
    return CLI::ValidationError("--index", fmt::format("expected point indices such as 3, 0-7 or "
                                                       "0-3,8 from 0 to {}, got \"{}\": {}",
                                                       count == 0 ? 0 : count - 1, text, why));
  };
  auto number = [&](const std::string& s) -> std::size_t {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18)
      throw bad(fmt::format("\"{}\" is not a number", s));
    const std::size_t n = std::stoull(s);
    if (n >= count)
      throw bad(fmt::format("the plan has {} point{} (0-{})", count, count == 1 ? "" : "s",
                            count == 0 ? 0 : count - 1));
    return n;
  };
  std::vector<bool> chosen(count, false);
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    const std::size_t dash = part.find('-');
    const std::size_t first = number(part.substr(0, dash));
    const std::size_t last = dash == std::string::npos ? first : number(part.substr(dash + 1));
    if (last < first) throw bad(fmt::format("the range {} runs backwards", part));
    for (std::size_t i = first; i <= last; ++i)
      chosen[i] = true;
    start = comma + 1;
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < count; ++i)
    if (chosen[i]) out.push_back(i);
  return out;
}

// "2,5-7": the form --index takes.
std::string format_indices(const std::vector<std::size_t>& sorted) {
  std::string out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1)
      ++j;
    out += (out.empty() ? "" : ",") +
           (j == i ? fmt::format("{}", sorted[i]) : fmt::format("{}-{}", sorted[i], sorted[j]));
    i = j + 1;
  }
  return out;
}

std::string plural(std::size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// The plan's name, its size and dimensions, then one line per point.
std::string list_text(const sim::SweepPlan& plan) {
  static const std::map<std::string, std::pair<const char*, const char*>> words = {
      {"topology", {"topology", "topologies"}},
      {"workload", {"workload", "workloads"}},
      {"allocator", {"allocator", "allocators"}},
      {"strategy", {"strategy", "strategies"}},
      {"seed", {"seed", "seeds"}},
      {"jitter_ns", {"jitter", "jitters"}},
      {"quantum_ns", {"quantum", "quanta"}}};
  std::vector<std::string> dims;
  for (const auto& [key, n] : plan.dimensions) {
    const auto& [one, many] = words.at(key);
    dims.push_back(fmt::format("{} {}", n, n == 1 ? one : many));
  }
  std::string out = fmt::format("sweep {}: {} ({})\n", plan.name,
                                plural(plan.points.size(), "point"), fmt::join(dims, " x "));
  if (!plan.description.empty()) out += plan.description + "\n";
  std::vector<std::vector<std::string>> rows = {{"index", "topology", "workload", "allocator",
                                                 "strategy", "seed", "jitter_ns", "quantum_ns"}};
  for (const auto& p : plan.points)
    rows.push_back({fmt::format("{}", p.index), p.topology, p.workload, p.allocator, p.strategy,
                    fmt::format("{}", p.seed), fmt::format("{}", p.jitter_ns),
                    fmt::format("{}", p.quantum_ns)});
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  // Numbers to the right, names to the left.
  const std::vector<bool> right = {true, false, false, false, false, true, true, true};
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i)
      line += (i ? "  " : "") + (right[i] ? fmt::format("{:>{}}", r[i], width[i])
                                          : fmt::format("{:<{}}", r[i], width[i]));
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

// One point, as `slabsim run -o` would run it and write its result.
json run_point(const sim::SweepPoint& p) {
  sim::RunRequest request;
  request.topology = {p.topology_input};
  request.workload = {p.workload_input};
  request.strategy = {p.strategy_input};
  // The plan's names were checked against the models when it was loaded.
  request.settings.allocator = *alloc::find_allocator(p.allocator);
  request.settings.seed = p.seed;
  request.settings.jitter_ns = p.jitter_ns;
  request.settings.quantum_ns = p.quantum_ns;
  request.max_memory_bytes = sim::default_memory_limit();
  try {
    return sim::result_json(sim::run(request));
  } catch (const sim::MemoryLimitExceeded& e) {
    std::cerr << "slabsim: point " << p.index << ": " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  }
}

std::vector<std::string> findings_of(const json& result) {
  return result["metrics"]["findings"].get<std::vector<std::string>>();
}

bool failed(const std::vector<std::string>& findings) {
  return std::any_of(findings.begin(), findings.end(), sim::is_failure);
}

// One row per point: its index and parameters, then the headline metrics of the CSV view
// (run/headline_metrics.hpp), as Python's Result.summary names them.
std::string csv_header() {
  std::vector<std::string> head = {"index",    "topology", "workload",  "allocator",
                                   "strategy", "seed",     "jitter_ns", "quantum_ns"};
  for (const auto& column : sim::metric_columns(sim::view_csv))
    head.push_back(column.name());
  return fmt::format("{}\n", fmt::join(head, ","));
}

std::string csv_row(const sim::SweepPoint& p, const json& result) {
  std::vector<std::string> row = {fmt::format("{}", p.index),     sim::csv_field(p.topology),
                                  sim::csv_field(p.workload),     p.allocator,
                                  sim::csv_field(p.strategy),     fmt::format("{}", p.seed),
                                  fmt::format("{}", p.jitter_ns), fmt::format("{}", p.quantum_ns)};
  for (const auto& column : sim::metric_columns(sim::view_csv))
    row.push_back(column.csv_cell(result));
  return fmt::format("{}\n", fmt::join(row, ","));
}

std::string findings_line(const std::vector<std::string>& findings) {
  return findings.empty() ? std::string("none") : fmt::format("{}", fmt::join(findings, ", "));
}

fs::path output_directory(const SweepOptions& o) {
  if (o.output.empty())
    throw CLI::ValidationError("-o,--output", "expected the directory of the point files");
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec || !fs::is_directory(o.output)) {
    std::cerr << fmt::format("slabsim: cannot make the directory {}: {}\n", o.output,
                             ec ? ec.message() : "a file of that name is in the way");
    throw CLI::RuntimeError(exit_bad_input);
  }
  return o.output;
}

// Runs each of `indices` whose file is not there yet; prints a line per point. True if a
// point's run (now or before) found a violation or a deadlock. Only findings stay in memory: a
// sweep may have thousands of points.
bool run_points(const sim::SweepPlan& plan, const std::vector<std::size_t>& indices,
                const fs::path& dir) {
  // Every file is checked before anything runs: one of other inputs stops the sweep.
  std::vector<std::optional<std::vector<std::string>>> done;
  for (auto i : indices) {
    const auto result = sim::read_point_result(plan.points[i], dir);
    done.push_back(result ? std::optional(findings_of(*result)) : std::nullopt);
  }
  bool any_failure = false;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const auto& point = plan.points[indices[k]];
    const bool before = done[k].has_value();
    if (!before) {
      const json result = run_point(point);
      emit(result.dump(2) + "\n", (dir / sim::point_file_name(point.index)).string());
      done[k] = findings_of(result);
    }
    any_failure = failed(*done[k]) || any_failure;
    std::cout << fmt::format("point {}: {}; findings: {}\n", point.index,
                             before ? "done before" : "ran", findings_line(*done[k]))
              << std::flush;
  }
  return any_failure;
}

// Gathers every point file into sweep.csv; bad input (exit 2) if a point is missing.
bool merge_points(const SweepOptions& o, const sim::SweepPlan& plan, const fs::path& dir) {
  std::string csv_text = csv_header();
  std::vector<std::size_t> missing, failures;
  for (const auto& p : plan.points) {
    const auto result = sim::read_point_result(p, dir);
    if (!result) {
      missing.push_back(p.index);
      continue;
    }
    csv_text += csv_row(p, *result);
    if (failed(findings_of(*result))) failures.push_back(p.index);
  }
  if (!missing.empty()) {
    std::cerr << fmt::format(
        "slabsim: {}: {} of {} points missing ({}); run them with: slabsim sweep {} --index {} "
        "-o {}\n",
        o.output, missing.size(), plan.points.size(), format_indices(missing), o.plan,
        format_indices(missing), o.output);
    throw CLI::RuntimeError(exit_bad_input);
  }
  const fs::path csv = dir / "sweep.csv";
  emit(csv_text, csv.string());
  std::cout << fmt::format("merged {} into {}", plural(plan.points.size(), "point"), csv.string());
  if (!failures.empty())
    std::cout << fmt::format("; a violation or deadlock in {}", format_indices(failures));
  std::cout << '\n';
  return !failures.empty();
}

}  // namespace

void add_sweep_command(CLI::App& app, int& status) {
  auto o = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Run the points of a sweep plan (a grid of topologies, workloads, allocators, strategies, "
      "seeds, jitters and quanta), all or by index, each into DIR/point-N.json, and merge them "
      "into "
      "DIR/sweep.csv; points already done are not run again");
  cmd->add_option("PLAN", o->plan, "The sweep plan (workloads/sweeps/README.md)");
  auto* list = cmd->add_flag("--list", o->list, "Print the points: index and parameters");
  auto* index = cmd->add_option("--index", o->indices,
                                "Run only these points, e.g. 3, 0-7 or 0-3,8 (a job array's "
                                "task: --index $SLURM_ARRAY_TASK_ID)");
  auto* merge = cmd->add_flag("--merge", o->merge,
                              "Only gather the point files into DIR/sweep.csv (exit status 2 "
                              "if one is missing)");
  cmd->add_option("-o,--output", o->output, "The directory of the point files and sweep.csv");
  auto* schema = cmd->add_flag("--schema", o->schema,
                               "Print the JSON Schema of sweep plans "
                               "(workloads/schema/sweep.schema.json)");
  list->excludes(index)->excludes(merge)->excludes(schema);
  index->excludes(merge)->excludes(schema);
  merge->excludes(schema);
  cmd->callback([o, &status] {
    if (o->schema) {
      emit(sim::sweep_plan_json_schema().dump(2) + "\n", "");
      return;
    }
    if (o->plan.empty()) throw CLI::ValidationError("PLAN", "expected a sweep plan file");
    const sim::SweepPlan plan = sim::load_sweep_plan(fs::path(o->plan));
    if (o->list) {
      emit(list_text(plan), "");
      return;
    }
    std::vector<std::size_t> indices;
    if (!o->indices.empty()) indices = parse_indices(o->indices, plan.points.size());
    const fs::path dir = output_directory(*o);
    bool any_failure = false;
    if (!o->indices.empty()) {
      any_failure = run_points(plan, indices, dir);
    } else if (o->merge) {
      any_failure = merge_points(*o, plan, dir);
    } else {
      for (const auto& p : plan.points)
        indices.push_back(p.index);
      any_failure = run_points(plan, indices, dir);
      any_failure = merge_points(*o, plan, dir) || any_failure;
    }
    status = any_failure ? exit_found : exit_ok;
  });
}

}  // namespace slabsim::cli
