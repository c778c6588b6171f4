// What the CLI's subcommands share: where output goes, and the exit-status convention.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace slabsim::cli {

// Exit statuses: 0 success; 1 an internal error; 2 bad input (a file, a JSON path, a flag);
// 3 a run found a violation or a deadlock.
inline constexpr int exit_ok = 0;
inline constexpr int exit_internal = 1;
inline constexpr int exit_bad_input = 2;
inline constexpr int exit_found = 3;

// Writes `text` to stdout, or atomically to `path` when one is given.
void emit(const std::string& text, const std::string& path);
// Before a run: a file (or, with `directory`, a directory, created here) can be written at
// `path`; else the reason on stderr and exit status 2, before any work. Nothing for "".
void check_output(const std::string& path, bool directory = false);

void add_topology_commands(CLI::App& app);
void add_strategy_commands(CLI::App& app);
void add_workload_commands(CLI::App& app);
// `run` and `compare`; `status` receives their exit status (exit_found for a violation).
void add_run_commands(CLI::App& app, int& status);
// `explore`: many seeds with jittered event times; `status` as for run.
void add_explore_command(CLI::App& app, int& status);
// `sweep`: the points of a sweep plan, listed, run into a directory, merged; `status` as for run.
void add_sweep_command(CLI::App& app, int& status);
// `kernel-check model`: slabsim's side of the check against a booted kernel.
void add_kernel_check_command(CLI::App& app);
// The main job: the default scenario under the default strategies, side by side.
int run_default_comparison();

}  // namespace slabsim::cli
