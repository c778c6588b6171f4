// memory-notifier-error-inject (mm/memory-notifier-error-inject.c): a notifier on the memory
// hotplug chain that fails the actions it was told to fail with the errno it was given, as
// tools/testing/selftests/memory-hotplug/mem-on-off-test.sh sets it through debugfs
// (notifier-error-inject/memory/actions/<action>/error). The workload's inject_error and
// clear_error events set and clear it.
#pragma once

#include <map>

#include "allocator/mm/memory_hotplug.hpp"

namespace slabsim::sim {

class MemoryNotifierErrorInject {
 public:
  // At priority 0: after SLUB's callback, as the selftest uses it.
  void register_on(alloc::MemoryHotplug& hotplug) {
    hotplug.register_notifier({"memory_notifier_error_inject", 0,
                               [this](alloc::MemoryAction action, const alloc::MemoryNotify&) {
                                 auto it = errors_.find(action);
                                 return it == errors_.end() ? 0 : it->second;
                               }});
  }
  void inject(alloc::MemoryAction action, int error) { errors_[action] = error; }
  void clear(alloc::MemoryAction action) { errors_.erase(action); }

 private:
  std::map<alloc::MemoryAction, int> errors_;  // a negative errno per action
};

}  // namespace slabsim::sim
