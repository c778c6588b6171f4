// The memory notifier's vocabulary (include/linux/memory.h) and the errnos the models return.
#pragma once

#include <cstdint>

#include "allocator/mm/gfp.hpp"

namespace slabsim::alloc {

// Memory notifier actions, with their bit values.
enum class MemoryAction : unsigned {
  online = 1u << 0,
  going_offline = 1u << 1,
  offline = 1u << 2,
  going_online = 1u << 3,
  cancel_online = 1u << 4,
  cancel_offline = 1u << 5,
};
const char* memory_action_name(MemoryAction a);  // "MEM_GOING_ONLINE", ...

// struct memory_notify: which node state an operation flips (-1: none).
struct MemoryNotify {
  std::uint64_t start_pfn = 0;
  std::uint64_t nr_pages = 0;
  int status_change_nid_normal = numa_no_node;
  int status_change_nid_high = numa_no_node;
  int status_change_nid = numa_no_node;
};

inline constexpr int ebusy = 16;   // EBUSY
inline constexpr int enomem = 12;  // ENOMEM

}  // namespace slabsim::alloc
