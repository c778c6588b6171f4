#include "allocator/slab_common.hpp"

#include <algorithm>

#include "allocator/slab_flags.hpp"

namespace slabsim::alloc {

std::uint64_t calculate_alignment(const CacheFlags& flags, std::uint64_t align,
                                  std::uint64_t size) {
  constexpr std::uint64_t word = 8;                // sizeof(void *)
  constexpr std::uint64_t arch_slab_minalign = 8;  // ARCH_SLAB_MINALIGN on x86_64
  if (flags.hwcache_align) {
    std::uint64_t ralign = cache_line_size;
    while (size <= ralign / 2)
      ralign /= 2;
    align = std::max(align, ralign);
  }
  align = std::max(align, arch_slab_minalign);
  return (align + word - 1) / word * word;
}

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
