#include "allocator/mm/page_alloc.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <limits>
#include <stdexcept>
#include <string>

#include "allocator/mm/zonelist.hpp"

namespace slabsim::alloc {

unsigned get_order(unsigned long size) {
  if (size <= page_size) return 0;
  return static_cast<unsigned>(std::bit_width((size - 1) >> 12));
}

namespace {

int zone_slot(ZoneType z) {
  return z == ZoneType::movable ? 1 : 0;
}

bool valid_zone(ZoneType z) {
  return z == ZoneType::normal || z == ZoneType::movable;
}

bool valid_presence(BlockPresence p) {
  return p == BlockPresence::online || p == BlockPresence::offline || p == BlockPresence::absent;
}

// Everything the allocator indexes by must be in range, so later lookups cannot be UB.
void validate_layout(const MachineLayout& l) {
  const auto n = l.distance.size();
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("machine layout: too many nodes");
  for (std::size_t i = 0; i < n; ++i)
    if (l.distance[i].size() != n)
      throw std::invalid_argument("machine layout: distance row " + std::to_string(i) + " has " +
                                  std::to_string(l.distance[i].size()) + " entries, expected " +
                                  std::to_string(n));
  if (l.nr_event_cpus < 0 || l.nr_event_cpus > l.nr_cpu_slots())
    throw std::invalid_argument("machine layout: " + std::to_string(l.nr_event_cpus) +
                                " event-task CPUs of " + std::to_string(l.nr_cpu_slots()));
  for (std::size_t c = 0; c < l.cpu_node.size(); ++c) {
    const bool hole =
        !l.is_event_cpu(static_cast<int>(c)) && l.cpu_node[c] == MachineLayout::no_cpu;
    if (!hole && (l.cpu_node[c] < 0 || static_cast<std::size_t>(l.cpu_node[c]) >= n))
      throw std::out_of_range("machine layout: cpu " + std::to_string(c) + " on node " +
                              std::to_string(l.cpu_node[c]) + ", nr_node_ids is " +
                              std::to_string(n));
  }
  if (l.block_pages == 0 || !std::has_single_bit(l.block_pages))
    throw std::invalid_argument("machine layout: block_pages " + std::to_string(l.block_pages) +
                                " is not a power of two");
  if (l.blocks.size() > static_cast<std::size_t>(INT_MAX) ||
      l.blocks.size() > std::numeric_limits<std::uint64_t>::max() / l.block_pages)
    throw std::invalid_argument("machine layout: too many memory blocks");
  for (std::size_t b = 0; b < l.blocks.size(); ++b) {
    const BlockLayout& bl = l.blocks[b];
    if (bl.node < 0 || static_cast<std::size_t>(bl.node) >= n)
      throw std::out_of_range("machine layout: block " + std::to_string(b) + " on node " +
                              std::to_string(bl.node) + ", nr_node_ids is " + std::to_string(n));
    if (!valid_zone(bl.zone))
      throw std::invalid_argument("machine layout: block " + std::to_string(b) +
                                  " has an unknown zone");
    if (!valid_presence(bl.state))
      throw std::invalid_argument("machine layout: block " + std::to_string(b) +
                                  " has an unknown state");
  }
}

}  // namespace

PageAllocator::PageAllocator(const MachineLayout& layout) : layout_(layout) {
  validate_layout(layout_);
  const int nodes = layout_.nr_node_ids();
  // MAX_ORDER - 1, capped so that a chunk never spans two memory blocks.
  top_order_ = std::min<unsigned>(max_order - 1, std::countr_zero(layout_.block_pages));
  pageblock_order_ = std::min(pageblock_order, top_order_);
  pageblock_pages_ = std::uint64_t{1} << pageblock_order_;
  numastat_.assign(nodes, NumaStat{});
  built_order_.assign(nodes, {});
  node_order_.assign(nodes, {});
  mem_node_.assign(nodes, numa_no_node);
  zones_.resize(static_cast<std::size_t>(nodes) * 2);

  cpu_online_.resize(layout_.cpu_node.size());
  for (std::size_t c = 0; c < cpu_online_.size(); ++c)
    cpu_online_[c] = layout_.cpu_node[c] != MachineLayout::no_cpu;

  const std::uint64_t top_chunks = layout_.block_pages >> top_order_;
  blocks_.resize(layout_.blocks.size());
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const BlockLayout& bl = layout_.blocks[b];
    Block& blk = blocks_[b];
    blk.node = bl.node;
    blk.zone = bl.zone;
    blk.top_free.assign((top_chunks + 63) / 64, 0);
    blk.top_list.assign(top_chunks, 0);
    blk.pageblock_mt.assign(layout_.block_pages / pageblock_pages_, MigrateType::movable);
    blk.state = bl.state == BlockPresence::absent ? BlockPresence::absent : BlockPresence::offline;
  }
  for (std::size_t b = 0; b < blocks_.size(); ++b)
    if (layout_.blocks[b].state == BlockPresence::online)
      online_block(static_cast<int>(b), layout_.blocks[b].zone);

