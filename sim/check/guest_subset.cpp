#include "check/guest_subset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "config/json_pointer.hpp"
#include "workload/workload_format.hpp"

namespace slabsim::check {

namespace {

using workload::Event;

// The flags the probe's "create" command passes to kmem_cache_create(); a constructor it has not.
bool probe_has_flags(const alloc::CacheFlags& f) {
  return !f.has_ctor;
}

const char* event_key(Event::Type t) {
  switch (t) {
    case Event::Type::memory_add:
      return "memory_add";
    case Event::Type::memory_online:
      return "memory_online";
    case Event::Type::memory_offline:
      return "memory_offline";
    case Event::Type::memory_remove:
      return "memory_remove";
    case Event::Type::cpu_online:
      return "cpu_online";
    case Event::Type::cpu_offline:
      return "cpu_offline";
    case Event::Type::cache_create:
      return "cache_create";
    case Event::Type::cache_destroy:
      return "cache_destroy";
    case Event::Type::shrink:
      return "shrink";
    case Event::Type::sysfs_read:
      return "sysfs_read";
    case Event::Type::inject_error:
      return "inject_error";
    case Event::Type::clear_error:
      return "clear_error";
    case Event::Type::alloc_burst:
      return "alloc_burst";
    case Event::Type::page_burst:
      return "page_burst";
    case Event::Type::page_free:
      return "page_free";
    case Event::Type::free_burst:
      return "free_burst";
  }
  return "?";
}

// The kmalloc caches of an x86_64 6.1 kernel (mm/slab_common.c, kmalloc_info[]: KMALLOC_MIN_SIZE 8
// up to KMALLOC_SHIFT_HIGH, PAGE_SHIFT + 1 with SLUB), with their object sizes.
const std::vector<std::pair<std::string, unsigned>>& kmalloc_caches() {
  static const std::vector<std::pair<std::string, unsigned>> caches = {
      {"kmalloc-8", 8},     {"kmalloc-16", 16},   {"kmalloc-32", 32},   {"kmalloc-64", 64},
      {"kmalloc-96", 96},   {"kmalloc-128", 128}, {"kmalloc-192", 192}, {"kmalloc-256", 256},
      {"kmalloc-512", 512}, {"kmalloc-1k", 1024}, {"kmalloc-2k", 2048}, {"kmalloc-4k", 4096},
      {"kmalloc-8k", 8192}};
  return caches;
}

// What one event asks of the guest.
void check_event(const workload::Workload& w, const topology::QemuMachine& m, const Event& e,
                 const std::string& key, const std::string& p, config::Diagnostics& out) {
  switch (e.type) {
    case Event::Type::cpu_online:
    case Event::Type::cpu_offline:
    case Event::Type::inject_error:
    case Event::Type::clear_error:
      out.error(e.source, fmt::format("expected an event the guest can play (memory_add, "
                                      "memory_online, memory_offline, memory_remove, "
                                      "cache_create, "
                                      "cache_destroy, shrink, sysfs_read, alloc_burst, "
                                      "free_burst, page_burst, page_free), got \"{}\"",
                                      key));
      break;
    case Event::Type::page_burst:
      if (e.movable.value_or(false))
        out.error(config::pointer_append(p, "movable"),
                  "expected kernel pages: the probe cannot make user pages an offline could "
                  "migrate (its pages would pin the block)");
      break;
    case Event::Type::page_free:
      break;
    case Event::Type::memory_add:
    case Event::Type::memory_online:
    case Event::Type::memory_offline:
    case Event::Type::memory_remove: {
      std::set<int> dimm_nodes;
      for (const auto& d : m.hotplug_dimms)
        dimm_nodes.insert(d.node);
      if (!dimm_nodes.count(e.node))
        out.error(
            config::pointer_append(p, "node"),
            fmt::format("expected a node with hot-pluggable memory (a pc-dimm of the "
                        "QEMU machine: {}; the guest's boot memory holds its own "
                        "kernel's allocations, which the model does not have), got node {}",
                        dimm_nodes.empty() ? std::string("this machine has none")
                                           : fmt::format("node {}", fmt::join(dimm_nodes, ", ")),
                        e.node));
      break;
    }
    case Event::Type::cache_create:
    case Event::Type::cache_destroy:
    case Event::Type::shrink:
    case Event::Type::sysfs_read:
    case Event::Type::alloc_burst:
    case Event::Type::free_burst:
      if (w.caches[e.cache].at_boot && e.type != Event::Type::sysfs_read &&
          e.type != Event::Type::shrink)
        out.error(config::pointer_append(p, "cache"),
                  fmt::format("expected a cache declared with \"at_boot\": false (the probe "
                              "module allocates from and destroys only the caches it "
                              "created), got \"{}\"",
                              w.caches[e.cache].name));
      break;
  }
}

}  // namespace

bool check_guest_subset(const workload::Workload& w, const topology::QemuMachine& m,
                        config::Diagnostics& out) {
  const std::size_t before = out.size();
  if (!w.threads.empty())
    out.error("/threads",
              fmt::format("expected no thread groups (the guest plays the timed events only; "
                          "use alloc_burst and free_burst for allocations), got {}",
                          w.threads.size()));
  if (w.event_tasks != 1)
    out.error("/event_tasks",
              fmt::format("expected 1 (the guest plays the events one after another, so the "
                          "model must too), got {}",
                          w.event_tasks));
  for (std::size_t i = 0; i < w.caches.size(); ++i) {
    const auto& c = w.caches[i];
    if (!c.at_boot) continue;
    const std::string p = config::pointer_append("/caches", i);
    const auto k = std::find_if(kmalloc_caches().begin(), kmalloc_caches().end(),
                                [&](const auto& kc) { return kc.first == c.name; });
    if (k == kmalloc_caches().end()) {
      std::vector<std::string> names;
      for (const auto& kc : kmalloc_caches())
        names.push_back(kc.first);
      out.error(config::pointer_append(p, "name"),
                fmt::format("expected a cache the guest has from boot, one of its kmalloc caches "
                            "({}), or \"at_boot\": false for a cache the probe creates, got "
                            "\"{}\"",
                            fmt::join(names, ", "), c.name));
    } else if (c.object_size != k->second) {
      out.error(
          config::pointer_append(p, "object_size"),
          fmt::format("expected {} (the size of {}), got {}", k->second, c.name, c.object_size));
    }
  }
  for (std::size_t i = 0; i < w.caches.size(); ++i)
    if (!probe_has_flags(w.caches[i].flags))
      out.error(config::pointer_append(config::pointer_append("/caches", i), "flags"),
                "expected flags the probe module can pass to kmem_cache_create(), got \"ctor\" "
                "(the probe has no constructor)");
  std::map<int, long> kept;  // objects alloc_burst events keep, per cache
  std::set<std::string> reported;
  long pages = 0;  // pages page_burst events keep
  for (const auto& e : w.events) {
    const std::string key = event_key(e.type);
    const std::string p = config::pointer_append(e.source, key);
    // A repetition has the checks of its first occurrence.
    if (e.occurrence == 0) check_event(w, m, e, key, p, out);
    if (e.type == Event::Type::alloc_burst) kept[e.cache] += e.count;
    if (e.type == Event::Type::free_burst)
      kept[e.cache] = e.count == 0 ? 0 : std::max(0L, kept[e.cache] - e.count);
    if (e.type == Event::Type::page_free) pages = 0;
    if (e.type == Event::Type::page_burst) pages += e.count;
    if (e.type == Event::Type::page_burst && pages > workload::max_page_burst_count &&
        reported.insert(e.source).second)
      out.error(config::pointer_append(p, "count"),
                fmt::format("expected at most {} pages kept at once (the probe keeps that many; "
                            "free them with page_free), got {} with this burst",
                            workload::max_page_burst_count, pages));
    if (e.type == Event::Type::cache_destroy && kept[e.cache] > 0 &&
        reported.insert(e.source).second)
      out.error(config::pointer_append(p, "cache"),
                fmt::format("expected the objects of \"{}\" freed first (free_burst): the probe "
                            "frees what it keeps before kmem_cache_destroy(), the model's "
                            "destroy would fail with {} objects left",
                            w.caches[e.cache].name, kept[e.cache]));
  }
  return out.size() == before;
}

}  // namespace slabsim::check
