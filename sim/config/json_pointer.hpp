// RFC 6901 JSON pointers as strings, the way diagnostics name a place in a document.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace slabsim::config {

// "/nodes" + "cpus" -> "/nodes/cpus"; "~" and "/" in keys are escaped as RFC 6901 says.
std::string pointer_append(std::string pointer, std::string_view key);
std::string pointer_append(std::string pointer, std::size_t index);

}  // namespace slabsim::config