  build_all_zonelists(boot_node_states(layout_));
}

PageAllocator::Zone& PageAllocator::zone_of(int node, ZoneType zone) {
  return zones_[static_cast<std::size_t>(node) * 2 + zone_slot(zone)];
}

const PageAllocator::Zone& PageAllocator::zone_of(int node, ZoneType zone) const {
  return zones_[static_cast<std::size_t>(node) * 2 + zone_slot(zone)];
}

void PageAllocator::check_node(int nid, const char* what) const {
  if (nid < 0 || nid >= layout_.nr_node_ids())
    throw std::out_of_range(std::string(what) + " " + std::to_string(nid) +
                            " out of range, nr_node_ids is " +
                            std::to_string(layout_.nr_node_ids()));
}

void PageAllocator::check_block(int block) const {
  if (block < 0 || static_cast<std::size_t>(block) >= blocks_.size())
    throw std::out_of_range("memory block " + std::to_string(block) + " out of range, " +
                            std::to_string(blocks_.size()) + " blocks");
}

std::uint64_t PageAllocator::node_managed(int node) const {
  return zone_of(node, ZoneType::normal).managed + zone_of(node, ZoneType::movable).managed;
}

// The free-list primitives. Below the top order a list is a sorted set of pfns; a top-order
// chunk is a bit of its block's bitmap plus the list it is on.
std::optional<std::uint64_t> PageAllocator::pop_chunk(Zone& z, int list, unsigned order) {
  FreeArea& area = z.lists[static_cast<std::size_t>(list)];
  if (order < top_order_) {
    auto& l = area.free_lists[order];
    if (l.empty()) return std::nullopt;
    const std::uint64_t pfn = *l.begin();
    l.erase(l.begin());
    return pfn;
  }
  if (area.top_blocks.empty()) return std::nullopt;
  const auto first = area.top_blocks.begin();
  const int b = first->first;
  Block& blk = blocks_[static_cast<std::size_t>(b)];
  for (std::size_t i = 0; i < blk.top_list.size(); ++i) {
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if ((blk.top_free[i / 64] & bit) == 0 || blk.top_list[i] != list) continue;
    blk.top_free[i / 64] &= ~bit;
    if (--first->second == 0) area.top_blocks.erase(first);
    return static_cast<std::uint64_t>(b) * layout_.block_pages + (i << top_order_);
  }
  throw std::logic_error("pop_chunk: a block counted on a list has no free chunk on it");
}

void PageAllocator::push_chunk(Zone& z, int list, std::uint64_t pfn, unsigned order) {
  FreeArea& area = z.lists[static_cast<std::size_t>(list)];
  if (order < top_order_) {
    area.free_lists[order].insert(pfn);
    return;
  }
  const auto b = static_cast<int>(pfn / layout_.block_pages);
  Block& blk = blocks_[static_cast<std::size_t>(b)];
  const std::uint64_t i = (pfn % layout_.block_pages) >> top_order_;
  blk.top_free[i / 64] |= std::uint64_t{1} << (i % 64);
  blk.top_list[i] = static_cast<std::uint8_t>(list);
  ++area.top_blocks[b];
}

