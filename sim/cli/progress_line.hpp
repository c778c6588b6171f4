// A progress line on stderr for the long commands (run, compare, explore): rewritten in place at
// most once a second, only once the work has taken more than a second, only when stderr is a
// terminal (as git's progress: a redirected stderr, a script's or a test's, gets no carriage
// returns), and ended with a newline if it was ever shown. What goes to stdout never depends
// on it.
#pragma once

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

namespace slabsim::cli {

class ProgressLine {
 public:
  ProgressLine() : quiet_(!::isatty(STDERR_FILENO)) {}
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() {
    if (shown_) std::cerr << '\n';
  }

  // Shows `text(seconds since the start)` when it is time to.
  template <class Text>
  void update(Text&& text) {
    const auto now = std::chrono::steady_clock::now();
    if (quiet_ || now - start_ <= std::chrono::seconds(1) || now - last_ < std::chrono::seconds(1))
      return;
    last_ = now;
    shown_ = true;
    std::cerr << '\r' << text(std::chrono::duration<double>(now - start_).count()) << std::flush;
  }

 private:
  bool quiet_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

}  // namespace slabsim::cli
