// The per-CPU page lists of mm/page_alloc.c (struct per_cpu_pages), in the three generations the
// strategies run: how many pages a CPU keeps (pcp->high), how many move to and from the buddy
// lists at once (pcp->batch), and which orders may be kept at all. PageAllocator owns the lists;
// this file holds what each generation computes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace slabsim::alloc {

enum class PcpVersion : std::uint8_t {
  v5_10,  // order-0 lists only; high = 6 * batch; offline drains after isolating
  v5_12,  // as v5.10; offline disables the zone's lists first (zone_pcp_disable(), v5.11)
  v6_1,   // orders 0-3 and the THP order; high from the low watermark; free_factor
};

struct PcpVersionInfo {
  PcpVersion version;
  const char* name;         // as strategy files and results spell it
  const char* description;  // the kernel code it follows
};
// Every PcpVersion with its name and description, oldest first.
const std::vector<PcpVersionInfo>& pcp_versions();
const char* pcp_version_name(PcpVersion v);

inline constexpr unsigned pcp_costly_order = 3;  // PAGE_ALLOC_COSTLY_ORDER
inline constexpr int pcp_types = 3;              // MIGRATE_PCPTYPES
// NR_PCP_LISTS of v6.1 with CONFIG_TRANSPARENT_HUGEPAGE: orders 0..3 per type, then the THP
// order's unmovable and movable lists. v5.10 and v5.12 use the first pcp_types.
inline constexpr int pcp_lists = pcp_types * (static_cast<int>(pcp_costly_order) + 1) + 2;

// pcp_allowed_order(): order 0 until v5.12; from 44042b449872 (v5.13) every order up to
// PAGE_ALLOC_COSTLY_ORDER and pageblock_order (the THP order).
bool pcp_allowed_order(PcpVersion v, unsigned order, unsigned pageblock_order);
// order_to_pindex(): `type` is a MigrateType's value (unmovable 0, movable 1, reclaimable 2).
int order_to_pindex(int type, unsigned order);
unsigned pindex_to_order(int pindex, unsigned pageblock_order);

// zone_batchsize() (v5.10-v6.1, CONFIG_MMU): a quarter of the zone's managed pages / 1024,
// capped at 1 MiB worth, rounded to 2^n - 1 (0 for zones under 8 MiB, which the callers raise
// to 1).
int zone_batchsize(std::uint64_t managed_pages);

// The watermarks v6.1's pcp->high follows (init_per_zone_wmark_min()):
// calculate_min_free_kbytes(): sqrt(16 * lowmem KiB) clamped to [128 KiB, 256 MiB], raised by
// khugepaged_min_free_kbytes_update() to set_recommended_min_free_kbytes()'s
// pageblock_nr_pages * zones * (2 + MIGRATE_PCPTYPES^2) pages (at most lowmem / 20), as on
// Debian's kernels, whose THP "madvise" default runs khugepaged. `lowmem_pages` are the managed
// pages of the zones up to ZONE_NORMAL, `normal_zones` how many of those zones are populated.
std::uint64_t min_free_kbytes(std::uint64_t lowmem_pages, int normal_zones,
                              std::uint64_t pageblock_pages);
// __setup_per_zone_wmarks(): the zone's share of min_free_kbytes (by managed pages, over the
// lowmem zones), and WMARK_LOW = WMARK_MIN + max(share / 4, managed * watermark_scale_factor
// (10) / 10000). ZONE_MOVABLE's WMARK_MIN is managed / 1024 clamped to [32, 128] instead.
std::uint64_t low_wmark_pages(std::uint64_t managed, std::uint64_t lowmem_pages,
                              std::uint64_t min_free_kbytes, bool movable_zone);
// zone_highsize() (v5.14-v6.1, percpu_pagelist_high_fraction 0): the low watermark split
// across the node's online CPUs (all online CPUs for a node without any), at least 4 * batch.
int zone_highsize(std::uint64_t low_wmark, int batch, int nr_split_cpus);

// One CPU's lists for one zone. A list's head is the vector's back: list_add() and
// list_first_entry() work there, rmqueue_bulk()'s list_add_tail() and free_pcppages_bulk()'s
// list_last_entry() at the front.
struct PerCpuPages {
  int count = 0;        // pages on the lists (pcp->count)
  int free_factor = 0;  // v6.1: doubles the bulk free after frees without allocations
  std::array<std::vector<std::uint64_t>, pcp_lists> lists;  // pfns, by pindex
};

}  // namespace slabsim::alloc
