// slabsim run / compare: a workload on a machine under one or more locking strategies.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "cli/run_setup.hpp"
#include "cli/worker_pool.hpp"
#include "run/compare_report.hpp"
#include "run/findings.hpp"
#include "run/headline_metrics.hpp"
#include "run/host_memory.hpp"
#include "run/result.hpp"
#include "run/runner.hpp"
#include "run/scenarios.hpp"
#include "run/trace.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::cli {

namespace {

// "slabsim: 1.234 of 10.000 ms simulated (12%), 3456789 events/s".
class Progress {
 public:
  explicit Progress(std::int64_t duration_ns) : duration_ns_(duration_ns) {}
  // Called every sim::RunOptions::progress_every operations.
  void operator()(std::int64_t simulated_ns) {
    ++calls_;
    line_.update([&](double seconds) {
      return fmt::format(
          "slabsim: {:.3f} of {:.3f} ms simulated ({:.0f}%), {:.0f} events/s",
          static_cast<double>(simulated_ns) / 1e6, static_cast<double>(duration_ns_) / 1e6,
          100.0 * static_cast<double>(simulated_ns) / static_cast<double>(duration_ns_),
          static_cast<double>(calls_ * sim::RunOptions::progress_every) / seconds);
    });
  }

 private:
  std::int64_t duration_ns_;
  std::uint64_t calls_ = 0;
  ProgressLine line_;
};

struct Outcome {
  std::string label;  // the column and file name: strategy, allocator or allocator:strategy
  sim::RunOutcome run;
  nlohmann::json result;
};

// One run of `prepared`, with a progress line unless `quiet`, its timeline written to
// `trace_path` if given.
Outcome run_one(std::shared_ptr<const sim::PreparedRun> prepared, std::string label,
                const std::string& trace_path = "", bool quiet = false) {
  auto run = std::make_shared<sim::PreparedRun>(*prepared);
  Progress progress(run->workload.duration_ns);
  if (!quiet) run->progress = [&progress](std::int64_t ns) { progress(ns); };
  run->trace_path = trace_path;
  Outcome out{std::move(label), {}, {}};
  try {
    out.run = sim::run(std::move(run));
  } catch (const sim::TraceWriteError& e) {
    // As for -o: a path the user gave that cannot be written is bad input.
    std::cerr << "slabsim: " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  } catch (const sim::MemoryLimitExceeded& e) {
    std::cerr << "slabsim: " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  }
  out.result = sim::result_json(out.run);
  return out;
}

// A violation or a deadlock: exit status 3.
bool found_failure(const Outcome& o) {
  const auto findings = sim::run_findings(o.run.metrics);
  return std::any_of(findings.begin(), findings.end(),
                     [](const std::string& f) { return sim::is_failure(f); });
}

std::string reports_text(const Outcome& o, const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) {
    if (names.size() > 1) text += fmt::format("==> {} <==\n", name);
    text += sim::report(name, o.run);
  }
  return text;
}

void check_reports(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    const auto& known = sim::report_names();
    if (std::find(known.begin(), known.end(), n) == known.end())
      throw CLI::ValidationError(
          "--report", fmt::format("unknown report \"{}\"; reports: {}", n, fmt::join(known, ", ")));
  }
}

// What `compare` prints and writes of one column, made in the process that ran it (this one, or
// a worker with --jobs): its result document, the reports asked for, and whether the run found
// a violation or a deadlock.
struct Column {
  std::string label;
  std::shared_ptr<const sim::PreparedRun> run;
  nlohmann::json result;
  std::string reports;
  bool failed = false;
};

Column column_of(const Outcome& o, const std::vector<std::string>& reports) {
  return {o.label, o.run.run, o.result, reports.empty() ? "" : reports_text(o, reports),
          found_failure(o)};
}

// The side-by-side comparison of the runs (run/compare_report.hpp) in `format`; `command`
// reproduces it (markdown and text show it).
std::string compare_table(const std::vector<Column>& columns,
                          sim::CompareFormat format = sim::CompareFormat::table,
                          const sim::CommandWords& command = {}) {
  std::vector<sim::ComparedRun> runs;
  for (const auto& c : columns)
    runs.push_back({c.label, c.run.get(), &c.result});
  return sim::compare_report(runs, format, command);
}

int exit_status(const std::vector<Column>& columns) {
  return std::any_of(columns.begin(), columns.end(), [](const Column& c) { return c.failed; })
             ? exit_found
             : exit_ok;
}

