// slabsim run / compare: a workload on a machine under one or more locking strategies.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "cli/run_setup.hpp"
#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "run/findings.hpp"
#include "run/result.hpp"
#include "run/runner.hpp"
#include "run/scenarios.hpp"
#include "run/trace.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::cli {

namespace {

// A progress line on stderr, at most once a second, once a run has taken more than a second.
class Progress {
 public:
  explicit Progress(std::int64_t duration_ns) : duration_ns_(duration_ns) {}
  // Called every sim::RunOptions::progress_every operations.
  void operator()(std::int64_t simulated_ns) {
    ++calls_;
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    shown_ = true;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    std::cerr << fmt::format(
                     "\rslabsim: {:.3f} of {:.3f} ms simulated ({:.0f}%), {:.0f} events/s",
                     static_cast<double>(simulated_ns) / 1e6,
                     static_cast<double>(duration_ns_) / 1e6,
                     100.0 * static_cast<double>(simulated_ns) / static_cast<double>(duration_ns_),
                     static_cast<double>(calls_ * sim::RunOptions::progress_every) / seconds)
              << std::flush;
  }
  ~Progress() {
    if (shown_) std::cerr << '\n';
  }

 private:
  std::int64_t duration_ns_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
  bool shown_ = false;
  std::uint64_t calls_ = 0;
};

struct Outcome {
  std::string label;  // the column and file name: strategy, allocator or allocator:strategy
  alloc::Strategy strategy;
  sim::RunMetrics metrics;
  nlohmann::json result;
};

Outcome run_one(const Prepared& p, alloc::AllocatorKind allocator, const alloc::Strategy& strategy,
                const RunCliOptions& o, const std::string& trace_path = "") {
  sim::RunOptions options;
  options.allocator = allocator;
  options.seed = p.seed;
  options.sync_quantum_ns = o.quantum_ns;
  options.lookahead = !o.no_lookahead;
  options.jitter_ns = p.jitter_ns;
  options.trace_path = trace_path;
  Progress progress(p.workload.duration_ns);
  options.progress = [&progress](std::int64_t ns) { progress(ns); };
  const auto start = std::chrono::steady_clock::now();
  Outcome out{strategy.name, strategy, {}, {}};
  try {
    out.metrics = sim::run_simulation(p.machine, p.workload, strategy, options);
  } catch (const sim::TraceWriteError& e) {
    // As for -o: a path the user gave that cannot be written is bad input.
    std::cerr << "slabsim: " << e.what() << '\n';
    throw CLI::RuntimeError(exit_bad_input);
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  sim::RunInputs inputs{&p.machine, p.document.root, &out.strategy, p.seed, p.jitter_ns};
  out.result = sim::result_json(inputs, out.metrics,
                                {wall.count(), out.metrics.engine_steps, out.metrics.engine_sleeps,
                                 out.metrics.skipped_sleeps});
  return out;
}

int exit_status(const std::vector<Outcome>& outcomes) {
  for (const auto& o : outcomes)
    for (const auto& f : sim::run_findings(o.metrics))
      if (sim::is_failure(f)) return exit_found;
  return exit_ok;
}

std::string reports_text(const Prepared& p, const Outcome& o,
                         const std::vector<std::string>& names) {
  std::string text;
  sim::RunInputs inputs{&p.machine, p.document.root, &o.strategy, p.seed, p.jitter_ns};
  for (const auto& name : names) {
    if (names.size() > 1) text += fmt::format("==> {} <==\n", name);
    text += sim::report(name, inputs, o.metrics);
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

// The side-by-side table of headline metrics.
std::string compare_table(const Prepared& p, const std::vector<Outcome>& outcomes) {
  std::vector<std::string> head{"metric"};
  for (const auto& o : outcomes)
    head.push_back(o.label);
  std::vector<std::vector<std::string>> rows;
  auto add = [&](std::string name, auto cell) {
    std::vector<std::string> row{std::move(name)};
    for (const auto& o : outcomes)
      row.push_back(cell(o.metrics));
    rows.push_back(std::move(row));
  };
  auto us = [](std::int64_t ns) { return fmt::format("{:.2f}", static_cast<double>(ns) / 1000.0); };
  add("allocations", [](const sim::RunMetrics& m) { return fmt::format("{}", m.allocations); });
  add("remote alloc ratio",
      [](const sim::RunMetrics& m) { return fmt::format("{:.4f}", m.remote_alloc.value()); });
  add("remote access ratio",
      [](const sim::RunMetrics& m) { return fmt::format("{:.4f}", m.remote_access.value()); });
  add("fallbacks to NUMA_NO_NODE", [](const sim::RunMetrics& m) {
    std::uint64_t f = 0;
    for (auto v : m.fallbacks_per_node)
      f += v;
    return fmt::format("{}", f);
  });
  add("alloc_node_mismatch", [](const sim::RunMetrics& m) {
    return m.alloc_node_mismatch ? fmt::format("{}", *m.alloc_node_mismatch) : std::string("-");
  });
  std::vector<std::string> classes;
  for (const auto& o : outcomes)
    for (const auto& c : o.metrics.lock_stat)
      if (std::find(classes.begin(), classes.end(), c.name) == classes.end())
        classes.push_back(c.name);
  for (const auto& cls : classes) {
    auto find = [cls](const sim::RunMetrics& m) -> const sim::LockClassStats* {
      for (const auto& c : m.lock_stat)
        if (c.name == cls) return &c;
      return nullptr;
    };
    add(cls + " contentions", [&](const sim::RunMetrics& m) {
      const auto* c = find(m);
      return c ? fmt::format("{}", c->contentions()) : std::string("-");
    });
    add(cls + " wait total us", [&](const sim::RunMetrics& m) {
      const auto* c = find(m);
      return c ? us(c->read_waittime.total + c->write_waittime.total) : std::string("-");
    });
    add(cls + " hold total us", [&](const sim::RunMetrics& m) {
      const auto* c = find(m);
      return c ? us(c->read_holdtime.total + c->write_holdtime.total) : std::string("-");
    });
  }
  add("hotplug ops (failed)", [](const sim::RunMetrics& m) {
    int failed = 0;
    for (const auto& h : m.hotplug)
      failed += h.result != 0;
    return fmt::format("{} ({})", m.hotplug.size(), failed);
  });
  add("hotplug max latency us", [&](const sim::RunMetrics& m) {
    std::int64_t mx = 0;
    for (const auto& h : m.hotplug)
      mx = std::max(mx, h.duration_ns);
    return us(mx);
  });
  add("hotplug max lock wait us", [&](const sim::RunMetrics& m) {
    std::int64_t mx = 0;
    for (const auto& h : m.hotplug)
      mx = std::max(mx, h.lock_wait_ns);
    return us(mx);
  });
  add("lockdep reports",
      [](const sim::RunMetrics& m) { return fmt::format("{}", m.lockdep_reports.size()); });
  add("violations",
      [](const sim::RunMetrics& m) { return fmt::format("{}", m.violations.size()); });
  add("deadlock", [](const sim::RunMetrics& m) { return std::string(m.deadlock ? "yes" : "no"); });

  std::vector<std::size_t> width(head.size(), 0);
  for (std::size_t i = 0; i < head.size(); ++i)
    width[i] = head[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out = fmt::format("{:<{}}", r[0], width[0]);
    for (std::size_t i = 1; i < r.size(); ++i)
      out += fmt::format("  {:>{}}", r[i], width[i]);
    return out + "\n";
  };
  std::string out =
      fmt::format("{} on {} (seed {}, {} ms simulated)\n", p.workload.name, p.machine.name, p.seed,
                  static_cast<double>(p.workload.duration_ns) / 1e6);
  out += line(head);
  for (const auto& r : rows)
    out += line(r);
  return out;
}

void add_common(CLI::App* cmd, RunCliOptions& o) {
  cmd->add_option("-t,--topology", o.topology,
                  "Topology file or preset (default: the workload's own \"topology\")");
  cmd->add_option("-w,--workload", o.workload, "Workload file or embedded scenario name")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed (default: the workload's)");
  cmd->add_option("--report", o.reports,
                  "Reports to print: summary, lock_stat, numastat, slabinfo, slub_stats, lockdep")
      ->delimiter(',');
  cmd->add_option("--quantum", o.quantum_ns,
                  "Lax-synchronisation quantum in ns: how far a CPU's local work may run ahead")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--jitter-ns", o.jitter_ns,
                  "Start each timed event a pseudo-random 0..N ns late, drawn from the seed")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}))
      ->capture_default_str();
  cmd->add_flag("--no-lookahead", o.no_lookahead,
                "Send every sleep through SimGrid, even those no other CPU could notice: "
                "slower, same results (a check of the engine)");
}

void add_trace_option(CLI::App* cmd, RunCliOptions& o, const char* what) {
  cmd->add_option("--trace", o.trace, what);
}

}  // namespace

