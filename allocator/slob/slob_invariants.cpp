// SlobAllocator::check_invariants(): the consistency of SLOB's heap after any operation. Each
// page's free blocks and live blocks must tile it exactly, free blocks stay sorted and merged,
// the free_slob_* lists hold exactly the pages with free units, no wholly free page is kept, and
// the per-cache object counts match the blocks. A broken one is recorded, never thrown. No kernel
// function does this: mm/slob.c has no debug checks.
#include <fmt/format.h>

#include <map>
#include <vector>

#include "allocator/slob/slob.hpp"

namespace slabsim::alloc {

// The checks, one a function, in the order they run.
class SlobInvariants {
 public:
  SlobInvariants(const SlobAllocator& slob, const InvariantReport& report)
      : slob_(slob), report_(report) {}

  void check() {
    check_free_lists();
    for (const auto& [serial, sp] : slob_.in_use_)
      check_page(serial, *sp);
    check_cache_counts();
  }

 private:
  // List membership: every listed page is live, a SLOB page, and says it is on that list.
  void check_free_lists() {
    for (int l = 0; l < slob_list_count; ++l) {
      const auto list = static_cast<SlobList>(l);
      for (const SlobPage* sp : slob_.lists_[l]) {
        ++listed_[sp];
        if (!sp->live || sp->large)
          report_(
              fmt::format("{} holds a page that is not a live SLOB page", slob_list_name(list)));
        else if (sp->list != list)
          report_(fmt::format("page {} is on {} but its PageSlobFree state says otherwise",
                              sp->serial, slob_list_name(list)));
      }
    }
  }

  void check_page(std::uint64_t serial, const SlobPage& sp) {
    for (const auto& [offset, block] : sp.allocated)
      ++live_by_cache_[block.cache];
    if (sp.large) {
      if (sp.allocated.size() != 1 || sp.list)
        report_(fmt::format("large-object page {} holds {} objects or is on a list", serial,
                            sp.allocated.size()));
      return;
    }
    const unsigned long free_units = check_free_blocks(serial, sp);
    check_live_blocks(serial, sp, free_units);
    check_listing(serial, sp);
  }

  // Free blocks: inside the page, sorted, non-overlapping, not adjacent (slob_free() merges),
  // adding up to sp->units. Returns their units.
  unsigned long check_free_blocks(std::uint64_t serial, const SlobPage& sp) {
    unsigned long free_units = 0;
    for (std::size_t i = 0; i < sp.free.size(); ++i) {
      const SlobBlock& b = sp.free[i];
      free_units += b.units;
      if (b.units == 0 || b.offset + b.units > slob_page_units)
        report_(fmt::format("page {}: free block at unit {} of {} units leaves the page", serial,
                            b.offset, b.units));
      if (i > 0) {
        const SlobBlock& p = sp.free[i - 1];
        if (p.offset + p.units > b.offset)
          report_(fmt::format("page {}: free blocks at units {} and {} overlap or are unsorted",
                              serial, p.offset, b.offset));
        else if (p.offset + p.units == b.offset)
          report_(fmt::format("page {}: free blocks at units {} and {} are adjacent, not merged",
                              serial, p.offset, b.offset));
      }
    }
    if (free_units != sp.units)
      report_(fmt::format("page {}: sp->units is {} but its free blocks hold {} units", serial,
                          sp.units, free_units));
    return free_units;
  }

  // Live blocks never overlap each other or a free block, and with the free ones fill the page.
  void check_live_blocks(std::uint64_t serial, const SlobPage& sp, unsigned long free_units) {
    unsigned long used_units = 0;
    std::size_t f = 0;
    unsigned long end_of_previous = 0;
    for (const auto& [offset, block] : sp.allocated) {
      used_units += block.units;
      if (offset < end_of_previous)
        report_(fmt::format("page {}: live blocks overlap at unit {}", serial, offset));
      end_of_previous = offset + block.units;
      while (f < sp.free.size() && sp.free[f].offset + sp.free[f].units <= offset)
        ++f;
      if (f < sp.free.size() && sp.free[f].offset < offset + block.units)
        report_(fmt::format("page {}: the live block at unit {} overlaps a free block", serial,
                            offset));
    }
    if (used_units + free_units != slob_page_units)
      report_(fmt::format("page {}: {} free and {} allocated units, not SLOB_UNITS(PAGE_SIZE) = {}",
                          serial, free_units, used_units, slob_page_units));
  }

  // On exactly one list while it has free units; on none when full; never kept wholly free.
  void check_listing(std::uint64_t serial, const SlobPage& sp) {
    const auto it = listed_.find(&sp);
    const int on = it != listed_.end() ? it->second : 0;
    if (sp.units > 0 && on != 1)
      report_(fmt::format("page {} has {} free units but is on {} free_slob lists", serial,
                          sp.units, on));
    if (sp.units == 0 && (on != 0 || sp.list))
      report_(fmt::format("page {} is full but on a free_slob list", serial));
    if (sp.allocated.empty())
      report_(fmt::format("page {} is wholly free but was not given back", serial));
  }

  // Every cache, the boot one first, counts the live blocks that are its.
  void check_cache_counts() {
    check_cache_count(slob_.kmem_cache_boot_);
    for (const auto& c : slob_.caches_)
      check_cache_count(*c);
  }

  void check_cache_count(const SlobCache& c) {
    const auto it = live_by_cache_.find(&c);
    const std::uint64_t counted = it != live_by_cache_.end() ? it->second : 0;
    if (counted != c.live_objects)
      report_(fmt::format("cache {} counts {} live objects but {} blocks are its", c.name,
                          c.live_objects, counted));
  }

  const SlobAllocator& slob_;
  const InvariantReport& report_;
  std::map<const SlobPage*, int> listed_;
  std::map<const SlobCache*, std::uint64_t> live_by_cache_;
};

int SlobAllocator::check_invariants(const char* function) {
  const InvariantReport report(common_, env_.current_cpu(), function);
  SlobInvariants(*this, report).check();
  return report.recorded();
}

}  // namespace slabsim::alloc
