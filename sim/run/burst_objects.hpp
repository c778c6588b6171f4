// The objects alloc_burst events keep, per workload cache, oldest first, until a free_burst frees
// them, and the pages page_burst events keep until a page_free: what the kernel-check probe
// module keeps in its ring of each cache it created, and in its page array.
#pragma once

#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "allocator/cache.hpp"
#include "allocator/mm/page_alloc.hpp"

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

  void keep_pages(const alloc::PageBlockRef& p) { pages_.push_back(p); }
  std::vector<alloc::PageBlockRef> take_pages() { return std::exchange(pages_, {}); }

 private:
  std::vector<std::deque<alloc::ObjectRef>> kept_;
  std::vector<alloc::PageBlockRef> pages_;
};

}  // namespace slabsim::sim
