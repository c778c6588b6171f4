// SlobAllocator::check_invariants(): the consistency of SLOB's heap after any operation. Each
// page's free blocks and live blocks must tile it exactly, free blocks stay sorted and merged,
// the free_slob_* lists hold exactly the pages with free units, no wholly free page is kept, and
// the per-cache object counts match the blocks. A broken one is recorded, never thrown.
#include <fmt/format.h>

#include <map>
#include <vector>

#include "allocator/slob/slob.hpp"

namespace slabsim::alloc {

int SlobAllocator::check_invariants(const char* function) {
  const std::size_t before = common_.violation_count();
  const int cpu = env_.current_cpu();
  auto report = [&](std::string what) {
    common_.invariant_violation(cpu, function, std::move(what));
  };

  // List membership: every listed page is live, a SLOB page, and says it is on that list.
  std::map<const SlobPage*, int> listed;
  for (int l = 0; l < slob_list_count; ++l) {
    const auto list = static_cast<SlobList>(l);
    for (const SlobPage* sp : lists_[l]) {
      ++listed[sp];
      if (!sp->live || sp->large)
        report(fmt::format("{} holds a page that is not a live SLOB page", slob_list_name(list)));
      else if (sp->list != list)
        report(fmt::format("page {} is on {} but its PageSlobFree state says otherwise", sp->serial,
                           slob_list_name(list)));
    }
  }

  std::map<const SlobCache*, std::uint64_t> live_by_cache;
  for (const auto& [serial, sp] : in_use_) {
    for (const auto& [offset, block] : sp->allocated)
      ++live_by_cache[block.cache];
    if (sp->large) {
      if (sp->allocated.size() != 1 || sp->list)
        report(fmt::format("large-object page {} holds {} objects or is on a list", serial,
                           sp->allocated.size()));
      continue;
    }

    // Free blocks: inside the page, sorted, non-overlapping, not adjacent (slob_free() merges).
    unsigned long free_units = 0;
    for (std::size_t i = 0; i < sp->free.size(); ++i) {
      const SlobBlock& b = sp->free[i];
      free_units += b.units;
      if (b.units == 0 || b.offset + b.units > slob_page_units)
        report(fmt::format("page {}: free block at unit {} of {} units leaves the page", serial,
                           b.offset, b.units));
      if (i > 0) {
        const SlobBlock& p = sp->free[i - 1];
        if (p.offset + p.units > b.offset)
          report(fmt::format("page {}: free blocks at units {} and {} overlap or are unsorted",
                             serial, p.offset, b.offset));
        else if (p.offset + p.units == b.offset)
          report(fmt::format("page {}: free blocks at units {} and {} are adjacent, not merged",
                             serial, p.offset, b.offset));
      }
    }
    if (free_units != sp->units)
      report(fmt::format("page {}: sp->units is {} but its free blocks hold {} units", serial,
                         sp->units, free_units));

    // Live blocks never overlap each other or a free block, and with the free ones fill the page.
    unsigned long used_units = 0;
    std::size_t f = 0;
    unsigned long end_of_previous = 0;
    for (const auto& [offset, block] : sp->allocated) {
      used_units += block.units;
      if (offset < end_of_previous)
        report(fmt::format("page {}: live blocks overlap at unit {}", serial, offset));
      end_of_previous = offset + block.units;
      while (f < sp->free.size() && sp->free[f].offset + sp->free[f].units <= offset)
        ++f;
      if (f < sp->free.size() && sp->free[f].offset < offset + block.units)
        report(fmt::format("page {}: the live block at unit {} overlaps a free block", serial,
                           offset));
    }
    if (used_units + free_units != slob_page_units)
      report(fmt::format("page {}: {} free and {} allocated units, not SLOB_UNITS(PAGE_SIZE) = {}",
                         serial, free_units, used_units, slob_page_units));

    // On exactly one list while it has free units; on none when full; never kept wholly free.
    const int on = listed.contains(sp) ? listed[sp] : 0;
    if (sp->units > 0 && on != 1)
      report(fmt::format("page {} has {} free units but is on {} free_slob lists", serial,
                         sp->units, on));
    if (sp->units == 0 && (on != 0 || sp->list))
      report(fmt::format("page {} is full but on a free_slob list", serial));
    if (sp->allocated.empty())
      report(fmt::format("page {} is wholly free but was not given back", serial));
  }

  auto check_cache = [&](const SlobCache* c) {
    const std::uint64_t counted = live_by_cache.contains(c) ? live_by_cache[c] : 0;
    if (counted != c->live_objects)
      report(fmt::format("cache {} counts {} live objects but {} blocks are its", c->name,
                         c->live_objects, counted));
  };
  check_cache(&kmem_cache_boot_);
  for (const auto& c : caches_)
    check_cache(c.get());

  return static_cast<int>(common_.violation_count() - before);
}

}  // namespace slabsim::alloc