// The `slabsim compare` command that gives the same comparison: the workload, its machine (the
// workload's own when -t was not given), the strategies, the allocators if given and the seed as
// resolved, then every other option the user gave, as given, but those naming output files.
sim::CommandWords reproduce_command(const CLI::App& cmd, const RunCliOptions& o,
                                    const sim::PreparedRun& p) {
  sim::CommandWords words{{{"slabsim", "compare"}}, {{"-w", o.workload}}};
  const std::string topology = o.topology.empty()
                                   ? workload::workload_topology(p.workload_document).value_or("")
                                   : o.topology;
  if (!topology.empty()) words.push_back({{"-t", topology}});
  words.push_back({{"-s", fmt::format("{}", fmt::join(o.strategies, ","))}, true});
  if (cmd.count("--allocators") > 0)
    words.push_back({{"-a", fmt::format("{}", fmt::join(o.allocators, ","))}, true});
  words.push_back({{"--seed", std::to_string(p.seed())}});
  const std::vector<std::string> skip{"--workload",   "--topology", "--strategies",
                                      "--allocators", "--seed",     "--output",
                                      "--trace",      "--jobs",     "--help"};
  for (const CLI::Option* opt : cmd.get_options()) {
    const std::string name = opt->get_name();
    if (opt->count() == 0 || std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const std::string flag = opt->get_snames().empty() ? name : "-" + opt->get_snames()[0];
    if (opt->get_expected_max() == 0)  // a flag
      words.push_back({{flag}});
    else
      words.push_back(
          {{flag, fmt::format("{}", fmt::join(opt->results(), ","))}, opt->get_delimiter() == ','});
  }
  return words;
}

void add_reports_option(CLI::App* cmd, RunCliOptions& o) {
  cmd->add_option("--report", o.reports,
                  "Reports to print: summary, lock_stat, numastat, slabinfo, slub_stats, lockdep")
      ->delimiter(',');
}

// Every allocator under every strategy, each column named by what varies. With more than one
// job the columns run in worker processes (cli/worker_pool.hpp), `jobs` (0: one per CPU) at a
// time; what comes back is the same as from a run in this process.
std::vector<Column> run_columns(const RunCliOptions& o, int jobs = 0) {
  const sim::PreparedRun base = prepare(o, o.strategies.at(0));
  std::vector<alloc::Strategy> strategies{base.strategy};
  for (std::size_t i = 1; i < o.strategies.size(); ++i)
    strategies.push_back(sim::load_strategy({o.strategies[i]}));
  struct Spec {
    std::string label;
    std::shared_ptr<const sim::PreparedRun> run;
  };
  std::vector<Spec> specs;
  for (const auto& a : o.allocators)
    for (const auto& st : strategies)
      specs.push_back({o.allocators.size() == 1 ? st.name
                       : strategies.size() == 1 ? a
                                                : a + ":" + st.name,
                       with_strategy(base, st, allocator_kind(a))});
  auto trace = [&](const Spec& s) {
    return o.trace.empty() ? std::string() : trace_path_for(o.trace, s.label);
  };
  std::vector<Column> columns;
  jobs = worker_processes(jobs, specs.size());
  if (jobs == 1) {
    for (const auto& s : specs)
      columns.push_back(column_of(run_one(s.run, s.label, trace(s)), o.reports));
    return columns;
  }
  ProgressLine progress;
  const auto replies = run_in_workers(
      specs.size(), jobs,
      [&](std::size_t i) {
        const Column c =
            column_of(run_one(specs[i].run, specs[i].label, trace(specs[i]), true), o.reports);
        return nlohmann::json{{"result", c.result}, {"reports", c.reports}, {"failed", c.failed}}
            .dump();
      },
      [&](std::size_t done) {
        progress.update([&](double) {
          return fmt::format("slabsim compare: {} of {} runs, {} at a time", done, specs.size(),
                             jobs);
        });
      });
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto reply = nlohmann::json::parse(replies[i]);
    columns.push_back({specs[i].label, specs[i].run, std::move(reply.at("result")),
                       reply.at("reports").get<std::string>(), reply.at("failed").get<bool>()});
  }
  return columns;
}

// --format: the names of sim::compare_formats(), checked; the format chosen into `format`.
void add_format_option(CLI::App* cmd, sim::CompareFormat& format) {
  std::vector<std::string> names;
  for (const auto& [name, f] : sim::compare_formats())
    names.emplace_back(name);
  cmd->add_option_function<std::string>(
         "--format",
         [&format](const std::string& name) {
           for (const auto& [n, f] : sim::compare_formats())
             if (n == name) format = f;
         },
         "How to print the comparison: table (every row, as wide as it takes; the default), "
         "markdown or text (for a mail or a commit message: units, the strategies' kernels and "
         "commits, the command that reproduces it; text in at most 80 columns)")
      ->check(CLI::IsMember(names));
}