int PageAllocator::list_of_chunk(const Zone& z, std::uint64_t pfn, unsigned order) const {
  if (order < top_order_) {
    for (int list = 0; list <= isolate_list; ++list)
      if (z.lists[static_cast<std::size_t>(list)].free_lists[order].contains(pfn)) return list;
    return -1;
  }
  const Block& blk = blocks_[pfn / layout_.block_pages];
  const std::uint64_t i = (pfn % layout_.block_pages) >> top_order_;
  return (blk.top_free[i / 64] >> (i % 64)) & 1 ? blk.top_list[i] : -1;
}

void PageAllocator::erase_chunk(Zone& z, int list, std::uint64_t pfn, unsigned order) {
  FreeArea& area = z.lists[static_cast<std::size_t>(list)];
  if (order < top_order_) {
    area.free_lists[order].erase(pfn);
    return;
  }
  const auto b = static_cast<int>(pfn / layout_.block_pages);
  Block& blk = blocks_[static_cast<std::size_t>(b)];
  const std::uint64_t i = (pfn % layout_.block_pages) >> top_order_;
  blk.top_free[i / 64] &= ~(std::uint64_t{1} << (i % 64));
  if (--area.top_blocks[b] == 0) area.top_blocks.erase(b);
}

std::uint64_t PageAllocator::move_free_range(Zone& z, std::uint64_t start, std::uint64_t end,
                                             int to) {
  std::uint64_t moved = 0;
  for (int list = 0; list <= isolate_list; ++list) {
    if (list == to) continue;
    FreeArea& from = z.lists[static_cast<std::size_t>(list)];
    for (unsigned o = 0; o < top_order_; ++o) {
      auto& l = from.free_lists[o];
      const auto first = l.lower_bound(start), last = l.lower_bound(end);
      for (auto it = first; it != last; ++it)
        moved += std::uint64_t{1} << o;
      z.lists[static_cast<std::size_t>(to)].free_lists[o].insert(first, last);
      l.erase(first, last);
    }
  }
  // Top-order chunks inside the range (a top chunk never straddles a block, and the range is
  // whole pageblocks of one block, or a whole block).
  const std::uint64_t top = std::uint64_t{1} << top_order_;
  for (std::uint64_t pfn = start - start % top; pfn < end; pfn += top) {
    if (pfn < start) continue;
    const int list = list_of_chunk(z, pfn, top_order_);
    if (list < 0 || list == to) continue;
    erase_chunk(z, list, pfn, top_order_);
    push_chunk(z, to, pfn, top_order_);
    moved += top;
  }
  return moved;
}

std::uint64_t PageAllocator::movable_pages_in(std::uint64_t start, std::uint64_t end) const {
  std::uint64_t pages = 0;
  for (auto it = allocated_.lower_bound(start); it != allocated_.end() && it->first < end; ++it)
    if (it->second.movable) pages += std::uint64_t{1} << it->second.order;
  return pages;
}

MigrateType& PageAllocator::pageblock_of(std::uint64_t pfn) {
  Block& blk = blocks_[pfn / layout_.block_pages];
  return blk.pageblock_mt[(pfn % layout_.block_pages) / pageblock_pages_];
}

MigrateType PageAllocator::pageblock_migratetype(std::uint64_t pfn) const {
  if (pfn / layout_.block_pages >= blocks_.size())
    throw std::out_of_range("pageblock_migratetype: pfn " + std::to_string(pfn) +
                            " is in no memory block");
  const Block& blk = blocks_[pfn / layout_.block_pages];
  return blk.pageblock_mt[(pfn % layout_.block_pages) / pageblock_pages_];
}

