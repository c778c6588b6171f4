#include "config/diagnostics.hpp"

#include <fmt/format.h>

namespace slabsim::config {

std::string Diagnostic::str() const {
  return fmt::format("{}: {}: {}", file, pointer.empty() ? "/" : pointer, message);
}

namespace {
std::string join_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) {
    if (!text.empty()) text += '\n';
    text += d.str();
  }
  return text;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

void Diagnostics::error(std::string pointer, std::string message) {
  list_.push_back({file_, std::move(pointer), std::move(message)});
}

void Diagnostics::throw_if_any() const {
  if (!list_.empty()) throw ConfigError(list_);
}

}  // namespace slabsim::config
