#include "allocator/mm/per_cpu_pages.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

#include "allocator/mm/page_alloc.hpp"

namespace slabsim::alloc {

const std::vector<PcpVersionInfo>& pcp_versions() {
  static const std::vector<PcpVersionInfo> versions = {
      {PcpVersion::v5_10, "v5.10",
       "mm/page_alloc.c v5.10: per-CPU lists of order-0 pages, one per migratetype; batch = "
       "zone_batchsize(), high = 6 * batch; a free past high returns batch pages round-robin "
       "over the lists; offline_pages() drains every CPU's lists (drain_all_pages(), per-CPU "
       "work under pcpu_drain_mutex) after isolating the range, and again while "
       "test_pages_isolated() fails."},
      {PcpVersion::v5_12, "v5.12",
       "mm/page_alloc.c v5.12: as v5.10, except that offline_pages() disables the zone's lists "
       "before isolating (zone_pcp_disable(): high 0 and batch 1 on every CPU under "
       "pcp_batch_high_lock, then a drain of every online CPU; ec6e8c7e0314, v5.11) and "
       "enables them again at the end."},
      {PcpVersion::v6_1, "v6.1",
       "mm/page_alloc.c v6.1: as v5.12, with lists for orders 0-3 and the THP order "
       "(44042b449872), refills of max(batch >> order, 2); high from the zone's low watermark "
       "split over the node's online CPUs (zone_highsize(), recomputed on memory and CPU "
       "hotplug); a run of frees doubles the bulk free (free_factor), and a high-order free "
       "after one empties the lists (free_high); drain_all_pages() drains the other CPUs' "
       "lists remotely instead of by work."},
  };
  return versions;
}

const char* pcp_version_name(PcpVersion v) {
  for (const auto& info : pcp_versions())
    if (info.version == v) return info.name;
  return "?";
}

bool pcp_allowed_order(PcpVersion v, unsigned order, unsigned pageblock_order) {
  if (v != PcpVersion::v6_1) return order == 0;
  return order <= pcp_costly_order || order == pageblock_order;
}

int order_to_pindex(int type, unsigned order) {
  if (order > pcp_costly_order)
    return pcp_types * static_cast<int>(pcp_costly_order + 1) + (type == 1);
  return pcp_types * static_cast<int>(order) + type;
}

unsigned pindex_to_order(int pindex, unsigned pageblock_order) {
  if (pindex >= pcp_types * static_cast<int>(pcp_costly_order + 1)) return pageblock_order;
  return static_cast<unsigned>(pindex / pcp_types);
}

int zone_batchsize(std::uint64_t managed_pages) {
  std::uint64_t batch = std::min<std::uint64_t>(managed_pages / 1024, (1024 * 1024) / 4096);
  batch = std::max<std::uint64_t>(batch / 4, 1);
  return static_cast<int>(std::bit_floor(batch + batch / 2) - 1);
}

std::uint64_t min_free_kbytes(std::uint64_t lowmem_pages, int normal_zones,
                              std::uint64_t pageblock_pages) {
  const std::uint64_t lowmem_kbytes = lowmem_pages * 4;
  auto kbytes = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(lowmem_kbytes * 16)));
  while (kbytes * kbytes > lowmem_kbytes * 16)  // int_sqrt() rounds down
    --kbytes;
  kbytes = std::clamp<std::uint64_t>(kbytes, 128, 262144);
  const auto zones = static_cast<std::uint64_t>(normal_zones);
  std::uint64_t recommended = pageblock_pages * zones * (2 + pcp_types * pcp_types);
  recommended = std::min(recommended, lowmem_pages / 20) * 4;
  return std::max(kbytes, recommended);
}

std::uint64_t low_wmark_pages(std::uint64_t managed, std::uint64_t lowmem_pages,
                              std::uint64_t min_free_kbytes, bool movable_zone) {
  const std::uint64_t pages_min = min_free_kbytes / 4;
  const std::uint64_t share = lowmem_pages == 0 ? 0 : pages_min * managed / lowmem_pages;
  const std::uint64_t min =
      movable_zone ? std::clamp<std::uint64_t>(managed / 1024, 32, 128) : share;
  return min + std::max(share / 4, managed * 10 / 10000);
}

int zone_highsize(std::uint64_t low_wmark, int batch, int nr_split_cpus) {
  const auto high =
      static_cast<int>(low_wmark / static_cast<std::uint64_t>(std::max(nr_split_cpus, 1)));
  return std::max(high, batch * 4);
}

// PageAllocator's per-CPU page lists.