// __rmqueue(): __rmqueue_smallest() of the request's migratetype, the smallest order that has a
// chunk, its lowest pfn; expand() puts the upper halves on that type's lists. When the type has
// nothing, __rmqueue_fallback() moves a chunk of another type over, and the search repeats.
std::optional<std::uint64_t> PageAllocator::take_from_zone(int node, ZoneType zone, unsigned order,
                                                           MigrateType mt) {
  Zone& z = zone_of(node, zone);
  const std::uint64_t pages = std::uint64_t{1} << order;
  if (order > top_order_ || z.free < pages) return std::nullopt;
  const int list = static_cast<int>(mt);
  auto smallest = [&]() -> std::optional<std::pair<std::uint64_t, unsigned>> {
    for (unsigned o = order; o <= top_order_; ++o)
      if (auto pfn = pop_chunk(z, list, o)) return std::pair{*pfn, o};
    return std::nullopt;
  };
  auto found = smallest();
  if (!found) {
    if (!steal_fallback(z, order, mt)) return std::nullopt;
    found = smallest();
    if (!found) throw std::logic_error("take_from_zone: a fallback steal left nothing to take");
  }
  const auto [pfn, at] = *found;
  for (unsigned o = at; o > order;) {
    --o;
    push_chunk(z, list, pfn + (std::uint64_t{1} << o), o);
  }
  blocks_[pfn / layout_.block_pages].free_pages -= pages;
  z.free -= pages;
  return pfn;
}

// __rmqueue_fallback() (v5.10): from the largest order down, the first fallback type
// (fallbacks[]) with a chunk; a movable request that may not steal a whole pageblock takes the
// smallest such chunk instead. steal_suitable_fallback(): a chunk of a pageblock or more claims
// every pageblock it covers; a smaller one, when stealing is allowed (can_steal_fallback():
// unmovable and reclaimable requests always, movable ones from half a pageblock), moves all
// free pages of its pageblock to the request's lists and claims the pageblock if they and the
// pages of a compatible type (alike_pages) make half of it; otherwise only the chunk moves.
bool PageAllocator::steal_fallback(Zone& z, unsigned order, MigrateType mt) {
  static constexpr std::array<std::array<MigrateType, 2>, migrate_types> fallbacks = {{
      {MigrateType::reclaimable, MigrateType::movable},    // unmovable
      {MigrateType::reclaimable, MigrateType::unmovable},  // movable
      {MigrateType::unmovable, MigrateType::movable},      // reclaimable
  }};
  const auto& candidates = fallbacks[static_cast<std::size_t>(mt)];
  auto can_steal = [&](unsigned o) {
    return o >= pageblock_order_ / 2 || mt != MigrateType::movable;
  };
  auto first_with_chunk = [&](unsigned o) -> int {
    for (MigrateType f : candidates)
      if (const int list = static_cast<int>(f); [&] {
            const FreeArea& a = z.lists[static_cast<std::size_t>(list)];
            return o < top_order_ ? !a.free_lists[o].empty() : !a.top_blocks.empty();
          }())
        return list;
    return -1;
  };
  int from = -1;
  unsigned at = 0;
  for (int o = static_cast<int>(top_order_); o >= static_cast<int>(order); --o) {
    from = first_with_chunk(static_cast<unsigned>(o));
    if (from < 0) continue;
    at = static_cast<unsigned>(o);
    if (!can_steal(at)) {  // find_smallest
      for (unsigned s = order; s <= top_order_; ++s)
        if ((from = first_with_chunk(s)) >= 0) {
          at = s;
          break;
        }
    }
    break;
  }
  if (from < 0) return false;

  const std::uint64_t pfn = *pop_chunk(z, from, at);
  const int to = static_cast<int>(mt);
  if (at >= pageblock_order_) {  // change_pageblock_range()
    for (std::uint64_t p = pfn; p < pfn + (std::uint64_t{1} << at); p += pageblock_pages_)
      pageblock_of(p) = mt;
    push_chunk(z, to, pfn, at);
    return true;
  }
  push_chunk(z, to, pfn, at);
  if (!can_steal(at)) return true;  // single_page
  const std::uint64_t start = pfn - pfn % pageblock_pages_;
  const std::uint64_t end = start + pageblock_pages_;
  const MigrateType old_type = pageblock_of(pfn);
  const std::uint64_t free = move_free_range(z, start, end, to) + (std::uint64_t{1} << at);
  const std::uint64_t movable = movable_pages_in(start, end);
  std::uint64_t alike = 0;
  if (mt == MigrateType::movable)
    alike = movable;
  else if (old_type == MigrateType::movable)
    alike = pageblock_pages_ - std::min(pageblock_pages_, free + movable);
  if (free + alike >= pageblock_pages_ / 2) pageblock_of(pfn) = mt;
  return true;
}

