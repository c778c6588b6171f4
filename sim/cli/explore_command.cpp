// slabsim explore: one workload under one or more strategies, run with many seeds, each run's
// events delayed by a seeded jitter, to find how often each class of bug shows (findings.hpp)
// and the first seed that shows it, with the command that replays that run.
//
// Runs are spread over worker processes (cli/worker_pool.hpp), each returning its findings; the
// output is in the order of seeds, so it does not depend on --jobs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "cli/run_setup.hpp"
#include "cli/worker_pool.hpp"
#include "run/findings.hpp"
#include "run/runner.hpp"
#include "strategy/strategy_format.hpp"

namespace slabsim::cli {

namespace {

struct ExploreOptions {
  RunCliOptions run;
  int runs = 200;
  std::uint64_t first_seed = 1;
  int jobs = 0;  // 0: one per CPU of this machine
};

constexpr std::int64_t default_jitter_ns = 100'000;

struct RunRecord {
  std::size_t strategy = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> findings;
};

// Every run of every strategy, in the order of strategy and seed, each run in a worker process.
std::vector<RunRecord> run_workers(
    const std::vector<std::shared_ptr<const sim::PreparedRun>>& strategies, const ExploreOptions& o,
    int jobs) {
  const std::size_t runs = static_cast<std::size_t>(o.runs);
  const std::size_t total = strategies.size() * runs;
  ProgressLine progress;
  const auto outputs = run_in_workers(
      total, jobs,
      [&](std::size_t i) {
        auto run = std::make_shared<sim::PreparedRun>(*strategies[i / runs]);
        run->settings.seed = o.first_seed + i % runs;
        const auto outcome = sim::run(std::move(run));
        return fmt::format("{}", fmt::join(sim::run_findings(outcome.metrics), "\t"));
      },
      [&](std::size_t done) {
        progress.update(
            [&](double) { return fmt::format("slabsim explore: {} of {} runs", done, total); });
      });
  std::vector<RunRecord> records;
  for (std::size_t i = 0; i < total; ++i) {
    RunRecord r{i / runs, o.first_seed + i % runs, {}};
    std::istringstream in(outputs[i]);
    for (std::string field; std::getline(in, field, '\t');)
      r.findings.push_back(field);
    records.push_back(std::move(r));
  }
  return records;
}

// The command line that replays one run: the same inputs as given, that seed and jitter.
std::string replay_command(const ExploreOptions& o, const std::string& strategy,
                           std::uint64_t seed) {
  std::string cmd = "slabsim run";
  if (!o.run.topology.empty()) cmd += " -t " + o.run.topology;
  cmd += " -w " + o.run.workload;
  if (o.run.allocators.at(0) != "slub") cmd += " -a " + o.run.allocators[0];
  cmd += " -s " + strategy + fmt::format(" --seed {}", seed);
  if (o.run.settings.jitter_ns) cmd += fmt::format(" --jitter-ns {}", o.run.settings.jitter_ns);
  if (o.run.settings.quantum_ns != sim::quantum_setting.default_value())
    cmd += fmt::format(" --quantum {}", o.run.settings.quantum_ns);
  if (o.run.no_lookahead) cmd += " --no-lookahead";
  if (o.run.settings.slab_nomerge) cmd += " --slab-nomerge";
  return cmd + " --report summary,lockdep";
}

// Per strategy: how many runs hit each finding, from which seed, and the first failing run's
// replay command.
std::string strategy_table(const ExploreOptions& o, const std::string& strategy_name,
                           const std::string& strategy_input, const std::vector<RunRecord>& runs,
                           bool* failed) {
  struct Count {
    int runs = 0;
    std::uint64_t first_seed = 0;
  };
  std::map<std::string, Count> counts;
  std::optional<std::uint64_t> first_failure;
  for (const auto& r : runs)
    for (const auto& f : r.findings.empty() ? std::vector<std::string>{"none"} : r.findings) {
      auto& c = counts[f];
      if (c.runs++ == 0) c.first_seed = r.seed;
      if (sim::is_failure(f) && !first_failure) first_failure = r.seed;
    }
  std::string text = fmt::format("\n{}\n  {:<64} {:>6} {:>7} {:>11}\n", strategy_name, "finding",
                                 "runs", "share", "first seed");
  for (const auto& [finding, c] : counts)
    text += fmt::format("  {:<64} {:>6} {:>6.1f}% {:>11}\n", finding, c.runs,
                        100.0 * c.runs / o.runs, c.first_seed);
  if (!first_failure) return text + "  no violation or deadlock in any run\n";
  *failed = true;
  return text + fmt::format("  first failing seed {}; replay:\n    {}\n", *first_failure,
                            replay_command(o, strategy_input, *first_failure));
}

void explore(const ExploreOptions& o, int& status) {
  const sim::PreparedRun base = prepare(o.run, o.run.strategies.at(0));
  std::vector<std::shared_ptr<const sim::PreparedRun>> strategies;
  for (const auto& name : o.run.strategies)
    strategies.push_back(with_strategy(base, sim::load_strategy({name}), base.settings.allocator));
  const int jobs = worker_processes(o.jobs, strategies.size() * static_cast<std::size_t>(o.runs));
  const auto start = std::chrono::steady_clock::now();
  const auto records = run_workers(strategies, o, jobs);
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  // Host figures on a terminal's stderr only: what is captured depends only on the inputs.
  if (::isatty(STDERR_FILENO))
    std::cerr << fmt::format("slabsim explore: {} runs in {:.1f} s with {} jobs\n", records.size(),
                             wall.count(), jobs);
  std::string text = fmt::format(
      "explore: {} on {} with {}, {} runs per strategy (seeds {}..{}), events up to {} ns "
      "late\n",
      base.workload.name, base.machine.name, o.run.allocators.at(0), o.runs, o.first_seed,
      o.first_seed + static_cast<std::uint64_t>(o.runs) - 1, o.run.settings.jitter_ns);
  nlohmann::json runs = nlohmann::json::array();
  bool any_failure = false;
  for (std::size_t s = 0; s < strategies.size(); ++s) {
    std::vector<RunRecord> mine;
    for (const auto& r : records)
      if (r.strategy == s) mine.push_back(r);
    for (const auto& r : mine)
      runs.push_back(
          {{"strategy", strategies[s]->strategy.name}, {"seed", r.seed}, {"findings", r.findings}});
    text +=
        strategy_table(o, strategies[s]->strategy.name, o.run.strategies[s], mine, &any_failure);
  }
  if (!o.run.output.empty())
    emit(nlohmann::json{{"allocator", o.run.allocators.at(0)},
                        {"workload", base.workload.name},
                        {"topology", base.machine.name},
                        {"first_seed", o.first_seed},
                        {"runs_per_strategy", o.runs},
                        {"jitter_ns", o.run.settings.jitter_ns},
                        {"runs", runs}}
                 .dump(2) +
             "\n",
         o.run.output);
  emit(text, "");
  status = any_failure ? exit_found : exit_ok;
}

}  // namespace

void add_explore_command(CLI::App& app, int& status) {
  auto o = std::make_shared<ExploreOptions>();
  o->run.settings.jitter_ns = default_jitter_ns;
  auto* cmd = app.add_subcommand(
      "explore",
      "Run a workload with many seeds and jittered event times; count the runs that hit each "
      "class of violation, deadlock or lockdep cycle");
  add_input_options(cmd, o->run, /*with_seed=*/false);
  add_allocator_option(cmd, o->run, false);
  cmd->add_option("-s,--strategies", o->run.strategies, "Comma-separated presets or files")
      ->delimiter(',')
      ->required();
  cmd->add_option("--runs", o->runs, "Seeds to run per strategy")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--first-seed", o->first_seed, "The first seed; the others follow it")
      ->capture_default_str();
  cmd->add_option("--jobs", o->jobs, "Worker processes (default: one per CPU)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-o,--output", o->run.output,
                  "Write every run's findings as JSON here (atomically)");
  cmd->callback([o, &status] {
    check_output(o->run.output);
    explore(*o, status);
  });
}

}  // namespace slabsim::cli
