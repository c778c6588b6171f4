// slabsim explore: one workload under one or more strategies, run with many seeds, each run's
// events delayed by a seeded jitter, to find how often each class of bug shows (findings.hpp)
// and the first seed that shows it, with the command that replays that run.
//
// Runs are spread over worker processes (fork: SimGrid allows one engine per process), each
// reporting "<strategy> <seed> <findings>" lines through a pipe; the parent gathers them. The
// output is sorted by seed, so it does not depend on --jobs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/command.hpp"
#include "cli/interrupts.hpp"
#include "cli/progress_line.hpp"
#include "cli/run_setup.hpp"
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

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// A worker: the runs (strategy, seed) with index % jobs == job, one line each on `fd`; a line
// "error <message>" and exit status 1 if a run throws.
[[noreturn]] void worker(const std::vector<std::shared_ptr<const sim::PreparedRun>>& strategies,
                         const ExploreOptions& o, int job, int jobs, int fd) {
  int status = 0;
  try {
    std::size_t index = 0;
    for (std::size_t s = 0; s < strategies.size(); ++s) {
      for (int r = 0; r < o.runs; ++r, ++index) {
        if (static_cast<int>(index % static_cast<std::size_t>(jobs)) != job) continue;
        auto run = std::make_shared<sim::PreparedRun>(*strategies[s]);
        run->settings.seed = o.first_seed + static_cast<std::uint64_t>(r);
        const auto outcome = sim::run(std::move(run));
        std::string line = fmt::format("{}\t{}", s, outcome.run->seed());
        for (const auto& f : sim::run_findings(outcome.metrics))
          line += "\t" + f;
        write_all(fd, line + "\n");
      }
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    write_all(fd, "error\t" + what + "\n");
    status = 1;
  }
  ::close(fd);
  ::_exit(status);  // no atexit handlers or static destructors of the parent's state
}

struct Worker {
  pid_t pid;
  int fd;
  std::string pending;  // a line read in part
};

std::vector<Worker> spawn_workers(
    const std::vector<std::shared_ptr<const sim::PreparedRun>>& strategies, const ExploreOptions& o,
    int jobs) {
  std::vector<Worker> workers;
  std::cout << std::flush;
  std::cerr << std::flush;
  for (int job = 0; job < jobs; ++job) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    // No interrupt between the fork and remembering the worker: it would outlive slabsim.
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &stop, &old);
    const pid_t pid = ::fork();
    if (pid > 0) remember_worker(pid);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
      forget_all_workers();
      ::close(fds[0]);
      for (const auto& w : workers)
        ::close(w.fd);
      worker(strategies, o, job, jobs, fds[1]);
    }
    ::close(fds[1]);
    workers.push_back({pid, fds[0], {}});
  }
  return workers;
}

// One line of a worker: a run's record, or an error message.
void parse_line(const std::string& line, std::vector<RunRecord>& records,
                std::vector<std::string>& errors) {
  std::istringstream in(line);
  std::string field;
  std::getline(in, field, '\t');
  if (field == "error") {
    std::getline(in, field);
    errors.push_back(field);
    return;
  }
  RunRecord r;
  r.strategy = std::stoul(field);
  std::getline(in, field, '\t');
  r.seed = std::stoull(field);
  while (std::getline(in, field, '\t'))
    r.findings.push_back(field);
  records.push_back(std::move(r));
}

// Reads what a worker has written; false once it closed its pipe.
bool read_worker(Worker& w, std::vector<RunRecord>& records, std::vector<std::string>& errors) {
  char buf[4096];
  const ssize_t n = ::read(w.fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    ::close(w.fd);
    w.fd = -1;
    return false;
  }
  w.pending.append(buf, static_cast<std::size_t>(n));
  for (std::size_t nl; (nl = w.pending.find('\n')) != std::string::npos;) {
    parse_line(w.pending.substr(0, nl), records, errors);
    w.pending.erase(0, nl + 1);
  }
  return true;
}

// Every run of every strategy, sorted by strategy and seed.
std::vector<RunRecord> run_workers(
    const std::vector<std::shared_ptr<const sim::PreparedRun>>& strategies, const ExploreOptions& o,
    int jobs) {
  auto workers = spawn_workers(strategies, o, jobs);
  std::vector<RunRecord> records;
  std::vector<std::string> errors;
  const std::size_t total = strategies.size() * static_cast<std::size_t>(o.runs);
  {
    ProgressLine progress;
    for (std::size_t open = workers.size(); open > 0;) {
      std::vector<pollfd> fds;
      for (const auto& w : workers)
        fds.push_back({w.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
        throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
      for (std::size_t i = 0; i < workers.size(); ++i)
        if (workers[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !read_worker(workers[i], records, errors))
          --open;
      progress.update([&](double) {
        return fmt::format("slabsim explore: {} of {} runs", records.size(), total);
      });
    }
  }
  bool crashed = false;
  for (const auto& w : workers) {
    int status = 0;
    ::waitpid(w.pid, &status, 0);
    forget_worker(w.pid);
    if (WIFSIGNALED(status)) crashed = true;
  }
  if (!errors.empty()) throw std::runtime_error("a run failed: " + errors.front());
  if (crashed || records.size() != total)
    throw std::runtime_error(
        fmt::format("a worker died: {} of {} runs reported", records.size(), total));
  std::sort(records.begin(), records.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.strategy, a.seed) < std::tie(b.strategy, b.seed);
  });
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
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs =
      std::min(o.jobs > 0 ? o.jobs : cpus, static_cast<int>(strategies.size()) * o.runs);
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