// __free_one_page(): merge with the buddy while it is free, up to the top order, taking it off
// whatever list it is on; the result goes on the list of its pageblock's migratetype (the
// type get_pfnblock_migratetype() reads at free time), or the isolate list for a page of an
// isolated block, which, as in v5.10 to v6.1 (`if (likely(!is_migrate_isolate(migratetype)))
// __mod_zone_freepage_state()`), does not count in the zone's free pages. Buddies never span
// blocks, so an isolated block's buddies are all on the isolate list.
void PageAllocator::give_to_zone(int block, std::uint64_t pfn, unsigned order) {
  Block& blk = blocks_[static_cast<std::size_t>(block)];
  Zone& z = zone_of(blk.node, blk.zone);
  const std::uint64_t pages = std::uint64_t{1} << order;
  blk.free_pages += pages;
  (blk.isolated ? z.isolated_free : z.free) += pages;
  const int list = blk.isolated ? isolate_list : static_cast<int>(pageblock_of(pfn));
  unsigned o = order;
  for (; o < top_order_; ++o) {
    const std::uint64_t buddy = pfn ^ (std::uint64_t{1} << o);
    const int on = list_of_chunk(z, buddy, o);
    if (on < 0) break;
    erase_chunk(z, on, buddy, o);
    pfn &= ~(std::uint64_t{1} << o);
  }
  push_chunk(z, list, pfn, o);
}

std::optional<PageBlockRef> PageAllocator::alloc_pages(int preferred_nid, unsigned order, Gfp gfp,
                                                       int cpu) {
  if (order >= max_order)
    throw std::invalid_argument("alloc_pages: order " + std::to_string(order) + " >= MAX_ORDER");
  check_cpu(cpu, "alloc_pages: cpu");
  const int cpu_node = layout_.cpu_node[static_cast<std::size_t>(cpu)];
  if (preferred_nid != numa_no_node) check_node(preferred_nid, "alloc_pages: preferred_nid");
  const int preferred = preferred_nid == numa_no_node ? cpu_node : preferred_nid;
  const bool movable = (gfp & gfp_movable) != 0;
  const MigrateType mt = movable                        ? MigrateType::movable
                         : (gfp & gfp_reclaimable) != 0 ? MigrateType::reclaimable
                                                        : MigrateType::unmovable;

  // gfp_zone(): the highest zone the request may use, and the ones below it.
  static constexpr ZoneType movable_walk[] = {ZoneType::movable, ZoneType::normal};
  static constexpr ZoneType normal_walk[] = {ZoneType::normal};
  const ZoneType* walk = movable ? movable_walk : normal_walk;
  const int walk_len = movable ? 2 : 1;

  // ZONELIST_NOFALLBACK for __GFP_THISNODE, else the node's fallback zonelist. A zonelist
  // only holds populated zones; the first eligible one is ac->preferred_zoneref.
  const int thisnode[] = {preferred};
  const int* nodes = thisnode;
  std::size_t nr_nodes = 1;
  if ((gfp & gfp_thisnode) == 0) {
    nodes = node_order_[preferred].data();
    nr_nodes = node_order_[preferred].size();
  }
  int preferred_zone_node = numa_no_node;
  for (std::size_t i = 0; i < nr_nodes; ++i) {
    const int node = nodes[i];
    for (int k = 0; k < walk_len; ++k) {
      const ZoneType zt = walk[k];
      if (zone_of(node, zt).managed == 0) continue;  // not in the zonelist
      if (preferred_zone_node == numa_no_node) preferred_zone_node = node;
      const auto pfn = rmqueue(cpu, node, zt, order, mt);
      if (!pfn) continue;

      const auto block = static_cast<int>(*pfn / layout_.block_pages);
      const std::uint64_t pages = std::uint64_t{1} << order;
      Block& blk = blocks_[block];
      (movable ? blk.movable_pages : blk.unmovable_pages) += pages;
      allocated_.emplace(*pfn, Allocation{order, movable});

      // zone_statistics(): once per request. interleave_hit is never counted: no
      // MPOL_INTERLEAVE policy is modelled.
      NumaStat& st = numastat_[node];
      if (node == preferred_zone_node) {
        ++st.numa_hit;
      } else {
        ++st.numa_miss;
        ++numastat_[preferred_zone_node].numa_foreign;
      }
      ++(node == cpu_node ? st.local_node : st.other_node);
      return PageBlockRef{*pfn, order, node, block, zt};
    }
  }
  return std::nullopt;
}

