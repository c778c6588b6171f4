#include "config/json_pointer.hpp"

namespace slabsim::config {

std::string pointer_append(std::string pointer, std::string_view key) {
  pointer += '/';
  for (char c : key) {
    if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer += c;
  }
  return pointer;
}

std::string pointer_append(std::string pointer, std::size_t index) {
  pointer += '/';
  pointer += std::to_string(index);
  return pointer;
}

}  // namespace slabsim::config