// free_unref_page_commit(): at the head of the CPU's list for the page's pageblock type; past
// high, a bulk back to the buddy lists.
void PageAllocator::free_unref_page_commit(const PageBlockRef& pages, int cpu) {
  Block& blk = blocks_[static_cast<std::size_t>(pages.block)];
  const std::uint64_t n = std::uint64_t{1} << pages.order;
  Zone& z = zone_of(pages.node, pages.zone);
  PerCpuPages& pcp = pcp_of(cpu, pages.node, pages.zone);
  const int pindex = order_to_pindex(static_cast<int>(pageblock_of(pages.pfn)), pages.order);
  pcp.lists[static_cast<std::size_t>(pindex)].push_back(pages.pfn);
  pcp.count += static_cast<int>(n);
  blk.pcp_pages += n;
  z.pcp_pages += n;
  const int high = pcp_high(pages.node, pages.zone);
  const int batch = pcp_batch(pages.node, pages.zone);
  if (*pcp_version_ != PcpVersion::v6_1) {
    if (pcp.count >= high) free_pcppages_bulk(pages.node, pages.zone, pcp, batch, pindex);
    return;
  }
  // nr_pcp_high(): no high while a run of frees returns a high-order page (free_high,
  // f26b3fa04611, v5.19); the model never has reclaim active.
  const bool free_high =
      pcp.free_factor != 0 && pages.order != 0 && pages.order <= pcp_costly_order;
  const int effective_high = free_high ? 0 : high;
  if (pcp.count < effective_high) return;
  // nr_pcp_free(): everything for free_high; 1 for a disabled list; else batch doubled per
  // free since the last allocation (free_factor), kept within [batch, high - batch].
  int count = 1;
  if (free_high) {
    count = pcp.count;
  } else if (high >= batch) {
    const int max_free = high - batch;
    long long scaled = static_cast<long long>(batch) << std::min(pcp.free_factor, 30);
    if (scaled < max_free) ++pcp.free_factor;
    count = static_cast<int>(std::min<long long>(std::max<long long>(scaled, batch), max_free));
  }
  free_pcppages_bulk(pages.node, pages.zone, pcp, count, pindex);
}

// rmqueue(): rmqueue_pcplist() for an order the lists keep, else the buddy lists directly.
// __rmqueue_pcplist() takes the head of the list of the request's migratetype; an empty list is
// first refilled by rmqueue_bulk() with batch pages (v6.1: max(batch >> order, 2) of the order
// while batch > 1), each taken by __rmqueue() (fallbacks included) and added at the tail, so
// the refill's first page comes out first.
std::optional<std::uint64_t> PageAllocator::rmqueue(int cpu, int node, ZoneType zone,
                                                    unsigned order, MigrateType mt) {
  if (!pcp_version_ || !pcp_allowed_order(*pcp_version_, order, pageblock_order_))
    return take_from_zone(node, zone, order, mt);
  Zone& z = zone_of(node, zone);
  PerCpuPages& pcp = pcp_of(cpu, node, zone);
  if (*pcp_version_ == PcpVersion::v6_1) pcp.free_factor >>= 1;
  auto& list = pcp.lists[static_cast<std::size_t>(order_to_pindex(static_cast<int>(mt), order))];
  const std::uint64_t pages = std::uint64_t{1} << order;
  if (list.empty()) {
    int batch = pcp_batch(node, zone);
    if (*pcp_version_ == PcpVersion::v6_1 && batch > 1) batch = std::max(batch >> order, 2);
    std::vector<std::uint64_t> refill;
    for (int i = 0; i < batch; ++i) {
      const auto pfn = take_from_zone(node, zone, order, mt);
      if (!pfn) break;
      refill.push_back(*pfn);
      blocks_[*pfn / layout_.block_pages].pcp_pages += pages;
    }
    if (refill.empty()) return std::nullopt;
    list.assign(refill.rbegin(), refill.rend());
    pcp.count += static_cast<int>(refill.size() * pages);
    z.pcp_pages += refill.size() * pages;
  }
  const std::uint64_t pfn = list.back();
  list.pop_back();
  pcp.count -= static_cast<int>(pages);
  blocks_[pfn / layout_.block_pages].pcp_pages -= pages;
  z.pcp_pages -= pages;
  return pfn;
}