void PageAllocator::free_pages(const PageBlockRef& pages, int cpu) {
  check_cpu(cpu, "free_pages: cpu");
  check_block(pages.block);
  if (pages.order >= max_order)
    throw std::invalid_argument("free_pages: order " + std::to_string(pages.order) +
                                " >= MAX_ORDER");
  const auto it = allocated_.find(pages.pfn);
  if (it == allocated_.end() || it->second.order != pages.order)
    throw std::invalid_argument("free_pages: pfn " + std::to_string(pages.pfn) + " order " +
                                std::to_string(pages.order) + " is not a live allocation");
  Block& blk = blocks_[pages.block];
  if (pages.pfn / layout_.block_pages != static_cast<std::uint64_t>(pages.block) ||
      pages.node != blk.node || pages.zone != blk.zone)
    throw std::invalid_argument("free_pages: pfn " + std::to_string(pages.pfn) +
                                " does not match its block, node or zone");
  const std::uint64_t n = std::uint64_t{1} << pages.order;
  (it->second.movable ? blk.movable_pages : blk.unmovable_pages) -= n;
  allocated_.erase(it);
  // free_unref_page(): a page of an isolated pageblock goes straight to the buddy lists
  // (free_one_page()), so an isolated block never gains pages on a list.
  if (pcp_version_ && pcp_allowed_order(*pcp_version_, pages.order, pageblock_order_) &&
      !blk.isolated)
    free_unref_page_commit(pages, cpu);
  else
    give_to_zone(pages.block, pages.pfn, pages.order);
}

bool PageAllocator::allocated(const PageBlockRef& pages) const {
  const auto it = allocated_.find(pages.pfn);
  return it != allocated_.end() && it->second.order == pages.order;
}

void PageAllocator::add_block(int block) {
  check_block(block);
  if (blocks_[block].state != BlockPresence::absent)
    throw std::logic_error("add_block: memory block " + std::to_string(block) +
                           " is already present");
  blocks_[block].state = BlockPresence::offline;
}

void PageAllocator::remove_block(int block) {
  check_block(block);
  if (blocks_[block].state != BlockPresence::offline)
    throw std::logic_error("remove_block: memory block " + std::to_string(block) +
                           " is not offline");
  blocks_[block].state = BlockPresence::absent;
}

void PageAllocator::online_block(int block, ZoneType zone) {
  check_block(block);
  if (!valid_zone(zone)) throw std::invalid_argument("online_block: unknown zone");
  Block& blk = blocks_[block];
  if (blk.state != BlockPresence::offline)
    throw std::logic_error("online_block: memory block " + std::to_string(block) + " is " +
                           (blk.state == BlockPresence::absent ? "absent" : "already online"));
  const bool had_memory = node_managed(blk.node) > 0;
  const bool had_normal = zone_of(blk.node, ZoneType::normal).managed > 0;

  blk.state = BlockPresence::online;
  blk.zone = zone;
  Zone& z = zone_of(blk.node, zone);
  z.managed += layout_.block_pages;
  z.free += layout_.block_pages;
  blk.free_pages = layout_.block_pages;
  // online_pages(): the block's pageblocks end up MIGRATE_MOVABLE (undo_isolate_page_range()),
  // all its pages free as top-order chunks, one bit each.
  std::fill(blk.pageblock_mt.begin(), blk.pageblock_mt.end(), MigrateType::movable);
  const std::uint64_t chunks = layout_.block_pages >> top_order_;
  std::fill(blk.top_free.begin(), blk.top_free.end(), ~std::uint64_t{0});
  if (chunks % 64 != 0) blk.top_free.back() = (std::uint64_t{1} << (chunks % 64)) - 1;
  std::fill(blk.top_list.begin(), blk.top_list.end(),
            static_cast<std::uint8_t>(MigrateType::movable));
  z.lists[static_cast<std::size_t>(MigrateType::movable)].top_blocks[block] =
      static_cast<std::uint32_t>(chunks);

  if (had_memory != (node_managed(blk.node) > 0) ||
      had_normal != (zone_of(blk.node, ZoneType::normal).managed > 0))
    refresh_zonelists();
  update_pcp_sizes();  // zone_pcp_update(), and v6.1's init_per_zone_wmark_min()
}