int run_default_comparison() {
  RunCliOptions o;
  o.strategies = sim::default_strategies;
  const Prepared p = prepare(o);
  std::vector<Outcome> outcomes;
  for (const auto& name : o.strategies)
    outcomes.push_back(run_one(p, alloc::AllocatorKind::slub, strategy::load_strategy(name), o));
  emit(compare_table(p, outcomes), "");
  return exit_status(outcomes);
}

void add_run_commands(CLI::App& app, int& status) {
  auto run_opts = std::make_shared<RunCliOptions>();
  auto* run = app.add_subcommand("run", "Run a workload on a machine under one locking strategy");
  add_common(run, *run_opts);
  add_allocator_option(run, *run_opts, false);
  run->add_option("-s,--strategy", run_opts->strategies,
                  "Strategy preset or file (default slab_nodes_nocpu)")
      ->expected(0, 1);
  run->add_option("-o,--output", run_opts->output, "Write the JSON result here (atomically)");
  add_trace_option(run, *run_opts,
                   "Write the run's timeline here: Chrome trace-event JSON, for "
                   "https://ui.perfetto.dev or chrome://tracing");
  run->callback([run_opts, &status] {
    check_reports(run_opts->reports);
    const Prepared p = prepare(*run_opts);
    const auto st = strategy::load_strategy(
        run_opts->strategies.empty() ? std::string("slab_nodes_nocpu") : run_opts->strategies[0]);
    std::vector<Outcome> outcomes{
        run_one(p, allocator_kind(run_opts->allocators.at(0)), st, *run_opts, run_opts->trace)};
    if (!run_opts->output.empty()) emit(outcomes[0].result.dump(2) + "\n", run_opts->output);
    const auto reports =
        run_opts->reports.empty() ? std::vector<std::string>{"summary"} : run_opts->reports;
    emit(reports_text(p, outcomes[0], reports), "");
    status = exit_status(outcomes);
  });

  auto cmp_opts = std::make_shared<RunCliOptions>();
  auto* cmp = app.add_subcommand(
      "compare",
      "Run a workload under several strategies (and allocators) and print their headline "
      "metrics side by side");
  add_common(cmp, *cmp_opts);
  cmp->add_option("-s,--strategies", cmp_opts->strategies,
                  "Comma-separated presets or files (default slab_nodes_nocpu)")
      ->delimiter(',');
  add_allocator_option(cmp, *cmp_opts, true);
  cmp->add_option("-o,--output", cmp_opts->output,
                  "Directory for the JSON results, one <column>.json each");
  add_trace_option(cmp, *cmp_opts,
                   "Write each run's timeline (Chrome trace-event JSON), the column's name "
                   "before the extension: trace.json gives trace.<column>.json");
  cmp->callback([cmp_opts, &status] {
    check_reports(cmp_opts->reports);
    const Prepared p = prepare(*cmp_opts);
    if (cmp_opts->strategies.empty()) cmp_opts->strategies = {"slab_nodes_nocpu"};
    const auto& allocators = cmp_opts->allocators;
    std::vector<alloc::Strategy> strategies;
    for (const auto& name : cmp_opts->strategies)
      strategies.push_back(strategy::load_strategy(name));
    // Every allocator under every strategy; a column is named by what varies.
    std::vector<Outcome> outcomes;
    for (const auto& a : allocators)
      for (const auto& st : strategies) {
        const std::string label = allocators.size() == 1   ? st.name
                                  : strategies.size() == 1 ? a
                                                           : a + ":" + st.name;
        outcomes.push_back(run_one(
            p, allocator_kind(a), st, *cmp_opts,
            cmp_opts->trace.empty() ? std::string() : trace_path_for(cmp_opts->trace, label)));
        outcomes.back().label = label;
      }
    if (!cmp_opts->output.empty()) {
      std::filesystem::create_directories(cmp_opts->output);
      for (const auto& o : outcomes)
        emit(o.result.dump(2) + "\n",
             (std::filesystem::path(cmp_opts->output) / (o.label + ".json")).string());
    }
    std::string text = compare_table(p, outcomes);
    for (const auto& o : outcomes)
      if (!cmp_opts->reports.empty())
        text += fmt::format("\n### {}\n{}", o.label, reports_text(p, o, cmp_opts->reports));
    emit(text, "");
    status = exit_status(outcomes);
  });
}

}  // namespace slabsim::cli
