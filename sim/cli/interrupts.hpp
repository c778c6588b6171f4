// How slabsim ends on SIGINT (Ctrl-C) and SIGTERM: as a shell expects, with exit status 128 plus
// the signal (130, 143), and without leaving a partial file: a result being written has its
// temporary file removed (every result is written atomically, so nothing else is half done),
// and the worker processes of compare and explore (cli/worker_pool.hpp) get the same signal.
// SIGXFSZ is ignored, so that a write over the file-size limit fails with EFBIG and is reported
// like a full disk.
#pragma once

#include <sys/types.h>

namespace slabsim::cli {

// From main(), before anything runs (the Python module keeps Python's own handling).
void install_interrupt_handlers();

// A worker process to signal when slabsim is interrupted; forget it once it was reaped. In a
// freshly forked worker, forget_all_workers(): the parent's list is not its own.
void remember_worker(pid_t pid);
void forget_worker(pid_t pid);
void forget_all_workers();

}  // namespace slabsim::cli