bool PageAllocator::isolate_block(int block) {
  check_block(block);
  Block& blk = blocks_[block];
  if (blk.state != BlockPresence::online)
    throw std::logic_error("isolate_block: memory block " + std::to_string(block) +
                           " is not online");
  if (blk.isolated || blk.unmovable_pages != 0) return false;
  Zone& z = zone_of(blk.node, blk.zone);
  const std::uint64_t start = static_cast<std::uint64_t>(block) * layout_.block_pages;
  move_free_range(z, start, start + layout_.block_pages, isolate_list);
  z.free -= blk.free_pages;
  z.isolated_free += blk.free_pages;
  blk.isolated = true;
  return true;
}

void PageAllocator::undo_isolate_block(int block) {
  check_block(block);
  Block& blk = blocks_[block];
  if (!blk.isolated)
    throw std::logic_error("undo_isolate_block: memory block " + std::to_string(block) +
                           " is not isolated");
  // unset_migratetype_isolate() with MIGRATE_MOVABLE, as offline_pages()'s failure path and
  // online_pages() pass it: the pageblocks and their free pages become movable.
  Zone& z = zone_of(blk.node, blk.zone);
  const std::uint64_t start = static_cast<std::uint64_t>(block) * layout_.block_pages;
  std::fill(blk.pageblock_mt.begin(), blk.pageblock_mt.end(), MigrateType::movable);
  move_free_range(z, start, start + layout_.block_pages, static_cast<int>(MigrateType::movable));
  z.isolated_free -= blk.free_pages;
  z.free += blk.free_pages;
  blk.isolated = false;
}

void PageAllocator::offline_block(int block) {
  check_block(block);
  Block& blk = blocks_[block];
  if (blk.state != BlockPresence::online)
    throw std::logic_error("offline_block: memory block " + std::to_string(block) +
                           " is not online");
  if (!blk.isolated)
    throw std::logic_error("offline_block: memory block " + std::to_string(block) +
                           " is not isolated");
  if (blk.unmovable_pages != 0)
    throw std::logic_error("offline_block: memory block " + std::to_string(block) + " holds " +
                           std::to_string(blk.unmovable_pages) + " unmovable pages");
  if (blk.pcp_pages != 0)
    throw std::logic_error("offline_block: memory block " + std::to_string(block) + " has " +
                           std::to_string(blk.pcp_pages) + " pages on per-CPU lists");
  const bool had_memory = node_managed(blk.node) > 0;
  const bool had_normal = zone_of(blk.node, ZoneType::normal).managed > 0;

  const std::uint64_t start = static_cast<std::uint64_t>(block) * layout_.block_pages;
  const std::uint64_t end = start + layout_.block_pages;
  Zone& z = zone_of(blk.node, blk.zone);
  FreeArea& isolated = z.lists[isolate_list];
  for (unsigned o = 0; o < top_order_; ++o) {
    auto& list = isolated.free_lists[o];
    list.erase(list.lower_bound(start), list.lower_bound(end));
  }
  isolated.top_blocks.erase(block);
  std::fill(blk.top_free.begin(), blk.top_free.end(), 0);
  z.isolated_free -= blk.free_pages;
  z.managed -= layout_.block_pages;
  blk.free_pages = 0;
  // Movable pages still allocated here were migrated elsewhere (not modelled): forget them.
  allocated_.erase(allocated_.lower_bound(start), allocated_.lower_bound(end));
  blk.movable_pages = 0;
  blk.isolated = false;
  blk.state = BlockPresence::offline;

  if (had_memory != (node_managed(blk.node) > 0) ||
      had_normal != (zone_of(blk.node, ZoneType::normal).managed > 0))
    refresh_zonelists();
  update_pcp_sizes();  // zone_pcp_update() or zone_pcp_reset()
}

