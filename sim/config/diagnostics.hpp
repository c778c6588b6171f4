// Errors in user input: each names the file, the JSON path and what was expected.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace slabsim::config {

struct Diagnostic {
  std::string file;     // as the user named it, or "<preset NAME>"
  std::string pointer;  // RFC 6901 JSON pointer; "" is the document root
  std::string message;  // "expected ..., got ..."

  // "FILE: /json/pointer: message", the one line a user sees.
  [[nodiscard]] std::string str() const;
};

// Thrown before anything runs when an input file is wrong; carries every problem found.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  [[nodiscard]] const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// Collects the diagnostics of one document, so that a user sees all problems at once.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(std::string pointer, std::string message);
  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] std::size_t size() const { return list_.size(); }
  [[nodiscard]] const std::string& file() const { return file_; }
  // Throws ConfigError if anything was reported.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

}  // namespace slabsim::config
