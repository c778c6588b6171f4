#include "allocator/lock_class.hpp"

#include <array>
#include <string>

namespace slabsim::alloc {

std::string_view lock_class_name(LockClass c) {
  static const std::array<std::string, lock_class_count> names = [] {
    std::array<std::string, lock_class_count> n;
    for (int i = 0; i < lock_class_count; ++i) {
      const auto cls = static_cast<LockClass>(i);
      n[static_cast<std::size_t>(i)] = std::string(lock_class_base_name(cls));
      if (const int version = lock_class_name_version(cls); version > 1)
        n[static_cast<std::size_t>(i)] += "#" + std::to_string(version);
    }
    return n;
  }();
  const auto i = static_cast<std::size_t>(c);
  return i < names.size() ? std::string_view(names[i]) : std::string_view("?");
}

}  // namespace slabsim::alloc
