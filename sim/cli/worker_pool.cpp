#include "cli/worker_pool.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "cli/command.hpp"
#include "cli/interrupts.hpp"

namespace slabsim::cli {

namespace {

// A worker's reply to one task, framed "<kind> <index> <status> <length>\n<payload>": kind 'o'
// (the output), 'x' (a CLI::RuntimeError: its exit status, nothing else) or 'e' (an exception:
// its message).
struct Reply {
  char kind = 'o';
  std::size_t index = 0;
  int status = 0;
  std::string payload;
};

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nothing left to tell
    done += static_cast<std::size_t>(n);
  }
}

void send(int fd, const Reply& r) {
  write_all(fd,
            fmt::format("{} {} {} {}\n", r.kind, r.index, r.status, r.payload.size()) + r.payload);
}

[[noreturn]] void worker(std::size_t count, int jobs, int job,
                         const std::function<std::string(std::size_t)>& task, int fd) {
  int status = 0;
  for (std::size_t i = static_cast<std::size_t>(job); i < count;
       i += static_cast<std::size_t>(jobs)) {
    try {
      send(fd, {'o', i, 0, task(i)});
    } catch (const CLI::RuntimeError& e) {
      send(fd, {'x', i, e.get_exit_code(), {}});
      status = 1;
    } catch (const std::exception& e) {
      send(fd, {'e', i, 0, e.what()});
      status = 1;
    }
    if (status != 0) break;
  }
  ::close(fd);
  std::cout << std::flush;
  std::cerr << std::flush;
  ::_exit(status);  // no atexit handlers or static destructors of the parent's state
}

struct Worker {
  pid_t pid;
  int fd;
  std::string pending;  // bytes of a reply not yet complete
};

Worker spawn(std::size_t count, int jobs, int job,
             const std::function<std::string(std::size_t)>& task,
             const std::vector<Worker>& others) {
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
    for (const auto& w : others)
      ::close(w.fd);
    worker(count, jobs, job, task, fds[1]);
  }
  ::close(fds[1]);
  return {pid, fds[0], {}};
}

// The complete replies at the front of `w.pending`, removed from it.
std::vector<Reply> take_replies(Worker& w) {
  std::vector<Reply> replies;
  for (;;) {
    const std::size_t nl = w.pending.find('\n');
    if (nl == std::string::npos) break;
    Reply r;
    std::size_t length = 0;
    char kind = 0;
    if (std::sscanf(w.pending.c_str(), "%c %zu %d %zu", &kind, &r.index, &r.status, &length) != 4)
      throw std::runtime_error("a worker sent a malformed reply");
    if (w.pending.size() < nl + 1 + length) break;
    r.kind = kind;
    r.payload = w.pending.substr(nl + 1, length);
    w.pending.erase(0, nl + 1 + length);
    replies.push_back(std::move(r));
  }
  return replies;
}

}  // namespace

int worker_processes(int requested, std::size_t tasks) {
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int wanted = requested > 0 ? requested : cpus;
  return std::max(1, static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(wanted),
                                                            std::max<std::size_t>(tasks, 1))));
}

std::vector<std::string> run_in_workers(std::size_t count, int jobs,
                                        const std::function<std::string(std::size_t)>& task,
                                        const std::function<void(std::size_t)>& on_done) {
  jobs = worker_processes(jobs, count);
  std::cout << std::flush;
  std::cerr << std::flush;
  std::vector<Worker> workers;
  for (int job = 0; job < jobs; ++job)
    workers.push_back(spawn(count, jobs, job, task, workers));

  std::vector<std::optional<std::string>> outputs(count);
  std::optional<Reply> failure;  // the first by index
  std::size_t done = 0;
  for (std::size_t open = workers.size(); open > 0;) {
    std::vector<pollfd> fds;
    for (const auto& w : workers)
      fds.push_back({w.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
    for (std::size_t k = 0; k < workers.size(); ++k) {
      Worker& w = workers[k];
      if (w.fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = ::read(w.fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(w.fd);
        w.fd = -1;
        --open;
        continue;
      }
      w.pending.append(buf, static_cast<std::size_t>(n));
      for (auto& r : take_replies(w)) {
        if (r.index >= count) throw std::runtime_error("a worker replied for an unknown task");
        if (r.kind == 'o') {
          outputs[r.index] = std::move(r.payload);
          ++done;
        } else if (!failure || r.index < failure->index) {
          failure = std::move(r);
        }
      }
      if (on_done) on_done(done);
    }
  }
  bool died = false;
  for (const auto& w : workers) {
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    forget_worker(w.pid);
    if (WIFSIGNALED(status)) died = true;
  }
  if (failure) {
    if (failure->kind == 'x') throw CLI::RuntimeError(failure->status);
    throw std::runtime_error("a run failed: " + failure->payload);
  }
  if (died || done != count)
    throw std::runtime_error(fmt::format("a worker died: {} of {} runs reported", done, count));
  std::vector<std::string> result;
  result.reserve(count);
  for (auto& o : outputs)
    result.push_back(std::move(*o));
  return result;
}

}  // namespace slabsim::cli