// `compare`: the runs of run_columns(), their comparison in --format, and their reports.
void add_compare_command(CLI::App& app, int& status) {
  auto cmp_opts = std::make_shared<RunCliOptions>();
  auto* cmp = app.add_subcommand(
      "compare",
      "Run a workload under several strategies (and allocators) and print their headline "
      "metrics side by side");
  add_input_options(cmp, *cmp_opts);
  add_reports_option(cmp, *cmp_opts);
  cmp->add_option(
         "-s,--strategies", cmp_opts->strategies,
         fmt::format("Comma-separated presets or files (default {})", sim::default_strategy))
      ->delimiter(',');
  add_allocator_option(cmp, *cmp_opts, true);
  cmp->add_option("-o,--output", cmp_opts->output,
                  "Directory for the JSON results, one <column>.json each");
  cmp->add_option("--trace", cmp_opts->trace,
                  "Write each run's timeline (Chrome trace-event JSON), the column's name "
                  "before the extension: trace.json gives trace.<column>.json");
  auto cmp_format = std::make_shared<sim::CompareFormat>(sim::CompareFormat::table);
  add_format_option(cmp, *cmp_format);
  auto cmp_jobs = std::make_shared<int>(0);
  cmp->add_option("--jobs", *cmp_jobs,
                  "Worker processes running the columns (default: one per CPU, at most one per "
                  "column); the output does not depend on it")
      ->check(CLI::Range(1, 1024));
  cmp->callback([cmp, cmp_opts, cmp_format, cmp_jobs, &status] {
    check_reports(cmp_opts->reports);
    check_output(cmp_opts->output, /*directory=*/true);
    check_output(cmp_opts->trace);
    if (cmp_opts->strategies.empty()) cmp_opts->strategies = {std::string(sim::default_strategy)};
    const auto columns = run_columns(*cmp_opts, *cmp_jobs);
    if (!cmp_opts->output.empty()) {
      for (const auto& c : columns)
        emit(c.result.dump(2) + "\n",
             (std::filesystem::path(cmp_opts->output) / (c.label + ".json")).string());
    }
    std::string text =
        compare_table(columns, *cmp_format, reproduce_command(*cmp, *cmp_opts, *columns.at(0).run));
    for (const auto& c : columns)
      if (!cmp_opts->reports.empty()) text += fmt::format("\n### {}\n{}", c.label, c.reports);
    emit(text, "");
    status = exit_status(columns);
  });
}

}  // namespace

int run_default_comparison() {
  RunCliOptions o;
  o.strategies = sim::default_strategies;
  const auto columns = run_columns(o);
  emit(compare_table(columns), "");
  return exit_status(columns);
}

void add_run_commands(CLI::App& app, int& status) {
  auto run_opts = std::make_shared<RunCliOptions>();
  auto* run = app.add_subcommand("run", "Run a workload on a machine under one locking strategy");
  add_input_options(run, *run_opts);
  add_reports_option(run, *run_opts);
  add_allocator_option(run, *run_opts, false);
  run->add_option("-s,--strategy", run_opts->strategies,
                  fmt::format("Strategy preset or file (default {})", sim::default_strategy))
      ->expected(0, 1);
  run->add_option("-o,--output", run_opts->output, "Write the JSON result here (atomically)");
  run->add_option("--trace", run_opts->trace,
                  "Write the run's timeline here: Chrome trace-event JSON, for "
                  "https://ui.perfetto.dev or chrome://tracing");
  run->add_flag("--partial", run_opts->partial,
                "When --max-memory stops the run, still write and report what it measured so "
                "far, marked as partial (a \"partial\" block: the reason and the simulated time "
                "it stopped at); the exit status stays 2");
  run->callback([run_opts, &status] {
    check_reports(run_opts->reports);
    check_output(run_opts->output);
    check_output(run_opts->trace);
    if (run_opts->strategies.empty()) run_opts->strategies = {std::string(sim::default_strategy)};
    auto prepared =
        std::make_shared<const sim::PreparedRun>(prepare(*run_opts, run_opts->strategies[0]));
    std::vector<Outcome> outcomes{run_one(prepared, prepared->strategy.name, run_opts->trace)};
    if (!run_opts->output.empty()) emit(outcomes[0].result.dump(2) + "\n", run_opts->output);
    const auto reports =
        run_opts->reports.empty() ? std::vector<std::string>{"summary"} : run_opts->reports;
    emit(reports_text(outcomes[0], reports), "");
    status = found_failure(outcomes[0]) ? exit_found : exit_ok;
    if (const auto& partial = outcomes[0].run.metrics.partial) {
      std::cerr << "slabsim: " << partial->reason << "; it was stopped"
                << (run_opts->output.empty() ? ""
                                             : "; the partial result is in " + run_opts->output)
                << '\n';
      status = exit_bad_input;
    }
  });
  add_compare_command(app, status);
}

}  // namespace slabsim::cli
