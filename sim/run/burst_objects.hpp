// The objects alloc_burst events keep, per workload cache, oldest first, until a free_burst frees
// them: what the kernel-check probe module keeps in its ring of each cache it created.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "allocator/cache.hpp"

namespace slabsim::sim {

class BurstObjects {
 public:
  explicit BurstObjects(std::size_t caches) : kept_(caches) {}

  void keep(std::size_t cache, alloc::ObjectRef o) { kept_[cache].push_back(o); }
  // The oldest `count` objects (0: all), no longer kept.
  std::vector<alloc::ObjectRef> take_oldest(std::size_t cache, std::size_t count) {
    auto& q = kept_[cache];
    const std::size_t n = count == 0 ? q.size() : std::min(count, q.size());
    std::vector<alloc::ObjectRef> out(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n));
    q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n));
    return out;
  }
  [[nodiscard]] std::size_t kept(std::size_t cache) const { return kept_[cache].size(); }

 private:
  std::vector<std::deque<alloc::ObjectRef>> kept_;
};

}  // namespace slabsim::sim