// free_pcppages_bulk(). v5.10 and v5.12 (order 0 only) take one page at a time round-robin over
// the types, starting after the last, and more from the same list as empty lists are met
// (batch_free); v6.1 starts at the list just freed to and empties one list before the next.
// Each page goes to __free_one_page() with its pageblock's type as of now (the kernel keeps the
// type it had at the free, except in a zone with isolated pageblocks).
void PageAllocator::free_pcppages_bulk(int node, ZoneType zone, PerCpuPages& pcp, int count,
                                       int pindex) {
  count = std::min(count, pcp.count);
  Zone& z = zone_of(node, zone);
  auto release = [&](std::vector<std::uint64_t>& list, unsigned order) {
    const std::uint64_t pfn = list.front();
    list.erase(list.begin());
    const std::uint64_t pages = std::uint64_t{1} << order;
    pcp.count -= static_cast<int>(pages);
    count -= static_cast<int>(pages);
    const auto block = static_cast<int>(pfn / layout_.block_pages);
    blocks_[static_cast<std::size_t>(block)].pcp_pages -= pages;
    z.pcp_pages -= pages;
    give_to_zone(block, pfn, order);
  };
  if (*pcp_version_ != PcpVersion::v6_1) {
    int type = 0, batch_free = 0;
    while (count > 0) {
      std::vector<std::uint64_t>* list = nullptr;
      do {
        ++batch_free;
        if (++type == pcp_types) type = 0;
        list = &pcp.lists[static_cast<std::size_t>(type)];
      } while (list->empty());
      if (batch_free == pcp_types) batch_free = count;  // the only non-empty list
      do {
        release(*list, 0);
      } while (count > 0 && --batch_free > 0 && !list->empty());
    }
    return;
  }
  int min_pindex = 0, max_pindex = pcp_lists - 1;
  --pindex;
  while (count > 0) {
    std::vector<std::uint64_t>* list = nullptr;
    for (;;) {
      if (++pindex > max_pindex) pindex = min_pindex;
      list = &pcp.lists[static_cast<std::size_t>(pindex)];
      if (!list->empty()) break;
      if (pindex == max_pindex) --max_pindex;
      if (pindex == min_pindex) ++min_pindex;
    }
    const unsigned order = pindex_to_order(pindex, pageblock_order_);
    do {
      release(*list, order);
    } while (count > 0 && !list->empty());
  }
}

std::size_t PageAllocator::zone_index(int node, ZoneType zone) const {
  return static_cast<std::size_t>(node) * 2 +
         static_cast<std::size_t>(zone == ZoneType::movable ? 1 : 0);
}

PerCpuPages& PageAllocator::pcp_of(int cpu, int node, ZoneType zone) {
  return pcp_[static_cast<std::size_t>(cpu) * zones_.size() + zone_index(node, zone)];
}

const PerCpuPages* PageAllocator::find_pcp(int cpu, int node, ZoneType zone) const {
  const auto it = pcp_.find(static_cast<std::size_t>(cpu) * zones_.size() + zone_index(node, zone));
  return it == pcp_.end() ? nullptr : &it->second;
}

void PageAllocator::check_cpu(int cpu, const char* what) const {
  if (cpu < 0 || cpu >= layout_.nr_cpu_slots() || !layout_.cpu_present(cpu))
    throw std::out_of_range(std::string(what) + " " + std::to_string(cpu) +
                            " is not a present CPU (" + std::to_string(layout_.nr_cpu_slots()) +
                            " CPU ids)");
}

void PageAllocator::set_pcp_version(PcpVersion v) {
  if (pcp_version_ && !pcp_.empty() && *pcp_version_ != v)
    throw std::logic_error("set_pcp_version: the per-CPU lists already hold pages");
  pcp_version_ = v;
  update_pcp_sizes();
}

void PageAllocator::set_cpu_online(int cpu, bool online) {
  check_cpu(cpu, "set_cpu_online: cpu");
  cpu_online_[static_cast<std::size_t>(cpu)] = online;
  // page_alloc_cpu_online() / page_alloc_cpu_dead(): zone_pcp_update() of every populated zone
  // (v5.14+; high depends on the online CPUs only from then on).
  if (pcp_version_ == PcpVersion::v6_1) update_pcp_sizes();
}

bool PageAllocator::cpu_online(int cpu) const {
  check_cpu(cpu, "cpu_online: cpu");
  return cpu_online_[static_cast<std::size_t>(cpu)];
}

