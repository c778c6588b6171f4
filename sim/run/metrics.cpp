#include "run/metrics.hpp"

#include <algorithm>
#include <string_view>

namespace slabsim::sim {

std::vector<std::int64_t> hotplug_windows_ns(const std::vector<HotplugRecord>& hotplug) {
  using alloc::HotplugStep;
  std::vector<std::int64_t> windows;
  for (const auto& r : hotplug) {
    std::int64_t opened = -1;
    for (const auto& mark : r.steps) {
      if (mark.step == HotplugStep::going_online_notified ||
          mark.step == HotplugStep::going_offline_notified) {
        opened = mark.at_ns;
      } else if (opened >= 0 && (mark.step == HotplugStep::node_states_set ||
                                 mark.step == HotplugStep::node_states_cleared)) {
        windows.push_back(mark.at_ns - opened);
        opened = -1;
      }
    }
    if (opened >= 0) windows.push_back(r.start_ns + r.duration_ns - opened);
  }
  return windows;
}

BucketLockWait& BucketMetrics::lock_wait(alloc::LockClass cls, alloc::LockMode mode,
                                         const char* function) {
  // The model's function names are literals, but the same text may have several addresses: the
  // entries are searched by address first, the common case, and by text only when that fails.
  const auto same_address = [&](const BucketLockWait& w) {
    return w.function == function && w.cls == cls && w.mode == mode;
  };
  auto it = std::find_if(lock_waits.begin(), lock_waits.end(), same_address);
  if (it != lock_waits.end()) return *it;
  const auto same_text = [&](const BucketLockWait& w) {
    return w.cls == cls && w.mode == mode && std::string_view(w.function) == function;
  };
  it = std::find_if(lock_waits.begin(), lock_waits.end(), same_text);
  if (it != lock_waits.end()) return *it;
  lock_waits.push_back({cls, mode, function});
  return lock_waits.back();
}

void BucketMetrics::merge(const BucketMetrics& other) {
  remote_alloc.remote += other.remote_alloc.remote;
  remote_alloc.total += other.remote_alloc.total;
  fallbacks += other.fallbacks;
  for (std::size_t n = 0; n < other.allocations_by_node.size(); ++n)
    allocations_by_node[n] += other.allocations_by_node[n];
  for (const auto& w : other.lock_waits) {
    BucketLockWait& mine = lock_wait(w.cls, w.mode, w.function);
    mine.waits += w.waits;
    mine.wait_ns += w.wait_ns;
  }
}

}  // namespace slabsim::sim
