#include "topology/boot_caches.hpp"

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <utility>

namespace slabsim::topology {

using namespace slabsim::config;
using nlohmann::json;

namespace {

// The 0/1 attributes of mm/slub.c (6.1) and the flag each shows, in include/linux/slab.h's
// order. SLAB_ACCOUNT, SLAB_NOLEAKTRACE and the like have no sysfs file, so they cannot be
// recovered from a snapshot.
constexpr std::array<std::pair<const char*, const char*>, 9> flag_files{{
    {"sanity_checks", "SLAB_CONSISTENCY_CHECKS"},  // sanity_checks_show()
    {"red_zone", "SLAB_RED_ZONE"},
    {"poison", "SLAB_POISON"},
    {"hwcache_align", "SLAB_HWCACHE_ALIGN"},
    {"cache_dma", "SLAB_CACHE_DMA"},  // only with CONFIG_ZONE_DMA
    {"store_user", "SLAB_STORE_USER"},
    {"reclaim_account", "SLAB_RECLAIM_ACCOUNT"},
    {"destroy_by_rcu", "SLAB_TYPESAFE_BY_RCU"},
    {"trace", "SLAB_TRACE"},
}};

std::vector<std::string> flag_names() {
  std::vector<std::string> names;
  for (const auto& [file, flag] : flag_files)
    names.emplace_back(flag);
  std::sort(names.begin(), names.end());
  return names;
}

SpecPtr make_spec() {
  auto cache = object(
      "a slab cache of the booted machine",
      {
          required("name", string(), "The cache's name (kmem_cache_create()'s first argument)."),
          required("object_size", integer(1, std::int64_t{1} << 32),
                   "Bytes the caller asked for (/sys/kernel/slab/NAME/object_size)."),
          required("align", integer(0, std::int64_t{1} << 32),
                   "Alignment in bytes (/sys/kernel/slab/NAME/align)."),
          required("flags", array(enumeration(flag_names())),
                   "The SLAB_* flags sysfs shows (hwcache_align, reclaim_account, cache_dma, "
                   "destroy_by_rcu and the debug flags), sorted."),
      });
  return array(cache);
}

}  // namespace

namespace {

// The names of /proc/slabinfo's rows: slab_caches from its head, newest first (slab_start()).
std::vector<std::string> slabinfo_names(const SysfsSnapshot& snapshot) {
  std::vector<std::string> names;
  if (!snapshot.exists("/proc/slabinfo")) return names;
  std::istringstream in(snapshot.text("/proc/slabinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("slabinfo -") || line.starts_with('#')) continue;
    std::istringstream row(line);
    std::string name;
    if (row >> name) names.push_back(name);
  }
  return names;
}

}  // namespace

std::vector<BootCache> read_boot_caches(const SysfsSnapshot& snapshot) {
  std::vector<BootCache> caches;
  for (const auto& name : snapshot.list("/sys/kernel/slab")) {
    if (name.starts_with(':')) continue;
    const std::string dir = "/sys/kernel/slab/" + name + "/";
    BootCache c{name, snapshot.integer(dir + "object_size"), snapshot.integer(dir + "align"), {}};
    for (const auto& [file, flag] : flag_files) {
      if (!snapshot.exists(dir + file)) continue;
      const auto value = snapshot.integer(dir + file);
      if (value != 0 && value != 1)
        snapshot.fail(dir + file, "expected 0 or 1, got " + std::to_string(value));
      if (value == 1) c.flags.emplace_back(flag);
    }
    std::sort(c.flags.begin(), c.flags.end());
    caches.push_back(std::move(c));
  }
  // In creation order where /proc/slabinfo tells it (its rows reversed); names it does not list
  // (aliases of merged caches) after those, by name.
  const auto rows = slabinfo_names(snapshot);
  const auto rank = [&](const BootCache& c) {
    const auto it = std::find(rows.begin(), rows.end(), c.name);
    return it == rows.end() ? -1 : static_cast<int>(it - rows.begin());
  };
  std::stable_sort(caches.begin(), caches.end(), [&](const BootCache& a, const BootCache& b) {
    const int ra = rank(a), rb = rank(b);
    if ((ra < 0) != (rb < 0)) return rb < 0;
    return ra > rb;  // newest first in slabinfo: a higher row was made earlier
  });
  return caches;
}

nlohmann::ordered_json boot_caches_json(const std::vector<BootCache>& caches) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& c : caches)
    list.push_back(nlohmann::ordered_json{
        {"name", c.name}, {"object_size", c.object_size}, {"align", c.align}, {"flags", c.flags}});
  return list;
}

const SpecPtr& boot_caches_spec() {
  static const SpecPtr spec = make_spec();
  return spec;
}

}  // namespace slabsim::topology