void PageAllocator::build_all_zonelists(const NodeStates& states) {
  const int n = layout_.nr_node_ids();
  if (states.nr_node_ids() != n)
    throw std::invalid_argument("build_all_zonelists: node states for " +
                                std::to_string(states.nr_node_ids()) + " nodes, machine has " +
                                std::to_string(n));
  ZonelistInput in;
  in.distance = &layout_.distance;
  in.online.assign(n, false);
  in.has_memory.assign(n, false);
  in.has_cpus.assign(n, false);
  for (int nid = 0; nid < n; ++nid) {
    in.online[nid] = states.test(nid, NodeState::online);
    in.has_memory[nid] = states.test(nid, NodeState::memory);
  }
  for (int node : layout_.cpu_node)
    if (node != MachineLayout::no_cpu) in.has_cpus[node] = true;
  built_order_ = build_node_orders(in);
  refresh_zonelists();
}

// build_zonerefs_node() keeps only zones with managed pages; local_memory_node() is the node
// of the first ZONE_NORMAL-eligible zone (set_cpu_numa_mem on every rebuild).
void PageAllocator::refresh_zonelists() {
  for (std::size_t nid = 0; nid < built_order_.size(); ++nid) {
    auto& order = node_order_[nid];
    order.clear();
    mem_node_[nid] = numa_no_node;
    for (int node : built_order_[nid]) {
      if (node_managed(node) == 0) continue;
      order.push_back(node);
      if (mem_node_[nid] == numa_no_node && zone_of(node, ZoneType::normal).managed > 0)
        mem_node_[nid] = node;
    }
  }
}

const std::vector<int>& PageAllocator::node_order(int nid) const {
  check_node(nid, "node_order: node");
  return node_order_[nid];
}

int PageAllocator::numa_mem_node(int nid) const {
  check_node(nid, "numa_mem_node: node");
  return mem_node_[nid];
}

BlockPresence PageAllocator::block_state(int block) const {
  check_block(block);
  return blocks_[block].state;
}

ZoneType PageAllocator::block_zone(int block) const {
  check_block(block);
  return blocks_[block].zone;
}

std::uint64_t PageAllocator::managed_pages(int node, ZoneType zone) const {
  check_node(node, "managed_pages: node");
  if (!valid_zone(zone)) throw std::invalid_argument("managed_pages: unknown zone");
  return zone_of(node, zone).managed;
}

std::uint64_t PageAllocator::free_pages(int node, ZoneType zone) const {
  check_node(node, "free_pages: node");
  if (!valid_zone(zone)) throw std::invalid_argument("free_pages: unknown zone");
  return zone_of(node, zone).free;
}

std::uint64_t PageAllocator::free_pages(int node) const {
  check_node(node, "free_pages: node");
  return zone_of(node, ZoneType::normal).free + zone_of(node, ZoneType::movable).free;
}

std::uint64_t PageAllocator::isolated_free_pages(int node) const {
  check_node(node, "isolated_free_pages: node");
  return zone_of(node, ZoneType::normal).isolated_free +
         zone_of(node, ZoneType::movable).isolated_free;
}

bool PageAllocator::block_isolated(int block) const {
  check_block(block);
  return blocks_[block].isolated;
}

std::uint64_t PageAllocator::unmovable_pages(int block) const {
  check_block(block);
  return blocks_[block].unmovable_pages;
}

const NumaStat& PageAllocator::numastat(int node) const {
  check_node(node, "numastat: node");
  return numastat_[node];
}

NodeStates boot_node_states(const MachineLayout& layout) {
  validate_layout(layout);
  NodeStates states(layout.nr_node_ids());
  for (int node : layout.cpu_node) {
    if (node == MachineLayout::no_cpu) continue;
    states.set(node, NodeState::online);
    states.set(node, NodeState::cpu);
  }
  for (const BlockLayout& bl : layout.blocks) {
    if (bl.state == BlockPresence::absent) continue;
    states.set(bl.node, NodeState::online);
    if (bl.state != BlockPresence::online) continue;
    states.set(bl.node, NodeState::memory);
    if (bl.zone == ZoneType::normal) states.set(bl.node, NodeState::normal_memory);
  }
  return states;
}

}  // namespace slabsim::alloc
