// Runs independent tasks in forked worker processes, one per CPU by default: SimGrid allows one
// engine per process, so a command with several runs (compare's columns, explore's seeds) gets
// its parallelism from processes. Task i runs in worker i % jobs; each task's output (any bytes)
// comes back through the worker's pipe and is returned by index, so what the caller prints does
// not depend on the number of workers. Interrupting slabsim signals the workers too
// (cli/interrupts.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace slabsim::cli {

// One per CPU of this machine, at most `tasks`, at least 1; `requested` > 0 overrides the CPUs.
int worker_processes(int requested, std::size_t tasks);

// Calls task(i) for every i < count in `jobs` worker processes and returns the outputs by index.
// on_done(outputs so far) is called in the parent as outputs arrive (a progress line).
//
// A task that throws ends its worker. Once every worker has ended, the first failure by index is
// rethrown in the parent: a CLI::RuntimeError keeps its exit status (a diagnosed error the task
// already printed), any other exception becomes std::runtime_error("a run failed: <what>"). A
// worker that dies without reporting (a signal) is std::runtime_error("a worker died: ...").
std::vector<std::string> run_in_workers(std::size_t count, int jobs,
                                        const std::function<std::string(std::size_t)>& task,
                                        const std::function<void(std::size_t)>& on_done = {});

}  // namespace slabsim::cli
