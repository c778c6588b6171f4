// What the event tasks do, as signals for observers (the trace): an operation begins on an event
// task's CPU (a cache event, or a hotplug operation on one memory block or one CPU), memory
// hotplug reaches its steps, the operation ends with its result; the notifier error injection is
// set or cleared; a timed event has been played (for observers such as the kernel-check
// model). An operation's signals come from the task that plays it, in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/mm/memory_hotplug.hpp"
#include "kernel/signal.hpp"
#include "run/metrics.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

struct OperationBegun {
  int cpu = 0;
  std::int64_t now_ns = 0;
  std::string name;  // "cache_create late", "memory_online node 2 block 5", "cpu_offline 3"
  std::string_view category;  // "cache" or "hotplug" (a literal)
};

struct OperationEnded {
  int cpu = 0;
  std::int64_t now_ns = 0;
  int result = 0;  // 0 or a negative errno
};

struct HotplugStepReached {
  int cpu = 0;
  alloc::HotplugStep step = alloc::HotplugStep::locked;
  std::int64_t now_ns = 0;
};

struct ErrorInjectionChanged {
  int cpu = 0;
  std::int64_t now_ns = 0;
  std::string what;  // "inject_error going_offline", "clear_error going_online"
  int error = 0;     // the event's errno
};

// A timed event played to its end, with what it did: the memory hotplug operations of a memory
// event (one per block, in order) and, for an alloc_burst, the node each object landed on
// (page_to_nid()) in allocation order, -1 for a failed allocation.
struct EventPlayed {
  int cpu = 0;
  const workload::Event& event;
  const EventRecord& record;
  const std::vector<HotplugRecord>& hotplug;
  const std::vector<int>& placement;
};

struct OperationSignals {
  Signal<const OperationBegun&> begun;
  Signal<const HotplugStepReached&> hotplug_step;
  Signal<const OperationEnded&> ended;
  Signal<const ErrorInjectionChanged&> error_injection;
  Signal<const EventPlayed&> event_played;
};

}  // namespace slabsim::sim
