// What every fuzz target shares: the bytes as a JSON document, and the rule that an input the
// loaders reject must be rejected with a diagnostic (config::ConfigError). Any other exception
// escapes LLVMFuzzerTestOneInput(), std::terminate() aborts, and libFuzzer reports a crash: an
// input slabsim would have answered with "internal error" and no file name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"

namespace slabsim::fuzz {

// The document, or nullopt when the bytes are not JSON (a diagnosed rejection).
inline std::optional<config::JsonDocument> parse(const std::uint8_t* data, std::size_t size) {
  try {
    return config::parse_json_document(std::string(reinterpret_cast<const char*>(data), size),
                                       "fuzz.json");
  } catch (const config::ConfigError&) {
    return std::nullopt;
  }
}

// A loader target's whole body: the bytes through `load` (a loader of a JsonDocument); a
// rejection with a diagnostic passes, anything else escapes.
template <typename Load>
int load_or_reject(const std::uint8_t* data, std::size_t size, Load&& load) {
  const auto document = parse(data, size);
  if (!document) return 0;
  try {
    (void)load(*document);
  } catch (const config::ConfigError&) {
  }
  return 0;
}

}  // namespace slabsim::fuzz
