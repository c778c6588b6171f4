// Property-based tests of the page allocator with its per-CPU lists (RapidCheck): random
// sequences of allocations (any node or NUMA_NO_NODE, orders 0-4 and the THP order, kernel,
// reclaimable and movable), frees on any CPU, drains, CPUs going offline and back (with
// page_alloc_cpu_dead()'s drain), and memory blocks isolated, undone, offlined and onlined,
// under each PcpVersion. After every step every page is accounted for exactly once: per node,
// the managed pages are the buddy allocator's free pages plus the isolated free ones, the pages
// on the per-CPU lists and the live allocations. RapidCheck shrinks a failing sequence to a
// minimal one, which then belongs in per_cpu_pages_test.cpp as a regression test.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "allocator/mm/page_alloc.hpp"
#include "allocator/mm/per_cpu_pages.hpp"

namespace slabsim::alloc {
// Named, not anonymous: the sanitizer pass compiles this folder's tests as one unit.
namespace page_alloc_property_test {

constexpr std::uint64_t kBlock = 2048;  // 8 MiB blocks: small enough to run out of

// Three nodes: 0 and 1 with two CPUs and two blocks each, 2 with a CPU and one movable block.
MachineLayout three_nodes() {
  MachineLayout l;
  l.cpu_node = {0, 0, 1, 1, 2};
  l.distance = {{10, 20, 30}, {20, 10, 20}, {30, 20, 10}};
  l.block_pages = kBlock;
  for (int n = 0; n < 2; ++n)
    for (int b = 0; b < 2; ++b)
      l.blocks.push_back({n, ZoneType::normal, BlockPresence::online});
  l.blocks.push_back({2, ZoneType::movable, BlockPresence::online});
  return l;
}

struct Op {
  int kind = 0;  // 0 alloc, 1 free, 2 drain, 3 cpu offline/online, 4 isolate, 5 undo,
                 // 6 offline, 7 online, 8 zone_pcp_disable/enable
  int a = 0, b = 0, c = 0, d = 0;
};

// How RapidCheck prints a step of a shrunk sequence.
void showValue(const Op& op, std::ostream& os) {
  static constexpr const char* names[] = {"alloc",      "free",    "drain",
                                          "cpu on/off", "isolate", "undo",
                                          "offline",    "online",  "pcp disable/enable"};
  os << names[op.kind] << "(" << op.a << ", " << op.b << ", " << op.c << ", " << op.d << ")";
}

struct Model {
  PageAllocator pages{three_nodes()};
  std::vector<PageBlockRef> live;

  [[nodiscard]] std::string accounting_error() const {
    const auto& l = pages.layout();
    std::vector<std::uint64_t> allocated(static_cast<std::size_t>(l.nr_node_ids()), 0);
    for (const auto& p : live)
      if (pages.allocated(p)) allocated[static_cast<std::size_t>(p.node)] += 1u << p.order;
    for (int n = 0; n < l.nr_node_ids(); ++n) {
      const std::uint64_t managed =
          pages.managed_pages(n, ZoneType::normal) + pages.managed_pages(n, ZoneType::movable);
      const std::uint64_t counted = pages.free_pages(n) + pages.isolated_free_pages(n) +
                                    pages.pcp_pages(n) + allocated[static_cast<std::size_t>(n)];
      if (managed != counted)
        return "node " + std::to_string(n) + ": managed " + std::to_string(managed) +
               " != free + isolated + per-CPU + allocated " + std::to_string(counted);
      std::uint64_t on_lists = 0;
      for (int c = 0; c < l.nr_cpu_slots(); ++c)
        on_lists += static_cast<std::uint64_t>(pages.pcp_count(c, n, ZoneType::normal) +
                                               pages.pcp_count(c, n, ZoneType::movable));
      if (on_lists != pages.pcp_pages(n))
        return "node " + std::to_string(n) + ": per-CPU counts " + std::to_string(on_lists) +
               " != pcp_pages " + std::to_string(pages.pcp_pages(n));
    }
    return "";
  }

