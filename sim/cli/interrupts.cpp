#include "cli/interrupts.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <csignal>

#include "config/json_document.hpp"

namespace slabsim::cli {

namespace {

// Read by the handler: plain slots, each written before the count covers it.
std::array<volatile pid_t, 256> workers{};
volatile std::sig_atomic_t worker_count = 0;

extern "C" void on_interrupt(int signo) {
  config::remove_pending_temporary_file();
  for (std::sig_atomic_t i = 0; i < worker_count; ++i)
    if (workers[static_cast<std::size_t>(i)] > 0)
      ::kill(workers[static_cast<std::size_t>(i)], signo);
  ::_exit(128 + signo);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGXFSZ, SIG_IGN);
}

void remember_worker(pid_t pid) {
  if (worker_count >= static_cast<std::sig_atomic_t>(workers.size())) return;
  workers[static_cast<std::size_t>(worker_count)] = pid;
  worker_count = worker_count + 1;
}

void forget_worker(pid_t pid) {
  for (std::sig_atomic_t i = 0; i < worker_count; ++i)
    if (workers[static_cast<std::size_t>(i)] == pid) workers[static_cast<std::size_t>(i)] = 0;
}

void forget_all_workers() {
  worker_count = 0;
}

}  // namespace slabsim::cli
