#include "allocator/slab_common.hpp"

#include "allocator/memory_notify.hpp"

namespace slabsim::alloc {

const char* violation_kind_name(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::missing_node:
      return "missing-node";
    case ViolationKind::use_after_free:
      return "use-after-free";
    case ViolationKind::other:
      break;
  }
  return "violation";
}

const char* memory_action_name(MemoryAction a) {
  switch (a) {
    case MemoryAction::online:
      return "MEM_ONLINE";
    case MemoryAction::going_offline:
      return "MEM_GOING_OFFLINE";
    case MemoryAction::offline:
      return "MEM_OFFLINE";
    case MemoryAction::going_online:
      return "MEM_GOING_ONLINE";
    case MemoryAction::cancel_online:
      return "MEM_CANCEL_ONLINE";
    case MemoryAction::cancel_offline:
      return "MEM_CANCEL_OFFLINE";
  }
  return "?";
}

void SlabCommon::lock_steps(const std::vector<LockStep>& steps, const char* function) {
  for (const auto& step : steps)
    env_.lock(step.cls, 0, step.mode, function);
}

void SlabCommon::unlock_steps(const std::vector<LockStep>& steps) {
  for (auto it = steps.rbegin(); it != steps.rend(); ++it)
    env_.unlock(it->cls, 0, it->mode);
}

void SlabCommon::violation(int cpu, const char* function, std::string what, ViolationKind kind) {
  if (!reported_.insert(std::string(function) + '\n' + what).second) return;
  violations_.push_back({env_.now_ns(), cpu, function, std::move(what), kind});
}

void SlabCommon::invariant_violation(int cpu, const char* function, std::string what,
                                     ViolationKind kind) {
  if (!reported_.insert(what).second) return;
  violations_.push_back({env_.now_ns(), cpu, function, std::move(what), kind});
}

}  // namespace slabsim::alloc
