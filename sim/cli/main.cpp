// slabsim: a discrete-event NUMA machine with the SLUB allocator under test.
#include <fmt/format.h>

#include <iostream>
#include <new>

#include "cli/command.hpp"
#include "cli/interrupts.hpp"
#include "config/diagnostics.hpp"

int main(int argc, char** argv) {
  using namespace slabsim;
  cli::install_interrupt_handlers();
  CLI::App app{"slabsim: compare SLUB locking strategies on a simulated NUMA machine"};
  app.set_version_flag("--version", std::string("slabsim ") + SLABSIM_VERSION);
  int status = cli::exit_ok;
  cli::add_topology_commands(app);
  cli::add_strategy_commands(app);
  cli::add_workload_commands(app);
  cli::add_run_commands(app, status);
  cli::add_explore_command(app, status);
  cli::add_sweep_command(app, status);
  cli::add_kernel_check_command(app);
  // With no arguments, the main job: the embedded default comparison.
  app.callback([&app, &status] {
    if (app.get_subcommands().empty()) status = cli::run_default_comparison();
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::exit_bad_input;
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << '\n';
    return cli::exit_bad_input;
  } catch (const std::bad_alloc&) {
    // The pre-run estimate (--max-memory, ulimit -v) let through a run the host could not hold.
    std::cerr << "slabsim: error: out of host memory (std::bad_alloc): the run needed more than "
                 "the host or its address-space limit (ulimit -v) gives it; a smaller --max-memory "
                 "stops it with a message first\n";
    return cli::exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "slabsim: error: " << e.what() << '\n';
    return cli::exit_internal;
  }
  return status;
}
