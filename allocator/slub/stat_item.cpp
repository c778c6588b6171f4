// Names of SLUB's statistics counters: enum stat_item (include/linux/slub_def.h) and the
// /sys/kernel/slab/<cache>/ files that STAT_ATTR() creates for them (mm/slub.c, v5.10-v5.12).
#include "allocator/slub/stat_item.hpp"

namespace slabsim::alloc {

namespace {

struct Names {
  std::string_view item;   // the enumerator
  std::string_view sysfs;  // STAT_ATTR's file name: the enumerator in lower case
};

constexpr std::array<Names, NR_SLUB_STAT_ITEMS> names = {{
    {"ALLOC_FASTPATH", "alloc_fastpath"},
    {"ALLOC_SLOWPATH", "alloc_slowpath"},
    {"FREE_FASTPATH", "free_fastpath"},
    {"FREE_SLOWPATH", "free_slowpath"},
    {"FREE_FROZEN", "free_frozen"},
    {"FREE_ADD_PARTIAL", "free_add_partial"},
    {"FREE_REMOVE_PARTIAL", "free_remove_partial"},
    {"ALLOC_FROM_PARTIAL", "alloc_from_partial"},
    {"ALLOC_SLAB", "alloc_slab"},
    {"ALLOC_REFILL", "alloc_refill"},
    {"ALLOC_NODE_MISMATCH", "alloc_node_mismatch"},
    {"FREE_SLAB", "free_slab"},
    {"CPUSLAB_FLUSH", "cpuslab_flush"},
    {"DEACTIVATE_FULL", "deactivate_full"},
    {"DEACTIVATE_EMPTY", "deactivate_empty"},
    {"DEACTIVATE_TO_HEAD", "deactivate_to_head"},
    {"DEACTIVATE_TO_TAIL", "deactivate_to_tail"},
    {"DEACTIVATE_REMOTE_FREES", "deactivate_remote_frees"},
    {"DEACTIVATE_BYPASS", "deactivate_bypass"},
    {"ORDER_FALLBACK", "order_fallback"},
    {"CMPXCHG_DOUBLE_CPU_FAIL", "cmpxchg_double_cpu_fail"},
    {"CMPXCHG_DOUBLE_FAIL", "cmpxchg_double_fail"},
    {"CPU_PARTIAL_ALLOC", "cpu_partial_alloc"},
    {"CPU_PARTIAL_FREE", "cpu_partial_free"},
    {"CPU_PARTIAL_NODE", "cpu_partial_node"},
    {"CPU_PARTIAL_DRAIN", "cpu_partial_drain"},
}};

// The stat part of slab_attrs[] in mm/slub.c: enum order except that the attribute list names
// cmpxchg_double_fail before cmpxchg_double_cpu_fail.
constexpr std::array<StatItem, NR_SLUB_STAT_ITEMS> sysfs_order = {
    ALLOC_FASTPATH,      ALLOC_SLOWPATH,
    FREE_FASTPATH,       FREE_SLOWPATH,
    FREE_FROZEN,         FREE_ADD_PARTIAL,
    FREE_REMOVE_PARTIAL, ALLOC_FROM_PARTIAL,
    ALLOC_SLAB,          ALLOC_REFILL,
    ALLOC_NODE_MISMATCH, FREE_SLAB,
    CPUSLAB_FLUSH,       DEACTIVATE_FULL,
    DEACTIVATE_EMPTY,    DEACTIVATE_TO_HEAD,
    DEACTIVATE_TO_TAIL,  DEACTIVATE_REMOTE_FREES,
    DEACTIVATE_BYPASS,   ORDER_FALLBACK,
    CMPXCHG_DOUBLE_FAIL, CMPXCHG_DOUBLE_CPU_FAIL,
    CPU_PARTIAL_ALLOC,   CPU_PARTIAL_FREE,
    CPU_PARTIAL_NODE,    CPU_PARTIAL_DRAIN,
};

}  // namespace

// Out-of-range values (NR_SLUB_STAT_ITEMS and above) have no counter and no file: "".
std::string_view stat_item_name(StatItem item) {
  return item < NR_SLUB_STAT_ITEMS ? names[item].item : std::string_view{};
}

std::string_view stat_item_sysfs_name(StatItem item) {
  return item < NR_SLUB_STAT_ITEMS ? names[item].sysfs : std::string_view{};
}

const std::array<StatItem, NR_SLUB_STAT_ITEMS>& sysfs_stat_order() {
  return sysfs_order;
}

}  // namespace slabsim::alloc
