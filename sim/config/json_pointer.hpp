// RFC 6901 JSON pointers as strings, the way diagnostics name a place in a document.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace slabsim::config {

// "/nodes" + "cpus" -> "/nodes/cpus"; "~" and "/" in keys are escaped as RFC 6901 says.
std::string pointer_append(std::string pointer, std::string_view key);
std::string pointer_append(std::string pointer, std::size_t index);

// The short form loaders use: at("/nodes", 2) is "/nodes/2".
inline std::string at(std::string pointer, std::string_view key) {
  return pointer_append(std::move(pointer), key);
}
inline std::string at(std::string pointer, std::size_t index) {
  return pointer_append(std::move(pointer), index);
}

}  // namespace slabsim::config