  void apply(const Op& op) {
    const auto& l = pages.layout();
    const int cpus = l.nr_cpu_slots();
    const int blocks = static_cast<int>(l.blocks.size());
    switch (op.kind) {
      case 0: {
        const int cpu = op.a % cpus;
        if (!pages.cpu_online(cpu)) return;
        static constexpr unsigned orders[] = {0, 0, 0, 1, 2, 3, 4, 9};
        static constexpr Gfp gfps[] = {gfp_kernel, gfp_reclaimable, gfp_movable,
                                       static_cast<Gfp>(gfp_kernel | gfp_thisnode)};
        const int nid = op.b % 4 == 3 ? numa_no_node : op.b % 3;
        if (auto p = pages.alloc_pages(nid, orders[op.c % 8], gfps[op.d % 4], cpu))
          live.push_back(*p);
        return;
      }
      case 1: {
        if (live.empty()) return;
        const std::size_t i = static_cast<std::size_t>(op.a) % live.size();
        const int cpu = op.b % cpus;
        if (!pages.cpu_online(cpu)) return;
        if (pages.allocated(live[i])) pages.free_pages(live[i], cpu);  // else migrated away
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
      case 2:
        pages.drain_pages(op.a % cpus);
        return;
      case 3: {
        const int cpu = op.a % cpus;
        if (pages.cpu_online(cpu)) {
          pages.set_cpu_online(cpu, false);
          pages.drain_pages(cpu);  // page_alloc_cpu_dead()
        } else {
          pages.set_cpu_online(cpu, true);
        }
        return;
      }
      case 4:
        if (pages.block_state(op.a % blocks) == BlockPresence::online)
          (void)pages.isolate_block(op.a % blocks);
        return;
      case 5:
        if (pages.block_isolated(op.a % blocks)) pages.undo_isolate_block(op.a % blocks);
        return;
      case 6: {  // offline_pages()'s end: drain, then offline if nothing is left in use
        const int b = op.a % blocks;
        if (!pages.block_isolated(b)) return;
        const int nid = l.blocks[static_cast<std::size_t>(b)].node;
        for (int c = 0; c < cpus; ++c)
          pages.drain_pages_zone(c, nid, pages.block_zone(b));
        if (pages.unmovable_pages(b) != 0) return;
        pages.offline_block(b);
        // Its movable pages were migrated away: the model forgets them, and a later
        // allocation may get the same pfn.
        std::erase_if(live, [&](const PageBlockRef& p) { return !pages.allocated(p); });
        return;
      }
      case 7:
        if (pages.block_state(op.a % blocks) == BlockPresence::offline)
          pages.online_block(op.a % blocks, l.blocks[static_cast<std::size_t>(op.a % blocks)].zone);
        return;
      default: {
        const int nid = op.a % 3;
        const ZoneType z = nid == 2 ? ZoneType::movable : ZoneType::normal;
        if (op.b % 2 == 0) {
          pages.zone_pcp_disable(nid, z);
          for (int c = 0; c < cpus; ++c)
            pages.drain_pages_zone(c, nid, z);
        } else {
          pages.zone_pcp_enable(nid, z);
        }
      }
    }
  }
};

Op random_op() {
  return Op{*rc::gen::weightedElement<int>(
                {{30, 0}, {20, 1}, {4, 2}, {4, 3}, {4, 4}, {3, 5}, {4, 6}, {4, 7}, {3, 8}}),
            *rc::gen::inRange(0, 1000), *rc::gen::inRange(0, 1000), *rc::gen::inRange(0, 1000),
            *rc::gen::inRange(0, 1000)};
}

void check_sequences(PcpVersion v) {
  const auto ops = *rc::gen::container<std::vector<Op>>(rc::gen::exec(random_op));
  Model m;
  m.pages.set_pcp_version(v);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    m.apply(ops[i]);
    const std::string error = m.accounting_error();
    if (!error.empty())
      RC_FAIL("after step " + std::to_string(i) + " (kind " + std::to_string(ops[i].kind) +
              "): " + error);
  }
  // Everything freed and drained: the buddy lists hold every managed page again.
  for (const auto& p : m.live)
    if (m.pages.allocated(p)) m.pages.free_pages(p, 0);
  for (int c = 0; c < m.pages.layout().nr_cpu_slots(); ++c)
    m.pages.drain_pages(c);
  for (int n = 0; n < 3; ++n)
    RC_ASSERT(m.pages.pcp_pages(n) == 0u);
}

RC_GTEST_PROP(PageAllocProperty, EveryPageIsAccountedForOnceUnderV5_10, ()) {
  check_sequences(PcpVersion::v5_10);
}
RC_GTEST_PROP(PageAllocProperty, EveryPageIsAccountedForOnceUnderV5_12, ()) {
  check_sequences(PcpVersion::v5_12);
}
RC_GTEST_PROP(PageAllocProperty, EveryPageIsAccountedForOnceUnderV6_1, ()) {
  check_sequences(PcpVersion::v6_1);
}

}  // namespace page_alloc_property_test
}  // namespace slabsim::alloc
