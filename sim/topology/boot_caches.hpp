// The slab caches a real machine has after boot, from /sys/kernel/slab: their names, sizes and
// the SLAB_* flags sysfs shows. The list's format is declared once (boot_caches_spec()), which
// gives topologies/schema/boot-caches.schema.json.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/spec.hpp"
#include "topology/sysfs_snapshot.hpp"

namespace slabsim::topology {

struct BootCache {
  std::string name;
  std::int64_t object_size = 0;
  std::int64_t align = 0;
  std::vector<std::string> flags;  // SLAB_* names, sorted
};

// Every named cache of SYSFS/sys/kernel/slab; the ":<flags>-<size>" folders of merged caches are
// not names (mm/slub.c: sysfs_slab_add() and sysfs_slab_alias()). In creation order when the
// snapshot has /proc/slabinfo (whose rows walk slab_caches newest first), names it lacks (aliases)
// last; otherwise sorted by name. Empty when the snapshot has no /sys/kernel/slab (a SLAB or SLOB
// kernel).
std::vector<BootCache> read_boot_caches(const SysfsSnapshot& snapshot);

// [{"name", "object_size", "align", "flags": [...]}, ...]
nlohmann::ordered_json boot_caches_json(const std::vector<BootCache>& caches);

const config::SpecPtr& boot_caches_spec();

}  // namespace slabsim::topology