// zone_pcp_update() -> zone_set_pageset_high_and_batch() for every zone: batch =
// max(1, zone_batchsize()); high = 6 * batch before v5.14 (pageset_set_batch()), else
// zone_highsize() of the zone's low watermark, which init_per_zone_wmark_min() recomputed.
void PageAllocator::update_pcp_sizes() {
  if (!pcp_version_) return;
  const int nodes = layout_.nr_node_ids();
  std::uint64_t lowmem = 0;
  int normal_zones = 0;
  for (int n = 0; n < nodes; ++n)
    if (const std::uint64_t m = zone_of(n, ZoneType::normal).managed; m > 0) {
      lowmem += m;
      ++normal_zones;
    }
  const std::uint64_t kbytes = min_free_kbytes(lowmem, normal_zones, pageblock_pages_);
  std::vector<int> node_cpus(static_cast<std::size_t>(nodes), 0);
  int online = 0;
  for (int c = 0; c < layout_.nr_cpu_ids(); ++c)
    if (cpu_online_[static_cast<std::size_t>(c)]) {
      ++node_cpus[static_cast<std::size_t>(layout_.cpu_node[static_cast<std::size_t>(c)])];
      ++online;
    }
  for (int n = 0; n < nodes; ++n)
    for (ZoneType zt : {ZoneType::normal, ZoneType::movable}) {
      Zone& z = zone_of(n, zt);
      z.pcp_batch = std::max(1, zone_batchsize(z.managed));
      if (*pcp_version_ != PcpVersion::v6_1) {
        z.pcp_high = 6 * zone_batchsize(z.managed);
        continue;
      }
      const int split = node_cpus[static_cast<std::size_t>(n)] > 0
                            ? node_cpus[static_cast<std::size_t>(n)]
                            : online;
      z.pcp_high =
          z.managed == 0
              ? 0
              : zone_highsize(low_wmark_pages(z.managed, lowmem, kbytes, zt == ZoneType::movable),
                              z.pcp_batch, split);
    }
}

int PageAllocator::pcp_high(int node, ZoneType zone) const {
  check_node(node, "pcp_high: node");
  const Zone& z = zone_of(node, zone);
  return !pcp_version_ || z.pcp_disabled ? 0 : z.pcp_high;
}

int PageAllocator::pcp_batch(int node, ZoneType zone) const {
  check_node(node, "pcp_batch: node");
  const Zone& z = zone_of(node, zone);
  return !pcp_version_ || z.pcp_disabled ? 1 : z.pcp_batch;
}

int PageAllocator::pcp_count(int cpu, int node, ZoneType zone) const {
  check_cpu(cpu, "pcp_count: cpu");
  check_node(node, "pcp_count: node");
  const PerCpuPages* pcp = find_pcp(cpu, node, zone);
  return pcp ? pcp->count : 0;
}

std::uint64_t PageAllocator::pcp_pages(int node) const {
  check_node(node, "pcp_pages: node");
  return zone_of(node, ZoneType::normal).pcp_pages + zone_of(node, ZoneType::movable).pcp_pages;
}

std::uint64_t PageAllocator::pcp_pages_in_block(int block) const {
  check_block(block);
  return blocks_[static_cast<std::size_t>(block)].pcp_pages;
}

std::uint64_t PageAllocator::drain_pages_zone(int cpu, int node, ZoneType zone) {
  check_cpu(cpu, "drain_pages_zone: cpu");
  check_node(node, "drain_pages_zone: node");
  const auto it = pcp_.find(static_cast<std::size_t>(cpu) * zones_.size() + zone_index(node, zone));
  if (it == pcp_.end() || it->second.count == 0) return 0;
  const auto drained = static_cast<std::uint64_t>(it->second.count);
  free_pcppages_bulk(node, zone, it->second, it->second.count, 0);
  return drained;
}

std::uint64_t PageAllocator::drain_pages(int cpu) {
  std::uint64_t drained = 0;
  for (int n = 0; n < layout_.nr_node_ids(); ++n)
    for (ZoneType zt : {ZoneType::normal, ZoneType::movable})
      drained += drain_pages_zone(cpu, n, zt);
  return drained;
}

std::vector<int> PageAllocator::cpus_with_pcps(int node, ZoneType zone, bool force_all_cpus) const {
  check_node(node, "cpus_with_pcps: node");
  std::vector<int> cpus;
  for (int c = 0; c < layout_.nr_cpu_slots(); ++c) {
    if (!cpu_online_[static_cast<std::size_t>(c)]) continue;
    if (force_all_cpus || pcp_count(c, node, zone) > 0) cpus.push_back(c);
  }
  return cpus;
}

void PageAllocator::zone_pcp_disable(int node, ZoneType zone) {
  check_node(node, "zone_pcp_disable: node");
  zone_of(node, zone).pcp_disabled = true;
}

void PageAllocator::zone_pcp_enable(int node, ZoneType zone) {
  check_node(node, "zone_pcp_enable: node");
  zone_of(node, zone).pcp_disabled = false;
}

}  // namespace slabsim::alloc
